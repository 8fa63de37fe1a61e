package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/internal/detach"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// TokenResponse is a successful token-endpoint response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// Claims are the access token's claims, for in-process callers.
	Claims *tokens.AccessClaims `json:"-"`
}

// AuthenticateClient identifies the client of a token request. secret is the presented
// secret (hasSecret false for a public client's request). Failures are limited per client
// and client IP, so that guessing is slowed down without letting anyone lock a client out
// (CR-04, AS-24).
func (p *Server) AuthenticateClient(ctx context.Context, id, sec string, hasSecret bool, clientIP string) (*Client, *Error) {
	invalid := &Error{Kind: InvalidClient, Description: "client authentication failed"}
	if id == "" {
		return nil, invalid
	}
	c, err := p.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	} else if err != nil {
		return nil, p.serverError("token: load client", err)
	}
	if c.Public() {
		if hasSecret {
			return nil, invalid
		}
		return c, nil
	}
	if !hasSecret {
		return nil, invalid
	}
	release, err := p.Limiter.AttemptLocal(ctx, []string{"client:" + c.ID + ":" + lockout.IPKey(clientIP)}, []int{p.ClientMaxFailures})
	var locked *lockout.LockedError
	if errors.As(err, &locked) {
		return nil, &Error{Kind: InvalidClient, Description: "too many failed client authentications; " + locked.Error()}
	} else if err != nil {
		return nil, p.serverError("token: count client attempt", err)
	}
	ok := false
	defer func() { release(ok) }() // released even if Authenticate panics: the slot must not stay taken
	ok = c.Authenticate(sec)
	if !ok {
		return nil, invalid
	}
	return c, nil
}

// CodeGrant is a token request of the authorization code grant (RFC 6749 §4.1.3, with the
// PKCE verifier of RFC 7636 §4.5), as the token endpoint read it.
type CodeGrant struct {
	Code, RedirectURI, Verifier string
}

// RefreshRequest is a token request of the refresh token grant (RFC 6749 §6).
type RefreshRequest struct {
	Token string
	// Scopes narrow the grant; nil keeps the granted scopes (an empty, non-nil list asks
	// for none of them).
	Scopes []string
}

// ExchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6). The code is
// marked used before anything else is checked, so that any failed or repeated redemption
// burns it; a repeated redemption also revokes every token the first one issued.
func (p *Server) ExchangeCode(ctx context.Context, c *Client, in CodeGrant) (*TokenResponse, *Error) {
	return p.counted(ctx, GrantAuthorizationCode)(p.exchangeCode(ctx, c, in))
}

