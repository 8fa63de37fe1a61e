package protect

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
)

// Header names a front proxy sets on a forward-auth request. nginx's auth_request passes
// none by itself: the documented snippet sets X-Original-Method, X-Original-URI,
// X-Forwarded-Host and X-Forwarded-Proto. Traefik's ForwardAuth sets X-Forwarded-Method,
// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri.
const (
	hdrOriginalMethod  = "X-Original-Method"
	hdrOriginalURI     = "X-Original-Uri"
	hdrForwardedMethod = "X-Forwarded-Method"
	hdrForwardedURI    = "X-Forwarded-Uri"
	hdrForwardedHost   = "X-Forwarded-Host"
	hdrForwardedProto  = "X-Forwarded-Proto"
	// LoginLocationHeader carries, on a 401 to nginx, where the browser must be sent to log
	// in: nginx cannot pass a redirect from auth_request, so its error_page 401 location
	// redirects to it (see README).
	LoginLocationHeader = "X-Gatehouse-Location"
	// UpstreamCookieHeader and UpstreamAuthorizationHeader carry, on a 200, the client's
	// Cookie and Authorization headers as the upstream may receive them: Gatehouse's cookies
	// and its bearer token removed (PX-30). nginx passes the client's own headers upstream
	// unless the snippet replaces them with these (empty: the header is dropped).
	UpstreamCookieHeader        = "X-Gatehouse-Cookie"
	UpstreamAuthorizationHeader = "X-Gatehouse-Authorization"
)

// ForwardAuth answers the authorization subrequests of another proxy (nginx auth_request,
// Traefik ForwardAuth) with the decision of Guard for the original request, which it rebuilds
// from the headers the proxy sets: 200 with the identity headers, 401 (API clients, and
// browsers to send to the login), 403 when the policy denies. The headers are believed only
// from a trusted proxy: any other caller gets 403 and no decision, never a guess from its own
// request line.
type ForwardAuth struct {
	// Guard decides; its Rule, headers and cookies are those of a gatehouse_protect route.
	Guard *Guard
	// Trusted reports whether the request comes from a trusted proxy (Caddy's
	// trusted_proxies); nil trusts nobody.
	Trusted func(*http.Request) bool
}

