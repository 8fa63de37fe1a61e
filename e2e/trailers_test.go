package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// chunkedWithTrailers is a raw POST whose chunked body ends with trailers named like identity
// headers — sent after the body, long after the gateway checked the headers.
func chunkedWithTrailers(e *Env, path, cookie string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\nHost: %s\nTransfer-Encoding: chunked\n", path, e.AppAddr())
	b.WriteString("Trailer: X-User-Id, X_User_Groups, X-Forwarded-User, Cookie, X-Checksum\n")
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: gatehouse_auth=%s\n", cookie)
	}
	b.WriteString("\n5\nhello\n0\n")
	b.WriteString("X-User-Id: SPOOF-trailer\nX_User_Groups: SPOOF-admins\nX-Forwarded-User: SPOOF\n")
	b.WriteString("Cookie: gatehouse_auth=SPOOF\nX-Checksum: abc123\n\n")
	return b.String()
}

// TestIdentityTrailersStripped: a client-sent request trailer named like an identity header
// (`Trailer: X-User-Id`) must not reach the upstream, on a protected route (the guard) and on
// a public route of a partly protected site (the sanitizer) — PX-01, issue 12 "Trailers".
// Unrelated trailers still pass, so trailers keep working for the apps that use them.
func TestIdentityTrailersStripped(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: partialSite})
	e.CreateUser("tina@example.test")
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/admin/x", "tina@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("login: %s", r)
	}
	cookie := b.Cookie(e.App, "gatehouse_auth")
	for name, c := range map[string]struct{ path, cookie string }{
		"protected route": {"/admin/upload", cookie},
		"public route":    {"/public/upload", ""},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.Upstream.Count()
			r := RawRequest(t, e.AppAddr(), chunkedWithTrailers(e, c.path, c.cookie))
			if r.Status != http.StatusOK || e.Upstream.Count() == before {
				t.Fatalf("POST %s: %s", c.path, r)
			}
			got := e.Upstream.Last(t)
			for tname, vals := range got.Trailer {
				for _, v := range vals {
					if strings.Contains(v, "SPOOF") {
						t.Errorf("upstream received the client's trailer %s: %q", tname, v)
					}
				}
			}
			if v := got.Trailer.Get("X-Checksum"); v != "abc123" {
				t.Errorf("unrelated trailer X-Checksum = %q, want it forwarded (trailers %v)", v, got.Trailer)
			}
			if name == "protected route" {
				if v := got.Values("X-User-Email"); len(v) != 1 || v[0] != "tina@example.test" {
					t.Errorf("X-User-Email header %q", v)
				}
			}
		})
	}
}
