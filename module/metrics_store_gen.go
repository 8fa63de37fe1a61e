// Code generated from store/store.go by gen_timedstore.go; DO NOT EDIT.

package module

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The store operations, the index of their histograms in timedStore.
const (
	opCreateUser = iota
	opGetUser
	opGetUserByEmail
	opGetUserByPhone
	opGetUserByExternalID
	opUpdateUser
	opDeleteUser
	opListUsers
	opFindUsers
	opSetPassword
	opGetPassword
	opDeletePassword
	opCreateSession
	opStartSession
	opGetSession
	opUpdateSession
	opDeleteSession
	opListUserSessions
	opDeleteUserSessions
	opCreateAuthCode
	opRedeemAuthCode
	opCreateRefreshToken
	opGetRefreshToken
	opRotateRefreshToken
	opRevokeFamily
	opRevokeSessionFamilies
	opRevokeUserFamilies
	opListUserGrants
	opAddRevocation
	opListRevocations
	opCreateKey
	opListKeys
	opUpdateKey
	opDeleteKey
	opCreateClient
	opGetClient
	opUpdateClient
	opDeleteClient
	opListClients
	opIncrementCounter
	opGetCounter
	opResetCounter
	opCreateOneTimeCode
	opCreateLatestOneTimeCode
	opGetOneTimeCode
	opUpdateOneTimeCode
	opConsumeOneTimeCode
	opUseOneTimeCode
	opListOneTimeCodes
	opPutGroup
	opGetGroup
	opDeleteGroup
	opUpdateGroup
	opListGroups
	opCreatePasskey
	opGetPasskey
	opListUserPasskeys
	opUpdatePasskey
	opUpdatePasskeyConsuming
	opDeletePasskey
	opCreateIdentity
	opGetIdentity
	opListUserIdentities
	opTouchIdentity
	opDeleteIdentity
	opPutConsent
	opGetConsent
	opListUserConsents
	opDeleteConsent
	opCreateSecondFactor
	opGetSecondFactor
	opUpdateSecondFactor
	opDeleteSecondFactor
	opCreateAppCredential
	opGetAppCredential
	opListUserAppCredentials
	opUpdateAppCredential
	opDeleteAppCredential
	opAppendAuditEvents
	opListAuditEvents
	opGetSetting
	opListSettings
	opPutSetting
	opDeleteSetting
	opClose
	numStoreOps
)

