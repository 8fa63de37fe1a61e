package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// spoofHeaders are identity and control headers a client might forge, in the spellings that
// lenient upstreams (and other proxies) treat as equal: case variants, '_' for '-',
// duplicates, and names a client lists in Connection so that a hop-by-hop pass would delete
// the gateway's own headers (PX-04). Every value contains SPOOF.
var spoofHeaders = []string{
	"X-User-Id: SPOOF-id",
	"X-User-Email: SPOOF@evil.test",
	"X-User-Groups: SPOOF-admins",
	"X-User-Groups: SPOOF-admins-again",
	"X-User-Name: SPOOF name",
	"x-user-id: SPOOF-lower",
	"X-USER-EMAIL: SPOOF-upper@evil.test",
	"X_User_Id: SPOOF-underscore",
	"X-User_Groups: SPOOF-mixed",
	"X_USER_GROUPS: SPOOF-under-upper",
	"x_user_email: SPOOF-under-lower@evil.test",
	"X-Forwarded-User: SPOOF",
	"X-Forwarded-Email: SPOOF@evil.test",
	"X-Forwarded-Groups: SPOOF",
	"X-Forwarded-Preferred-Username: SPOOF",
	"X-Forwarded-Access-Token: SPOOF",
	"Remote-User: SPOOF",
	"Remote_User: SPOOF",
	"REMOTE-EMAIL: SPOOF",
	"Remote-Groups: SPOOF",
	"X-Remote-User: SPOOF",
	"X-Auth-Request-User: SPOOF",
	"X-Auth-Request-Email: SPOOF",
	"X_Auth_Request_Groups: SPOOF",
	"X-Authenticated-User: SPOOF",
	"X-Authenticated-Userid: SPOOF",
	"X-Gatehouse-User: SPOOF",
	"X-Original-URL: /SPOOF",
	"X-Rewrite-URL: /SPOOF",
	"X-Forwarded-Uri: /SPOOF",
	"X-HTTP-Method-Override: SPOOF",
	"X-SSL-Client-Cert: SPOOF",
	"Connection: close, X-User-Id, X-User-Groups, X-User-Email, X-User-Name",
	"Cookie: theme=dark; gatehouse_session=SPOOF-session; gatehouse_csrf=SPOOF-csrf",
	"Cookie: lang=en; gatehouse_state=SPOOF-state; __Host-gatehouse_auth=SPOOF-host",
}

