package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// GrantTypeClientCredentials marks access tokens of the client credentials grant (claim
// gty): they identify a client, never a user (AS-30).
const GrantTypeClientCredentials = issue.GrantTypeClientCredentials

// ClientCredentialsRequest is a token request of the client credentials grant (RFC 6749
// §4.4.2, with the resource indicators of RFC 8707 §2).
type ClientCredentialsRequest struct {
	Scopes, Resources []string
}

// ClientCredentialsGrant issues an access token to a confidential client acting on its own
// behalf (RFC 6749 §4.4): no user, no refresh token, no ID token. The scopes must be a
// subset of the client's (openid is refused: there is no user); the resources choose the
// audience.
func (p *Server) ClientCredentialsGrant(ctx context.Context, c *Client, in ClientCredentialsRequest) (*TokenResponse, *Error) {
	return p.counted(ctx, GrantClientCredentials)(p.clientCredentialsGrant(ctx, c, in))
}

func (p *Server) clientCredentialsGrant(ctx context.Context, c *Client, in ClientCredentialsRequest) (*TokenResponse, *Error) {
	if !c.AllowsGrant(GrantClientCredentials) || c.Public() {
		return nil, errorf(UnauthorizedClient, "this client may not use the client_credentials grant")
	}
	scopes := dedupe(in.Scopes)
	for _, s := range scopes {
		if s == "openid" || s == "offline_access" || !c.AllowsScope(s) {
			return nil, errorf(InvalidScope, "scope %q is not available to this client here", sanitize(s))
		}
	}
	aud, oerr := p.audience(c, in.Resources, nil)
	if oerr != nil {
		return nil, oerr
	}
	now := p.Now()
	lifetime := p.Tokens.AccessTokenLifetimeOf(c.forTokens())
	at, claims, err := p.Tokens.ClientAccessToken(c.forTokens(), scopes, aud, now)
	if err != nil {
		return nil, p.serverError("token: sign", err)
	}
	return &TokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(lifetime / time.Second),
		Scope: claims.Scope, Claims: claims}, nil
}

