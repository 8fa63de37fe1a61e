package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
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
func (p *Provider) AuthenticateClient(ctx context.Context, id, sec string, hasSecret bool, clientIP string) (*Client, *Error) {
	invalid := &Error{Code: ErrCodeInvalidClient, Description: "client authentication failed", Status: 401}
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
	release, err := p.attempt(ctx, []string{"client:" + c.ID + ":" + ipKey(clientIP)}, []int{p.ClientMaxFailures})
	var locked *LockedError
	if errors.As(err, &locked) {
		return nil, &Error{Code: ErrCodeInvalidClient, Description: "too many failed client authentications; " + locked.Error(), Status: 401}
	} else if err != nil {
		return nil, p.serverError("token: count client attempt", err)
	}
	ok := c.Authenticate(sec)
	release(ok)
	if !ok {
		return nil, invalid
	}
	return c, nil
}

// ExchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6). The code is
// marked used before anything else is checked, so that any failed or repeated redemption
// burns it; a repeated redemption also revokes every token the first one issued.
func (p *Provider) ExchangeCode(ctx context.Context, c *Client, code, redirectURI, verifier string) (*TokenResponse, *Error) {
	invalid := func(format string, args ...any) *Error {
		return oauthErr(ErrCodeInvalidGrant, 400, format, args...)
	}
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return nil, oauthErr(ErrCodeUnauthorizedClient, 400, "this client may not use the authorization_code grant")
	}
	if code == "" || len(code) > 128 {
		return nil, oauthErr(ErrCodeInvalidRequest, 400, "code is missing or malformed")
	}
	grantID := secret.New(16)
	now := p.Now()
	rec, err := p.Store.RedeemAuthCode(ctx, secret.Hash(code), grantID, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalid("the authorization code is invalid or expired")
	case errors.Is(err, store.ErrAlreadyUsed):
		p.Logger.Warn("authorization code replayed; revoking the tokens it issued", "client", rec.ClientID, "grant", rec.GrantID)
		if rerr := p.revokeGrant(ctx, rec.GrantID); rerr != nil {
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
	if err := p.Revocations.Check(rec.SessionID, "", u.ID, rec.CreatedAt.Unix()); err != nil {
		return nil, invalid("the session was logged out")
	}
	// The session must still exist: a code must not outlive a logout, whatever the
	// revocation list still holds.
	if rec.SessionID != "" {
		s, err := p.Store.GetSession(ctx, rec.SessionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !now.Before(s.ExpiresAt())) {
			return nil, invalid("the session was logged out")
		} else if err != nil {
			return nil, p.serverError("token: read session", err)
		}
	}
	g := grant{id: grantID, client: c, user: u, sessionID: rec.SessionID, scopes: rec.Scopes,
		audience: rec.Audience, authTime: rec.AuthTime, amr: rec.AMR, acr: rec.ACR, nonce: rec.Nonce,
		newUser: rec.NewUser, claims: rec.Claims, passkey: rec.Passkey}
	resp, err := p.issue(ctx, g, now, true)
	if err != nil {
		return nil, p.serverError("token: issue", err)
	}
	// A concurrent replay of this code may have revoked the grant before its refresh-token
	// family existed, so that RevokeFamily found nothing to mark and only the revocation
	// list (whose entries expire with the access-token lifetime) holds the revocation:
	// mark the family now, or its refresh token would work again once the entry expired.
	if errors.Is(p.Revocations.Check("", grantID, "", 0), tokens.ErrRevoked) {
		wctx, cancel := detached(ctx)
		defer cancel()
		if err := p.Store.RevokeFamily(wctx, grantID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, p.serverError("token: revoke replayed grant", err)
		}
	}
	return resp, nil
}

// RefreshGrant exchanges a refresh token for new tokens and a new refresh token (RFC 6749 §6,
// RFC 9700 §4.14.2). A rotated token presented again revokes its whole family. scope may
// narrow the grant, never widen it.
func (p *Provider) RefreshGrant(ctx context.Context, c *Client, rt, scope string) (*TokenResponse, *Error) {
	invalid := func(format string, args ...any) *Error {
		return oauthErr(ErrCodeInvalidGrant, 400, format, args...)
	}
	if !c.AllowsGrant(GrantRefreshToken) {
		return nil, oauthErr(ErrCodeUnauthorizedClient, 400, "this client may not use the refresh_token grant")
	}
	if rt == "" || len(rt) > 128 {
		return nil, oauthErr(ErrCodeInvalidRequest, 400, "refresh_token is missing or malformed")
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
	if scope != "" {
		scopes = dedupe(strings.Fields(scope))
		for _, s := range scopes {
			if !hasString(old.Scopes, s) {
				return nil, oauthErr(ErrCodeInvalidScope, 400, "scope %q was not granted to this refresh token", sanitize(s))
			}
		}
	}
	if old.SessionID != "" && !hasString(old.Scopes, "offline_access") {
		s, err := p.Store.GetSession(ctx, old.SessionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !now.Before(s.ExpiresAt())) {
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
	if err := p.Revocations.Check(old.SessionID, old.FamilyID, u.ID, old.CreatedAt.Unix()); err != nil {
		return nil, invalid("the refresh token was revoked")
	}
	g := grant{id: old.FamilyID, client: c, user: u, sessionID: old.SessionID, scopes: scopes,
		audience: old.Audience, authTime: old.AuthTime, amr: old.AMR, acr: old.ACR, nonce: old.Nonce,
		familyExpires: old.FamilyExpiresAt, rotateFrom: old.ID, grantedScopes: old.Scopes, claims: old.Claims,
		passkey: old.Passkey}
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

func (p *Provider) refreshReuse(ctx context.Context, old store.RefreshToken) *Error {
	p.Logger.Warn("refresh token reused; revoking its family", "client", old.ClientID, "grant", old.FamilyID)
	if err := p.revokeGrant(ctx, old.FamilyID); err != nil {
		return p.serverError("token: revoke reused family", err)
	}
	return oauthErr(ErrCodeInvalidGrant, 400, "the refresh token was already used; its grant is revoked")
}

// revokeGrant revokes a refresh-token family and the access tokens issued in it. The writes
// run detached from the request: a client closing its connection must not leave a replayed
// grant half revoked.
func (p *Provider) revokeGrant(ctx context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := p.revoke(ctx, store.RevokeGrant, grantID); err != nil {
		return err
	}
	if err := p.Store.RevokeFamily(ctx, grantID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke family: %w", err)
	}
	return nil
}

// grant is what tokens are issued from.
type grant struct {
	id            string
	client        *Client
	user          store.User
	sessionID     string
	scopes        []string
	grantedScopes []string
	audience      []string
	authTime      time.Time
	amr           []string
	acr           string
	nonce         string
	newUser       bool
	familyExpires time.Time
	rotateFrom    string // refresh: the token being rotated
	claims        string // the claims request (JSON)
	passkey       string // the passkey of the authentication
}

// issue mints the access token, the ID token (with openid) and the refresh token (when the
// client may refresh) of g, storing the refresh token durably.
func (p *Provider) issue(ctx context.Context, g grant, now time.Time, first bool) (*TokenResponse, error) {
	at, claims, err := p.accessToken(g, now)
	if err != nil {
		return nil, err
	}
	resp := &TokenResponse{AccessToken: at, TokenType: "Bearer",
		ExpiresIn: int(g.client.lifetime(g.client.AccessTokenLifetime, p.AccessTokenLifetime) / time.Second),
		Scope:     strings.Join(g.scopes, " "), Claims: claims}
	if g.client.AllowsGrant(GrantRefreshToken) {
		rt := secret.Token()
		granted := g.grantedScopes
		if granted == nil {
			granted = g.scopes
		}
		rec := store.RefreshToken{ID: secret.Hash(rt), FamilyID: g.id, ClientID: g.client.ID, UserID: g.user.ID,
			SessionID: g.sessionID, Scopes: granted, Audience: g.audience, AuthTime: g.authTime, AMR: g.amr,
			ACR: g.acr, Nonce: g.nonce, Claims: g.claims, Passkey: g.passkey, CreatedAt: now,
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
	if hasString(g.scopes, "openid") {
		idt, err := p.idToken(ctx, g, now, at)
		if err != nil {
			return nil, err
		}
		resp.IDToken = idt
	}
	return resp, nil
}

func (p *Provider) accessToken(g grant, now time.Time) (string, *tokens.AccessClaims, error) {
	aud := tokens.Audience(g.audience)
	if len(aud) == 0 {
		aud = tokens.Audience{g.client.ID}
	}
	c := &tokens.AccessClaims{Issuer: p.Issuer, Subject: g.user.ID, Audience: aud,
		ExpiresAt: now.Add(g.client.lifetime(g.client.AccessTokenLifetime, p.AccessTokenLifetime)).Unix(),
		IssuedAt:  now.Unix(), ID: secret.New(16),
		ClientID: g.client.ID, Scope: strings.Join(g.scopes, " "), AuthTime: g.authTime.Unix(),
		ACR: g.acr, AMR: g.amr, SessionID: g.sessionID, GrantID: g.id, Groups: p.tokenGroups(g.user)}
	if hasString(g.scopes, "email") {
		c.Email, c.EmailVerified = g.user.Email, g.user.EmailVerified
	}
	if hasString(g.scopes, "profile") {
		c.Name = displayName(g.user)
	}
	if cr := decodeClaimsRequest(g.claims); cr != nil && len(cr.Userinfo) > 0 {
		// The userinfo part of the claims request travels with the access token, signed,
		// to the userinfo endpoint.
		c.UserinfoClaims = (&ClaimsRequest{Userinfo: cr.Userinfo}).encode()
	}
	key, err := p.Keys.Signer(p.AccessTokenAlg)
	if err != nil {
		return "", nil, err
	}
	tok, err := tokens.Sign(key, tokens.TypeAccessToken, c)
	if err != nil {
		return "", nil, err
	}
	return tok, c, nil
}

// maxTokenGroups caps the group names an access token carries (in bytes), so that the
// token — and the session cookie holding it — stays small enough for browsers (4 KB per
// cookie) and upstream header limits (RB-07). Groups beyond it are left out: a route
// requiring one of them denies access (fails closed).
const maxTokenGroups = 2048

func (p *Provider) tokenGroups(u store.User) []string {
	n := 0
	for i, g := range u.Groups {
		n += len(g) + 3
		if n > maxTokenGroups {
			p.Logger.Warn("access token carries only the first groups of the user", "user", u.ID,
				"groups", len(u.Groups), "included", i)
			return u.Groups[:i:i]
		}
	}
	return u.Groups
}

func (p *Provider) idToken(ctx context.Context, g grant, now time.Time, accessToken string) (string, error) {
	alg := p.IDTokenAlg
	if g.client.IDTokenAlg != "" {
		alg = g.client.IDTokenAlg
	}
	key, err := p.Keys.Signer(alg)
	if err != nil {
		return "", err
	}
	var requested map[string]*ClaimSpec
	if cr := decodeClaimsRequest(g.claims); cr != nil {
		requested = cr.IDToken
	}
	claims, err := p.claimSet(ctx, g.user, g.client, g.scopes, requested)
	if err != nil {
		return "", err
	}
	if obj, ok := p.webauthnClaims(ctx, g.user, g.passkey); ok {
		claims["webauthn"] = obj
		claims["webauthn_username"] = WebAuthnUsername(g.user)
	}
	claims["iss"] = p.Issuer
	claims["aud"] = g.client.ID
	claims["exp"] = now.Add(g.client.lifetime(g.client.IDTokenLifetime, p.IDTokenLifetime)).Unix()
	claims["iat"] = now.Unix()
	claims["auth_time"] = g.authTime.Unix()
	claims["tid"] = p.TenantID
	claims["amr"] = nonNil(g.amr)
	claims["acr"] = g.acr
	claims["new_user"] = g.newUser
	if g.sessionID != "" {
		claims["sid"] = g.sessionID
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	sum := sha256.Sum256([]byte(accessToken))
	claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	return tokens.Sign(key, tokens.TypeIDToken, claims)
}

// UserClaims returns the user's claims released for scopes (without a claims request).
func (p *Provider) UserClaims(u store.User, scopes []string) map[string]any {
	c, _ := p.claimSet(context.Background(), u, &Client{}, scopes, nil)
	return c
}

// UserInfo returns the claims of the user an access token was issued to (OIDC Core §5.3).
func (p *Provider) UserInfo(ctx context.Context, ac *tokens.AccessClaims) (map[string]any, *Error) {
	scopes := ac.Scopes()
	if !hasString(scopes, "openid") {
		return nil, &Error{Code: "insufficient_scope", Description: "the access token lacks the openid scope", Status: 403}
	}
	u, err := p.Store.GetUser(ctx, ac.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: ErrCodeInvalidToken, Description: "the user no longer exists", Status: 401}
	} else if err != nil {
		return nil, p.serverError("userinfo: read user", err)
	}
	if u.Disabled {
		return nil, &Error{Code: ErrCodeInvalidToken, Description: "the user is disabled", Status: 401}
	}
	client, err := p.Client(ctx, ac.ClientID)
	if err != nil {
		client = &Client{ID: ac.ClientID}
	}
	var requested map[string]*ClaimSpec
	if ac.UserinfoClaims != "" {
		if cr := decodeClaimsRequest(ac.UserinfoClaims); cr != nil {
			requested = cr.Userinfo
		}
	}
	claims, err := p.claimSet(ctx, u, client, scopes, requested)
	if err != nil {
		return nil, p.serverError("userinfo: claims", err)
	}
	return claims, nil
}

func displayName(u store.User) string {
	return strings.Join(strings.Fields(u.FirstName+" "+u.MiddleName+" "+u.LastName), " ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