// storeOps are the operation label values, by index.
var storeOps = [numStoreOps]string{
	opCreateUser:              "CreateUser",
	opGetUser:                 "GetUser",
	opGetUserByEmail:          "GetUserByEmail",
	opGetUserByPhone:          "GetUserByPhone",
	opGetUserByExternalID:     "GetUserByExternalID",
	opUpdateUser:              "UpdateUser",
	opDeleteUser:              "DeleteUser",
	opListUsers:               "ListUsers",
	opFindUsers:               "FindUsers",
	opSetPassword:             "SetPassword",
	opGetPassword:             "GetPassword",
	opDeletePassword:          "DeletePassword",
	opCreateSession:           "CreateSession",
	opStartSession:            "StartSession",
	opGetSession:              "GetSession",
	opUpdateSession:           "UpdateSession",
	opDeleteSession:           "DeleteSession",
	opListUserSessions:        "ListUserSessions",
	opDeleteUserSessions:      "DeleteUserSessions",
	opCreateAuthCode:          "CreateAuthCode",
	opRedeemAuthCode:          "RedeemAuthCode",
	opCreateRefreshToken:      "CreateRefreshToken",
	opGetRefreshToken:         "GetRefreshToken",
	opRotateRefreshToken:      "RotateRefreshToken",
	opRevokeFamily:            "RevokeFamily",
	opRevokeSessionFamilies:   "RevokeSessionFamilies",
	opRevokeUserFamilies:      "RevokeUserFamilies",
	opListUserGrants:          "ListUserGrants",
	opAddRevocation:           "AddRevocation",
	opListRevocations:         "ListRevocations",
	opCreateKey:               "CreateKey",
	opListKeys:                "ListKeys",
	opUpdateKey:               "UpdateKey",
	opDeleteKey:               "DeleteKey",
	opCreateClient:            "CreateClient",
	opGetClient:               "GetClient",
	opUpdateClient:            "UpdateClient",
	opDeleteClient:            "DeleteClient",
	opListClients:             "ListClients",
	opIncrementCounter:        "IncrementCounter",
	opGetCounter:              "GetCounter",
	opResetCounter:            "ResetCounter",
	opCreateOneTimeCode:       "CreateOneTimeCode",
	opCreateLatestOneTimeCode: "CreateLatestOneTimeCode",
	opGetOneTimeCode:          "GetOneTimeCode",
	opUpdateOneTimeCode:       "UpdateOneTimeCode",
	opConsumeOneTimeCode:      "ConsumeOneTimeCode",
	opUseOneTimeCode:          "UseOneTimeCode",
	opListOneTimeCodes:        "ListOneTimeCodes",
	opPutGroup:                "PutGroup",
	opGetGroup:                "GetGroup",
	opDeleteGroup:             "DeleteGroup",
	opUpdateGroup:             "UpdateGroup",
	opListGroups:              "ListGroups",
	opCreatePasskey:           "CreatePasskey",
	opGetPasskey:              "GetPasskey",
	opListUserPasskeys:        "ListUserPasskeys",
	opUpdatePasskey:           "UpdatePasskey",
	opUpdatePasskeyConsuming:  "UpdatePasskeyConsuming",
	opDeletePasskey:           "DeletePasskey",
	opCreateIdentity:          "CreateIdentity",
	opGetIdentity:             "GetIdentity",
	opListUserIdentities:      "ListUserIdentities",
	opTouchIdentity:           "TouchIdentity",
	opDeleteIdentity:          "DeleteIdentity",
	opPutConsent:              "PutConsent",
	opGetConsent:              "GetConsent",
	opListUserConsents:        "ListUserConsents",
	opDeleteConsent:           "DeleteConsent",
	opCreateSecondFactor:      "CreateSecondFactor",
	opGetSecondFactor:         "GetSecondFactor",
	opUpdateSecondFactor:      "UpdateSecondFactor",
	opDeleteSecondFactor:      "DeleteSecondFactor",
	opCreateAppCredential:     "CreateAppCredential",
	opGetAppCredential:        "GetAppCredential",
	opListUserAppCredentials:  "ListUserAppCredentials",
	opUpdateAppCredential:     "UpdateAppCredential",
	opDeleteAppCredential:     "DeleteAppCredential",
	opAppendAuditEvents:       "AppendAuditEvents",
	opListAuditEvents:         "ListAuditEvents",
	opGetSetting:              "GetSetting",
	opListSettings:            "ListSettings",
	opPutSetting:              "PutSetting",
	opDeleteSetting:           "DeleteSetting",
	opClose:                   "Close",
}

func (s *timedStore) CreateUser(p0 context.Context, p1 store.User) error {
	defer s.since(opCreateUser, time.Now())
	return s.s.CreateUser(p0, p1)
}

func (s *timedStore) GetUser(p0 context.Context, p1 string) (store.User, error) {
	defer s.since(opGetUser, time.Now())
	return s.s.GetUser(p0, p1)
}

func (s *timedStore) GetUserByEmail(p0 context.Context, p1 string) (store.User, error) {
	defer s.since(opGetUserByEmail, time.Now())
	return s.s.GetUserByEmail(p0, p1)
}

func (s *timedStore) GetUserByPhone(p0 context.Context, p1 string) (store.User, error) {
	defer s.since(opGetUserByPhone, time.Now())
	return s.s.GetUserByPhone(p0, p1)
}

func (s *timedStore) GetUserByExternalID(p0 context.Context, p1 string) (store.User, error) {
	defer s.since(opGetUserByExternalID, time.Now())
	return s.s.GetUserByExternalID(p0, p1)
}

func (s *timedStore) UpdateUser(p0 context.Context, p1 string, p2 func(store.User) (store.User, error)) (store.User, error) {
	defer s.since(opUpdateUser, time.Now())
	return s.s.UpdateUser(p0, p1, p2)
}

func (s *timedStore) DeleteUser(p0 context.Context, p1 string) error {
	defer s.since(opDeleteUser, time.Now())
	return s.s.DeleteUser(p0, p1)
}

func (s *timedStore) ListUsers(p0 context.Context, p1 store.ListOptions) ([]store.User, error) {
	defer s.since(opListUsers, time.Now())
	return s.s.ListUsers(p0, p1)
}

func (s *timedStore) FindUsers(p0 context.Context, p1 store.UserFilter, p2 store.ListOptions) ([]store.User, error) {
	defer s.since(opFindUsers, time.Now())
	return s.s.FindUsers(p0, p1, p2)
}

