package protect

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// App passwords and personal access tokens (package appcred).
//
// A personal access token comes as `Authorization: Bearer gh_pat_...` on any route; an app
// password as `Authorization: Basic base64(user:gh_app_...)` only on a route with
// AllowAppPasswords (anywhere else the Basic header is no credential of Gatehouse's and the
// password is never looked at). A verified credential is cached like an access token, keyed
// by the whole credential (and, for Basic, the user name), for at most credentialCacheTTL so
// that a change of the user's groups shows within a minute; the revocation list is checked on
// every request, hit or miss, so a revocation takes effect at once here and within a second
// on the other instances. The identity is the credential's user with the credential's
// scopes, audience = its sites, and amr "pat" or "app_password" (non-interactive); it never
// satisfies `mfa` unless the route says MFAAllowsAppCredentials.

// credentialCacheTTL bounds how long a verified credential is served from the cache before
// the store is read again (user groups, disabled state; revocation is not cached).
const credentialCacheTTL = time.Minute

// AMR values of the identities of app credentials: no user was present.
const (
	AMRPersonalAccessToken = "pat"
	AMRAppPassword         = "app_password"
)

// errCredential is the answer to every rejected app credential (no oracle).
var errCredential = errors.New("the app password or access token is invalid, expired or revoked")

// basicCredentials splits an `Authorization: Basic` value's credentials (RFC 7617 §2:
// base64 of user-id ":" password).
func basicCredentials(b64 string) (user, pass string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}

// verifyCredential verifies an app credential, through the cache. key is the cache key: the
// bearer token, or the whole Basic header value (it contains a space, which no bearer token
// or cookie value does, so the kinds never share an entry). cred is the PAT, or the Basic
// header's base64 credentials, decoded only on a cache miss.
func (g *Guard) verifyCredential(r *http.Request, key, cred string, basic bool, now time.Time) (*Identity, error) {
	svc := g.Provider.AppCredentials
	ip := g.clientIP(r)
	if id := g.cache.get(key, now); id != nil && id.cred != nil {
		err := g.Provider.Revocations.CheckCredential(id.cred.ID, id.Claims.Subject, id.cred.verifiedAt)
		switch {
		case err == nil:
			if !id.cred.validOn(r, g.credRule.Audience) {
				return nil, errCredential
			}
			svc.Touch(id.cred.ID, ip)
			return id, nil
		case errors.Is(err, tokens.ErrUserChanged):
			g.cache.remove(key) // read the user again
		case errors.Is(err, tokens.ErrRevoked):
			g.cache.remove(key)
			return nil, errCredential
		default:
			return nil, err
		}
	}
	sec, kind, user := cred, appcred.KindPAT, ""
	if basic {
		var ok bool
		if user, sec, ok = basicCredentials(cred); !ok {
			return nil, errCredential
		}
		kind = appcred.KindAppPassword
	}
	v, err := svc.Verify(r.Context(), sec, kind, basic, user, ip)
	if errors.Is(err, appcred.ErrInvalid) {
		return nil, errCredential
	}
	if err != nil {
		return nil, err
	}
	id := newCredentialIdentity(v, g.Headers)
	id.until = min(v.Cred.ExpiresAt.Unix(), now.Add(credentialCacheTTL).Unix())
	if !id.cred.validOn(r, g.credRule.Audience) {
		return nil, errCredential
	}
	g.cache.put(key, id, now)
	svc.Touch(v.Cred.ID, ip)
	return id, nil
}

// credInfo is what the guard keeps of a verified app credential.
type credInfo struct {
	ID         string
	sites      []string
	verifiedAt int64
}

// validOn reports whether the credential may be used on r's host: a credential without
// sites anywhere; one with sites where the request's host is one of them, or where the
// route's explicit audience names one of them.
func (c *credInfo) validOn(r *http.Request, audience []string) bool {
	if len(c.sites) == 0 {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if slices.Contains(c.sites, host) {
		return true
	}
	for _, a := range audience {
		if slices.Contains(c.sites, a) {
			return true
		}
	}
	return false
}

// newCredentialIdentity is the identity of a verified app credential.
func newCredentialIdentity(v *appcred.Verified, specs []HeaderSpec) *Identity {
	amr := AMRPersonalAccessToken
	if v.Cred.Kind == appcred.KindAppPassword {
		amr = AMRAppPassword
	}
	u := v.User
	c := &tokens.AccessClaims{Subject: u.ID, Audience: tokens.Audience(v.Cred.Sites), ExpiresAt: v.Cred.ExpiresAt.Unix(),
		IssuedAt: v.Cred.CreatedAt.Unix(), ID: v.Cred.ID, Scope: strings.Join(v.Cred.Scopes, " "), AuthTime: v.Cred.CreatedAt.Unix(),
		AMR: []string{amr}, Email: u.Email, EmailVerified: u.EmailVerified, Name: account.DisplayName(u), Groups: u.Groups,
		GrantType: GrantTypeAppCredential}
	id := newIdentity(c, specs)
	id.Policy.MFA = false
	id.cred = &credInfo{ID: v.Cred.ID, sites: v.Cred.Sites, verifiedAt: v.VerifiedAt}
	return id
}

// GrantTypeAppCredential is the GrantType of the claims of an app credential's identity.
const GrantTypeAppCredential = "app_credential"

// credentialError answers a rejected app credential: the same 401 for every reason, 429
// over the attempt limits, 503 when the store or the revocation list fails.
func (g *Guard) credentialError(w http.ResponseWriter, r *http.Request, err error, basic bool) {
	var locked *lockout.LockedError
	switch {
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(int(locked.RetryAfter/time.Second)+1))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "too many failed attempts from this address; try again later")
	case errors.Is(err, errCredential):
		if basic {
			w.Header().Set("WWW-Authenticate", basicChallenge)
		}
		w.Header().Add("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token", error_description="`+errCredential.Error()+`"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", errCredential.Error())
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusBadRequest, "invalid_request", "the request was canceled")
	default:
		if !errors.Is(err, tokens.ErrUnavailable) {
			err = fmt.Errorf("%w: app credential: %w", errUnavailable, err)
		}
		g.tokenError(w, r, err)
	}
}

// basicChallenge invites HTTP Basic credentials (RFC 7617 §2) on routes that accept app
// passwords, so that git, curl --anyauth and WebDAV clients send them.
const basicChallenge = `Basic realm="gatehouse", charset="UTF-8"`

// clientIP is the request's client IP for the attempt limits.
func (g *Guard) clientIP(r *http.Request) string {
	if g.ClientIP != nil {
		return g.ClientIP(r)
	}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}
