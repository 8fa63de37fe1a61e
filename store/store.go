// Package store defines the persistence contract of Gatehouse: small interfaces, one per
// aggregate (users, password credentials, sessions, authorization codes, refresh tokens,
// revocations, signing keys, clients, counters, one-time codes), composed into Store, and the
// plain record types they exchange.
//
// The package knows nothing about HTTP, tokens or Caddy. Secrets never reach it in clear:
// session IDs, authorization codes, refresh tokens and one-time codes are stored under the
// hash their caller computed, and passwords as argon2id PHC strings.
//
// Implementations live in sub-packages (store/badger, the embedded default, and store/memory,
// the reference implementation for tests) and must pass the shared conformance suite in
// store/storetest. Writes that security depends on (code redemption, refresh rotation,
// family and session revocation, logout, counter increments) are durable before the method
// returns (store/memory, which persists nothing, excepted).
//
// Records are values: an implementation keeps no reference to a slice, map or pointer it was
// given and hands out none of its own, so that no caller can change stored state except
// through the methods.
//
// Time is always passed in by the caller; implementations never call time.Now for a decision.
// Records carry an expiry; an implementation may purge a record once its expiry (or, for
// authorization codes, PurgeAfter) has passed, and callers always check expiry themselves.
// GarbageCollector lists the expiries.
//
// Dumper (dump.go) enumerates every record of a store, kind by kind, and Copy writes them
// into another store: `gatehouse store copy` moves a deployment between Badger and
// PostgreSQL with it, sessions and refresh tokens included.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sentinel errors returned (possibly wrapped) by every implementation.
var (
	// ErrNotFound means the record does not exist (or was purged after expiry).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a record with the same ID or the same unique field exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrAlreadyUsed means a single-use record (authorization code, refresh token) was
	// consumed before; the method returns the stored record alongside it.
	ErrAlreadyUsed = errors.New("already used")
	// ErrRevoked means the refresh token's family was revoked.
	ErrRevoked = errors.New("revoked")
	// ErrConflict means a concurrent transaction changed the same records and retries ran out.
	ErrConflict = errors.New("conflict")
	// ErrVersionMismatch means a compare-and-set write (PutSetting, DeleteSetting) named a
	// version other than the stored one: someone changed the record since the caller read
	// it. Nothing was written; the caller reads again and decides (an HTTP 412).
	ErrVersionMismatch = errors.New("version mismatch")
)

// Store is everything Gatehouse persists.
type Store interface {
	Users
	Passwords
	Sessions
	AuthCodes
	RefreshTokens
	Revocations
	Keys
	Clients
	Counters
	OneTimeCodes
	Groups
	Passkeys
	Identities
	Consents
	SecondFactors
	AppCredentials
	AuditEvents
	Settings
	// Close releases the store's resources. It is safe to call once.
	Close() error
}

// GarbageCollector is implemented by stores that purge expired records only when asked
// (store/memory); store/badger purges them by itself (a TTL per record) and does not
// implement it.
//
// GarbageCollect removes every record whose expiry is before now and returns how many it
// removed. The expiries are: for a session, the earlier of its non-zero IdleExpiresAt and
// AbsoluteExpiresAt; for an authorization code, PurgeAfter (never before ExpiresAt), so
// that a late replay is still recognised; for a refresh-token family, the FamilyExpiresAt of
// the token that started it, and for its tokens the same (their own ExpiresAt if the family
// has none), so that the replay of a rotated token is still recognised; for a revocation,
// ExpiresAt; for a counter, the end of its window; for a one-time code and an audit event,
// ExpiresAt. A zero time is no expiry, and the other records never expire.
type GarbageCollector interface {
	GarbageCollect(ctx context.Context, now time.Time) (int, error)
}

// ListOptions pages through a listing ordered by ID.
type ListOptions struct {
	// After returns records whose ID sorts strictly after this value ("" starts at the beginning).
	After string
	// Limit caps the number of records returned; 0 means 100, and values above 1000 mean 1000.
	Limit int
}

