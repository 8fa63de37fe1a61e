package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadInput: malformed and oversized input is refused with a 4xx — never a 5xx, a hang or
// a crash — and the server keeps serving. Bodies of 1 MB on every endpoint that reads one
// (RB-02); repeated parameters at /token and /authorize (RB-03); malformed JSON, wrong
// types, trailing data and wrong content types (RB-14); an unknown client_id with an
// attacker's redirect_uri gets an error page, never a redirect (AS-03); error_description
// never echoes CR/LF/TAB; a malformed request URI on the protected site fails closed
// (PX-17).
func TestBadInput(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("paul@example.test")
	mb := 1 << 20

	t.Run("1 MB bodies", func(t *testing.T) {
		e := e.T(t)
		bigForm := "email=a%40b.test&password=" + strings.Repeat("p", mb)
		bigJSON := `{"email":"a@b.test","password":"` + strings.Repeat("p", mb) + `"}`
		for _, c := range []struct{ url, ctype, body string }{
			{e.Issuer + "/login", "application/x-www-form-urlencoded", bigForm},
			{e.Issuer + "/signup", "application/x-www-form-urlencoded", bigForm},
			{e.Issuer + "/logout", "application/x-www-form-urlencoded", bigForm},
			{e.Issuer + "/authorize", "application/x-www-form-urlencoded", "client_id=app&" + bigForm},
			{e.Issuer + "/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&" + bigForm},
			{e.Issuer + "/userinfo", "application/x-www-form-urlencoded", "access_token=" + strings.Repeat("a", mb)},
			{e.Issuer + "/api/v1/login/password", "application/json", bigJSON},
			{e.Issuer + "/api/v1/signup", "application/json", bigJSON},
			{e.Issuer + "/api/v1/logout", "application/json", bigJSON},
			{e.App + "/.gatehouse/logout", "application/x-www-form-urlencoded", bigForm},
			{"http://" + e.AdminAddr + "/gatehouse/users", "application/json", bigJSON},
		} {
			req := NewRequest(t, http.MethodPost, c.url, c.body)
			req.Header.Set("Content-Type", c.ctype)
			if strings.Contains(c.url, e.AdminAddr) {
				req.Host = e.AdminAddr
			}
			r := Do(t, API, req)
			if r.Status < 400 || r.Status > 499 {
				t.Errorf("POST %s with a 1 MB body: %s", c.url, r)
			}
		}
	})

	t.Run("repeated parameters", func(t *testing.T) {
		e := e.T(t)
		for _, k := range []string{"client_id", "code", "redirect_uri", "grant_type", "code_verifier"} {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {e.RP + "/app-cb"},
				"client_id": {"app"}, "code_verifier": {strings.Repeat("v", 43)}}
			form.Add(k, form.Get(k))
			wantTokenError(t, "repeated "+k, e.Token(form), http.StatusBadRequest, "invalid_request")
		}
		b := NewBrowser(t)
		params, _ := AuthParams("app", e.RP+"/app-cb", "openid")
		params.Add("client_id", "app")
		if r := b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("/authorize with client_id twice: %s", r)
		}
		params, _ = AuthParams("app", e.RP+"/app-cb", "openid")
		params.Add("redirect_uri", "https://evil.test/cb")
		if r := b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("/authorize with redirect_uri twice: %s", r)
		}
	})

	t.Run("malformed JSON", func(t *testing.T) {
		e := e.T(t)
		for name, c := range map[string]struct{ ctype, body string }{
			"truncated":      {"application/json", `{"email":`},
			"array":          {"application/json", `["paul@example.test"]`},
			"wrong type":     {"application/json", `{"email":["paul@example.test"],"password":"x"}`},
			"number":         {"application/json", `{"email":"paul@example.test","password":12345678}`},
			"trailing data":  {"application/json", `{"email":"paul@example.test","password":"x"}{}`},
			"unknown field":  {"application/json", `{"email":"paul@example.test","password":"x","admin":true}`},
			"not JSON":       {"application/json", `email=paul@example.test`},
			"invalid UTF-8":  {"application/json", "{\"email\":\"pa\xffl@example.test\",\"password\":\"x\"}"},
			"empty":          {"application/json", ``},
			"text/plain":     {"text/plain", `{"email":"paul@example.test","password":"x"}`},
			"form":           {"application/x-www-form-urlencoded", `email=paul%40example.test&password=x`},
			"deeply nested":  {"application/json", `{"email":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
			"null bytes":     {"application/json", `{"email":"paul@example.test\u0000","password":"x"}`},
			"huge number":    {"application/json", `{"email":1e999999,"password":"x"}`},
			"duplicate keys": {"application/json", `{"email":"x@example.test","email":"paul@example.test","password":"x"}`},
		} {
			for _, path := range []string{"/api/v1/login/password", "/api/v1/signup"} {
				req := NewRequest(t, http.MethodPost, e.Issuer+path, c.body)
				req.Header.Set("Content-Type", c.ctype)
				r := Do(t, API, req)
				if r.Status < 400 || r.Status > 499 {
					t.Errorf("%s to %s: %s", name, path, r)
					continue
				}
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					t.Errorf("%s to %s: error is not JSON: %s", name, path, r)
					continue
				}
				if r.JSON(t)["error"] == "" {
					t.Errorf("%s to %s: no error code: %s", name, path, r)
				}
			}
		}
		// Token endpoint: wrong content type, wrong method.
		req := NewRequest(t, http.MethodPost, e.Issuer+"/token", `{"grant_type":"authorization_code"}`)
		req.Header.Set("Content-Type", "application/json")
		wantTokenError(t, "JSON to /token", Do(t, API, req), http.StatusBadRequest, "invalid_request")
		if r := Get(t, e.Issuer+"/token", ""); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET /token: %s", r)
		}
	})

	t.Run("unknown client", func(t *testing.T) {
		e := e.T(t)
		b := NewBrowser(t)
		for _, q := range []string{
			"response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.test%2Fcb&scope=openid&state=s",
			"response_type=code&client_id=&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
			"response_type=code&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
			"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
			"response_type=code&client_id=" + strings.Repeat("x", 5000) + "&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
			"response_type=code&client_id=app%00&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
		} {
			r := b.Do(http.MethodGet, e.Issuer+"/authorize?"+q, nil)
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || strings.Contains(string(r.Body), "evil.test/cb\"") {
				t.Errorf("/authorize?%s: want an error page, got %s (Location %q)", truncate(q, 80), r, r.Header.Get("Location"))
			}
		}
	})

	t.Run("error descriptions", func(t *testing.T) {
		e := e.T(t)
		b := NewBrowser(t)
		params, _ := AuthParams("app", e.RP+"/app-cb", "openid bad\r\nscope\tx")
		params.Set("state", "s\r\nSet-Cookie: evil=1")
		r := b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil)
		if r.Status != http.StatusFound {
			t.Fatalf("authorize with a bad scope: %s", r)
		}
		loc := r.Location(t)
		q := loc.Query()
		if q.Get("error") != "invalid_scope" || strings.ContainsAny(q.Get("error_description"), "\r\n\t") || q.Get("state") != params.Get("state") {
			t.Errorf("error redirect %v", q)
		}
		if strings.ContainsAny(r.Header.Get("Location"), "\r\n") || r.Header.Get("Set-Cookie") != "" && strings.Contains(r.Header.Get("Set-Cookie"), "evil") {
			t.Errorf("header injection through state: %q", r.Header)
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"app"}, "scope": {"a\r\nb\tc\"d"}}
		tr := e.Token(form)
		if d, _ := tr.JSON(t)["error_description"].(string); strings.ContainsAny(d, "\r\n\t\"") {
			t.Errorf("token error_description %q", d)
		}
	})

	t.Run("malformed URI on the protected site", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		for _, path := range []string{"/%ZZ", "/admin/%c0%af", "*", "docs", "/" + strings.Repeat("a", 9000)} {
			r := RawRequest(t, e.AppAddr(), fmt.Sprintf("GET %s HTTP/1.1\nHost: %s\n\n", path, e.AppAddr()))
			if r.Status < 400 || r.Status > 499 {
				t.Errorf("GET %s: %s", truncate(path, 40), r)
			}
		}
		if n := e.Upstream.Count(); n != before {
			t.Errorf("%d malformed requests reached the upstream", n-before)
		}
	})

	// Still serving.
	if r := Get(t, e.Issuer+"/.well-known/openid-configuration", ""); r.Status != http.StatusOK {
		t.Fatalf("after bad input: %s", r)
	}
	if r := e.APILogin("paul@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("login after bad input: %s", r)
	}
}