func (p *Server) exchangeCode(ctx context.Context, c *Client, in CodeGrant) (*TokenResponse, *Error) {
	code, redirectURI, verifier := in.Code, in.RedirectURI, in.Verifier
	invalid := func(format string, args ...any) *Error {
		return errorf(InvalidGrant, format, args...)
	}
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return nil, errorf(UnauthorizedClient, "this client may not use the authorization_code grant")
	}
	if code == "" || len(code) > 128 {
		return nil, errorf(InvalidRequest, "code is missing or malformed")
	}
	grantID := secret.New(16)
	now := p.Now()
	rec, err := p.Store.RedeemAuthCode(ctx, secret.Hash(code), grantID, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalid("the authorization code is invalid or expired")
	case errors.Is(err, store.ErrAlreadyUsed):
		p.logger().Warn("authorization code replayed; revoking the tokens it issued", "client", rec.ClientID, "grant", rec.GrantID)
		if rerr := p.Sessions.RevokeGrant(ctx, rec.GrantID); rerr != nil {
			return nil, p.serverError("token: revoke replayed grant", rerr)
		}
		return nil, invalid("the authorization code was already used")
	case err != nil:
		return nil, p.serverError("token: redeem code", err)
	}
	if rec.ClientID != c.ID {
		return nil, invalid("the authorization code was issued to another client")
	}
	if !now.Before(rec.ExpiresAt) {
		return nil, invalid("the authorization code expired")
	}
	if redirectURI != rec.RedirectURI && !(redirectURI == "" && len(c.RedirectURIs) == 1) {
		return nil, invalid("redirect_uri does not match the authorization request")
	}
	switch {
	case rec.CodeChallenge == "" && verifier != "":
		return nil, invalid("code_verifier sent but the authorization request had no code_challenge")
	case rec.CodeChallenge != "":
		if len(verifier) < 43 || len(verifier) > 128 || !validPKCE(verifier) {
			return nil, invalid("code_verifier is missing or malformed")
		}
		sum := sha256.Sum256([]byte(verifier))
		if !secret.Equal(base64.RawURLEncoding.EncodeToString(sum[:]), rec.CodeChallenge) {
			return nil, invalid("code_verifier does not match the code_challenge")
		}
	}
	u, err := p.Store.GetUser(ctx, rec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("the user no longer exists")
	} else if err != nil {
		return nil, p.serverError("token: read user", err)
	}
	if u.Disabled {
		return nil, invalid("the user is disabled")
	}
	if err := p.Revocations.Check(rec.SessionID, "", u.ID, rec.CreatedAt.Unix()); errors.Is(err, tokens.ErrUnavailable) {
		return nil, p.serverError("token: revocation list", err)
	} else if err != nil {
		return nil, invalid("the session was logged out")
	}
	// The session must still exist: a code must not outlive a logout, whatever the
	// revocation list still holds.
	if rec.SessionID != "" {
		s, err := p.Store.GetSession(ctx, rec.SessionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !now.Before(p.Sessions.ExpiresAt(s))) {
			return nil, invalid("the session was logged out")
		} else if err != nil {
			return nil, p.serverError("token: read session", err)
		}
	}
	// A code issued for a single-factor login just before the settings required a second
	// factor for its method yields no tokens (the code is spent: the user logs in again).
	if p.stepUpRequired(rec.AMR) {
		return nil, invalid(errStepUp)
	}
	g := grant{Grant: issue.Grant{ID: grantID, User: u, SessionID: rec.SessionID, Scopes: rec.Scopes,
		Audience: rec.Audience, AuthTime: rec.AuthTime, AMR: rec.AMR, ACR: rec.ACR, Nonce: rec.Nonce,
		NewUser: rec.NewUser, Claims: rec.Claims, Passkey: rec.Passkey, ApprovalData: rec.ApprovalData}, client: c}
	resp, err := p.issue(ctx, g, now, true)
	if err != nil {
		return nil, p.serverError("token: issue", err)
	}
	// A concurrent replay of this code may have revoked the grant before its refresh-token
	// family existed, so that RevokeFamily found nothing to mark and only the revocation
	// list (whose entries expire with the access-token lifetime) holds the revocation:
	// mark the family now, or its refresh token would work again once the entry expired.
	if errors.Is(p.Revocations.Check("", grantID, "", 0), tokens.ErrRevoked) {
		wctx, cancel := detach.Context(ctx)
		defer cancel()
		if err := p.Store.RevokeFamily(wctx, grantID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, p.serverError("token: revoke replayed grant", err)
		}
	}
	return resp, nil
}

// RefreshGrant exchanges a refresh token for new tokens and a new refresh token (RFC 6749 §6,
// RFC 9700 §4.14.2). A rotated token presented again revokes its whole family. The scopes
// may narrow the grant, never widen it.
func (p *Server) RefreshGrant(ctx context.Context, c *Client, in RefreshRequest) (*TokenResponse, *Error) {
	return p.counted(ctx, GrantRefreshToken)(p.refreshGrant(ctx, c, in))
}