// User is an account.
type User struct {
	// ID is the immutable, unique user identifier (the `sub` claim).
	ID string `json:"id"`
	// Email is the primary email in canonical form (the caller normalises it). Unique among
	// users when non-empty.
	Email string `json:"email,omitempty"`
	// EmailVerified tells whether control of Email was proven.
	EmailVerified bool `json:"email_verified,omitempty"`
	// ExternalUserID is an identifier set by the app. Unique among users when non-empty.
	ExternalUserID string `json:"external_user_id,omitempty"`
	// FirstName, MiddleName and LastName are the user's names (claims fname, mname, lname).
	FirstName  string `json:"fname,omitempty"`
	MiddleName string `json:"mname,omitempty"`
	LastName   string `json:"lname,omitempty"`
	// Groups the user belongs to (claim groups).
	Groups []string `json:"groups,omitempty"`
	// Disabled users cannot log in and their sessions and tokens are revoked.
	Disabled bool `json:"disabled,omitempty"`
	// CreatedAt, UpdatedAt and LastAuthAt are set by the caller.
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	LastAuthAt time.Time `json:"last_auth_at,omitzero"`

	// Profile: the seed's user fields, each released as the claim of the same name.
	Username              string           `json:"username,omitempty"`
	PhoneNumber           string           `json:"phone_number,omitempty"`
	PhoneNumberVerified   bool             `json:"phone_number_verified,omitempty"`
	SecondaryEmails       []SecondaryEmail `json:"secondary_emails,omitempty"`
	SecondaryPhoneNumbers []SecondaryPhone `json:"secondary_phone_numbers,omitempty"`
	// Birthday is YYYY-MM-DD.
	Birthday string   `json:"birthday,omitempty"`
	Address  *Address `json:"address,omitempty"`
	// Picture is an https URL.
	Picture string `json:"picture,omitempty"`
	// Language is the browser's preferred language at the last login (Accept-Language).
	Language          string   `json:"language,omitempty"`
	Organization      string   `json:"organization,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	RoleValues        []string `json:"role_values,omitempty"`
	Permissions       []string `json:"permissions,omitempty"`
	ExternalAccountID string   `json:"external_account_id,omitempty"`
	// CustomData is a JSON object set by the tenant's apps (at most 100 KB).
	CustomData json.RawMessage `json:"custom_data,omitempty"`
	// CustomAppData holds a JSON object per client ID (each at most 100 KB).
	CustomAppData map[string]json.RawMessage `json:"custom_app_data,omitempty"`
	// WebAuthnID is the user handle given to the user's passkeys (base64url of 16 random
	// bytes, claim webauthn_username as a UUID); set with the first passkey.
	WebAuthnID string `json:"webauthn_id,omitempty"`
}

// SecondaryEmail is an additional email address of a user.
type SecondaryEmail struct {
	Value         string `json:"value"`
	EmailVerified bool   `json:"email_verified"`
}

// SecondaryPhone is an additional phone number of a user.
type SecondaryPhone struct {
	Value               string `json:"value"`
	PhoneNumberVerified bool   `json:"phone_number_verified"`
}

// Address is a postal address (OpenID Connect Core §5.1.1).
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Users stores accounts with unique Email and ExternalUserID.
type Users interface {
	// CreateUser stores a new user. It returns ErrAlreadyExists if the ID, the Email or the
	// ExternalUserID is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user with this ID.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail returns the user whose Email is exactly email.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// GetUserByPhone returns the user whose PhoneNumber is exactly phone and verified.
	// Verified numbers are unique among users (CreateUser and UpdateUser return
	// ErrAlreadyExists for a verified number another user has verified).
	GetUserByPhone(ctx context.Context, phone string) (User, error)
	// GetUserByExternalID returns the user whose ExternalUserID is exactly externalID.
	GetUserByExternalID(ctx context.Context, externalID string) (User, error)
	// UpdateUser applies update to the stored user atomically and stores the result; the
	// ID cannot change. If update returns an error, nothing is written and that error is
	// returned. It returns ErrAlreadyExists if the new Email or ExternalUserID is taken.
	UpdateUser(ctx context.Context, id string, update func(User) (User, error)) (User, error)
	// DeleteUser removes the user and its unique indexes (and its password credential,
	// passkeys, linked identities and app credentials), and its refresh tokens with their
	// families and its authorization codes (GDPR erasure: nothing of the user is left; its
	// revocation entries stay until they expire).
	DeleteUser(ctx context.Context, id string) error
	// ListUsers returns users ordered by ID.
	ListUsers(ctx context.Context, opts ListOptions) ([]User, error)
	// FindUsers returns the users matching f (UserFilter.Match), ordered by ID and paged
	// like ListUsers: up to opts.Limit matches whose ID sorts after opts.After. Every
	// filter but Name is answered from an index, never by reading every user; a page
	// shorter than the limit is the last one. An empty filter lists like ListUsers.
	FindUsers(ctx context.Context, f UserFilter, opts ListOptions) ([]User, error)
}

// UserFilter selects users (FindUsers). The non-empty fields combine: a user matches all
// of them.
type UserFilter struct {
	// Email and ExternalUserID select the user whose field is exactly this value (the
	// caller normalises the email).
	Email, ExternalUserID string
	// Group and Role select the users that hold this group or role.
	Group, Role string
	// Disabled, if set, selects the disabled (true) or the enabled (false) users.
	Disabled *bool
	// Name selects the users whose NameKey contains strings.ToLower(Name).
	Name string
}

// Empty tells whether f selects every user.
func (f UserFilter) Empty() bool {
	return f.Email == "" && f.ExternalUserID == "" && f.Group == "" && f.Role == "" && f.Disabled == nil && f.Name == ""
}

// Match tells whether u matches every set field of f: the definition every store's
// FindUsers answers.
func (f UserFilter) Match(u User) bool {
	switch {
	case f.Email != "" && u.Email != f.Email,
		f.ExternalUserID != "" && u.ExternalUserID != f.ExternalUserID,
		f.Group != "" && !slices.Contains(u.Groups, f.Group),
		f.Role != "" && !slices.Contains(u.Roles, f.Role),
		f.Disabled != nil && u.Disabled != *f.Disabled,
		f.Name != "" && !strings.Contains(NameKey(u), strings.ToLower(f.Name)):
		return false
	}
	return true
}

// NameKey is what UserFilter.Name searches: the user's first, middle and last names and
// username, lower-cased and joined with single spaces (empty names included, so that the
// key is the same whichever store computes it: store/postgres stores it in a column).
func NameKey(u User) string {
	return strings.ToLower(u.FirstName + " " + u.MiddleName + " " + u.LastName + " " + u.Username)
}

// PasswordCredential is a user's password hash.
type PasswordCredential struct {
	UserID string `json:"user_id"`
	// Hash is an argon2id PHC string.
	Hash      string    `json:"hash"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Passwords stores at most one password credential per user.
type Passwords interface {
	// SetPassword creates or replaces the user's password credential. It returns
	// ErrNotFound if the user does not exist.
	SetPassword(ctx context.Context, c PasswordCredential) error
	// GetPassword returns the user's password credential.
	GetPassword(ctx context.Context, userID string) (PasswordCredential, error)
	// DeletePassword removes it; deleting a missing credential is not an error.
	DeletePassword(ctx context.Context, userID string) error
}

// Session is a portal login session. Its ID is the hash of the secret held in the cookie.
type Session struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	// AuthTime is when the user last actively authenticated in this session.
	AuthTime time.Time `json:"auth_time"`
	// AMR lists the authentication methods used (pwd, webauthn, ...).
	AMR []string `json:"amr,omitempty"`
	// ACR is the authentication context class satisfied.
	ACR string `json:"acr,omitempty"`
	// NewUser is set when the session's login created the user, until the first
	// authorization code of the session reports it (claim new_user).
	NewUser bool `json:"new_user,omitempty"`
	// Clients lists the clients the session issued authorization codes to (for back-channel
	// logout).
	Clients []string `json:"clients,omitempty"`
	// Passkey is the ID of the passkey the user authenticated with, if any.
	Passkey    string    `json:"passkey,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// IdleExpiresAt is LastSeenAt plus the idle lifetime; AbsoluteExpiresAt never moves.
	IdleExpiresAt     time.Time `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
	// UserAgent and IP describe where the session was created, for the account page.
	UserAgent string `json:"user_agent,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// ExpiresAt is the earlier of the idle and the absolute expiry.
func (s Session) ExpiresAt() time.Time {
	if s.IdleExpiresAt.Before(s.AbsoluteExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.AbsoluteExpiresAt
}

// Sessions stores portal sessions.
type Sessions interface {
	// CreateSession stores a new session (ErrAlreadyExists if the ID is taken).
	CreateSession(ctx context.Context, s Session) error
	// StartSession stores a new session as CreateSession does and applies update to the
	// session's user as UpdateUser does (the last authentication time of a login), in one
	// atomic, durable write: both or neither (ErrNotFound if the user is gone, any error of
	// update, ErrAlreadyExists if the session ID is taken). It returns the updated user.
	StartSession(ctx context.Context, s Session, update func(User) (User, error)) (User, error)
	// GetSession returns the session with this ID.
	GetSession(ctx context.Context, id string) (Session, error)
	// UpdateSession applies update atomically (see UpdateUser).
	UpdateSession(ctx context.Context, id string, update func(Session) (Session, error)) (Session, error)
	// DeleteSession removes the session durably; deleting a missing session is not an error.
	DeleteSession(ctx context.Context, id string) error
	// ListUserSessions returns the user's sessions.
	ListUserSessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteUserSessions removes all of the user's sessions durably and returns their IDs.
	DeleteUserSessions(ctx context.Context, userID string) ([]string, error)
}

// AuthCode is an authorization code. Its ID is the hash of the code.
type AuthCode struct {
	ID                  string    `json:"id"`
	ClientID            string    `json:"client_id"`
	RedirectURI         string    `json:"redirect_uri"`
	UserID              string    `json:"user_id"`
	SessionID           string    `json:"session_id"`
	Scopes              []string  `json:"scopes,omitempty"`
	Audience            []string  `json:"audience,omitempty"`
	Nonce               string    `json:"nonce,omitempty"`
	CodeChallenge       string    `json:"code_challenge,omitempty"`
	CodeChallengeMethod string    `json:"code_challenge_method,omitempty"`
	AuthTime            time.Time `json:"auth_time"`
	AMR                 []string  `json:"amr,omitempty"`
	ACR                 string    `json:"acr,omitempty"`
	NewUser             bool      `json:"new_user,omitempty"`
	// Claims is the validated OIDC claims request of the authorization request (JSON).
	Claims string `json:"claims,omitempty"`
	// Passkey is the passkey the session authenticated with (claim webauthn).
	Passkey string `json:"passkey,omitempty"`
	// ApprovalData is the transaction the user approved (JSON, claim approval_data), set
	// only in a transaction-signing flow.
	ApprovalData string    `json:"approval_data,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// ExpiresAt ends the code's validity; PurgeAfter (later) is when the record may be
	// removed, so that a late replay is still recognised as a replay.
	ExpiresAt  time.Time `json:"expires_at"`
	PurgeAfter time.Time `json:"purge_after"`
	// RedeemedAt and GrantID are set by RedeemAuthCode.
	RedeemedAt time.Time `json:"redeemed_at,omitzero"`
	GrantID    string    `json:"grant_id,omitempty"`
}