// Serve answers one forward-auth request.
func (f *ForwardAuth) Serve(w http.ResponseWriter, r *http.Request) {
	if f.Trusted == nil || !f.Trusted(r) {
		f.Guard.stripAll(r)
		writeError(w, http.StatusForbidden, "forbidden", "forward auth answers only the proxies in the server's trusted_proxies")
		return
	}
	inner, nginx, msg := f.original(r)
	if inner == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	rec := &recorder{h: http.Header{}}
	id := f.Guard.Serve(rec, inner)
	if id != nil {
		copyCookies(w.Header(), rec.h)
		for _, h := range f.Guard.Headers {
			if v, ok := inner.Header[h.Name]; ok {
				w.Header()[h.Name] = v
			}
		}
		// The signed identity assertion (assertion.go), bound to the original request.
		if a := f.Guard.Assertion; a != nil {
			if v, ok := inner.Header[a.Header]; ok {
				w.Header()[a.Header] = v
			}
		}
		w.Header().Set(UpstreamCookieHeader, strings.Join(inner.Header.Values("Cookie"), "; "))
		w.Header().Set(UpstreamAuthorizationHeader, inner.Header.Get("Authorization"))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	status := rec.status
	if !nginx || f.isEndpoint(inner) {
		// Traefik passes a non-2xx answer to the client as it is (the login redirect and
		// its state cookie included); the site's /.gatehouse/ endpoints reach this handler
		// through a plain proxy_pass in the nginx snippet.
		rec.replay(w)
		return
	}
	// nginx's auth_request accepts 2xx, 401 and 403 only: a login redirect becomes 401 with
	// the target in a header, a refused request (non-canonical path, malformed credential)
	// 403; 5xx stays (nginx answers 500, failing closed).
	h := w.Header()
	for k, v := range rec.h {
		if k == "Location" {
			continue
		}
		h[k] = v
	}
	switch {
	case status == http.StatusFound || status == http.StatusSeeOther:
		h.Set(LoginLocationHeader, rec.h.Get("Location"))
		status = http.StatusUnauthorized
	case status == http.StatusBadRequest:
		status = http.StatusForbidden
	}
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(rec.body)
}

// original rebuilds the request the proxy is asking about; nil and why when the headers are
// missing or malformed. nginx tells whether the nginx header names carried the URI.
func (f *ForwardAuth) original(r *http.Request) (inner *http.Request, nginx bool, msg string) {
	one := func(name string) (string, bool) {
		v := r.Header.Values(name)
		if len(v) > 1 {
			return "", false
		}
		if len(v) == 0 {
			return "", true
		}
		return v[0], true
	}
	uri, ok1 := one(hdrOriginalURI)
	method, ok2 := one(hdrOriginalMethod)
	nginx = uri != ""
	// Both proxies' names at once: one set came from the client. Traefik passes every client
	// header on to the auth server and overwrites only its own X-Forwarded-* names, so a
	// client-sent X-Original-URI would otherwise choose the path judged behind Traefik.
	if nginx && (r.Header.Get(hdrForwardedURI) != "" || r.Header.Get(hdrForwardedMethod) != "") {
		return nil, nginx, "both X-Original-URI (nginx) and X-Forwarded-Uri/X-Forwarded-Method (Traefik) are present: one set was sent by the client"
	}
	if !nginx {
		uri, ok1 = one(hdrForwardedURI)
		method, ok2 = one(hdrForwardedMethod)
	}
	host, ok3 := one(hdrForwardedHost)
	proto, ok4 := one(hdrForwardedProto)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, nginx, "send each of the original method, URI, host and scheme headers once"
	}
	if uri == "" || host == "" {
		return nil, nginx, "the proxy must set X-Original-URI (nginx) or X-Forwarded-Uri (Traefik), and X-Forwarded-Host"
	}
	if method == "" {
		method = http.MethodGet
	}
	if !validMethod(method) {
		return nil, nginx, "the original method is not an HTTP method"
	}
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		return nil, nginx, "the original URI must be a path (origin-form, RFC 9112 §3.2.1)"
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || strings.ContainsAny(host, "/\\@ \t") {
		return nil, nginx, "the original URI or host is malformed"
	}
	inner = r.Clone(r.Context())
	inner.Method, inner.URL, inner.RequestURI, inner.Host = method, u, uri, host
	inner.TLS = nil
	switch strings.ToLower(proto) {
	case "https":
		inner.TLS = &tls.ConnectionState{}
	case "http", "":
	default:
		return nil, nginx, "X-Forwarded-Proto must be http or https"
	}
	for _, name := range []string{hdrOriginalURI, hdrOriginalMethod, hdrForwardedMethod, hdrForwardedHost, hdrForwardedProto} {
		delete(inner.Header, name)
	}
	return inner, nginx, ""
}

func (f *ForwardAuth) isEndpoint(r *http.Request) bool {
	return r.URL.Path == f.Guard.CallbackPath || r.URL.Path == f.Guard.LogoutPath
}

// validMethod: an RFC 9110 §9.1 token.
func validMethod(m string) bool {
	if len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return m != ""
}

func copyCookies(dst, src http.Header) {
	for _, c := range src.Values("Set-Cookie") {
		dst.Add("Set-Cookie", c)
	}
}

// recorder keeps the Guard's answer for ForwardAuth to translate.
type recorder struct {
	h      http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if len(r.body) < 64<<10 {
		r.body = append(r.body, b...)
	}
	return len(b), nil
}

func (r *recorder) replay(w http.ResponseWriter) {
	for k, v := range r.h {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}
