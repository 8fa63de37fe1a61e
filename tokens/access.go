package tokens

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Audience is the `aud` claim: one string or an array of strings on the wire (RFC 7519
// §4.1.3), always a slice in Go. Any other JSON type is an error.
type Audience []string

// MarshalJSON writes a single audience as a string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	// Elements are decoded one by one: encoding/json would turn a null element into "".
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return err
	}
	if elems == nil {
		*a = nil
		return nil
	}
	ss := make([]string, len(elems))
	for i, e := range elems {
		if len(e) == 0 || e[0] != '"' {
			return errors.New("aud: array elements must be strings")
		}
		if err := json.Unmarshal(e, &ss[i]); err != nil {
			return err
		}
	}
	*a = ss
	return nil
}

// Contains tells whether v is one of the audiences (exact comparison).
func (a Audience) Contains(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// AccessClaims are the claims of an RFC 9068 access token, plus the identity Gatehouse's
// protect handler injects into upstream requests.
type AccessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  Audience `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf,omitempty"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	// Scope is the space-separated list of granted scopes.
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	// SessionID is the portal session the token descends from (revoked at logout).
	SessionID string `json:"sid,omitempty"`
	// GrantID is the refresh-token family (grant) the token was issued in.
	GrantID string `json:"gid,omitempty"`
	// Email and EmailVerified are present when the email scope was granted.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// Name is the user's display name when the profile scope was granted.
	Name string `json:"name,omitempty"`
	// Groups the user belongs to.
	Groups []string `json:"groups,omitempty"`
	// GrantType is "client_credentials" for a token a client obtained for itself: it
	// identifies no user.
	GrantType string `json:"gty,omitempty"`
	// UserinfoClaims is the userinfo member of the OIDC claims request (JSON), for the
	// userinfo endpoint.
	UserinfoClaims string `json:"ucr,omitempty"`
	// Roles, Permissions, Organization and CustomData (a JSON object) are the user's, when
	// the token carries them (roles and permissions for a client whose access_token_claims
	// ask for them); route policies (require, role, permission) read them.
	Roles        []string        `json:"roles,omitempty"`
	Permissions  []string        `json:"permissions,omitempty"`
	Organization string          `json:"organization,omitempty"`
	CustomData   json.RawMessage `json:"custom_data,omitempty"`
}

// accessClaimNames are the claims whose spelling is checked exactly.
var accessClaimNames = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id",
	"scope", "auth_time", "acr", "amr", "sid", "gid", "email", "email_verified", "name", "groups", "ucr", "gty",
	"roles", "permissions", "organization", "custom_data"}

// Scopes returns the granted scopes.
func (c *AccessClaims) Scopes() []string { return strings.Fields(c.Scope) }

// Verifier verifies access tokens issued by Gatehouse. Its zero value is not usable; every
// field but Revocations is required.
type Verifier struct {
	// Issuer is the exact `iss` required.
	Issuer string
	// Keys resolves the token's kid.
	Keys KeySet
	// Now returns the current time.
	Now func() time.Time
	// Leeway tolerates clock skew on exp, nbf and iat (at most a minute is sensible).
	Leeway time.Duration
	// MaxLifetime rejects tokens whose exp is more than this after iat.
	MaxLifetime time.Duration
	// Revocations, if set, rejects tokens of revoked sessions, grants and users.
	Revocations *RevocationList
}

// VerifyAccessToken checks the token's signature, type, issuer and lifetime and returns its
// claims. Audience and scopes are the caller's to check; revocation is checked if the
// Verifier has a revocation list. A token that is both expired and badly signed is reported
// as badly signed (the signature is checked first).
func (v *Verifier) VerifyAccessToken(token string) (*AccessClaims, error) {
	return v.verifyAccess(token, true)
}

// VerifyAccessTokenIgnoringExpiry is VerifyAccessToken without the expiry and revocation
// checks, for identifying the session of an expired token at logout. Never use it to
// authorise a request.
func (v *Verifier) VerifyAccessTokenIgnoringExpiry(token string) (*AccessClaims, error) {
	return v.verifyAccess(token, false)
}

func (v *Verifier) verifyAccess(token string, checkTime bool) (*AccessClaims, error) {
	payload, err := verifyJWS(v.Keys, token, TypeAccessToken)
	if err != nil {
		return nil, err
	}
	c := new(AccessClaims)
	if !parseAccessClaims(payload, c) {
		return nil, ErrMalformed
	}
	if c.Issuer != v.Issuer {
		return nil, ErrIssuer
	}
	if c.Subject == "" || c.ClientID == "" || len(c.Audience) == 0 {
		return nil, ErrMalformed
	}
	if !checkTime {
		return c, nil
	}
	if err := v.checkTimes(c.ExpiresAt, c.IssuedAt, c.NotBefore, v.MaxLifetime); err != nil {
		return nil, err
	}
	if v.Revocations != nil {
		if err := v.Revocations.CheckClaims(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (v *Verifier) checkTimes(exp, iat, nbf int64, maxLifetime time.Duration) error {
	now := v.Now()
	leeway := int64(v.Leeway / time.Second)
	if exp == 0 || iat == 0 {
		return ErrMalformed
	}
	if now.Unix() >= exp+leeway {
		return ErrExpired
	}
	if iat > now.Unix()+leeway || (nbf != 0 && nbf > now.Unix()+leeway) {
		return ErrNotYetValid
	}
	if maxLifetime > 0 && exp-iat > int64(maxLifetime/time.Second)+leeway {
		return ErrLifetime
	}
	return nil
}

// VerifyIDToken checks an ID token issued by Gatehouse (as an id_token_hint) and returns its
// claims. Expiry is not checked when allowExpired is set (an id_token_hint may be expired).
func (v *Verifier) VerifyIDToken(token string, allowExpired bool) (map[string]any, error) {
	payload, err := verifyJWS(v.Keys, token, TypeIDToken)
	if err != nil {
		return nil, err
	}
	if !checkObject(payload, []string{"iss", "sub", "aud", "exp", "iat", "nonce", "sid", "client_id", "scope"}) {
		return nil, ErrMalformed
	}
	var c struct {
		Issuer   string   `json:"iss"`
		Subject  string   `json:"sub"`
		Audience Audience `json:"aud"`
		Exp      int64    `json:"exp"`
		Iat      int64    `json:"iat"`
		// An access token verified as an ID token must fail.
		ClientID *string `json:"client_id"`
		Scope    *string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		return nil, ErrMalformed
	}
	if c.Issuer != v.Issuer {
		return nil, ErrIssuer
	}
	if c.Subject == "" || len(c.Audience) == 0 || c.ClientID != nil || c.Scope != nil {
		return nil, ErrType
	}
	if !allowExpired {
		if err := v.checkTimes(c.Exp, c.Iat, 0, 0); err != nil {
			return nil, err
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return nil, ErrMalformed
	}
	return m, nil
}
