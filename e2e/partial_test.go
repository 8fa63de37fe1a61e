package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
)

// partialSite protects only /admin/* of App (gatehouse_protect with a matcher); the rest of
// the site is public.
const partialSite = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect /admin/* {
		client app
	}
	reverse_proxy {{.UpstreamAddr}}
}`

// TestPartlyProtectedSite: on a site where only /admin/* is protected, spellings of the
// protected path that Caddy's matcher treats as /admin/* (case, "//", dot segments, encoded
// dots and slashes, encoded letters) are denied without reaching the upstream, and no
// anonymous request reaches the upstream with a path that — decoded once, dot segments
// resolved, lower-cased, as a typical upstream router sees it — lies under /admin/ (PX-13,
// PX-15, PX-17). The login through the site's /.gatehouse/ endpoints works although they are
// outside the matcher.
//
// Not asserted (see the report): /admin itself is outside `/admin/*` (Caddy's segment
// semantics, PX-14); ";", "\" and trailing-dot spellings reach the upstream unchanged and
// are safe only for upstreams that do not treat them as /admin/ (Tomcat, IIS would).
func TestPartlyProtectedSite(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: partialSite})
	e.CreateUser("tess@example.test")

	mustDeny := []string{"/admin/x", "/ADMIN/x", "/Admin/x", "//admin/x", "/./admin/x", "/public/../admin/x",
		"/public/%2e%2e/admin/x", "/public/..%2fadmin/x", "/public/%2e%2e%2fadmin/x", "/admin%2fx", "/admin%2Fx",
		"/%61dmin/x", "/admin/x%00", "/admin/", "/admin/x?/public"}
	others := []string{"/public/%252e%252e/admin/x", "/admin;x=1/x", "/admin..;/x", "/admin%20/x", "/admin\\x",
		"/admin%5cx", "/admin./x", "/%2561dmin/x", "/public%3f/../admin", "/ａdmin/x", "/public?x=/admin/x",
		"/public#/admin/x", "/public/%2e%2e%2fadmin%2fx", "/admin/.%2e/public"}
	for _, p := range append(mustDeny, others...) {
		before := e.Upstream.Count()
		r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET %s HTTP/1.1\nHost: %s\n\n", p, e.AppAddr()))
		if e.Upstream.Count() == before {
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
				t.Errorf("GET %s: not forwarded but HTTP %d", p, r.Status)
			}
			continue
		}
		for _, want := range mustDeny {
			if p == want {
				t.Errorf("GET %s reached the upstream anonymously (HTTP %d)", p, r.Status)
			}
		}
		uri := e.Upstream.Last(t).URI
		raw, _, _ := strings.Cut(uri, "?")
		dec, err := url.PathUnescape(raw)
		if err != nil {
			dec = raw
		}
		if seen := path.Clean(strings.ToLower(dec)); strings.HasPrefix(seen+"/", "/admin/") && seen != "/admin" {
			t.Errorf("GET %s reached the upstream anonymously as %q (%s)", p, uri, seen)
		}
	}

	// The browser login completes through /.gatehouse/callback, outside /admin/*.
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/admin/panel?tab=1", "tess@example.test", Password); r.Status != http.StatusOK ||
		r.URL.String() != e.App+"/admin/panel?tab=1" {
		t.Fatalf("login on a partly protected site: %s (hops %v)", r, r.Hops)
	}
	if got := e.Upstream.Last(t).Values("X-User-Email"); len(got) != 1 || got[0] != "tess@example.test" {
		t.Errorf("X-User-Email %q", got)
	}

	t.Run("public routes strip identity headers", func(t *testing.T) {
		// PX-01 (a): an upstream that personalises public pages from X-User-Id must not see
		// a client's value there either.
		r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /public HTTP/1.1\nHost: %s\nX-User-Id: SPOOF\nX_User_Email: SPOOF\n\n", e.AppAddr()))
		if r.Status != http.StatusOK {
			t.Fatalf("public page: %s", r)
		}
		got := e.Upstream.Last(t)
		for _, name := range []string{"X-User-Id", "X-User-Email", "X_User_Email", "X_user_email"} {
			if v := got.Values(name); v != nil {
				t.Errorf("the public route forwarded the client's %s %q (the Caddyfile's gatehouse_sanitize route must strip it)", name, v)
			}
		}
	})

	t.Run("public routes strip gatehouse cookies but keep others", func(t *testing.T) {
		r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /public HTTP/1.1\nHost: %s\nCookie: theme=dark; gatehouse_auth=stolen; gatehouse_session=x\n\n", e.AppAddr()))
		if r.Status != http.StatusOK {
			t.Fatalf("public page: %s", r)
		}
		cookies := strings.Join(e.Upstream.Last(t).Values("Cookie"), "; ")
		if strings.Contains(cookies, "gatehouse_") || !strings.Contains(cookies, "theme=dark") {
			t.Errorf("upstream Cookie %q: want theme=dark without gatehouse cookies", cookies)
		}
	})
}

// nestedSite protects /admin/* from inside a handle block, with gatehouse_sanitize at the
// top of the site; a second protected route injects a header of its own.
const nestedSite = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_sanitize
	handle /admin/* {
		gatehouse_protect {
			client app
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /wiki/* {
		gatehouse_protect {
			client app
			header X-Webauth-User {gatehouse.user.email}
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle {
		reverse_proxy {{.UpstreamAddr}}
	}
}`

// TestNestedProtectSanitized: with gatehouse_protect inside handle blocks, the top-level
// gatehouse_sanitize strips forged identity headers and Gatehouse cookies from the requests
// no gatehouse_protect handles, and every handler strips the headers any other one injects
// (PX-01, PX-30); the protected routes still see their credentials.
func TestNestedProtectSanitized(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: nestedSite})
	e.CreateUser("nina@example.test")
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/admin/x", "nina@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("login through the nested route: %s (hops %v)", r, r.Hops)
	}
	cookie := b.Cookie(e.App, "gatehouse_auth")

	// Public route: forged headers and the session cookie never reach the upstream.
	r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /profile HTTP/1.1\nHost: %s\nX-User-Id: admin\nX_User_Groups: admins\nX-Webauth-User: ceo@example.test\nCookie: theme=dark; gatehouse_auth=%s\n\n", e.AppAddr(), cookie))
	if r.Status != http.StatusOK {
		t.Fatalf("public route: %s", r)
	}
	got := e.Upstream.Last(t)
	for _, name := range []string{"X-User-Id", "X-User-Groups", "X-Webauth-User"} {
		if v := got.Values(name); v != nil {
			t.Errorf("public route forwarded the client's %s %q", name, v)
		}
	}
	if c := strings.Join(got.Values("Cookie"), ";"); strings.Contains(c, "gatehouse_") || !strings.Contains(c, "theme=dark") {
		t.Errorf("public route Cookie %q", c)
	}

	// /admin: the cookie still authenticates (the sanitizer ran first); the header that only
	// /wiki injects cannot be forged here.
	r = RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /admin/x HTTP/1.1\nHost: %s\nX-Webauth-User: ceo@example.test\nCookie: gatehouse_auth=%s\n\n", e.AppAddr(), cookie))
	if r.Status != http.StatusOK {
		t.Fatalf("/admin with the cookie: %s", r)
	}
	got = e.Upstream.Last(t)
	if v := got.Values("X-Webauth-User"); v != nil {
		t.Errorf("/admin forwarded the forged X-Webauth-User %q", v)
	}
	if v := got.Values("X-User-Email"); len(v) != 1 || v[0] != "nina@example.test" {
		t.Errorf("/admin X-User-Email %q", v)
	}

	// /wiki injects its own header with the real identity.
	r = RawRequest(t, e.AppAddr(), fmt.Sprintf("GET /wiki/x HTTP/1.1\nHost: %s\nX-Webauth-User: ceo@example.test\nCookie: gatehouse_auth=%s\n\n", e.AppAddr(), cookie))
	if r.Status != http.StatusOK {
		t.Fatalf("/wiki with the cookie: %s", r)
	}
	if v := e.Upstream.Last(t).Values("X-Webauth-User"); len(v) != 1 || v[0] != "nina@example.test" {
		t.Errorf("/wiki X-Webauth-User %q", v)
	}
}