// AuthCodes stores single-use authorization codes.
type AuthCodes interface {
	// CreateAuthCode stores a new code (ErrAlreadyExists if the ID is taken).
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode atomically marks the code redeemed at now with grantID, durably, and
	// returns the updated record. If the code was redeemed before, nothing changes and it
	// returns the stored record (carrying the first redemption's GrantID) with
	// ErrAlreadyUsed. Of any number of concurrent calls exactly one succeeds. Expiry is the
	// caller's to check.
	RedeemAuthCode(ctx context.Context, id, grantID string, now time.Time) (AuthCode, error)
}

// RefreshToken is one token of a refresh-token family (a grant). Its ID is the hash of the
// token.
type RefreshToken struct {
	ID        string   `json:"id"`
	FamilyID  string   `json:"family_id"`
	ClientID  string   `json:"client_id"`
	UserID    string   `json:"user_id"`
	SessionID string   `json:"session_id,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	Audience  []string `json:"audience,omitempty"`
	// AuthTime and AMR describe the authentication the family started from.
	AuthTime time.Time `json:"auth_time"`
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	Nonce    string    `json:"nonce,omitempty"`
	// Claims is the claims request of the authorization (JSON), applied again at refresh.
	Claims string `json:"claims,omitempty"`
	// Passkey is the passkey the family's authentication used.
	Passkey string `json:"passkey,omitempty"`
	// CreatedAt is when this token was issued; ExpiresAt ends this token (sliding lifetime);
	// FamilyExpiresAt ends every token of the family (absolute lifetime).
	CreatedAt       time.Time `json:"created_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	FamilyExpiresAt time.Time `json:"family_expires_at"`
	// RotatedAt is set when the token was exchanged for its successor.
	RotatedAt time.Time `json:"rotated_at,omitzero"`
	// Revoked is computed on read: true when the family was revoked.
	Revoked bool `json:"-"`
}

