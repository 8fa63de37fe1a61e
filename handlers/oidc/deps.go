package oidc

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The identity core as the OpenID Provider endpoints use it: one small interface per piece,
// satisfied by the pieces idp.New builds (the comment names each). The handlers never see
// the store.

// OAuth is the authorization server (*oauth.Server): every decision of the endpoints.
type OAuth interface {
	Authorize(ctx context.Context, in oauth.AuthParams) (req *oauth.AuthRequest, redirect bool, err *oauth.Error)
	IssueCode(ctx context.Context, req *oauth.AuthRequest, s store.Session) (string, error)
	// IssueApprovalCode issues the code of a request whose transaction the user approved.
	IssueApprovalCode(ctx context.Context, req *oauth.AuthRequest, s store.Session, amr string) (string, error)
	// Push, OpenPushed and ClosePushed are pushed authorization requests (RFC 9126, par.go).
	Push(ctx context.Context, c *oauth.Client, params url.Values) (*oauth.PushedRequest, *oauth.Error)
	OpenPushed(ctx context.Context, clientID, requestURI, browserSecret string) (*oauth.Pushed, *oauth.Error)
	ClosePushed(ctx context.Context, requestURI string) *oauth.Error
	// NeedsConsent and GiveConsent are the consent page's decisions (third-party clients).
	NeedsConsent(ctx context.Context, userID string, req *oauth.AuthRequest) (bool, error)
	GiveConsent(ctx context.Context, userID string, req *oauth.AuthRequest) error
	AuthenticateClient(ctx context.Context, id, secret string, hasSecret bool, clientIP string) (*oauth.Client, *oauth.Error)
	ExchangeCode(ctx context.Context, c *oauth.Client, in oauth.CodeGrant) (*oauth.TokenResponse, *oauth.Error)
	RefreshGrant(ctx context.Context, c *oauth.Client, in oauth.RefreshRequest) (*oauth.TokenResponse, *oauth.Error)
	ClientCredentialsGrant(ctx context.Context, c *oauth.Client, in oauth.ClientCredentialsRequest) (*oauth.TokenResponse, *oauth.Error)
	StartDevice(ctx context.Context, c *oauth.Client, scopes []string) (*oauth.DeviceStart, *oauth.Error)
	DeviceGrant(ctx context.Context, c *oauth.Client, deviceCode string) (*oauth.TokenResponse, *oauth.Error)
	Revoke(ctx context.Context, c *oauth.Client, token string, hint oauth.TokenHint) *oauth.Error
	Introspect(ctx context.Context, c *oauth.Client, token string, hint oauth.TokenHint) (*oauth.Introspection, *oauth.Error)
	UserInfo(ctx context.Context, ac *tokens.AccessClaims) (map[string]any, *oauth.Error)
	// KnownOrigin tells whether origin is a browser origin of some public client (CORS).
	KnownOrigin(ctx context.Context, origin string) bool
}

// Registrar is dynamic client registration (*oauth.Server; registration.go there).
type Registrar interface {
	CheckInitialAccessToken(ctx context.Context, token, clientIP string) *oauth.Error
	Register(ctx context.Context, m oauth.ClientMetadata, clientIP string) (*oauth.RegisteredClient, *oauth.Error)
	ReadRegistration(ctx context.Context, id, token, clientIP string) (*oauth.RegisteredClient, *oauth.Error)
	UpdateRegistration(ctx context.Context, id, token, clientIP string, m oauth.ClientMetadata) (*oauth.RegisteredClient, *oauth.Error)
	DeleteRegistration(ctx context.Context, id, token, clientIP string) *oauth.Error
}

// Sessions reads the portal session of the browser (*sessions.Manager).
type Sessions interface {
	Get(ctx context.Context, secret string) (store.Session, store.User, error)
}

// MFA are the step-up rules (*mfa.Rules).
type MFA interface {
	NeedsSecondFactor(ctx context.Context, u store.User) (bool, error)
	CanAddPasskey(s store.Session) bool
	StepUpRequired(amr []string) bool
}

// Passkeys tells whether passkeys are available (*passkey.Method).
type Passkeys interface {
	Enabled() bool
}

// Verifier verifies the tokens the provider issued (*tokens.Verifier).
type Verifier interface {
	VerifyIDToken(token string, allowExpired bool) (map[string]any, error)
	VerifyAccessToken(token string) (*tokens.AccessClaims, error)
}

// Keys are the signing keys (*keys.Ring): published, and a source of derived secrets.
type Keys interface {
	Algs() []string
	JWKS() []byte
	DeriveKey(purpose string) []byte
}

// Journeys starts a journey for an authorization request (handlers/journey.Handler).
type Journeys interface {
	// Has reports whether a journey of this name is configured.
	Has(name string) bool
	// StartAuthorization begins journey name for the validated request req (in are its
	// parameters as sent) and answers the browser (the journey's first page). The journey
	// keeps req — pushed parameters and approval data included — and ends with the
	// authorization response: a code from oauth.IssueJourneyCode, or an error.
	StartAuthorization(w http.ResponseWriter, r *http.Request, name string, req *oauth.AuthRequest, in oauth.AuthParams)
}