func (s *timedStore) SetPassword(p0 context.Context, p1 store.PasswordCredential) error {
	defer s.since(opSetPassword, time.Now())
	return s.s.SetPassword(p0, p1)
}

func (s *timedStore) GetPassword(p0 context.Context, p1 string) (store.PasswordCredential, error) {
	defer s.since(opGetPassword, time.Now())
	return s.s.GetPassword(p0, p1)
}

func (s *timedStore) DeletePassword(p0 context.Context, p1 string) error {
	defer s.since(opDeletePassword, time.Now())
	return s.s.DeletePassword(p0, p1)
}

func (s *timedStore) CreateSession(p0 context.Context, p1 store.Session) error {
	defer s.since(opCreateSession, time.Now())
	return s.s.CreateSession(p0, p1)
}

func (s *timedStore) StartSession(p0 context.Context, p1 store.Session, p2 func(store.User) (store.User, error)) (store.User, error) {
	defer s.since(opStartSession, time.Now())
	return s.s.StartSession(p0, p1, p2)
}

func (s *timedStore) GetSession(p0 context.Context, p1 string) (store.Session, error) {
	defer s.since(opGetSession, time.Now())
	return s.s.GetSession(p0, p1)
}

func (s *timedStore) UpdateSession(p0 context.Context, p1 string, p2 func(store.Session) (store.Session, error)) (store.Session, error) {
	defer s.since(opUpdateSession, time.Now())
	return s.s.UpdateSession(p0, p1, p2)
}

func (s *timedStore) DeleteSession(p0 context.Context, p1 string) error {
	defer s.since(opDeleteSession, time.Now())
	return s.s.DeleteSession(p0, p1)
}

func (s *timedStore) ListUserSessions(p0 context.Context, p1 string) ([]store.Session, error) {
	defer s.since(opListUserSessions, time.Now())
	return s.s.ListUserSessions(p0, p1)
}

func (s *timedStore) DeleteUserSessions(p0 context.Context, p1 string) ([]string, error) {
	defer s.since(opDeleteUserSessions, time.Now())
	return s.s.DeleteUserSessions(p0, p1)
}

func (s *timedStore) CreateAuthCode(p0 context.Context, p1 store.AuthCode) error {
	defer s.since(opCreateAuthCode, time.Now())
	return s.s.CreateAuthCode(p0, p1)
}

func (s *timedStore) RedeemAuthCode(p0 context.Context, p1 string, p2 string, p3 time.Time) (store.AuthCode, error) {
	defer s.since(opRedeemAuthCode, time.Now())
	return s.s.RedeemAuthCode(p0, p1, p2, p3)
}

func (s *timedStore) CreateRefreshToken(p0 context.Context, p1 store.RefreshToken) error {
	defer s.since(opCreateRefreshToken, time.Now())
	return s.s.CreateRefreshToken(p0, p1)
}

func (s *timedStore) GetRefreshToken(p0 context.Context, p1 string) (store.RefreshToken, error) {
	defer s.since(opGetRefreshToken, time.Now())
	return s.s.GetRefreshToken(p0, p1)
}

func (s *timedStore) RotateRefreshToken(p0 context.Context, p1 string, p2 store.RefreshToken, p3 time.Time) (store.RefreshToken, error) {
	defer s.since(opRotateRefreshToken, time.Now())
	return s.s.RotateRefreshToken(p0, p1, p2, p3)
}

func (s *timedStore) RevokeFamily(p0 context.Context, p1 string) error {
	defer s.since(opRevokeFamily, time.Now())
	return s.s.RevokeFamily(p0, p1)
}

func (s *timedStore) RevokeSessionFamilies(p0 context.Context, p1 string) ([]string, error) {
	defer s.since(opRevokeSessionFamilies, time.Now())
	return s.s.RevokeSessionFamilies(p0, p1)
}

func (s *timedStore) RevokeUserFamilies(p0 context.Context, p1 string) ([]string, error) {
	defer s.since(opRevokeUserFamilies, time.Now())
	return s.s.RevokeUserFamilies(p0, p1)
}

func (s *timedStore) ListUserGrants(p0 context.Context, p1 string, p2 time.Time) ([]store.Grant, error) {
	defer s.since(opListUserGrants, time.Now())
	return s.s.ListUserGrants(p0, p1, p2)
}

