package protect

import (
	"io"
	"net/http"
	"strings"
)

// DefaultStripHeaders are removed from every request that passes through a protect handler,
// whatever their case and whether written with "-" or "_" (PX-01, PX-02, PX-11, PX-12,
// PX-33): identity headers of Gatehouse and of the proxies users migrate from, path and method
// override headers, and TLS client-certificate headers. Names starting with one of
// DefaultStripPrefixes are removed too.
var DefaultStripHeaders = []string{
	"X-User", "Remote-User", "Remote-Email", "Remote-Groups", "Remote-Name",
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
	"X-Forwarded-Access-Token", "X-Authenticated-User", "X-Authenticated-Userid", "X-Authenticated-Groups",
	"X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Uri", "X-Forwarded-Prefix",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
	"X-SSL-Client-Cert", "X-Client-Cert", "X-Forwarded-Client-Cert", "SSL-Client-Cert",
	"SSL-Client-Verify", "X-SSL-Client-Verify", "X-Client-Verify",
}

// DefaultStripPrefixes: every header whose normalised name starts with one of these is
// removed.
var DefaultStripPrefixes = []string{"x-user-", "x-gatehouse-", "x-auth-request-", "x-remote-", "gatehouse-"}

// Names is the set of header names the Gatehouse handlers of one configuration strip from
// client requests: DefaultStripHeaders plus every name any of them injects or is told to
// strip. Sharing one set between all handlers of an app means a header that one route
// injects cannot be forged on a route that another handler lets through (PX-01). Names are
// added while the configuration is provisioned, before it serves requests, and only read
// afterwards.
type Names struct {
	m map[string]struct{} // normalised: lower case, '_' -> '-'
}

// NewNames returns the default set.
func NewNames() *Names {
	n := &Names{m: map[string]struct{}{}}
	n.Add(DefaultStripHeaders...)
	return n
}

// Add adds header names to the set.
func (n *Names) Add(names ...string) {
	for _, name := range names {
		n.m[normalizeName(name)] = struct{}{}
	}
}

// stripper removes managed headers and Gatehouse cookies from client requests.
type stripper struct {
	names    map[string]struct{}
	prefixes []string
}

// newStripper returns a stripper of names (nil: the defaults) plus extra.
func newStripper(names *Names, extra []string) *stripper {
	if names == nil {
		names = NewNames()
	}
	names.Add(extra...)
	return &stripper{names: names.m, prefixes: DefaultStripPrefixes}
}

func normalizeName(n string) string {
	b := []byte(n)
	normalizeInPlace(b)
	return string(b)
}

func normalizeInPlace(b []byte) {
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
}

// managed reports whether a header name is one the stripper removes, comparing
// case-insensitively with '_' equal to '-', without allocating for names up to 128 bytes.
func (s *stripper) managed(name string) bool {
	var buf [128]byte
	if len(name) > len(buf) {
		_, ok := s.names[normalizeName(name)]
		return ok || s.prefixed(normalizeName(name))
	}
	b := buf[:len(name)]
	copy(b, name)
	normalizeInPlace(b)
	if _, ok := s.names[string(b)]; ok {
		return true
	}
	for _, p := range s.prefixes {
		if len(b) >= len(p) && string(b[:len(p)]) == p {
			return true
		}
	}
	return false
}

func (s *stripper) prefixed(n string) bool {
	for _, p := range s.prefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// strip deletes every managed header from h, and removes managed names from the Connection
// header so that a hop-by-hop declaration cannot delete the headers the handler injects
// (PX-04).
func (s *stripper) strip(h http.Header) {
	for name := range h {
		if s.managed(name) {
			delete(h, name)
		}
	}
	if conn, ok := h["Connection"]; ok {
		s.cleanConnection(h, conn)
	}
}

// stripRequest strips r's headers (strip) and its trailers: a client may declare a trailer
// named like an identity header (`Trailer: X-User-Id`) and send it after the body, when the
// headers have long been checked; upstreams that merge trailers into headers would read it
// as the gateway's. Managed names and Cookie are removed from the declared trailers now and,
// because net/http fills the trailer map only when the body reaches EOF, again at EOF
// (before reverse_proxy copies the trailers upstream).
func (s *stripper) stripRequest(r *http.Request) {
	s.strip(r.Header)
	if len(r.Trailer) == 0 {
		return
	}
	s.stripTrailer(r.Trailer)
	if r.Body != nil && r.Body != http.NoBody {
		if _, wrapped := r.Body.(*trailerStrippingBody); !wrapped {
			r.Body = &trailerStrippingBody{ReadCloser: r.Body, trailer: r.Trailer, s: s}
		}
	}
}

func (s *stripper) stripTrailer(t http.Header) {
	for name := range t {
		if s.managed(name) || strings.EqualFold(name, "Cookie") || strings.EqualFold(name, "Authorization") {
			delete(t, name)
		}
	}
}

// trailerStrippingBody strips the trailers net/http merged into the request's trailer map
// once the body reached EOF.
type trailerStrippingBody struct {
	io.ReadCloser
	trailer http.Header
	s       *stripper
}

func (b *trailerStrippingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.s.stripTrailer(b.trailer)
	}
	return n, err
}

func (s *stripper) cleanConnection(h http.Header, conn []string) {
	var kept []string
	changed := false
	for _, v := range conn {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				continue
			}
			if s.managed(tok) {
				changed = true
				continue
			}
			kept = append(kept, tok)
		}
	}
	if !changed {
		return
	}
	if len(kept) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(kept, ", ")}
}