// RefreshTokens stores refresh tokens grouped in families.
type RefreshTokens interface {
	// CreateRefreshToken stores the first token of a new family, or a token of an existing,
	// unrevoked family, durably (ErrAlreadyExists if the ID is taken, ErrRevoked if the
	// family was revoked). The family is indexed by UserID and SessionID.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshToken returns the token, with Revoked set if its family was revoked.
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RotateRefreshToken atomically and durably marks token oldID rotated at now and stores
	// next (same FamilyID) as its successor, returning the old token as it was before. If
	// the family was revoked it returns the old token with ErrRevoked; if the old token was
	// already rotated it returns it with ErrAlreadyUsed and stores nothing. Of any number of
	// concurrent calls for one oldID exactly one succeeds.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken, now time.Time) (RefreshToken, error)
	// RevokeFamily revokes every token of the family durably; revoking twice is not an
	// error, revoking an unknown family returns ErrNotFound.
	RevokeFamily(ctx context.Context, familyID string) error
	// RevokeSessionFamilies revokes every family started in the session and returns their IDs.
	RevokeSessionFamilies(ctx context.Context, sessionID string) ([]string, error)
	// RevokeUserFamilies revokes every family of the user and returns their IDs.
	RevokeUserFamilies(ctx context.Context, userID string) ([]string, error)
	// ListUserGrants returns the user's families that are not revoked and whose
	// FamilyExpiresAt (if any) is after now, ordered by family ID, for the account page's
	// connected apps.
	ListUserGrants(ctx context.Context, userID string, now time.Time) ([]Grant, error)
}