func (s *timedStore) AddRevocation(p0 context.Context, p1 store.Revocation) error {
	defer s.since(opAddRevocation, time.Now())
	return s.s.AddRevocation(p0, p1)
}

func (s *timedStore) ListRevocations(p0 context.Context, p1 time.Time, p2 time.Time) ([]store.Revocation, error) {
	defer s.since(opListRevocations, time.Now())
	return s.s.ListRevocations(p0, p1, p2)
}

func (s *timedStore) CreateKey(p0 context.Context, p1 store.SigningKey) error {
	defer s.since(opCreateKey, time.Now())
	return s.s.CreateKey(p0, p1)
}

func (s *timedStore) ListKeys(p0 context.Context) ([]store.SigningKey, error) {
	defer s.since(opListKeys, time.Now())
	return s.s.ListKeys(p0)
}

func (s *timedStore) UpdateKey(p0 context.Context, p1 string, p2 func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	defer s.since(opUpdateKey, time.Now())
	return s.s.UpdateKey(p0, p1, p2)
}

func (s *timedStore) DeleteKey(p0 context.Context, p1 string) error {
	defer s.since(opDeleteKey, time.Now())
	return s.s.DeleteKey(p0, p1)
}

func (s *timedStore) CreateClient(p0 context.Context, p1 store.Client) error {
	defer s.since(opCreateClient, time.Now())
	return s.s.CreateClient(p0, p1)
}

func (s *timedStore) GetClient(p0 context.Context, p1 string) (store.Client, error) {
	defer s.since(opGetClient, time.Now())
	return s.s.GetClient(p0, p1)
}

func (s *timedStore) UpdateClient(p0 context.Context, p1 string, p2 func(store.Client) (store.Client, error)) (store.Client, error) {
	defer s.since(opUpdateClient, time.Now())
	return s.s.UpdateClient(p0, p1, p2)
}

func (s *timedStore) DeleteClient(p0 context.Context, p1 string) error {
	defer s.since(opDeleteClient, time.Now())
	return s.s.DeleteClient(p0, p1)
}

func (s *timedStore) ListClients(p0 context.Context, p1 store.ListOptions) ([]store.Client, error) {
	defer s.since(opListClients, time.Now())
	return s.s.ListClients(p0, p1)
}

func (s *timedStore) IncrementCounter(p0 context.Context, p1 string, p2 int64, p3 time.Duration, p4 time.Time) (int64, time.Time, error) {
	defer s.since(opIncrementCounter, time.Now())
	return s.s.IncrementCounter(p0, p1, p2, p3, p4)
}

func (s *timedStore) GetCounter(p0 context.Context, p1 string, p2 time.Time) (int64, time.Time, error) {
	defer s.since(opGetCounter, time.Now())
	return s.s.GetCounter(p0, p1, p2)
}

func (s *timedStore) ResetCounter(p0 context.Context, p1 string) error {
	defer s.since(opResetCounter, time.Now())
	return s.s.ResetCounter(p0, p1)
}

func (s *timedStore) CreateOneTimeCode(p0 context.Context, p1 store.OneTimeCode) error {
	defer s.since(opCreateOneTimeCode, time.Now())
	return s.s.CreateOneTimeCode(p0, p1)
}

func (s *timedStore) CreateLatestOneTimeCode(p0 context.Context, p1 time.Time, p2 store.OneTimeCode, p3 store.OneTimeCode, p4 ...store.CounterIncrement) ([]store.CounterValue, bool, error) {
	defer s.since(opCreateLatestOneTimeCode, time.Now())
	return s.s.CreateLatestOneTimeCode(p0, p1, p2, p3, p4...)
}

func (s *timedStore) GetOneTimeCode(p0 context.Context, p1 string) (store.OneTimeCode, error) {
	defer s.since(opGetOneTimeCode, time.Now())
	return s.s.GetOneTimeCode(p0, p1)
}

func (s *timedStore) UpdateOneTimeCode(p0 context.Context, p1 string, p2 func(store.OneTimeCode) (store.OneTimeCode, error)) (store.OneTimeCode, error) {
	defer s.since(opUpdateOneTimeCode, time.Now())
	return s.s.UpdateOneTimeCode(p0, p1, p2)
}

func (s *timedStore) ConsumeOneTimeCode(p0 context.Context, p1 string) (store.OneTimeCode, error) {
	defer s.since(opConsumeOneTimeCode, time.Now())
	return s.s.ConsumeOneTimeCode(p0, p1)
}