// cookiePrefixes are the prefixes of every cookie Gatehouse sets.
var cookiePrefixes = []string{"gatehouse_", "__Host-gatehouse_", "__Secure-gatehouse_"}

func isGatehouseCookie(name string) bool {
	for _, p := range cookiePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// stripCookies removes every Gatehouse cookie from the Cookie headers (PX-30), keeping the
// others in order. It does not allocate when there is no Gatehouse cookie.
func stripCookies(h http.Header) {
	vals, ok := h["Cookie"]
	if !ok {
		return
	}
	found := false
	for _, v := range vals {
		if strings.Contains(v, "gatehouse_") {
			found = true
			break
		}
	}
	if !found {
		return
	}
	var b strings.Builder
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ";") {
			p := strings.TrimSpace(part)
			if p == "" {
				continue
			}
			name, _, _ := strings.Cut(p, "=")
			if isGatehouseCookie(strings.TrimSpace(name)) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(p)
		}
	}
	if b.Len() == 0 {
		delete(h, "Cookie")
		return
	}
	// A new slice: the original values may be kept as the request's sent cookies.
	h["Cookie"] = []string{b.String()}
}

// findCookie returns the value of the cookie named name across the Cookie header values
// without allocating; dup reports that the name appears more than once (cookie tossing,
// PX-27).
func findCookie(cookies []string, name string) (value string, found, dup bool) {
	for _, v := range cookies {
		for len(v) > 0 {
			var part string
			if i := strings.IndexByte(v, ';'); i >= 0 {
				part, v = v[:i], v[i+1:]
			} else {
				part, v = v, ""
			}
			part = strings.TrimLeft(part, " \t")
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				if found {
					return "", true, true
				}
				value, found = strings.TrimRight(part[len(name)+1:], " "), true
			}
		}
	}
	return value, found, false
}

// stateKey is the request-state entry holding the Cookie header values the client sent,
// recorded by the first Gatehouse handler that sanitized the request.
const stateKey = "gatehouse.client_cookies"

// authStateKey is the request-state entry holding the Authorization header values the client
// sent, recorded by the first Guard that read them.
const authStateKey = "gatehouse.client_authorization"

// sentAuthorization returns the Authorization header values the client sent, recording them
// in the request state the first time: a Guard removes the bearer token it consumed (PX-30),
// and a second Guard on the same request (several gatehouse_protect matching one route) must
// still see it.
func sentAuthorization(state func(*http.Request) map[string]any, r *http.Request) []string {
	var m map[string]any
	if state != nil {
		if m = state(r); m != nil {
			if v, ok := m[authStateKey]; ok {
				a, _ := v.([]string)
				return a
			}
		}
	}
	a := r.Header["Authorization"]
	if m != nil {
		m[authStateKey] = a
	}
	return a
}

// sentCookies returns the Cookie header values the client sent, recording them in the
// request state the first time so that handlers running after the cookies were stripped
// still see them.
func sentCookies(state func(*http.Request) map[string]any, r *http.Request) []string {
	var m map[string]any
	if state != nil {
		if m = state(r); m != nil {
			if v, ok := m[stateKey]; ok {
				c, _ := v.([]string)
				return c
			}
		}
	}
	c := r.Header["Cookie"]
	if m != nil {
		m[stateKey] = c
	}
	return c
}

// Sanitizer strips client-sent identity headers and Gatehouse cookies from requests that no
// Guard handles: on a partly protected site, requests outside the protected routes must not
// carry forged identity headers to the upstream either (PX-01). It does nothing to a request
// a Guard already handled (a Guard strips, then injects the real headers).
type Sanitizer struct {
	// Names is the set shared by the configuration's handlers (nil: a set of its own).
	Names *Names
	// StripHeaders are removed in addition to the Names.
	StripHeaders []string
	// State returns the request's per-request value map (Caddy's request variables); it lets
	// Sanitizer and Guards on one request know about each other.
	State func(*http.Request) map[string]any
	// Endpoints, if set, serves the login callback and logout endpoints of the site when no
	// Guard did (a Guard configured without client or rule: the callback completes the login
	// as the Guard that started it recorded, the logout finds the site's session cookie).
	Endpoints *Guard
	// InsecureAllowNonCanonicalPaths turns off the refusal of non-canonical request paths
	// (see CheckPath) for this request's Gatehouse handlers.
	InsecureAllowNonCanonicalPaths bool

	stripper *stripper
}

// Init prepares the Sanitizer.
func (s *Sanitizer) Init() { s.stripper = newStripper(s.Names, s.StripHeaders) }

// guardedKey marks a request a Guard handled (stripped, then injected the real headers).
const guardedKey = "gatehouse.guarded"

// Serve refuses a non-canonical path (CheckPath) or answers the site's /.gatehouse/
// endpoints (reporting true for both), or strips r.
func (s *Sanitizer) Serve(w http.ResponseWriter, r *http.Request) bool {
	if !CheckPath(w, r, s.State, s.InsecureAllowNonCanonicalPaths) {
		return true
	}
	if g := s.Endpoints; g != nil && (r.URL.Path == g.CallbackPath || r.URL.Path == g.LogoutPath) {
		return g.Serve(w, r) == nil
	}
	s.Sanitize(r)
	return false
}

// Sanitize strips r unless a Guard handled it.
func (s *Sanitizer) Sanitize(r *http.Request) {
	if s.State != nil {
		if m := s.State(r); m != nil {
			if guarded, _ := m[guardedKey].(bool); guarded {
				return
			}
		}
	}
	sentCookies(s.State, r)
	s.stripper.stripRequest(r)
	stripCookies(r.Header)
}
