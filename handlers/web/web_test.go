package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
)

// TestLocalPath: PX-19 (caddy-security CVE-2024-21497, oauth2-proxy CVE-2020-5233 and
// siblings) — a post-login redirect target must stay on this site: protocol-relative,
// backslash, encoded-slash, whitespace and scheme tricks are refused.
func TestLocalPath(t *testing.T) {
	ok := []string{"/", "/docs", "/docs/page?x=1&y=%2F", "/a/b#section", "/evil.example", "/a//b", "/%E2%9C%93", "/a/../b"}
	for _, p := range ok {
		if got := web.LocalPath(p); got != p {
			t.Errorf("LocalPath(%q) = %q, want it kept", p, got)
		}
	}
	bad := []string{
		"", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example",
		"http:/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "evil.example/x",
		" /x", "/ /evil", "\t/evil", "/x\n", "/x\r\nSet-Cookie: a=b", "/%2F%2Fevil.example", "/%2f/evil.example",
		"/%5Cevil.example", "/%5cevil", "/%09/evil", "/%00", "/x\x00", "/\u3000evil", "/\u00a0evil",
		"/%zz", "/" + strings.Repeat("a", 4096), "/\\/evil.example",
	}
	for _, p := range bad {
		if got := web.LocalPath(p); got != "" {
			t.Errorf("LocalPath(%q) = %q, want refused", p, got)
		}
	}
}

func csrf(key string) *web.CSRF {
	n := 0
	return &web.CSRF{Key: []byte(key), CookieName: "gatehouse_csrf", NewSecret: func() string {
		n++
		return strings.Repeat(string(rune('a'+n%26)), 43)
	}}
}

// TestCSRF: PX-23 — a form token is bound to the browser's CSRF cookie: it checks only
// with that cookie, under that key; an attacker-planted cookie without the key, a short
// cookie or an empty token fail; an existing cookie is reused, not replaced.
func TestCSRF(t *testing.T) {
	c := csrf("k1")
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/login", nil)
	tok := c.Token(w, r)
	set := w.Result().Cookies()
	if len(set) != 1 || set[0].Name != "gatehouse_csrf" || !set[0].HttpOnly || set[0].SameSite != http.SameSiteLaxMode || set[0].Path != "/" {
		t.Fatalf("CSRF cookie = %+v", set)
	}
	if !c.Check(r, tok) {
		t.Fatal("token does not check in the request that issued it")
	}
	post := func(cookie, token string) bool {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "gatehouse_csrf", Value: cookie})
		}
		return c.Check(r, token)
	}
	if !post(set[0].Value, tok) {
		t.Fatal("token does not check with its cookie")
	}
	if post(strings.Repeat("z", 43), tok) {
		t.Fatal("token checks with another cookie")
	}
	if post("", tok) || post(set[0].Value, "") || post(set[0].Value, tok+"x") || post("short", csrf("k1").Token(httptest.NewRecorder(), withCookie("short"))) {
		t.Fatal("a missing, empty, altered or short value checked")
	}
	// A planted cookie plus a token computed without the key (another deployment's).
	other := csrf("k2")
	if post(set[0].Value, other.Token(httptest.NewRecorder(), withCookie(set[0].Value))) {
		t.Fatal("token under another key checks")
	}
	// An existing valid cookie is reused.
	w2 := httptest.NewRecorder()
	if tok2 := c.Token(w2, withCookie(set[0].Value)); tok2 != tok || len(w2.Result().Cookies()) != 0 {
		t.Fatal("Token replaced an existing cookie")
	}
	if c.Secure || !strings.HasPrefix(web.CookieName("csrf", true), "__Host-") {
		t.Fatal("cookie names")
	}
}

func withCookie(v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "gatehouse_csrf", Value: v})
	return r
}

// TestCookieName: every Gatehouse cookie starts with gatehouse_ (the protect handler strips
// them all before the upstream, PX-30), with the __Host- prefix on https.
func TestCookieName(t *testing.T) {
	if got := web.CookieName("session", false); got != "gatehouse_session" {
		t.Fatal(got)
	}
	if got := web.CookieName("session", true); got != "__Host-gatehouse_session" {
		t.Fatal(got)
	}
}

