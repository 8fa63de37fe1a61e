package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// BeginSignup starts creating an account whose only credential is a passkey, under the
// signup mode (invite codes are checked at the finish).
func (m *Method) BeginSignup(ctx context.Context, in account.NewUser, invite, clientIP string) (*Ceremony, error) {
	if m.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	if !m.LoginEnabled() {
		return nil, m.loginOff(ctx)
	}
	if err := m.Signup.Check(ctx, invite, clientIP); err != nil {
		return nil, err
	}
	in.Groups, in.ExternalUserID, in.EmailVerified, in.Password = nil, "", false, ""
	u, err := m.Accounts.Build(in)
	if err != nil {
		return nil, err
	}
	// A sign-up that verifies the address first answers the same for every address
	// (FinishSignupByCode); only the other kind says here that it is taken.
	if _, err := m.Store.GetUserByEmail(ctx, u.Email); err == nil && !m.Signup.VerifiesFirst() {
		return nil, account.ErrEmailTaken
	}
	u.WebAuthnID = newUserHandle()
	creation, sd, err := m.WebAuthn.BeginRegistration(&waUser{u: u})
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	pending, _ := json.Marshal(u)
	sec, err := m.saveCeremony(ctx, ceremonySignup, u.Email, sd, map[string]string{"user": string(pending), "invite": invite})
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: creation}, nil
}

// signupCredential verifies the answer to a sign-up ceremony and returns the pending user,
// the new credential and the ceremony's record.
func (m *Method) signupCredential(ctx context.Context, sec string, response []byte) (store.User, *webauthn.Credential, store.OneTimeCode, error) {
	if m.WebAuthn == nil {
		return store.User{}, nil, store.OneTimeCode{}, ErrPasskeysDisabled
	}
	if !m.LoginEnabled() {
		return store.User{}, nil, store.OneTimeCode{}, m.loginOff(ctx)
	}
	if err := checkResponseSize(response); err != nil {
		return store.User{}, nil, store.OneTimeCode{}, err
	}
	rec, sd, err := m.takeCeremony(ctx, ceremonySignup, sec)
	if err != nil {
		return store.User{}, nil, store.OneTimeCode{}, err
	}
	var u store.User
	if err := json.Unmarshal([]byte(rec.Data["user"]), &u); err != nil {
		return store.User{}, nil, store.OneTimeCode{}, ErrCeremonyExpired
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.User{}, nil, store.OneTimeCode{}, ErrPasskeyMalformed
	}
	if err := checkCredentialKey(parsed, sd.CredParams); err != nil {
		return store.User{}, nil, store.OneTimeCode{}, err
	}
	cred, err := m.WebAuthn.CreateCredential(&waUser{u: u}, sd, parsed)
	if err != nil {
		m.logger().Info("passkey sign-up refused", "error", err)
		return store.User{}, nil, store.OneTimeCode{}, ErrPasskeyFailed
	}
	return u, cred, rec, nil
}

// FinishSignup verifies the new credential and creates the user with it at once (the
// sign-up that does not verify the address first; see FinishSignupByCode). The result is
// the new account (NewUser set, amr webauthn, its passkey).
func (m *Method) FinishSignup(ctx context.Context, sec string, response []byte, name string) (login.Result, error) {
	u, cred, rec, err := m.signupCredential(ctx, sec, response)
	if err != nil {
		return login.Result{}, err
	}
	var inv store.OneTimeCode
	if m.Signup.InviteRequired() {
		if inv, err = m.Signup.ConsumeInvite(ctx, rec.Data["invite"], u.Email); err != nil {
			return login.Result{}, err
		}
		u.Groups = account.InviteGroups(inv)
	}
	now := m.Now()
	u.CreatedAt, u.UpdatedAt = now, now
	if err := m.Store.CreateUser(ctx, u); err != nil {
		if m.Signup.InviteRequired() {
			m.Signup.RestoreInvite(ctx, inv)
		}
		if errors.Is(err, store.ErrAlreadyExists) {
			return login.Result{}, account.ErrEmailTaken
		}
		return login.Result{}, fmt.Errorf("create user: %w", err)
	}
	pk, err := m.storePasskey(ctx, u, cred, name)
	if err != nil {
		_ = m.Store.DeleteUser(ctx, u.ID)
		return login.Result{}, err
	}
	return login.Result{User: u, AMR: []string{AMR}, NewUser: true, Passkey: pk.ID}, nil
}

// FinishSignupByCode verifies the passkey of a sign-up ceremony (BeginSignup) and, instead
// of creating the account, emails the code that account.Signup.Finish needs, like
// account.Signup.Start; it returns the flow secret.
func (m *Method) FinishSignupByCode(ctx context.Context, sec string, response []byte, name, lang, clientIP string) (string, error) {
	if !m.Signup.VerifiesFirst() {
		return "", otp.ErrMethodDisabled
	}
	u, cred, rec, err := m.signupCredential(ctx, sec, response)
	if err != nil {
		return "", err
	}
	if name, err = passkeyName(name, cred); err != nil {
		return "", err
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return "", fmt.Errorf("encode passkey: %w", err)
	}
	return m.Signup.StartPending(ctx, u, raw, name, rec.Data["invite"], lang, clientIP)
}

// StoreSignupPasskey stores the passkey of a sign-up that proved its address (it implements
// account.PasskeyStore): credential is the JSON FinishSignupByCode handed to the sign-up.
func (m *Method) StoreSignupPasskey(ctx context.Context, u store.User, credential []byte, name string) (store.Passkey, error) {
	var cred webauthn.Credential
	if err := json.Unmarshal(credential, &cred); err != nil {
		return store.Passkey{}, err
	}
	return m.storePasskey(ctx, u, &cred, name)
}
