package i18n

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// OIDC Core 3.1.2.1: "ui_locales: End-User's preferred languages and scripts for the user
// interface, represented as a space-separated list of BCP47 [RFC5646] language tag values,
// ordered by preference." RFC 9110 12.5.4: Accept-Language with q-values ("weight").
func TestChooseOrder(t *testing.T) {
	cases := []struct {
		name, ui, accept, def, want string
	}{
		{"ui_locales beats Accept-Language", "fr", "de", "en", "fr"},
		{"ui_locales order of preference", "es fr", "", "en", "es"},
		{"unknown ui_locales tag skipped", "sv fr-CA", "de", "en", "fr"},
		{"only unknown ui_locales: Accept-Language", "sv ja", "de-DE,de;q=0.9", "en", "de"},
		{"malformed ui_locales: Accept-Language", "%%% !!", "es", "en", "es"},
		{"Accept-Language beats default", "", "fr", "de", "fr"},
		{"q-values honoured", "", "fr;q=0.5, de;q=0.9, en;q=0.1", "en", "de"},
		{"q=0 means not acceptable", "", "de;q=0, fr;q=0.2", "en", "fr"},
		{"an unknown tag does not spoil the header", "", "xx, es;q=0.8", "en", "es"},
		{"wildcard and unsupported: default", "", "*, pt-BR", "es", "es"},
		{"region falls back to the language", "", "de-AT", "en", "de"},
		{"nothing: default", "", "", "fr", "fr"},
		{"unsupported default: English", "", "", "it", "en"},
		{"empty default: English", "", "", "", "en"},
		{"malformed q ignored", "", "de;q=abc, fr", "en", "fr"},
	}
	for _, c := range cases {
		if got := Choose(c.ui, c.accept, c.def); got != c.want {
			t.Errorf("%s: Choose(%q, %q, %q) = %q, want %q", c.name, c.ui, c.accept, c.def, got, c.want)
		}
	}
}

func TestChooseRejectsHugeHeaders(t *testing.T) {
	long := "de"
	for len(long) <= maxHeader {
		long += ", fr"
	}
	if got := Choose("", long, "es"); got != "es" {
		t.Errorf("a %d-byte Accept-Language was parsed: %q", len(long), got)
	}
}

// The ui_locales of an authorization request is carried through the login flow in a cookie;
// a later request without it clears the cookie; the request's own ui_locales comes first.
func TestFromRequestCarriesUILocales(t *testing.T) {
	w := httptest.NewRecorder()
	auth := httptest.NewRequest("GET", "/authorize?ui_locales=es", nil)
	Remember(w, auth, "sv es", "/", true)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != CookieName || cookies[0].Value != "es" || !cookies[0].HttpOnly || !cookies[0].Secure {
		t.Fatalf("cookies after ui_locales=sv es: %+v", cookies)
	}

	page := httptest.NewRequest("GET", "/login/code", nil)
	page.Header.Set("Accept-Language", "de")
	page.AddCookie(cookies[0])
	if got := FromRequest(page, "en"); got != "es" {
		t.Errorf("login page after ui_locales=es with Accept-Language de: %q, want es", got)
	}
	own := httptest.NewRequest("GET", "/login?ui_locales=fr", nil)
	own.AddCookie(cookies[0])
	if got := FromRequest(own, "en"); got != "fr" {
		t.Errorf("the request's own ui_locales: %q, want fr", got)
	}
	forged := httptest.NewRequest("GET", "/login", nil)
	forged.AddCookie(&http.Cookie{Name: CookieName, Value: "<script>"})
	forged.Header.Set("Accept-Language", "de")
	if got := FromRequest(forged, "en"); got != "de" {
		t.Errorf("an unsupported cookie value was used: %q", got)
	}

	w = httptest.NewRecorder()
	again := httptest.NewRequest("GET", "/authorize", nil)
	again.AddCookie(cookies[0])
	Remember(w, again, "", "/", true)
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("an authorization request without ui_locales keeps the cookie: %+v", c)
	}
	w = httptest.NewRecorder()
	Remember(w, httptest.NewRequest("GET", "/authorize", nil), "", "/", false)
	if c := w.Result().Cookies(); len(c) != 0 {
		t.Errorf("a cookie was set without ui_locales: %+v", c)
	}
}

// CLDR plural rules: German and Spanish "one" is 1 only; French "one" covers 0 and 1.
func TestPlurals(t *testing.T) {
	cases := []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "1 minute"}, {"en", 10, "10 minutes"},
		{"de", 1, "1 Minute"}, {"de", 10, "10 Minuten"},
		{"fr", 0, "0 minute"}, {"fr", 2, "2 minutes"},
		{"es", 1, "1 minuto"}, {"es", 15, "15 minutos"},
	}
	for _, c := range cases {
		if got := T(c.lang, "%d minutes", c.n); got != c.want {
			t.Errorf("T(%s, %%d minutes, %d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

func TestUntranslatedFallsBackToEnglish(t *testing.T) {
	if got := T("de", "A text nobody translated, %s", "yet"); got != "A text nobody translated, yet" {
		t.Errorf("got %q", got)
	}
	if got := T("xx", "%d minutes", 2); got != "2 minutes" {
		t.Errorf("unknown language: %q", got)
	}
	if got := Text("de", "50% off"); got != "50% off" {
		t.Errorf("Text formatted an untranslated text: %q", got)
	}
}

// PX-21: a ui_locales (or Accept-Language, or cookie) value with markup never reaches a page
// or a cookie: only a supported language tag is ever chosen, kept or written.
func TestPX21_UILocalesNeverReflected(t *testing.T) {
	evil := `"><svg onload=alert(1)>`
	r := httptest.NewRequest("GET", "/login?ui_locales="+url.QueryEscape(evil), nil)
	r.Header.Set("Accept-Language", evil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "de<script>"})
	if got := FromRequest(r, "fr"); got != "fr" {
		t.Errorf("FromRequest with markup everywhere = %q, want the default fr", got)
	}
	w := httptest.NewRecorder()
	Remember(w, httptest.NewRequest("GET", "/authorize", nil), evil+" de", "/", false)
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Value != "de" {
		t.Errorf("cookie after ui_locales with markup: %+v, want de only", c)
	}
}