// Grant describes a live refresh-token family as ListUserGrants reports it: the client, the
// scopes and the time of the family's first token.
type Grant struct {
	FamilyID  string    `json:"family_id"`
	ClientID  string    `json:"client_id"`
	SessionID string    `json:"session_id,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Revocation kinds.
const (
	// RevokeSession ends every token carrying this session ID (claim sid).
	RevokeSession = "session"
	// RevokeGrant ends every token carrying this grant (refresh family) ID.
	RevokeGrant = "grant"
	// RevokeUser ends every token of this user issued at or before At.
	RevokeUser = "user"
	// RevokeToken ends the one access token with this ID (claim jti).
	RevokeToken = "token"
	// RevokeCredential ends the app password or personal access token with this ID
	// (AppCredential.ID), on every instance within a second.
	RevokeCredential = "credential"
)

// Revocation is an entry of the revocation list that every instance keeps in memory so that
// locally verified access tokens stop working within seconds of a logout or revocation.
type Revocation struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
	// ExpiresAt is when no token affected by the entry can still be valid.
	ExpiresAt time.Time `json:"expires_at"`
}

// Revocations stores the revocation list.
type Revocations interface {
	// AddRevocation stores the entry durably. Adding the same (Kind, Subject) again keeps
	// the later At and ExpiresAt.
	AddRevocation(ctx context.Context, r Revocation) error
	// ListRevocations returns every stored entry whose At is at or after since and whose
	// ExpiresAt is after now.
	ListRevocations(ctx context.Context, since, now time.Time) ([]Revocation, error)
}

// SigningKey is a private key used to sign tokens.
type SigningKey struct {
	// ID is the JWK key ID (kid).
	ID string `json:"id"`
	// Alg is the JWS algorithm (RS256, ES256).
	Alg string `json:"alg"`
	// PrivateKey is the PKCS #8 DER encoding.
	PrivateKey []byte    `json:"private_key"`
	CreatedAt  time.Time `json:"created_at"`
	// RetiredAt is set when the key stopped signing; it is still published for verification
	// until it is deleted.
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// Keys stores signing keys.
type Keys interface {
	// CreateKey stores a new key (ErrAlreadyExists if the ID is taken).
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns every stored key ordered by CreatedAt, then ID.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateKey applies update atomically (see UpdateUser).
	UpdateKey(ctx context.Context, id string, update func(SigningKey) (SigningKey, error)) (SigningKey, error)
	// DeleteKey removes the key; deleting a missing key is not an error.
	DeleteKey(ctx context.Context, id string) error
}

// Client is an OAuth client registered at runtime (clients from the configuration are not
// stored).
type Client struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// SecretHash is the hex SHA-256 of the client secret; empty for public clients.
	SecretHash             string   `json:"secret_hash,omitempty"`
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string `json:"scopes,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`
	RequirePKCE            bool     `json:"require_pkce,omitempty"`
	// ConsentRequired marks a third-party client: users are asked to consent to the scopes
	// it requests (the configuration's `consent required`).
	ConsentRequired bool      `json:"consent_required,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	// AllowedOrigins are browser origins, besides its redirect URIs', a public client's
	// pages may call the token, revocation and userinfo endpoints from (CORS).
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// Pending marks a client registered dynamically (RFC 7591) that waits for an
	// administrator's approval: it cannot be used until Pending is cleared.
	Pending bool `json:"pending,omitempty"`
	// Disabled marks a client an administrator turned off: it cannot authorize, get tokens
	// or use its refresh tokens until Disabled is cleared.
	Disabled bool `json:"disabled,omitempty"`
	// Admin marks a confidential client an administrator allowed the scope gatehouse:admin
	// (the Administration API, through the client_credentials grant). Only an administrator
	// sets it; a public client never has it.
	Admin bool `json:"admin,omitempty"`
	// SecretRotatedAt is when the client's secret was last rotated (zero: never): the
	// Administration API refuses its access tokens issued before then.
	SecretRotatedAt time.Time `json:"secret_rotated_at,omitzero"`
	// RegistrationTokenHash is the hex SHA-256 of the registration access token (RFC 7592)
	// with which the client reads, changes and deletes its registration; empty for a client
	// not registered dynamically.
	RegistrationTokenHash string `json:"registration_token_hash,omitempty"`
	// Metadata is the rest of the client metadata given at registration (RFC 7591 §2:
	// client_uri, logo_uri, contacts, tos_uri, policy_uri, software_id, software_version,
	// token_endpoint_auth_method, id_token_signed_response_alg),
	// bounded in number and size by the registration endpoint.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Clients stores runtime-registered clients.
type Clients interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	UpdateClient(ctx context.Context, id string, update func(Client) (Client, error)) (Client, error)
	DeleteClient(ctx context.Context, id string) error
	ListClients(ctx context.Context, opts ListOptions) ([]Client, error)
}

// CounterIncrement is one counter's part of CreateLatestOneTimeCode: Delta added to the
// counter named Key as IncrementCounter adds it, whose new window lasts Window.
type CounterIncrement struct {
	Key    string
	Delta  int64
	Window time.Duration
	// Limit, if positive, is the highest value at which CreateLatestOneTimeCode still
	// stores its code.
	Limit int64
}

// CounterValue is a counter's value and the end of its window.
type CounterValue struct {
	Value     int64
	WindowEnd time.Time
}

// WithinLimits tells whether every counter of vs is at most the Limit of its increment in
// incs (a Limit of 0 or less is none).
func WithinLimits(incs []CounterIncrement, vs []CounterValue) bool {
	for i, in := range incs {
		if in.Limit > 0 && vs[i].Value > in.Limit {
			return false
		}
	}
	return true
}

// CheckCounterKeys refuses counter increments whose keys are empty or repeated.
func CheckCounterKeys(incs []CounterIncrement) error {
	for i, in := range incs {
		if in.Key == "" {
			return errors.New("empty counter key")
		}
		for _, o := range incs[:i] {
			if o.Key == in.Key {
				return fmt.Errorf("counter %q given twice", in.Key)
			}
		}
	}
	return nil
}

// Counters are fixed-window counters for rate limits and lockouts.
type Counters interface {
	// IncrementCounter adds delta to the counter named key, durably and atomically. A
	// counter that does not exist, or whose window ended at or before now, restarts at
	// zero with a window ending at now+window. It returns the new value and when the
	// window ends.
	IncrementCounter(ctx context.Context, key string, delta int64, window time.Duration, now time.Time) (int64, time.Time, error)
	// GetCounter returns the counter's value and window end; a missing or ended counter
	// is (0, zero time, nil).
	GetCounter(ctx context.Context, key string, now time.Time) (int64, time.Time, error)
	// ResetCounter deletes the counter; resetting a missing counter is not an error.
	ResetCounter(ctx context.Context, key string) error
}

// OneTimeCode is a single-use secret (invitation, and later email/SMS codes and links).
// Its ID is the hash of the secret.
type OneTimeCode struct {
	ID      string `json:"id"`
	Purpose string `json:"purpose"`
	// Subject is what the code is bound to (an email address, a user ID).
	Subject   string            `json:"subject,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
	Attempts  int               `json:"attempts,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// OneTimeCodes stores single-use codes.
type OneTimeCodes interface {
	// CreateOneTimeCode stores a new code (ErrAlreadyExists if the ID is taken).
	CreateOneTimeCode(ctx context.Context, c OneTimeCode) error
	// CreateLatestOneTimeCode stores the new code c as CreateOneTimeCode does and, in the
	// same atomic, durable write, stores latest whether or not a record with its ID exists
	// (replacing it): a pointer to the newest code of a kind. It also applies count as
	// IncrementCounter does to each (the send limits of the code; the keys must differ), in
	// the same write; if a
	// counter's new value exceeds its Limit, only the counters are stored and created is
	// false. It returns the counters' new values in the order of count. On an error
	// (ErrAlreadyExists if c's ID is taken) nothing is stored.
	CreateLatestOneTimeCode(ctx context.Context, now time.Time, c, latest OneTimeCode, count ...CounterIncrement) (values []CounterValue, created bool, err error)
	// GetOneTimeCode returns the code.
	GetOneTimeCode(ctx context.Context, id string) (OneTimeCode, error)
	// UpdateOneTimeCode applies update atomically (see UpdateUser).
	UpdateOneTimeCode(ctx context.Context, id string, update func(OneTimeCode) (OneTimeCode, error)) (OneTimeCode, error)
	// ConsumeOneTimeCode deletes the code durably and returns it. Of any number of
	// concurrent calls exactly one succeeds; the others get ErrNotFound.
	ConsumeOneTimeCode(ctx context.Context, id string) (OneTimeCode, error)
	// UseOneTimeCode counts an attempt at the code and, in the same atomic, durable write,
	// consumes it or keeps the count: Attempts is incremented, then decide is called with
	// the counted record; if it returns true the code is deleted (as ConsumeOneTimeCode:
	// of concurrent uses that consume it exactly one succeeds, the others get ErrNotFound),
	// else the record is stored with its new Attempts. It returns the counted record and
	// whether it was consumed; ErrNotFound if there is no such code. decide must not call
	// the store.
	UseOneTimeCode(ctx context.Context, id string, decide func(OneTimeCode) bool) (OneTimeCode, bool, error)
	// ListOneTimeCodes returns the codes of one purpose ordered by ID.
	ListOneTimeCodes(ctx context.Context, purpose string, opts ListOptions) ([]OneTimeCode, error)
}

// Group is data attached to a group name; users' groups are names (User.Groups), and a
// group needs no record to exist. Its data is released as the claim custom_group_data.
type Group struct {
	Name string `json:"name"`
	// CustomData is a JSON object (at most 100 KB).
	CustomData json.RawMessage `json:"custom_data,omitempty"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// Groups stores group data.
type Groups interface {
	// PutGroup creates or replaces the group's record.
	PutGroup(ctx context.Context, g Group) error
	// GetGroup returns the group's record.
	GetGroup(ctx context.Context, name string) (Group, error)
	// DeleteGroup removes it; deleting a missing group is not an error.
	DeleteGroup(ctx context.Context, name string) error
	// UpdateGroup changes the group's record in one compare-and-swap, also across
	// instances sharing the store: update gets the stored record (exists false: there is
	// none, old is zero) and returns the record to store, or nil to delete it (nothing to
	// do if there is none). An error of update aborts, returned as it is; ErrConflict means
	// another writer created the record meanwhile. It returns the stored record (zero after
	// a delete). update may run more than once.
	UpdateGroup(ctx context.Context, name string, update func(old Group, exists bool) (*Group, error)) (Group, error)
	// ListGroups returns group records ordered by name.
	ListGroups(ctx context.Context, opts ListOptions) ([]Group, error)
}

// Passkey is a WebAuthn credential of a user. Its ID is the base64url credential ID, unique
// across users.
type Passkey struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	// Credential is the WebAuthn library's credential record (public key, sign count,
	// flags, AAGUID, transports), as JSON.
	Credential json.RawMessage `json:"credential"`
	// Name is chosen by the user ("Laptop", "Phone").
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// UseCount counts the logins with this passkey.
	UseCount int `json:"use_count,omitempty"`
}

