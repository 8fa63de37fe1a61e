package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBrowserRedirects: the protected site's browser login. A GET navigation (Accept:
// text/html) without a session is redirected to /authorize (code flow with S256 PKCE, state
// and nonce) and, after login, back to the original URL with its query; API-style requests
// get 401 instead. The callback accepts only the state this browser started (a state cookie,
// AS-27-like login CSRF): a wrong state, a callback delivered to another browser or replayed,
// or one carrying a foreign iss is refused with 400 and no session (AS-28-like). return_to
// values that leave the site are replaced by the default page, on the portal and on the
// protected site (PX-19, PX-20). Forwarded host headers do not steer redirects (PX-07).
func TestBrowserRedirects(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("judy@example.test")

	t.Run("redirect and return", func(t *testing.T) {
		e := e.T(t)
		b := NewBrowser(t)
		target := e.App + "/reports/q3?year=2025&q=a%20b&x=%2F"
		r := b.Do(http.MethodGet, target, nil)
		if r.Status != http.StatusFound {
			t.Fatalf("unauthenticated navigation: %s", r)
		}
		loc := r.Location(t)
		q := loc.Query()
		if loc.Scheme+"://"+loc.Host+loc.Path != e.Issuer+"/authorize" || q.Get("client_id") != "app" ||
			q.Get("redirect_uri") != e.App+"/.gatehouse/callback" || q.Get("code_challenge_method") != "S256" ||
			len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("response_type") != "code" {
			t.Errorf("authorization request %s", loc)
		}
		if strings.Contains(q.Get("scope"), "offline_access") || !strings.Contains(q.Get("scope"), "read:docs") {
			t.Errorf("scope %q", q.Get("scope"))
		}
		final := e.BrowserLogin(b, target, "judy@example.test", Password)
		if final.Status != http.StatusOK || final.URL.String() != target {
			t.Fatalf("after login: %s, want %s (hops %v)", final, target, final.Hops)
		}
		if rec := e.Upstream.Last(t); rec.URI != "/reports/q3?year=2025&q=a%20b&x=%2F" {
			t.Errorf("upstream URI %q", rec.URI)
		}
		// PX-07/PX-08: forwarded host and proto headers from the client do not steer the
		// login redirect.
		req := NewRequest(t, http.MethodGet, e.App+"/reports", nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("X-Forwarded-Host", "evil.test")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Port", "1")
		req.Header.Set("Forwarded", "host=evil.test;proto=https")
		req.Header.Set("X-Original-Host", "evil.test")
		if r := Do(t, API, req); r.Status != http.StatusFound || strings.Contains(r.Header.Get("Location"), "evil.test") ||
			r.Location(t).Query().Get("redirect_uri") != e.App+"/.gatehouse/callback" {
			t.Errorf("forwarded host headers changed the login redirect: %s", r.Header.Get("Location"))
		}
		// Not a navigation: 401, no redirect.
		api := NewBrowser(t)
		for _, method := range []string{http.MethodPost, http.MethodDelete} {
			if r := api.Do(method, e.App+"/reports", url.Values{}); r.Status != http.StatusUnauthorized {
				t.Errorf("%s without a session: %s", method, r)
			}
		}
		if r := Get(t, e.App+"/reports", ""); r.Status != http.StatusUnauthorized || r.Header.Get("Location") != "" {
			t.Errorf("API GET without a session: %s", r)
		}
	})

	t.Run("callback state", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		// A wrong state.
		b := NewBrowser(t)
		if r := b.Do(http.MethodGet, e.App+"/page", nil); r.Status != http.StatusFound {
			t.Fatalf("start login: %s", r)
		}
		r := b.Do(http.MethodGet, e.App+"/.gatehouse/callback?code=abc&state=wrong&iss="+url.QueryEscape(e.Issuer), nil)
		if r.Status != http.StatusBadRequest || b.Cookie(e.App, "gatehouse_auth") != "" {
			t.Errorf("callback with a wrong state: %s", r)
		}

		// Browser A logs in but the callback is delivered to browser C (login CSRF).
		a := NewBrowser(t)
		p := a.Go(http.MethodGet, e.App+"/mine?k=v", nil, nil)
		cb := e.SubmitLogin(a, p, "judy@example.test", Password, StopAt(e.App+"/.gatehouse"))
		if cb.Status != http.StatusFound {
			t.Fatalf("expected the redirect to the callback, got %s", cb)
		}
		callback := cb.Location(t).String()
		if q := cb.Location(t).Query(); q.Get("iss") != e.Issuer {
			t.Errorf("authorization response without iss: %s", callback)
		}
		c := NewBrowser(t)
		if r := c.Go(http.MethodGet, callback, nil, nil); r.Status != http.StatusBadRequest || c.Cookie(e.App, "gatehouse_auth") != "" {
			t.Errorf("callback in another browser: %s", r)
		}
		if n := e.Upstream.Count(); n != before {
			t.Errorf("refused callbacks reached the upstream")
		}
		// A finishes its own login.
		if r := a.Go(http.MethodGet, callback, nil, nil); r.Status != http.StatusOK || r.URL.String() != e.App+"/mine?k=v" {
			t.Fatalf("the browser that started the login: %s (hops %v)", r, r.Hops)
		}
		// Replaying the callback fails (state consumed) and leaves the session alone.
		if r := a.Do(http.MethodGet, callback, nil); r.Status != http.StatusBadRequest {
			t.Errorf("replayed callback: %s", r)
		}
		if r := a.Go(http.MethodGet, e.App+"/mine", nil, nil); r.Status != http.StatusOK || len(r.Hops) != 1 {
			t.Errorf("session after a replayed callback: %s", r)
		}

		// A callback claiming another issuer (mix-up).
		d := NewBrowser(t)
		e.PortalLogin(d, "judy@example.test", Password)
		cb = d.Go(http.MethodGet, e.App+"/x", nil, StopAt(e.App+"/.gatehouse"))
		u := cb.Location(t)
		q := u.Query()
		q.Set("iss", "https://evil.test")
		u.RawQuery = q.Encode()
		if r := d.Do(http.MethodGet, u.String(), nil); r.Status != http.StatusBadRequest || d.Cookie(e.App, "gatehouse_auth") != "" {
			t.Errorf("callback with a foreign iss: %s", r)
		}
	})

	t.Run("open redirects", func(t *testing.T) {
		e := e.T(t)
		portal, _ := url.Parse(e.Issuer)
		for _, evil := range []string{
			"//evil.test", "///evil.test", "/\\evil.test", "\\/evil.test", "/%5Cevil.test", "/%5cevil.test",
			"/%2F%2Fevil.test", "/%2f/evil.test", "https://evil.test", "https://evil.test/", "http:evil.test",
			"https:evil.test", "http:/evil.test", "HTTPS://evil.test", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
			"data:text/html,hi", " //evil.test", "\t//evil.test", "/\t/evil.test", "/%09/evil.test",
			"//evil.test@" + portal.Host, e.Issuer + "@evil.test", e.Issuer + ".evil.test", "\r\nLocation: https://evil.test",
			"/%0d%0aLocation:%20https://evil.test",
		} {
			b := NewBrowser(t) // logged out: a logged-in browser is sent to the account page
			page := b.Go(http.MethodGet, e.Issuer+"/login?return_to="+url.QueryEscape(evil), nil, nil)
			if page.Status != http.StatusOK {
				t.Fatalf("login page with return_to %q: %s", evil, page)
			}
			if got := FormField(t, page, returnToRe); got != "" {
				t.Errorf("login page kept return_to %q as %q", evil, got)
			}
			r := b.Do(http.MethodPost, e.Issuer+"/login", url.Values{"csrf_token": {FormField(t, page, csrfRe)},
				"return_to": {evil}, "email": {"judy@example.test"}, "password": {Password}})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("login with return_to %q: %s", evil, r)
			}
			if loc := r.Location(t); loc.Host != portal.Host || loc.Scheme != "http" || loc.Path != "/" ||
				strings.Contains(strings.ToLower(r.Header.Get("Location")), "evil") {
				t.Errorf("return_to %q: redirected to %q (%s)", evil, r.Header.Get("Location"), loc)
			}
			// The JSON API applies the same rule.
			api := Do(t, API, NewRequest(t, http.MethodPost, e.Issuer+"/api/v1/login/password",
				map[string]string{"email": "judy@example.test", "password": Password, "return_to": evil}))
			if api.Status != http.StatusOK {
				t.Fatalf("API login: %s", api)
			}
			if to, _ := api.JSON(t)["redirect_to"].(string); to != "/" {
				t.Errorf("API return_to %q: redirect_to %q", evil, to)
			}
		}
		// A local path is kept.
		page := NewBrowser(t).Go(http.MethodGet, e.Issuer+"/login?return_to="+url.QueryEscape("/authorize?x=1"), nil, nil)
		if got := FormField(t, page, returnToRe); got != "/authorize?x=1" {
			t.Errorf("local return_to became %q", got)
		}

		// The protected site never returns to another origin either: the page asked for is
		// taken from the request, and "//evil.test" is not a local path.
		s := NewBrowser(t)
		e.PortalLogin(s, "judy@example.test", Password)
		r := s.Go(http.MethodGet, e.App+"//evil.test/x", nil, nil)
		if r.URL.Host != strings.TrimPrefix(e.App, "http://") {
			t.Errorf("protected site returned to %s (hops %v)", r.URL, r.Hops)
		}
		for _, h := range r.Hops {
			if strings.Contains(h, "GET http://evil.test") || strings.HasPrefix(strings.TrimPrefix(h, "GET "), "//") {
				t.Errorf("followed a redirect off-site: %v", r.Hops)
			}
		}
	})
}

