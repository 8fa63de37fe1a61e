package protect

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
)

// DefaultAssertionHeader carries the signed identity assertion to the upstream.
const DefaultAssertionHeader = "X-Gatehouse-Assertion"

// AssertionType is the JWS typ of an identity assertion, so that no other Gatehouse JWT can
// pass for one.
const AssertionType = "gatehouse-assertion+jwt"

// maxAssertionsPerIdentity bounds the assertions remembered per verified credential (one per
// site, method and path); past it the oldest half is dropped.
const maxAssertionsPerIdentity = 32

// Asserter signs the identity assertions of a route (`assertion`): a short JWT, signed with
// the dedicated Ed25519 key ring (keys.LoadAssertion), that tells the upstream who the
// request is for and binds it to the request's site, method and path:
//
//	header: {"alg":"EdDSA","typ":"gatehouse-assertion+jwt","kid":<kid>}
//	claims: iss (the issuer), aud (the site: scheme://host[:port], lower case, default port
//	        omitted), sub, email (only when verified), groups, iat, exp (now + Lifetime,
//	        rounded up to the second),
//	        req = base64url(SHA-256(method + " " + escaped path)), no padding, no query.
//
// An assertion is signed once per credential, site, method and path and reused while more
// than half its lifetime remains, so a client that repeats a request costs a map lookup.
type Asserter struct {
	// Keys is the dedicated assertion key ring.
	Keys *keys.Ring
	// Issuer is the iss claim (the gatehouse app's issuer).
	Issuer string
	// Header names the request header (default X-Gatehouse-Assertion).
	Header string
	// Lifetime is exp - iat (default 2 minutes).
	Lifetime time.Duration
}

// DefaultAssertionLifetime is an assertion's lifetime unless configured.
const DefaultAssertionLifetime = 2 * time.Minute

// Init applies the defaults.
func (a *Asserter) Init() error {
	if a.Keys == nil || a.Issuer == "" {
		return errors.New("protect: assertion needs the key ring and the issuer")
	}
	if a.Header == "" {
		a.Header = DefaultAssertionHeader
	}
	a.Header = http.CanonicalHeaderKey(a.Header)
	if a.Lifetime <= 0 {
		a.Lifetime = DefaultAssertionLifetime
	}
	return nil
}

// RequestHash is the req claim of an assertion for a request: base64url (no padding) of
// SHA-256 of the method, one space and the escaped path (r.URL.EscapedPath()).
func RequestHash(method, escapedPath string) string {
	sum := sha256.Sum256([]byte(method + " " + escapedPath))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Site is the aud claim of an assertion for a request: scheme://host as the request reached
// the gateway, lower case, the default port (80, 443) omitted.
func Site(r *http.Request) string {
	scheme, def := "http", ":80"
	if r.TLS != nil {
		scheme, def = "https", ":443"
	}
	host := strings.ToLower(strings.TrimSuffix(r.Host, def))
	return scheme + "://" + host
}

// assertionCache holds one identity's signed assertions by site, method and path.
type assertionCache struct {
	mu sync.Mutex
	m  map[string]signedAssertion
}

type signedAssertion struct {
	jwt string
	exp time.Time
	kid string
}

type assertionClaims struct {
	Iss    string   `json:"iss"`
	Aud    string   `json:"aud"`
	Sub    string   `json:"sub"`
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Iat    int64    `json:"iat"`
	Exp    int64    `json:"exp"`
	Req    string   `json:"req"`
}

// Assertion returns the assertion for id on r at now, from id's cache while it has more than
// half its lifetime left and its key still signs.
func (a *Asserter) Assertion(id *Identity, r *http.Request, now time.Time) (string, error) {
	k, err := a.Keys.Signer(keys.EdDSA)
	if err != nil {
		return "", fmt.Errorf("assertion: %w", err)
	}
	site := Site(r)
	path := r.URL.EscapedPath()
	key := site + " " + r.Method + " " + path
	c := id.assertionCache()
	c.mu.Lock()
	if s, ok := c.m[key]; ok && s.kid == k.ID && s.exp.Sub(now) > a.Lifetime/2 {
		c.mu.Unlock()
		return s.jwt, nil
	}
	c.mu.Unlock()
	tok, exp, err := a.sign(k, id, site, RequestHash(r.Method, path), now)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.m) >= maxAssertionsPerIdentity {
		clear(c.m) // a client walking many paths: start over rather than grow
	}
	c.m[key] = signedAssertion{jwt: tok, exp: exp, kid: k.ID}
	c.mu.Unlock()
	return tok, nil
}

func (a *Asserter) sign(k *keys.Key, id *Identity, site, req string, now time.Time) (string, time.Time, error) {
	priv, ok := k.Signer.(ed25519.PrivateKey)
	if !ok {
		return "", time.Time{}, errors.New("assertion: the signing key is not Ed25519")
	}
	// exp is rounded up to the second: a JWT's NumericDate has whole seconds, and rounding
	// down would cut a short lifetime by up to a second.
	exp := now.Add(a.Lifetime + time.Second - 1).Truncate(time.Second)
	c := id.Claims
	cl := assertionClaims{Iss: a.Issuer, Aud: site, Sub: subject(id), Groups: id.Policy.Groups,
		Iat: now.Unix(), Exp: exp.Unix(), Req: req}
	if c.EmailVerified {
		cl.Email = c.Email
	}
	payload, err := json.Marshal(cl)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("assertion: encode claims: %w", err)
	}
	header := `{"alg":"EdDSA","typ":"` + AssertionType + `","kid":` + strconv.Quote(k.ID) + `}`
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(payload)
	sig, err := priv.Sign(nil, []byte(input), crypto.Hash(0))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("assertion: sign: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), exp, nil
}

// subject is the sub of an identity: the user, or "client:<id>" for a client acting for
// itself.
func subject(id *Identity) string {
	if s, ok := id.SubjectValue.(string); ok {
		return s
	}
	return id.Claims.Subject
}

// assertionCache returns id's assertion cache, creating it on first use.
func (id *Identity) assertionCache() *assertionCache {
	id.assertOnce.Do(func() { id.assertions = &assertionCache{m: map[string]signedAssertion{}} })
	return id.assertions
}

// assert sets the assertion header on r; when no assertion can be signed it answers 503
// (failing closed: the upstream relies on it) and returns false.
func (g *Guard) assert(w http.ResponseWriter, r *http.Request, id *Identity, now time.Time) bool {
	tok, err := g.Assertion.Assertion(id, r, now)
	if err != nil {
		g.Logger.Error("protect: failing closed", "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the identity assertion cannot be signed")
		return false
	}
	r.Header[g.Assertion.Header] = []string{tok}
	return true
}