// Passkeys stores WebAuthn credentials.
type Passkeys interface {
	// CreatePasskey stores a new passkey; ErrAlreadyExists if its credential ID is taken,
	// by this or any other user (CR-26).
	CreatePasskey(ctx context.Context, p Passkey) error
	// GetPasskey returns the passkey with this credential ID.
	GetPasskey(ctx context.Context, id string) (Passkey, error)
	// ListUserPasskeys returns the user's passkeys ordered by ID.
	ListUserPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// UpdatePasskey applies update atomically (see UpdateUser); the ID and UserID cannot
	// change.
	UpdatePasskey(ctx context.Context, id string, update func(Passkey) (Passkey, error)) (Passkey, error)
	// UpdatePasskeyConsuming consumes the one-time code codeID (the login ceremony the
	// passkey answered) and applies update to the passkey as UpdatePasskey does, in one
	// atomic, durable write: both or neither. update is called only while the code exists:
	// of concurrent calls for one code exactly one succeeds, and the others get ErrNotFound
	// (without calling update, or with their update discarded) and change nothing. It
	// returns the consumed code and the updated passkey.
	UpdatePasskeyConsuming(ctx context.Context, codeID, id string, update func(Passkey) (Passkey, error)) (OneTimeCode, Passkey, error)
	// DeletePasskey removes it; deleting a missing passkey is not an error.
	DeletePasskey(ctx context.Context, id string) error
}

