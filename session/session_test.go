package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testManager() *Manager {
	return New("gatehouse_session", []byte(strings.Repeat("h", 32)), []byte(strings.Repeat("b", 32)), true, time.Hour)
}

// TestCookieRoundTrip: the cookie carries the session secret only, sealed: it decodes back
// to the secret, and a tampered, foreign-key or missing cookie yields no session (PX-28).
func TestCookieRoundTrip(t *testing.T) {
	m := testManager()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if err := m.Issue(w, r, "s3cret-session-id"); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 3600 {
		t.Fatalf("cookie attributes: %+v", c)
	}
	if strings.Contains(c.Value, "s3cret") {
		t.Fatal("the secret is readable in the cookie")
	}
	get := func(v string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: v})
		return m.Secret(r)
	}
	if got := get(c.Value); got != "s3cret-session-id" {
		t.Fatalf("decoded %q", got)
	}
	tampered := []byte(c.Value)
	tampered[len(tampered)/2] ^= 1
	if got := get(string(tampered)); got != "" {
		t.Fatalf("tampered cookie decoded to %q", got)
	}
	other := New("gatehouse_session", []byte(strings.Repeat("x", 32)), []byte(strings.Repeat("b", 32)), true, time.Hour)
	r2 := httptest.NewRequest(http.MethodGet, "/", nil)
	r2.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: c.Value})
	if got := other.Secret(r2); got != "" {
		t.Fatalf("cookie sealed with another key decoded to %q", got)
	}
	w = httptest.NewRecorder()
	if err := m.Clear(w, r); err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies()[0]; c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("clear: %+v", c)
	}
}

// BenchmarkSessionCookieDecode: reading the portal session secret from its sealed cookie
// (HMAC check and AES decryption), the per-request cost of every portal page.
func BenchmarkSessionCookieDecode(b *testing.B) {
	m := testManager()
	w := httptest.NewRecorder()
	if err := m.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "s3cret-session-id-0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	v := w.Result().Cookies()[0].Value
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: v})
		if m.Secret(r) == "" {
			b.Fatal("no secret")
		}
	}
}