func (s *timedStore) UseOneTimeCode(p0 context.Context, p1 string, p2 func(store.OneTimeCode) bool) (store.OneTimeCode, bool, error) {
	defer s.since(opUseOneTimeCode, time.Now())
	return s.s.UseOneTimeCode(p0, p1, p2)
}

func (s *timedStore) ListOneTimeCodes(p0 context.Context, p1 string, p2 store.ListOptions) ([]store.OneTimeCode, error) {
	defer s.since(opListOneTimeCodes, time.Now())
	return s.s.ListOneTimeCodes(p0, p1, p2)
}

func (s *timedStore) PutGroup(p0 context.Context, p1 store.Group) error {
	defer s.since(opPutGroup, time.Now())
	return s.s.PutGroup(p0, p1)
}

func (s *timedStore) GetGroup(p0 context.Context, p1 string) (store.Group, error) {
	defer s.since(opGetGroup, time.Now())
	return s.s.GetGroup(p0, p1)
}

func (s *timedStore) DeleteGroup(p0 context.Context, p1 string) error {
	defer s.since(opDeleteGroup, time.Now())
	return s.s.DeleteGroup(p0, p1)
}

func (s *timedStore) UpdateGroup(p0 context.Context, p1 string, p2 func(old store.Group, exists bool) (*store.Group, error)) (store.Group, error) {
	defer s.since(opUpdateGroup, time.Now())
	return s.s.UpdateGroup(p0, p1, p2)
}

func (s *timedStore) ListGroups(p0 context.Context, p1 store.ListOptions) ([]store.Group, error) {
	defer s.since(opListGroups, time.Now())
	return s.s.ListGroups(p0, p1)
}

func (s *timedStore) CreatePasskey(p0 context.Context, p1 store.Passkey) error {
	defer s.since(opCreatePasskey, time.Now())
	return s.s.CreatePasskey(p0, p1)
}

func (s *timedStore) GetPasskey(p0 context.Context, p1 string) (store.Passkey, error) {
	defer s.since(opGetPasskey, time.Now())
	return s.s.GetPasskey(p0, p1)
}

func (s *timedStore) ListUserPasskeys(p0 context.Context, p1 string) ([]store.Passkey, error) {
	defer s.since(opListUserPasskeys, time.Now())
	return s.s.ListUserPasskeys(p0, p1)
}

func (s *timedStore) UpdatePasskey(p0 context.Context, p1 string, p2 func(store.Passkey) (store.Passkey, error)) (store.Passkey, error) {
	defer s.since(opUpdatePasskey, time.Now())
	return s.s.UpdatePasskey(p0, p1, p2)
}

func (s *timedStore) UpdatePasskeyConsuming(p0 context.Context, p1 string, p2 string, p3 func(store.Passkey) (store.Passkey, error)) (store.OneTimeCode, store.Passkey, error) {
	defer s.since(opUpdatePasskeyConsuming, time.Now())
	return s.s.UpdatePasskeyConsuming(p0, p1, p2, p3)
}

func (s *timedStore) DeletePasskey(p0 context.Context, p1 string) error {
	defer s.since(opDeletePasskey, time.Now())
	return s.s.DeletePasskey(p0, p1)
}

func (s *timedStore) CreateIdentity(p0 context.Context, p1 store.Identity) error {
	defer s.since(opCreateIdentity, time.Now())
	return s.s.CreateIdentity(p0, p1)
}

func (s *timedStore) GetIdentity(p0 context.Context, p1 string, p2 string) (store.Identity, error) {
	defer s.since(opGetIdentity, time.Now())
	return s.s.GetIdentity(p0, p1, p2)
}

func (s *timedStore) ListUserIdentities(p0 context.Context, p1 string) ([]store.Identity, error) {
	defer s.since(opListUserIdentities, time.Now())
	return s.s.ListUserIdentities(p0, p1)
}

func (s *timedStore) TouchIdentity(p0 context.Context, p1 string, p2 string, p3 string, p4 time.Time) error {
	defer s.since(opTouchIdentity, time.Now())
	return s.s.TouchIdentity(p0, p1, p2, p3, p4)
}

func (s *timedStore) DeleteIdentity(p0 context.Context, p1 string, p2 string) error {
	defer s.since(opDeleteIdentity, time.Now())
	return s.s.DeleteIdentity(p0, p1, p2)
}

func (s *timedStore) PutConsent(p0 context.Context, p1 store.Consent) error {
	defer s.since(opPutConsent, time.Now())
	return s.s.PutConsent(p0, p1)
}