func (p *Server) refreshGrant(ctx context.Context, c *Client, in RefreshRequest) (*TokenResponse, *Error) {
	rt := in.Token
	invalid := func(format string, args ...any) *Error {
		return errorf(InvalidGrant, format, args...)
	}
	if !c.AllowsGrant(GrantRefreshToken) {
		return nil, errorf(UnauthorizedClient, "this client may not use the refresh_token grant")
	}
	if rt == "" || len(rt) > 128 {
		return nil, errorf(InvalidRequest, "refresh_token is missing or malformed")
	}
	id := secret.Hash(rt)
	old, err := p.Store.GetRefreshToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("the refresh token is invalid or expired")
	} else if err != nil {
		return nil, p.serverError("token: read refresh token", err)
	}
	now := p.Now()
	switch {
	case old.ClientID != c.ID:
		return nil, invalid("the refresh token was issued to another client")
	case old.Revoked:
		return nil, invalid("the refresh token was revoked")
	case !old.RotatedAt.IsZero():
		return nil, p.refreshReuse(ctx, old)
	case !now.Before(old.ExpiresAt) || !now.Before(old.FamilyExpiresAt):
		return nil, invalid("the refresh token expired")
	}
	scopes := old.Scopes
	if in.Scopes != nil {
		scopes = dedupe(in.Scopes)
		for _, s := range scopes {
			if !hasString(old.Scopes, s) {
				return nil, errorf(InvalidScope, "scope %q was not granted to this refresh token", sanitize(s))
			}
		}
	}
	if old.SessionID != "" && !hasString(old.Scopes, "offline_access") {
		s, err := p.Store.GetSession(ctx, old.SessionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !now.Before(p.Sessions.ExpiresAt(s))) {
			return nil, invalid("the session of this refresh token ended")
		} else if err != nil {
			return nil, p.serverError("token: read session", err)
		}
	}
	u, err := p.Store.GetUser(ctx, old.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("the user no longer exists")
	} else if err != nil {
		return nil, p.serverError("token: read user", err)
	}
	if u.Disabled {
		return nil, invalid("the user is disabled")
	}
	if err := p.Revocations.Check(old.SessionID, old.FamilyID, u.ID, old.CreatedAt.Unix()); errors.Is(err, tokens.ErrUnavailable) {
		// The revocation list is stale (store outage): 503, so that the client keeps its
		// refresh token and retries; invalid_grant would make it throw the token away.
		return nil, p.serverError("token: revocation list", err)
	} else if err != nil {
		return nil, invalid("the refresh token was revoked")
	}
	// A refresh token of a single-factor login made before the settings required a second
	// factor for its method yields no new tokens while the setting holds (the token itself
	// is kept: it works again if the setting is relaxed).
	if p.stepUpRequired(old.AMR) {
		return nil, invalid(errStepUp)
	}
	g := grant{Grant: issue.Grant{ID: old.FamilyID, User: u, SessionID: old.SessionID, Scopes: scopes,
		Audience: old.Audience, AuthTime: old.AuthTime, AMR: old.AMR, ACR: old.ACR, Nonce: old.Nonce,
		Claims: old.Claims, Passkey: old.Passkey}, client: c,
		familyExpires: old.FamilyExpiresAt, rotateFrom: old.ID, grantedScopes: old.Scopes}
	resp, err := p.issue(ctx, g, now, false)
	if errors.Is(err, store.ErrAlreadyUsed) {
		return nil, p.refreshReuse(ctx, old)
	} else if errors.Is(err, store.ErrRevoked) {
		return nil, invalid("the refresh token was revoked")
	} else if err != nil {
		return nil, p.serverError("token: issue", err)
	}
	return resp, nil
}

func (p *Server) refreshReuse(ctx context.Context, old store.RefreshToken) *Error {
	metrics.Or(p.Metrics).RefreshReuse()
	audit.Or(p.Audit).Record(ctx, audit.Event{Type: audit.RefreshReuse, Actor: "client:" + old.ClientID, UserID: old.UserID,
		ClientID: old.ClientID, Method: GrantRefreshToken, Reason: "a rotated refresh token was presented again; its grant is revoked",
		Details: map[string]string{"grant": old.FamilyID}})
	p.logger().Warn("refresh token reused; revoking its family", "client", old.ClientID, "grant", old.FamilyID)
	if err := p.Sessions.RevokeGrant(ctx, old.FamilyID); err != nil {
		return p.serverError("token: revoke reused family", err)
	}
	return errorf(InvalidGrant, "the refresh token was already used; its grant is revoked")
}

// counted returns a function passing a grant's results through, counting a token response
// of grant and recording it on the audit trail (token.refreshed for the refresh_token
// grant, token.issued for the others).
func (p *Server) counted(ctx context.Context, grant string) func(*TokenResponse, *Error) (*TokenResponse, *Error) {
	return func(resp *TokenResponse, oerr *Error) (*TokenResponse, *Error) {
		if oerr == nil && resp != nil {
			metrics.Or(p.Metrics).TokenIssued(grant)
			if p.Audit != nil {
				p.Audit.Record(ctx, tokenEvent(grant, resp))
			}
		}
		return resp, oerr
	}
}

