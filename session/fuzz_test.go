package session

// Fuzz targets for the portal session cookie. Run one with
//
//	go test -run '^$' -fuzz '^FuzzSessionCookie$' -fuzztime 60s ./session
//
// or every fuzz target with scripts/fuzz.sh.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzSecret is the session secret of the one valid cookie the seeds carry.
const fuzzSecret = "s3cret-session-id"

// FuzzSessionCookie: whatever Cookie header a browser sends, reading the session secret never
// panics, and the only secret that comes out is one the server sealed (PX-28: a tampered,
// truncated, re-encoded or foreign cookie yields no session; a forged value cannot choose
// the session).
func FuzzSessionCookie(f *testing.F) {
	m := testManager()
	w := httptest.NewRecorder()
	if err := m.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), fuzzSecret); err != nil {
		f.Fatal(err)
	}
	valid := w.Result().Cookies()[0].Value
	other := New("gatehouse_session", []byte(strings.Repeat("x", 32)), []byte(strings.Repeat("b", 32)), true, 3600e9)
	w = httptest.NewRecorder()
	if err := other.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "admin"); err != nil {
		f.Fatal(err)
	}
	foreign := w.Result().Cookies()[0].Value
	for _, s := range []string{
		"gatehouse_session=" + valid,
		"a=b; gatehouse_session=" + valid + "; c=d",
		"gatehouse_session=" + foreign,
		"gatehouse_session=" + valid[:len(valid)/2],
		"gatehouse_session=" + valid + "=",
		`gatehouse_session="` + valid + `"`,
		"gatehouse_session=" + strings.Repeat("A", 5000),
		"gatehouse_session=; gatehouse_session=" + valid,
		"GATEHOUSE_SESSION=" + valid,
		"gatehouse_session=MTcwMDAwMDAwMHxkR1Z6ZEE9PXwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"", ";;;", "gatehouse_session",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", header)
		if got := m.Secret(r); got != "" && got != fuzzSecret {
			t.Fatalf("cookie header %q decoded to secret %q", header, got)
		}
	})
}

// FuzzSessionRoundTrip: any session secret the server issues comes back unchanged from the
// cookie it sets, and the cookie value never shows the secret.
func FuzzSessionRoundTrip(f *testing.F) {
	for _, s := range []string{fuzzSecret, "x", "Zm9v", strings.Repeat("a", 43), "é\x00;=\"\\ \r\n", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	m := testManager()
	f.Fuzz(func(t *testing.T, secret string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if err := m.Issue(w, r, secret); err != nil {
			if secret == "" || len(secret) > 300 {
				return // empty, or too long for the 1 KB cookie: refused, fine
			}
			t.Fatalf("Issue(%q): %v", secret, err)
		}
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%d cookies set", len(cookies))
		}
		c := cookies[0]
		if len(secret) >= 4 && strings.Contains(c.Value, secret) {
			t.Fatalf("cookie %q shows the secret %q", c.Value, secret)
		}
		r2 := httptest.NewRequest(http.MethodGet, "/", nil)
		r2.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		if got := m.Secret(r2); got != secret {
			t.Fatalf("secret %q came back as %q", secret, got)
		}
	})
}