// setCookie returns the Set-Cookie header that sets name ("" if none).
func setCookie(r *Resp, name string) string {
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}

// TestCookiesAndPageHeaders: the cookies Gatehouse sets are HttpOnly, SameSite=Lax,
// host-only with Path=/ (PX-26; on plain-http loopback they cannot carry the __Host- prefix
// or Secure); a session cookie planted before login is replaced, not adopted (PX-25); a
// tampered or duplicated site cookie is refused rather than merged (PX-27, PX-28); portal
// pages cannot be framed and send no referrer (AS-20, AS-22).
func TestCookiesAndPageHeaders(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("sam@example.test")
	checkCookie := func(what, sc string) {
		t.Helper()
		l := strings.ToLower(sc)
		if sc == "" || !strings.Contains(l, "httponly") || !strings.Contains(l, "samesite=lax") ||
			!strings.Contains(l, "path=/") || strings.Contains(l, "domain=") {
			t.Errorf("%s cookie: %q", what, sc)
		}
	}

	b := NewBrowser(t)
	// A planted portal session cookie (session fixation).
	portal, _ := url.Parse(e.Issuer)
	planted := "planted-session-secret-0123456789abcdef"
	b.Jar.SetCookies(portal, []*http.Cookie{{Name: "gatehouse_session", Value: planted, Path: "/"}})

	start := b.Do(http.MethodGet, e.App+"/page", nil)
	checkCookie("state", setCookie(start, "gatehouse_state"))
	login := b.Go(http.MethodGet, start.Location(t).String(), nil, nil)
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if login.Header.Get(h) == "" {
			t.Errorf("login page without %s", h)
		}
	}
	if !strings.Contains(login.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || login.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("login page can be framed: %v", login.Header)
	}
	checkCookie("csrf", setCookie(login, "gatehouse_csrf"))
	post := b.Do(http.MethodPost, e.Issuer+"/login", url.Values{"csrf_token": {FormField(t, login, csrfRe)},
		"return_to": {FormField(t, login, returnToRe)}, "email": {"sam@example.test"}, "password": {Password}})
	sc := setCookie(post, "gatehouse_session")
	checkCookie("session", sc)
	if strings.Contains(sc, planted) || b.Cookie(e.Issuer, "gatehouse_session") == planted {
		t.Errorf("the planted session cookie was kept: %q", sc)
	}
	cb := b.Go(http.MethodGet, post.Location(t).String(), nil, StopAt(e.App+"/.gatehouse"))
	done := b.Do(http.MethodGet, cb.Location(t).String(), nil)
	checkCookie("site session", setCookie(done, "gatehouse_auth"))
	if done.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("callback Referrer-Policy %q", done.Header.Get("Referrer-Policy"))
	}
	auth := b.Cookie(e.App, "gatehouse_auth")
	// The site cookie is a sealed handle: no JWT and no refresh token readable in it.
	if strings.Contains(auth, "eyJ") || strings.Contains(auth, "~") || strings.Contains(auth, ".") {
		t.Errorf("the site cookie gives its tokens away: %q", auth)
	}
	req := NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil)
	req.Header.Set("Cookie", "gatehouse_session="+planted)
	if r := Do(t, API, req); r.Status != http.StatusUnauthorized {
		t.Errorf("the planted session secret became a session: %s", r)
	}

	before := e.Upstream.Count()
	tampered := []byte(auth)
	i := len(tampered) / 2
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	for name, cookie := range map[string]string{
		"tampered":          "gatehouse_auth=" + string(tampered),
		"duplicate":         "gatehouse_auth=" + auth + "; gatehouse_auth=" + string(tampered),
		"duplicate, same":   "gatehouse_auth=" + auth + "; gatehouse_auth=" + auth,
		"truncated":         "gatehouse_auth=" + auth[:len(auth)/2],
		"empty":             "gatehouse_auth=",
		"other cookie name": "Gatehouse_Auth=" + auth,
	} {
		req := NewRequest(t, http.MethodGet, e.App+"/page", nil)
		req.Header.Set("Cookie", cookie)
		if r := Do(t, API, req); r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
			t.Errorf("%s site cookie: %s", name, r)
		}
	}
	// A browser with a tampered cookie is sent to log in again (not an error page).
	nav := NewRequest(t, http.MethodGet, e.App+"/page", nil)
	nav.Header.Set("Accept", "text/html")
	nav.Header.Set("Cookie", "gatehouse_auth="+string(tampered))
	if r := Do(t, noFollow(), nav); r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), e.Issuer+"/authorize?") {
		t.Errorf("browser with a tampered site cookie: %s, want a redirect to the login", r)
	}
	if n := e.Upstream.Count(); n != before {
		t.Errorf("%d requests with bad cookies reached the upstream", n-before)
	}
	req = NewRequest(t, http.MethodGet, e.App+"/page", nil)
	req.Header.Set("Cookie", "gatehouse_auth="+auth)
	if r := Do(t, API, req); r.Status != http.StatusOK {
		t.Errorf("the genuine site cookie: %s", r)
	}
}
