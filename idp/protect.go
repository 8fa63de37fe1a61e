package idp

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// The provider's in-process access for handlers/protect, the OpenID client that
// gatehouse_protect runs inside the same process (it exchanges the code of a browser login
// and refreshes the tokens of its session), and for module/protect.go, which picks a
// protect handler's client. Each method forwards to the piece that owns the operation; the
// protect handler will take a narrow interface of its own, which a Provider satisfies.

// Client returns the client with this ID: from the configuration, else from the store.
func (p *Provider) Client(ctx context.Context, id string) (*Client, error) {
	return p.OAuth.Client(ctx, id)
}

// Clients returns the configured clients.
func (p *Provider) Clients() []*Client { return p.OAuth.ConfiguredClients() }

// ExchangeCode redeems an authorization code (oauth.Server.ExchangeCode).
func (p *Provider) ExchangeCode(ctx context.Context, c *Client, code, redirectURI, verifier string) (*TokenResponse, *Error) {
	return p.OAuth.ExchangeCode(ctx, c, oauth.CodeGrant{Code: code, RedirectURI: redirectURI, Verifier: verifier})
}

// RefreshGrant exchanges a refresh token for new tokens (oauth.Server.RefreshGrant).
func (p *Provider) RefreshGrant(ctx context.Context, c *Client, rt, scope string) (*TokenResponse, *Error) {
	in := oauth.RefreshRequest{Token: rt}
	if scope != "" {
		in.Scopes = strings.Fields(scope)
	}
	return p.OAuth.RefreshGrant(ctx, c, in)
}

// EndSession logs a session out (sessions.Manager.End).
func (p *Provider) EndSession(ctx context.Context, sessionID string) error {
	return p.Sessions.End(ctx, sessionID)
}

// PasskeysEnabled reports whether the server can run WebAuthn ceremonies.
func (p *Provider) PasskeysEnabled() bool { return p.Passkey.Enabled() }

// What the protect handler's tests drive: a user, a session, an authorization code.

// CreateUser creates a user (account.Accounts.Create).
func (p *Provider) CreateUser(ctx context.Context, in NewUser) (store.User, error) {
	return p.Accounts.Create(ctx, in)
}

// StartSession starts a portal session for u (sessions.Manager.Start).
func (p *Provider) StartSession(ctx context.Context, u store.User, amr []string, meta SessionMeta) (string, store.Session, error) {
	return p.Sessions.Start(ctx, u, amr, meta)
}

// ParseAuthRequest validates an authorization request that Gatehouse itself built
// (gatehouse_protect's, in its tests; internal/idptest's) with oauth.Server.Authorize. It
// reads the parameters one for one and checks nothing of their encoding: the authorization
// endpoint's parser, which refuses repeated, oversized and malformed parameters, is
// handlers/oidc's.
func (p *Provider) ParseAuthRequest(ctx context.Context, q url.Values) (*oauth.AuthRequest, bool, *Error) {
	in := oauth.AuthParams{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		ResponseType: q.Get("response_type"), ResponseMode: q.Get("response_mode"),
		Request: q.Has("request"), RequestURI: q.Has("request_uri"),
		Scopes: strings.Fields(q.Get("scope")), Nonce: q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
		Prompt: strings.Fields(q.Get("prompt")), MaxAge: -1,
		LoginHint: q.Get("login_hint"), IDTokenHint: q.Get("id_token_hint"),
		ACRValues: strings.Fields(q.Get("acr_values")), UILocales: q.Get("ui_locales"),
		Claims: issue.DecodeClaimsRequest(q.Get("claims")), Resources: q["resource"]}
	if n, err := strconv.Atoi(q.Get("max_age")); err == nil {
		in.MaxAge = n
	}
	return p.OAuth.Authorize(ctx, in)
}

// IssueCode creates an authorization code (oauth.Server.IssueCode).
func (p *Provider) IssueCode(ctx context.Context, req *oauth.AuthRequest, s store.Session) (string, error) {
	return p.OAuth.IssueCode(ctx, req, s)
}