func spoofRequest(e *Env, path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\nHost: 127.0.0.1:%d\nUser-Agent: e2e-raw\n", path, e.AppPort)
	for _, h := range append(slices.Clone(spoofHeaders), extra...) {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// checkNoSpoof fails if any client-forged value, the bearer token or a Gatehouse cookie
// reached the upstream, or if an unrelated cookie did not.
func checkNoSpoof(t *testing.T, rec Recorded, bearer string) {
	t.Helper()
	for name, vals := range rec.Header {
		for _, v := range vals {
			if strings.Contains(v, "SPOOF") {
				t.Errorf("upstream received the client's %s: %q (PX-01/PX-02/PX-03)", name, v)
			}
			if bearer != "" && strings.Contains(v, bearer) {
				t.Errorf("upstream received the bearer token in %s (PX-30)", name)
			}
		}
	}
	if v := rec.Values("Authorization"); v != nil {
		t.Errorf("upstream received Authorization %q (PX-30)", v)
	}
	cookies := rec.Cookies()
	for _, c := range cookies {
		if strings.Contains(c, "gatehouse_") {
			t.Errorf("upstream received cookie %s (PX-30)", c)
		}
	}
	for _, want := range []string{"theme", "lang"} {
		if !slices.Contains(cookies, want) {
			t.Errorf("upstream lost the unrelated cookie %s (cookies %v)", want, cookies)
		}
	}
}

func wantHeader(t *testing.T, rec Recorded, name string, want ...string) {
	t.Helper()
	if got := rec.Values(name); !slices.Equal(got, want) {
		t.Errorf("upstream %s (all spellings) = %q, want %q", name, got, want)
	}
}

// TestIdentityHeaderSpoofing: a client cannot smuggle an identity to the upstream. Forged
// identity headers in any case, with '_' for '-', duplicated or listed in Connection are
// removed before the gateway injects its own, which arrive exactly once (PX-01, PX-02,
// PX-03, PX-04); a claim the user lacks leaves its header absent rather than passing the
// client's value through (PX-01 c); denied requests never reach the upstream; the bearer
// token and every Gatehouse cookie are removed while unrelated cookies pass (PX-30); path
// and method override and TLS client-certificate headers are removed (PX-11, PX-12, PX-33).
func TestIdentityHeaderSpoofing(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: apiSites})
	daveID := e.CreateUser("dave@example.test", "staff")
	erinID := e.CreateUser("erin@example.test")
	dave := NewBrowser(t)
	e.PortalLogin(dave, "dave@example.test", Password)
	daveAT := e.AccessToken(dave, "openid email profile read:docs")
	erin := NewBrowser(t)
	e.PortalLogin(erin, "erin@example.test", Password)
	erinAT := e.AccessToken(erin, "openid read:docs") // no email, no profile; no groups

	t.Run("valid token", func(t *testing.T) {
		e := e.T(t)
		r := RawRequest(t, e.AppAddr(), spoofRequest(e, "/docs?q=1", "Authorization: Bearer "+daveAT))
		if r.Status != http.StatusOK {
			t.Fatalf("spoofed request with a valid token: %s", r)
		}
		rec := e.Upstream.Last(t)
		checkNoSpoof(t, rec, daveAT)
		wantHeader(t, rec, "X-User-Id", daveID)
		wantHeader(t, rec, "X-User-Email", "dave@example.test")
		wantHeader(t, rec, "X-User-Groups", "staff")
		wantHeader(t, rec, "X-User-Name", "Ada Lovelace")
		if rec.URI != "/docs?q=1" {
			t.Errorf("upstream URI %q", rec.URI)
		}
	})

	t.Run("claims absent", func(t *testing.T) {
		e := e.T(t)
		r := RawRequest(t, e.AppAddr(), spoofRequest(e, "/docs", "Authorization: Bearer "+erinAT))
		if r.Status != http.StatusOK {
			t.Fatalf("spoofed request with a valid token: %s", r)
		}
		rec := e.Upstream.Last(t)
		checkNoSpoof(t, rec, erinAT)
		wantHeader(t, rec, "X-User-Id", erinID)
		wantHeader(t, rec, "X-User-Email")
		wantHeader(t, rec, "X-User-Name")
		wantHeader(t, rec, "X-User-Groups")
	})

	t.Run("session cookie", func(t *testing.T) {
		e := e.T(t)
		// A browser session on the site (single sign-on: dave is logged in at the portal):
		// the cookie authenticates and is then removed.
		if r := dave.Go(http.MethodGet, e.App+"/start", nil, nil); r.Status != http.StatusOK || r.URL.Path != "/start" {
			t.Fatalf("browser single sign-on: %s", r)
		}
		auth := dave.Cookie(e.App, "gatehouse_auth")
		r := RawRequest(t, e.AppAddr(), strings.Replace(spoofRequest(e, "/docs"),
			"Cookie: theme=dark;", "Cookie: theme=dark; gatehouse_auth="+auth+";", 1))
		if r.Status != http.StatusOK {
			t.Fatalf("spoofed request with the session cookie: %s", r)
		}
		rec := e.Upstream.Last(t)
		checkNoSpoof(t, rec, "")
		for _, v := range rec.Values("Cookie") {
			if strings.Contains(v, auth) {
				t.Errorf("upstream received the session cookie value")
			}
		}
		wantHeader(t, rec, "X-User-Id", daveID)
		wantHeader(t, rec, "X-User-Groups", "staff")
	})

	t.Run("denied", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		for name, extra := range map[string][]string{
			"no credential":      nil,
			"invalid token":      {"Authorization: Bearer " + daveAT[:len(daveAT)-4] + "AAAA"},
			"insufficient scope": {"Authorization: Bearer " + daveAT},
			"wrong group":        {"Authorization: Bearer " + erinAT},
		} {
			path := "/docs"
			switch name {
			case "insufficient scope":
				path = "/write/x"
			case "wrong group":
				path = "/admin/x"
			}
			r := RawRequest(t, e.AppAddr(), spoofRequest(e, path, extra...))
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
				t.Errorf("%s: HTTP %d, want 401/403: %s", name, r.Status, r)
			}
		}
		// Malformed header names are refused by the server before anything else.
		r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /docs HTTP/1.1\nHost: 127.0.0.1:%d\nAuthorization: Bearer %s\nX-User-Id : SPOOF\n\n", e.AppPort, daveAT))
		if r.Status != http.StatusBadRequest {
			t.Errorf("header name with a trailing space: %s", r)
		}
		if n := e.Upstream.Count(); n != before {
			t.Errorf("%d denied requests reached the upstream", n-before)
		}
	})

	t.Run("obs-fold", func(t *testing.T) {
		e := e.T(t)
		// A folded continuation line must not become a header of its own.
		r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /docs HTTP/1.1\nHost: 127.0.0.1:%d\nAuthorization: Bearer %s\nX-Innocent: a\n X-User-Id: FOLDED\n\n", e.AppPort, daveAT))
		if r.Status == http.StatusOK {
			rec := e.Upstream.Last(t)
			wantHeader(t, rec, "X-User-Id", daveID)
		} else if r.Status != http.StatusBadRequest {
			t.Errorf("obs-fold: %s", r)
		}
	})
}

// AppAddr returns App's host:port.
func (e *Env) AppAddr() string { return fmt.Sprintf("127.0.0.1:%d", e.AppPort) }