// tokenEvent is the audit event of a token response: identifiers only (the access token's
// jti, never a token).
func tokenEvent(grant string, resp *TokenResponse) audit.Event {
	e := audit.Event{Type: audit.TokenIssued, Method: grant}
	if grant == GrantRefreshToken {
		e.Type = audit.TokenRefreshed
	}
	if c := resp.Claims; c != nil {
		e.ClientID = c.ClientID
		e.Actor = "client:" + c.ClientID
		if grant != GrantClientCredentials {
			e.UserID = c.Subject
		}
		e.Details = map[string]string{"jti": c.ID, "scope": c.Scope}
		if c.SessionID != "" {
			e.Details["session"] = c.SessionID
		}
		if resp.RefreshToken != "" {
			e.Details["refresh"] = "issued"
		}
	}
	return e
}

// grant is what tokens are issued from.
type grant struct {
	issue.Grant
	client        *Client
	grantedScopes []string
	familyExpires time.Time
	rotateFrom    string // refresh: the token being rotated
}

// issue mints the access token, the ID token (with openid) and the refresh token (when the
// client may refresh) of g, storing the refresh token durably.
func (p *Server) issue(ctx context.Context, g grant, now time.Time, first bool) (*TokenResponse, error) {
	g.Client = g.client.forTokens()
	at, claims, err := p.Tokens.AccessToken(g.Grant, now)
	if err != nil {
		return nil, err
	}
	resp := &TokenResponse{AccessToken: at, TokenType: "Bearer",
		ExpiresIn: int(p.Tokens.AccessTokenLifetimeOf(g.Client) / time.Second),
		Scope:     strings.Join(g.Scopes, " "), Claims: claims}
	if g.client.AllowsGrant(GrantRefreshToken) {
		rt := secret.Token()
		granted := g.grantedScopes
		if granted == nil {
			granted = g.Scopes
		}
		// An offline grant outlives the portal session it was granted in (OIDC Core §11:
		// offline_access asks for access "even when the End-User is not present (not logged
		// in)"; Back-Channel Logout 1.0 §2.7: "Refresh tokens issued with the offline_access
		// property normally SHOULD NOT be revoked"): its family is not indexed by the session,
		// so logging out (sessions.Manager.End) leaves it, and the tokens refreshed from it
		// carry no sid, so the session's revocation does not catch them. The first access and
		// ID tokens, issued in the session, keep its sid and end with it.
		sid := g.SessionID
		if hasString(granted, "offline_access") {
			sid = ""
		}
		rec := store.RefreshToken{ID: secret.Hash(rt), FamilyID: g.ID, ClientID: g.client.ID, UserID: g.User.ID,
			SessionID: sid, Scopes: granted, Audience: g.Audience, AuthTime: g.AuthTime, AMR: g.AMR,
			ACR: g.ACR, Nonce: g.Nonce, Claims: g.Claims, Passkey: g.Passkey, CreatedAt: now,
			ExpiresAt:       now.Add(g.client.lifetime(g.client.RefreshTokenIdle, p.RefreshTokenIdle)),
			FamilyExpiresAt: g.familyExpires}
		if first {
			rec.FamilyExpiresAt = now.Add(g.client.lifetime(g.client.RefreshTokenLifetime, p.RefreshTokenLifetime))
		}
		if rec.ExpiresAt.After(rec.FamilyExpiresAt) {
			rec.ExpiresAt = rec.FamilyExpiresAt
		}
		if first {
			err = p.Store.CreateRefreshToken(ctx, rec)
		} else {
			_, err = p.Store.RotateRefreshToken(ctx, g.rotateFrom, rec, now)
		}
		if err != nil {
			return nil, fmt.Errorf("store refresh token: %w", err)
		}
		resp.RefreshToken = rt
	}
	if hasString(g.Scopes, "openid") {
		idt, err := p.Tokens.IDToken(ctx, g.Grant, now, at)
		if err != nil {
			return nil, err
		}
		resp.IDToken = idt
	}
	return resp, nil
}
