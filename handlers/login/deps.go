package login

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The identity core as the login pages and API use it: one small interface per piece,
// satisfied by the pieces idp.New builds (the comment names each). The handlers never see
// the store.

// Sessions are the portal sessions (*sessions.Manager).
type Sessions interface {
	Start(ctx context.Context, u store.User, amr []string, meta sessions.Meta) (string, store.Session, error)
	Get(ctx context.Context, secret string) (store.Session, store.User, error)
	EndBySecret(ctx context.Context, secret string) error
	// Fresh tells whether the session's login is recent enough for a sensitive change.
	Fresh(s store.Session) bool
}

// MFA are the second-factor rules and pending logins (*mfa.Rules).
type MFA interface {
	NeedsSecondFactor(ctx context.Context, u store.User) (bool, error)
	StartPending(ctx context.Context, u store.User, amr []string) (string, error)
	PendingUser(ctx context.Context, secret string) (store.User, error)
	CompletePending(ctx context.Context, secret string) (mfa.Pending, error)
}

// Channels say which code methods are on and how long codes live (*otp.Codes).
type Channels interface {
	MethodEnabled(method string) bool
	CanEmail() bool
	CanSMS() bool
	CodeTTL() time.Duration
	LinkTTL() time.Duration
}

// PasswordLogin is login by password (*password.Method).
type PasswordLogin interface {
	Login(ctx context.Context, email, password, clientIP string) (authn.Result, error)
}

// CodeSender begins a login by code: email (*emailcode.Method) or SMS (*smscode.Method).
type CodeSender interface {
	Begin(ctx context.Context, to, lang, clientIP string) (string, error)
}

// CodeLogin finishes a login by code of either channel (*otp.LoginCodes).
type CodeLogin interface {
	Finish(ctx context.Context, flow, code, clientIP string) (authn.Result, error)
}

// MagicLink is login by emailed link (*magiclink.Method).
type MagicLink interface {
	Begin(ctx context.Context, email, returnTo, lang, clientIP string) (string, error)
	Finish(ctx context.Context, token, nonce string, confirmed bool) (authn.Result, error)
}

// Recovery is account recovery (*recovery.Method).
type Recovery interface {
	Begin(ctx context.Context, identifier, lang, clientIP string) (string, error)
	Finish(ctx context.Context, flow, code, clientIP string) (authn.Result, error)
}

// Accounts change what a signed-in user may change of their account (*account.Accounts).
type Accounts interface {
	ChangePassword(ctx context.Context, s store.Session, password string) error
}

// Verification proves addresses and phone numbers (*account.Verification).
type Verification interface {
	StartEmail(ctx context.Context, s store.Session, u store.User, email, lang, clientIP string) (string, error)
	FinishEmail(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error)
	StartPhone(ctx context.Context, s store.Session, u store.User, phone, lang, clientIP string) (string, error)
	FinishPhone(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error)
}

// Signup is self-service sign-up (*account.Signup).
type Signup interface {
	Enabled() bool
	InviteRequired() bool
	VerifiesFirst() bool
	Create(ctx context.Context, in account.NewUser, invite, clientIP string) (authn.Result, error)
	Start(ctx context.Context, in account.NewUser, invite, lang, clientIP string) (string, error)
	Finish(ctx context.Context, flow, code, clientIP string) (authn.Result, error)
}

// Passkeys are the passkey ceremonies and management (*passkey.Method).
type Passkeys interface {
	Enabled() bool
	BeginSignup(ctx context.Context, in account.NewUser, invite, clientIP string) (*passkey.Ceremony, error)
	FinishSignup(ctx context.Context, secret string, response []byte, name string) (authn.Result, error)
	FinishSignupByCode(ctx context.Context, secret string, response []byte, name, lang, clientIP string) (string, error)
	BeginLogin(ctx context.Context, email string) (*passkey.Ceremony, error)
	FinishLogin(ctx context.Context, secret string, response []byte) (authn.Result, error)
	BeginSecondFactor(ctx context.Context, u store.User, bind string) (*passkey.Ceremony, error)
	FinishSecondFactor(ctx context.Context, u store.User, bind, secret string, response []byte) (store.Passkey, error)
	BeginRegistration(ctx context.Context, s store.Session) (*passkey.Ceremony, error)
	FinishRegistration(ctx context.Context, s store.Session, secret, name string, response []byte) (store.Passkey, error)
	List(ctx context.Context, userID string) ([]store.Passkey, error)
	Rename(ctx context.Context, userID, id, name string) (store.Passkey, error)
	Delete(ctx context.Context, s store.Session, id string) error
}

// Social is social login and linked identities (*social.Method).
type Social interface {
	Configured() []*social.Provider
	Provider(name string) *social.Provider
	Begin(ctx context.Context, clientIP, name, returnTo string) (social.Start, error)
	BeginLink(ctx context.Context, clientIP, name string, s store.Session) (social.Start, error)
	Finish(ctx context.Context, name string, cb social.Callback, sess store.Session) (social.Result, error)
	Unlink(ctx context.Context, s store.Session, provider, subject string) error
	Identities(ctx context.Context, userID string) ([]store.Identity, error)
}

// IDTokens verifies the id_token_hint of a logout request (*tokens.Verifier).
type IDTokens interface {
	VerifyIDToken(token string, allowExpired bool) (map[string]any, error)
}

// Clients finds the client of a logout request (*oauth.Server).
type Clients interface {
	Client(ctx context.Context, id string) (*oauth.Client, error)
}
