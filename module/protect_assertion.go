package module

import (
	"net/http"
	"net/textproto"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/handlers/protect"
)

// AssertionConfig turns on the signed identity assertion of a gatehouse_protect route: the
// upstream receives a short JWT signed with Gatehouse's dedicated assertion key (EdDSA),
// naming the user and bound to the request's site, method and path, verifiable with the
// keys at <issuer>/.well-known/gatehouse-assertion-keys (see README "Signed identity
// assertion").
type AssertionConfig struct {
	// Header names the request header (default X-Gatehouse-Assertion). It joins the headers
	// stripped from every client request.
	Header string `json:"header,omitempty"`
	// Lifetime is how long an assertion is valid (default 2m, 1s to 10m). An assertion is
	// reused for the same credential and request while more than half of it remains.
	Lifetime caddy.Duration `json:"lifetime,omitempty"`
}

// Limits of an assertion's lifetime: the assertion keys stay published an hour after a
// rotation, far longer than any assertion lives.
const (
	minAssertionLifetime = time.Second
	maxAssertionLifetime = 10 * time.Minute
)

// AssertionKeysPath is where the portal publishes the assertion keys (under the issuer's
// path).
const AssertionKeysPath = "/.well-known/gatehouse-assertion-keys"

// checkAssertion records the problems of the assertion options under path.
func (p *Protect) checkAssertion(v *Validator, path string) {
	a := p.Assertion
	if a == nil {
		return
	}
	path += ".assertion"
	if a.Header != "" {
		if !validHeaderName(a.Header) {
			v.Errorf(path+".header", "must be a header name of letters, digits and '-', got %q", a.Header)
		}
		for name := range p.Headers {
			if textproto.CanonicalMIMEHeaderKey(name) == textproto.CanonicalMIMEHeaderKey(a.Header) {
				v.Errorf(path+".header", "names the header %q that headers also sets: choose another name", a.Header)
			}
		}
	}
	v.duration(path+".lifetime", a.Lifetime, minAssertionLifetime, maxAssertionLifetime, "")
}

// asserter builds the route's Asserter (nil without `assertion`).
func (p *Protect) asserter(app *App) *protect.Asserter {
	if p.Assertion == nil {
		return nil
	}
	return &protect.Asserter{Keys: app.portal.assertKeys, Issuer: app.provider.Issuer,
		Header: p.Assertion.Header, Lifetime: time.Duration(p.Assertion.Lifetime)}
}

// mountAssertionKeys publishes the assertion keys' JWK Set on the portal.
func mountAssertionKeys(mux *http.ServeMux, st *portalState) {
	mux.HandleFunc("GET "+st.base+AssertionKeysPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(st.assertKeys.JWKS())
	})
}