// audience resolves requested resource indicators (RFC 8707) for client c: each must be
// registered for it, and, when granted is not nil, part of what was granted. No resource
// gives the client itself (or the granted audience).
func (p *Server) audience(c *Client, resources, granted []string) (tokens.Audience, *Error) {
	if len(resources) == 0 {
		if len(granted) > 0 {
			return tokens.Audience(granted), nil
		}
		return tokens.Audience{c.ID}, nil
	}
	var out tokens.Audience
	for _, r := range resources {
		if err := ValidateResource(r); err != nil {
			return nil, errorf(InvalidTarget, "resource %q: %v", sanitize(r), err)
		}
		if !c.AllowsResource(r) || (granted != nil && !hasString(granted, r)) {
			return nil, errorf(InvalidTarget, "resource %q is not available to this client", sanitize(r))
		}
		if !out.Contains(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// TokenHint is what the client says a presented token is (RFC 7009 §2.1, RFC 7662 §2.1:
// token_type_hint): where to look first.
type TokenHint int

// The hints.
const (
	NoHint TokenHint = iota
	AccessTokenHint
	RefreshTokenHint
)

// Revoke revokes a token presented by client c (RFC 7009). A refresh token revokes its
// whole grant (and the grant's access tokens); an access token is revoked alone. Unknown or
// invalid tokens are not an error (RFC 7009 §2.2); a token of another client is.
func (p *Server) Revoke(ctx context.Context, c *Client, token string, hint TokenHint) *Error {
	if token == "" || len(token) > tokens.MaxTokenSize {
		return errorf(InvalidRequest, "token is missing or too large")
	}
	notOwner := errorf(InvalidGrant, "the token was issued to another client")
	tryRefresh := func() (bool, *Error) {
		if strings.Contains(token, ".") || len(token) > 128 {
			return false, nil
		}
		rt, err := p.Store.GetRefreshToken(ctx, secret.Hash(token))
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return true, p.serverError("revoke: read refresh token", err)
		}
		if rt.ClientID != c.ID {
			return true, notOwner
		}
		if err := p.Sessions.RevokeGrant(ctx, rt.FamilyID); err != nil {
			return true, p.serverError("revoke: family", err)
		}
		audit.Or(p.Audit).Record(ctx, audit.Event{Type: audit.TokenRevoked, Actor: "client:" + c.ID, UserID: rt.UserID,
			ClientID: c.ID, Reason: "refresh token revoked by its client", Details: map[string]string{"grant": rt.FamilyID}})
		return true, nil
	}
	tryAccess := func() (bool, *Error) {
		ac, err := p.Verifier.VerifyAccessTokenIgnoringExpiry(token)
		if err != nil {
			return false, nil
		}
		if ac.ClientID != c.ID {
			return true, notOwner
		}
		now := p.Now()
		r := store.Revocation{Kind: store.RevokeToken, Subject: ac.ID, At: now,
			ExpiresAt: time.Unix(ac.ExpiresAt, 0).Add(2 * p.Leeway)}
		if !r.ExpiresAt.After(now) {
			return true, nil // expired already
		}
		p.Revocations.Add(r)
		if err := p.Store.AddRevocation(ctx, r); err != nil {
			return true, p.serverError("revoke: store", err)
		}
		audit.Or(p.Audit).Record(ctx, audit.Event{Type: audit.TokenRevoked, Actor: "client:" + c.ID, UserID: ac.Subject,
			ClientID: c.ID, Reason: "access token revoked by its client", Details: map[string]string{"jti": ac.ID}})
		return true, nil
	}
	first, second := tryRefresh, tryAccess
	if hint == AccessTokenHint {
		first, second = tryAccess, tryRefresh
	}
	if done, oerr := first(); done || oerr != nil {
		return oerr
	}
	_, oerr := second()
	return oerr
}

// Introspection is an RFC 7662 introspection response.
type Introspection struct {
	Active    bool            `json:"active"`
	Scope     string          `json:"scope,omitempty"`
	ClientID  string          `json:"client_id,omitempty"`
	Username  string          `json:"username,omitempty"`
	TokenType string          `json:"token_type,omitempty"`
	Exp       int64           `json:"exp,omitempty"`
	Iat       int64           `json:"iat,omitempty"`
	Nbf       int64           `json:"nbf,omitempty"`
	Sub       string          `json:"sub,omitempty"`
	Aud       tokens.Audience `json:"aud,omitempty"`
	Iss       string          `json:"iss,omitempty"`
	Jti       string          `json:"jti,omitempty"`
	Sid       string          `json:"sid,omitempty"`
}

// Introspect tells client c whether a token is active (RFC 7662). A client may introspect the
// access tokens issued to it or meant for it (its ID in the audience) and its own refresh
// tokens; anything else is reported inactive, revealing nothing.
func (p *Server) Introspect(ctx context.Context, c *Client, token string, hint TokenHint) (*Introspection, *Error) {
	if c.Public() {
		// Introspection needs an authenticated client (RFC 7662 §2.1): a public client's
		// client_id is no credential (discovery lists no "none" method for it).
		return nil, &Error{Kind: InvalidClient, Description: "public clients cannot use token introspection"}
	}
	inactive := &Introspection{Active: false}
	if token == "" || len(token) > tokens.MaxTokenSize {
		return inactive, nil
	}
	if strings.Count(token, ".") == 2 {
		ac, err := p.Verifier.VerifyAccessToken(token)
		if errors.Is(err, tokens.ErrUnavailable) {
			return nil, &Error{Kind: Unavailable, Description: "revocation list unavailable"}
		}
		if err != nil || (ac.ClientID != c.ID && !ac.Audience.Contains(c.ID)) {
			return inactive, nil
		}
		if ac.GrantType != GrantTypeClientCredentials {
			u, err := p.Store.GetUser(ctx, ac.Subject)
			if err != nil || u.Disabled {
				return inactive, nil
			}
		}
		return &Introspection{Active: true, Scope: ac.Scope, ClientID: ac.ClientID, TokenType: "Bearer",
			Exp: ac.ExpiresAt, Iat: ac.IssuedAt, Nbf: ac.NotBefore, Sub: ac.Subject, Aud: ac.Audience,
			Iss: p.Issuer, Jti: ac.ID, Sid: ac.SessionID}, nil
	}
	if len(token) > 128 {
		return inactive, nil
	}
	rt, err := p.Store.GetRefreshToken(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return inactive, nil
	} else if err != nil {
		return nil, p.serverError("introspect: read refresh token", err)
	}
	now := p.Now()
	if rt.ClientID != c.ID || rt.Revoked || !rt.RotatedAt.IsZero() || !now.Before(rt.ExpiresAt) || !now.Before(rt.FamilyExpiresAt) {
		return inactive, nil
	}
	if err := p.Revocations.Check(rt.SessionID, rt.FamilyID, rt.UserID, rt.CreatedAt.Unix()); err != nil {
		return inactive, nil
	}
	return &Introspection{Active: true, Scope: strings.Join(rt.Scopes, " "), ClientID: rt.ClientID,
		TokenType: "refresh_token", Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Sub: rt.UserID,
		Iss: p.Issuer, Sid: rt.SessionID}, nil
}