// Identity links an account of an upstream identity provider (social login) to a user.
type Identity struct {
	// Provider is the configured provider's name ("google"), which contains no "/"; Subject
	// the upstream's stable user identifier (its sub claim, or GitHub's numeric user ID).
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	UserID   string `json:"user_id"`
	// Email is the upstream's address at the last login, for display.
	Email      string    `json:"email,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Identities stores linked upstream identities. (Provider, Subject) is unique.
type Identities interface {
	// CreateIdentity links an identity; ErrAlreadyExists if it is linked (to anyone).
	CreateIdentity(ctx context.Context, id Identity) error
	// GetIdentity returns the link of this upstream identity.
	GetIdentity(ctx context.Context, provider, subject string) (Identity, error)
	// ListUserIdentities returns the user's links ordered by provider and subject.
	ListUserIdentities(ctx context.Context, userID string) ([]Identity, error)
	// TouchIdentity records a login with the identity (LastUsedAt, Email).
	TouchIdentity(ctx context.Context, provider, subject, email string, at time.Time) error
	// DeleteIdentity removes the link; deleting a missing link is not an error.
	DeleteIdentity(ctx context.Context, provider, subject string) error
}

// Consent is a user's decision to let a third-party client have a set of scopes (the
// consent page). (UserID, ClientID) is unique: a later consent to the same client replaces
// it.
type Consent struct {
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id"`
	// Scopes are the scopes consented to, every request for a subset is answered without
	// asking again.
	Scopes    []string  `json:"scopes,omitempty"`
	GrantedAt time.Time `json:"granted_at"`
}