// TestSecurityHeaders: AS-20 (no framing), AS-22 (no Referer leak), AS-23 (no caching of
// pages that carry codes or tokens).
func TestSecurityHeaders(t *testing.T) {
	h := http.Header{}
	web.SecurityHeaders(h)
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store", "Pragma": "no-cache",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "default-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	w := httptest.NewRecorder()
	web.WriteJSON(w, 201, map[string]int{"a": 1})
	if w.Code != 201 || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("WriteJSON: %d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	web.WriteAPIError(w, 400, "bad", "no")
	var e web.APIError
	if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error != "bad" || e.Message != "no" {
		t.Fatalf("WriteAPIError body %s", w.Body)
	}
}

// TestParseForm: RB-02 — bodies are form-encoded and at most 64 KiB; GET reads the query.
func TestParseForm(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/x?a=1&a=2&b=3", nil)
	q, err := web.ParseForm(httptest.NewRecorder(), r)
	if err != nil || len(q["a"]) != 2 || q.Get("b") != "3" {
		t.Fatalf("GET: %v %v", q, err)
	}
	r = httptest.NewRequest(http.MethodGet, "/x?a=%zz", nil)
	if _, err := web.ParseForm(httptest.NewRecorder(), r); err == nil {
		t.Fatal("malformed query accepted")
	}
	post := func(ct, body string) (map[string][]string, error) {
		r := httptest.NewRequest(http.MethodPost, "/x?q=query", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		return web.ParseForm(httptest.NewRecorder(), r)
	}
	f, err := post("application/x-www-form-urlencoded; charset=utf-8", "a=1&b=2")
	if err != nil || f["a"][0] != "1" || f["q"] != nil {
		t.Fatalf("POST: %v %v (query values must not mix into the body)", f, err)
	}
	if _, err := post("text/plain", "a=1"); err == nil {
		t.Fatal("text/plain body accepted (CSRF-able simple request)")
	}
	if _, err := post("multipart/form-data; boundary=x", "--x--"); err == nil {
		t.Fatal("multipart accepted")
	}
	if _, err := post("application/x-www-form-urlencoded", "a="+strings.Repeat("x", web.MaxBodyBytes)); !errors.Is(err, web.ErrTooLarge) {
		t.Fatalf("oversized body: %v", err)
	}
	if _, err := post("application/x-www-form-urlencoded", "a=%zz"); err == nil {
		t.Fatal("malformed body accepted")
	}
}

// TestDecodeJSON: RB-02, JW-17 in spirit — JSON bodies are one object of known fields, at
// most 64 KiB, with nothing after it.
func TestDecodeJSON(t *testing.T) {
	type in struct {
		Email string `json:"email"`
	}
	dec := func(ct, body string) (in, error) {
		var v in
		r := httptest.NewRequest(http.MethodPost, "/x", bytes.NewBufferString(body))
		r.Header.Set("Content-Type", ct)
		return v, web.DecodeJSON(httptest.NewRecorder(), r, &v)
	}
	if v, err := dec("application/json", `{"email":"a@example.com"}`); err != nil || v.Email != "a@example.com" {
		t.Fatalf("%v %v", v, err)
	}
	for name, tc := range map[string][2]string{
		"unknown field":  {"application/json", `{"email":"a","admin":true}`},
		"trailing data":  {"application/json", `{"email":"a"}{"email":"b"}`},
		"not JSON":       {"application/json", `email=a`},
		"wrong type":     {"text/plain", `{"email":"a"}`},
		"no type":        {"", `{"email":"a"}`},
		"oversized":      {"application/json", `{"email":"` + strings.Repeat("x", web.MaxBodyBytes) + `"}`},
		"type confusion": {"application/json", `{"email":["a"]}`},
	} {
		if _, err := dec(tc[0], tc[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := dec("application/json", `{"email":"`+strings.Repeat("x", web.MaxBodyBytes)+`"}`); !errors.Is(err, web.ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
}