func (s *timedStore) GetConsent(p0 context.Context, p1 string, p2 string) (store.Consent, error) {
	defer s.since(opGetConsent, time.Now())
	return s.s.GetConsent(p0, p1, p2)
}

func (s *timedStore) ListUserConsents(p0 context.Context, p1 string) ([]store.Consent, error) {
	defer s.since(opListUserConsents, time.Now())
	return s.s.ListUserConsents(p0, p1)
}

func (s *timedStore) DeleteConsent(p0 context.Context, p1 string, p2 string) error {
	defer s.since(opDeleteConsent, time.Now())
	return s.s.DeleteConsent(p0, p1, p2)
}

func (s *timedStore) CreateSecondFactor(p0 context.Context, p1 store.SecondFactor) error {
	defer s.since(opCreateSecondFactor, time.Now())
	return s.s.CreateSecondFactor(p0, p1)
}

func (s *timedStore) GetSecondFactor(p0 context.Context, p1 string) (store.SecondFactor, error) {
	defer s.since(opGetSecondFactor, time.Now())
	return s.s.GetSecondFactor(p0, p1)
}

func (s *timedStore) UpdateSecondFactor(p0 context.Context, p1 string, p2 func(store.SecondFactor) (store.SecondFactor, error)) (store.SecondFactor, error) {
	defer s.since(opUpdateSecondFactor, time.Now())
	return s.s.UpdateSecondFactor(p0, p1, p2)
}

func (s *timedStore) DeleteSecondFactor(p0 context.Context, p1 string) error {
	defer s.since(opDeleteSecondFactor, time.Now())
	return s.s.DeleteSecondFactor(p0, p1)
}

func (s *timedStore) CreateAppCredential(p0 context.Context, p1 store.AppCredential) error {
	defer s.since(opCreateAppCredential, time.Now())
	return s.s.CreateAppCredential(p0, p1)
}

func (s *timedStore) GetAppCredential(p0 context.Context, p1 string) (store.AppCredential, error) {
	defer s.since(opGetAppCredential, time.Now())
	return s.s.GetAppCredential(p0, p1)
}

func (s *timedStore) ListUserAppCredentials(p0 context.Context, p1 string) ([]store.AppCredential, error) {
	defer s.since(opListUserAppCredentials, time.Now())
	return s.s.ListUserAppCredentials(p0, p1)
}

func (s *timedStore) UpdateAppCredential(p0 context.Context, p1 string, p2 func(store.AppCredential) (store.AppCredential, error)) (store.AppCredential, error) {
	defer s.since(opUpdateAppCredential, time.Now())
	return s.s.UpdateAppCredential(p0, p1, p2)
}

func (s *timedStore) DeleteAppCredential(p0 context.Context, p1 string) error {
	defer s.since(opDeleteAppCredential, time.Now())
	return s.s.DeleteAppCredential(p0, p1)
}

func (s *timedStore) AppendAuditEvents(p0 context.Context, p1 ...store.AuditEvent) error {
	defer s.since(opAppendAuditEvents, time.Now())
	return s.s.AppendAuditEvents(p0, p1...)
}

func (s *timedStore) ListAuditEvents(p0 context.Context, p1 store.AuditFilter) ([]store.AuditEvent, error) {
	defer s.since(opListAuditEvents, time.Now())
	return s.s.ListAuditEvents(p0, p1)
}

func (s *timedStore) GetSetting(p0 context.Context, p1 string) (store.Setting, error) {
	defer s.since(opGetSetting, time.Now())
	return s.s.GetSetting(p0, p1)
}

func (s *timedStore) ListSettings(p0 context.Context, p1 store.ListOptions) ([]store.Setting, error) {
	defer s.since(opListSettings, time.Now())
	return s.s.ListSettings(p0, p1)
}

func (s *timedStore) PutSetting(p0 context.Context, p1 store.Setting, p2 int64) (store.Setting, error) {
	defer s.since(opPutSetting, time.Now())
	return s.s.PutSetting(p0, p1, p2)
}

func (s *timedStore) DeleteSetting(p0 context.Context, p1 string, p2 int64) error {
	defer s.since(opDeleteSetting, time.Now())
	return s.s.DeleteSetting(p0, p1, p2)
}

func (s *timedStore) Close() error {
	defer s.since(opClose, time.Now())
	return s.s.Close()
}
