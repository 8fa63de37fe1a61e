package protect

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// TestGuardUnverifiedEmailNotInjected: an address nobody verified (self-service sign-up) is
// whatever the user typed; it must not become identity for upstreams keyed on the email
// (CR-32): X-User-Email and {gatehouse.user.email} stay empty.
func TestGuardUnverifiedEmailNotInjected(t *testing.T) {
	e := newEnv(t)
	u, err := e.p.CreateUser(e.ctx, idp.NewUser{Email: "ceo@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.user = u
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid", "email")
	r := bearerRequest(resp.AccessToken)
	r.Header.Set("X-User-Email", "ceo@example.com")
	_, id := serve(g, r)
	if id == nil {
		t.Fatal("refused")
	}
	if v, ok := r.Header["X-User-Email"]; ok {
		t.Fatalf("unverified email injected: %q", v)
	}
	if v, _ := id.Lookup("gatehouse.user.email"); v != "" {
		t.Fatalf("{gatehouse.user.email} = %q for an unverified address", v)
	}
	if v, _ := id.Lookup("gatehouse.user.email_verified"); v != "false" {
		t.Fatalf("{gatehouse.user.email_verified} = %q", v)
	}
}

// TestGuardBearerSchemeVariants: "Bearer<TAB>token" is a bearer credential too (RFC 9110
// allows tabs): it is verified like any other, never forwarded as an unknown scheme next to
// the session cookie (PX-30). A malformed bearer header is 400.
func TestGuardBearerSchemeVariants(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid")
	r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r.Header.Set("Authorization", "Bearer\t"+resp.AccessToken)
	if _, id := serve(g, r); id == nil {
		t.Fatal("tab-separated bearer refused")
	}
	if _, ok := r.Header["Authorization"]; ok {
		t.Fatal("the bearer token was forwarded upstream")
	}
	for _, v := range []string{"Bearer", "Bearer ", "bearer\t", "Bearer a b", "BEARER\ta\tb"} {
		r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
		r.Header.Set("Authorization", v)
		if w, id := serve(g, r); id != nil || w.Code != http.StatusBadRequest {
			t.Errorf("Authorization %q: %d, want 400", v, w.Code)
		}
	}
}

// TestGuardCachedHeadersIsolated: a later handler editing an injected header in place (as
// Caddy's request_header replace does) must not change what the next request with the same
// cached credential gets.
func TestGuardCachedHeadersIsolated(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, _ := e.login("openid", "email")
	for i := 0; i < 3; i++ {
		r := bearerRequest(resp.AccessToken)
		if _, id := serve(g, r); id == nil {
			t.Fatal("refused")
		}
		if got := r.Header.Get("X-User-Email"); got != "alice@example.com" {
			t.Fatalf("request %d: X-User-Email %q", i, got)
		}
		r.Header["X-User-Email"][0] = "edited+" + r.Header["X-User-Email"][0]
	}
}

// TestGuardSharedNames: handlers of one configuration share the names they strip, so a
// header one route injects cannot be forged on a route another Guard lets through (PX-01).
func TestGuardSharedNames(t *testing.T) {
	e := newEnv(t)
	names := NewNames()
	mk := func(headers []HeaderSpec) *Guard {
		g := &Guard{Provider: e.p, ClientID: "web", Headers: mustCompile(t, headers), Names: names,
			CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
			CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1")}
		if err := g.Init(); err != nil {
			t.Fatal(err)
		}
		return g
	}
	admin := mk(DefaultHeaders)
	_ = mk(append([]HeaderSpec{{Name: "X-Webauth-User", Template: "{gatehouse.user.email}"}}, DefaultHeaders...))
	resp, _ := e.login("openid", "email")
	r := bearerRequest(resp.AccessToken)
	r.Header.Set("X-Webauth-User", "ceo@example.com")
	r.Header["x_webauth_user"] = []string{"ceo@example.com"}
	if _, id := serve(admin, r); id == nil {
		t.Fatal("refused")
	}
	for k, v := range r.Header {
		if normalizeName(k) == "x-webauth-user" {
			t.Fatalf("forged %s %q passed a Guard that does not inject it", k, v)
		}
	}
	// A Sanitizer of the same configuration strips it too.
	s := &Sanitizer{Names: names}
	s.Init()
	r2 := httptest.NewRequest(http.MethodGet, testSite+"/public", nil)
	r2.Header.Set("X-Webauth-User", "ceo@example.com")
	s.Sanitize(r2)
	if _, ok := r2.Header["X-Webauth-User"]; ok {
		t.Fatal("the Sanitizer kept a header another handler injects")
	}
}

// TestGuardRecentRefreshRevoked: the refreshed cookie handed to parallel requests that
// still carry the old one must not outlive a logout (PX-29).
func TestGuardRecentRefreshRevoked(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	resp, sess := e.login("openid", "email")
	old := sealFor(t, g, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)
	e.clk.Advance(e.p.AccessTokenLifetime + e.p.Leeway + time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	req := func() *Identity {
		r := httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
		r.AddCookie(&http.Cookie{Name: "__Host-gatehouse_auth", Value: old})
		_, id := serve(g, r)
		return id
	}
	if req() == nil {
		t.Fatal("refresh refused")
	}
	if err := e.p.EndSession(e.ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if req() != nil {
		t.Fatal("the old cookie still worked after logout, through the recent-refresh result")
	}
}