// Consents stores consents. Deleting a user deletes its consents.
type Consents interface {
	// PutConsent stores the consent, replacing the user's earlier consent to the client;
	// ErrNotFound if the user does not exist.
	PutConsent(ctx context.Context, c Consent) error
	// GetConsent returns the user's consent to the client.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// ListUserConsents returns the user's consents ordered by client ID.
	ListUserConsents(ctx context.Context, userID string) ([]Consent, error)
	// DeleteConsent removes the consent; deleting a missing consent is not an error.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}

// App credential kinds (AppCredential.Kind).
const (
	// CredentialPAT is a personal access token, sent as `Authorization: Bearer gh_pat_...`.
	CredentialPAT = "pat"
	// CredentialAppPassword is an app password, sent as `Authorization: Basic` with the
	// user's email or username, on routes that allow app passwords.
	CredentialAppPassword = "app_password"
)

// AppCredential is an app password or a personal access token a user created for a
// non-interactive client (WebDAV, git, scripts). Its ID is the hex SHA-256 of the secret,
// which only its creator ever sees.
type AppCredential struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	// Kind is CredentialPAT or CredentialAppPassword.
	Kind string `json:"kind"`
	// Name is chosen by the user ("laptop git").
	Name string `json:"name"`
	// Scopes are what the credential grants (matched against a route's scopes).
	Scopes []string `json:"scopes,omitempty"`
	// Sites, when not empty, are the hosts the credential is valid on.
	Sites     []string  `json:"sites,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt ends the credential (zero: never; callers always set one).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// LastUsedAt and LastUsedIP describe the last request the credential was accepted for,
	// written at most once a minute.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	LastUsedIP string    `json:"last_used_ip,omitempty"`
	// RevokedAt is set when the user or an admin revoked it.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// AppCredentials stores app passwords and personal access tokens.
type AppCredentials interface {
	// CreateAppCredential stores a new credential (ErrAlreadyExists if the ID is taken).
	CreateAppCredential(ctx context.Context, c AppCredential) error
	// GetAppCredential returns the credential with this ID (the hash of its secret).
	GetAppCredential(ctx context.Context, id string) (AppCredential, error)
	// ListUserAppCredentials returns the user's credentials ordered by ID.
	ListUserAppCredentials(ctx context.Context, userID string) ([]AppCredential, error)
	// UpdateAppCredential applies update atomically (see UpdateUser); the ID and UserID
	// cannot change.
	UpdateAppCredential(ctx context.Context, id string, update func(AppCredential) (AppCredential, error)) (AppCredential, error)
	// DeleteAppCredential removes it; deleting a missing credential is not an error.
	DeleteAppCredential(ctx context.Context, id string) error
}

// AuditEvent is one stored audit record (package audit's Event, with its expiry). It holds
// identifiers only, never a secret.
type AuditEvent struct {
	// ID is unique and time-ordered: IDs sort as the events' times do (see AuditEventIDPrefix).
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"`
	Actor    string    `json:"actor,omitempty"`
	UserID   string    `json:"user_id,omitempty"`
	ClientID string    `json:"client_id,omitempty"`
	IP       string    `json:"ip,omitempty"`
	Method   string    `json:"method,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Details are further non-secret identifiers.
	Details map[string]string `json:"details,omitempty"`
	// ExpiresAt is when the retention ends and the event may be purged (zero: never).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// AuditEventIDPrefix is the part of an audit event ID that encodes t: 16 lowercase hex
// digits of its Unix time in nanoseconds, so that IDs sort as times do (until 2262). An
// event ID is this prefix followed by random hex digits.
func AuditEventIDPrefix(t time.Time) string {
	const hex = "0123456789abcdef"
	n := uint64(t.UnixNano())
	if t.UnixNano() < 0 {
		n = 0
	}
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hex[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// CheckAuditEvent returns an error unless e can be appended: it needs a type and an ID
// that starts with AuditEventIDPrefix(e.Time), which the stores use to seek by time.
func CheckAuditEvent(e AuditEvent) error {
	if e.Type == "" {
		return errors.New("audit event without a type")
	}
	if p := AuditEventIDPrefix(e.Time); len(e.ID) <= len(p) || e.ID[:len(p)] != p {
		return fmt.Errorf("audit event id %q does not start with the prefix of its time %s", e.ID, p)
	}
	return nil
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	// UserID, Actor and Type select the events with exactly this value.
	UserID, Actor, Type string
	// Since and Until select the events with Since <= Time < Until (zero: unbounded).
	Since, Until time.Time
	// After returns events whose ID sorts strictly after this one (a cursor: the ID of the
	// last event of the previous page).
	After string
	// Limit caps the number of events returned; 0 means 100, and values above 1000 mean 1000.
	Limit int
}

// Match tells whether f selects e (every field but After and Limit).
func (f AuditFilter) Match(e AuditEvent) bool {
	return (f.UserID == "" || e.UserID == f.UserID) &&
		(f.Actor == "" || e.Actor == f.Actor) &&
		(f.Type == "" || e.Type == f.Type) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// AuditEvents keeps the audit trail.
type AuditEvents interface {
	// AppendAuditEvents stores events in one durable write, all or none: ErrAlreadyExists
	// if an ID is taken (or repeated among events), an error from CheckAuditEvent if one
	// is malformed, and then none is stored. One write for many events is what lets the
	// audit trail group the events of concurrent requests (package audit). Events are
	// never changed afterwards; they go when their ExpiresAt has passed (GarbageCollect, a
	// Badger TTL, PostgreSQL's GarbageCollect).
	AppendAuditEvents(ctx context.Context, events ...AuditEvent) error
	// ListAuditEvents returns the events f selects, oldest first (ordered by ID, which is
	// time-ordered), so that After pages forward through the trail.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// Setting is one runtime-settings document (package settings): login preferences,
// branding, a social provider, a role. Its Value is JSON the settings package owns; sealed
// secrets inside it are sealed by the caller.
type Setting struct {
	// Key names the document ("login", "branding", "provider/google", "role/editor").
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	// Version counts the writes of the key: 1 after the first PutSetting, +1 after each
	// later one. It is the document's ETag.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	// UpdatedBy is who wrote it last (a user ID, "client:<id>", "cli").
	UpdatedBy string `json:"updated_by,omitempty"`
}

// Settings stores versioned runtime-settings documents by key, written compare-and-set.
// store/postgres notifies TopicSettings when a PutSetting or DeleteSetting commits.
type Settings interface {
	// GetSetting returns the document stored under key (ErrNotFound if none).
	GetSetting(ctx context.Context, key string) (Setting, error)
	// ListSettings returns the documents ordered by key.
	ListSettings(ctx context.Context, opts ListOptions) ([]Setting, error)
	// PutSetting stores s.Value (with s.UpdatedAt and s.UpdatedBy) under s.Key if the
	// stored version is expected — 0 meaning that the key must not exist — and returns the
	// stored record, whose Version is expected+1 (s.Version is ignored). Otherwise it
	// writes nothing and returns ErrVersionMismatch. Of concurrent writers naming the same
	// version exactly one succeeds.
	PutSetting(ctx context.Context, s Setting, expected int64) (Setting, error)
	// DeleteSetting removes the document if its stored version is expected; a different
	// version is ErrVersionMismatch, a missing key ErrNotFound.
	DeleteSetting(ctx context.Context, key string, expected int64) error
}

// Change topics: what a Notifier reports changed.
const (
	// TopicAll means anything may have changed (the listener (re)connected and may have
	// missed notifications): reload everything.
	TopicAll = ""
	// TopicRevocations: an entry was added to the revocation list (logout, revocation,
	// disabled user).
	TopicRevocations = "revocations"
	// TopicKeys: a signing key was created, changed or deleted.
	TopicKeys = "keys"
	// TopicUsers: a user was disabled, enabled or deleted.
	TopicUsers = "users"
	// TopicSettings: a runtime-settings document was written or deleted.
	TopicSettings = "settings"
)

// Notifier is implemented by stores shared by several instances that can tell the others
// of a change at once (store/postgres, with LISTEN/NOTIFY). The writes concerned
// (AddRevocation, an UpdateUser that disables or enables, DeleteUser, CreateKey,
// UpdateKey, DeleteKey, PutSetting, DeleteSetting) notify when they commit. Callers keep polling as a fallback: a notification is an early hint, never
// the only way a change arrives.
type Notifier interface {
	// Listen calls changed with the topic of every change committed by any instance,
	// this one included, until ctx ends; then it returns ctx's error. It calls changed
	// with TopicAll each time it (re)starts listening, since changes made while it was
	// not listening are not reported, and reconnects with back-off when the connection
	// drops. changed is called from one goroutine and should not block.
	Listen(ctx context.Context, changed func(topic string)) error
}

// Pinger is implemented by stores that can check cheaply that they answer (store/postgres:
// a round trip to the database), for the readiness endpoint. A store without it is checked
// with a read of a record that does not exist.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Locker is implemented by stores shared by several instances that can give one of them
// a named lock (store/postgres, with a session advisory lock), for work only one instance
// should do at a time, such as rotating signing keys.
type Locker interface {
	// TryLock takes the lock named name if no one holds it and returns its release
	// function with ok set; if another holder has it, it returns ok false at once. The
	// lock is released when the holder's process or connection dies.
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)
}
