package ui

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/i18n"
)

type loginData struct {
	ReturnTo, Email string
	SignupEnabled   bool
}

// BenchmarkRenderLogin renders the login page as the portal does for a browser sending
// Accept-Language: the language choice (i18n.FromRequest) and the page in that language.
func BenchmarkRenderLogin(b *testing.B) {
	for _, c := range []struct{ name, accept string }{{"en", "en-US,en;q=0.9"}, {"de", "de-DE,de;q=0.9,en;q=0.8"}, {"nosocial", "de"}} {
		b.Run(c.name, func(b *testing.B) {
			ts, err := Load()
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/login?return_to=/authorize", nil)
			r.Header.Set("Accept-Language", c.accept)
			p := Page{Title: "Log in", CSRF: "token", Passkeys: true, Methods: Methods{EmailCode: true, MagicLink: true, Recovery: true},
				Social: []SocialButton{{Name: "corp", Label: "Corp SSO"}}, Data: loginData{ReturnTo: "/authorize", SignupEnabled: true}}
			if c.name == "nosocial" {
				p.Social = nil
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				p.Lang = i18n.FromRequest(r, "en")
				if err := ts.Render(w, 200, "login", p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Every page's language is the one asked for: <html lang> and Content-Language.
func TestRenderSetsLanguage(t *testing.T) {
	ts, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range append(i18n.Languages, "xx") {
		w := httptest.NewRecorder()
		if err := ts.Render(w, 200, "login", Page{Lang: lang, Data: loginData{}}); err != nil {
			t.Fatal(err)
		}
		want := lang
		if lang == "xx" {
			want = "en"
		}
		if got := w.Header().Get("Content-Language"); got != want {
			t.Errorf("%s: Content-Language %q", lang, got)
		}
		if body := w.Body.String(); !strings.Contains(body, `<html lang="`+want+`">`) || !strings.Contains(body, i18n.T(want, "Log in")) {
			t.Errorf("%s: the page is not in %s:\n%s", lang, want, body)
		}
	}
}

// PX-21: a translation is text: html/template escapes what a catalog or an argument carries.
func TestPX21_TranslationsAreEscaped(t *testing.T) {
	ts, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	evil := SocialButton{Name: "x", Label: `<script>alert(1)</script>`}
	if err := ts.Render(w, 200, "login", Page{Lang: "fr", Social: []SocialButton{evil}, Methods: Methods{EmailCode: true}, Data: loginData{}}); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "Se connecter avec &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the label was not escaped inside the translation:\n%s", body)
	}
}
