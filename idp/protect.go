package idp

import (
	"context"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
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
	return p.OAuth.ExchangeCode(ctx, c, code, redirectURI, verifier)
}

// RefreshGrant exchanges a refresh token for new tokens (oauth.Server.RefreshGrant).
func (p *Provider) RefreshGrant(ctx context.Context, c *Client, rt, scope string) (*TokenResponse, *Error) {
	return p.OAuth.RefreshGrant(ctx, c, rt, scope)
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

// ParseAuthRequest validates an authorization request (oauth.Server.ParseAuthRequest).
func (p *Provider) ParseAuthRequest(ctx context.Context, q url.Values) (*oauth.AuthRequest, bool, *Error) {
	return p.OAuth.ParseAuthRequest(ctx, q)
}

// IssueCode creates an authorization code (oauth.Server.IssueCode).
func (p *Provider) IssueCode(ctx context.Context, req *oauth.AuthRequest, s store.Session) (string, error) {
	return p.OAuth.IssueCode(ctx, req, s)
}
