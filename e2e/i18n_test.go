package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// i18nGatehouse: password and email-code login, email through the development outbox (the
// `email outbox` sender writes every message to a file), Spanish as the deployment's locale.
func i18nGatehouse(outbox string) string {
	return `login password email_code magic_link
		locale es
		email outbox ` + outbox + AppClient
}

// i18nDo sends a browser request with an Accept-Language header, following redirects like
// Browser.Go.
func i18nDo(t *testing.T, b *Browser, method, rawURL string, form url.Values, lang string) *Resp {
	t.Helper()
	for range 10 {
		var body any
		if form != nil {
			body = form
		}
		req := NewRequest(t, method, rawURL, body)
		req.Header.Set("Accept", "text/html")
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		r := Do(t, b.C, req)
		if r.Status < 300 || r.Status > 399 {
			return r
		}
		method, rawURL, form = http.MethodGet, r.Location(t).String(), nil
	}
	t.Fatalf("too many redirects from %s", rawURL)
	return nil
}

// i18nOutboxMail waits for the n-th message the outbox holds for to, and returns its block.
func i18nOutboxMail(t *testing.T, path, to string, n int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		var mine []string
		for _, block := range strings.Split(string(b), "=== ")[1:] {
			if strings.Contains(block, "\nTo: "+to+"\n") {
				mine = append(mine, block)
			}
		}
		if len(mine) >= n {
			return mine[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox holds %d messages for %s, want %d:\n%s", len(mine), to, n, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var i18nLangRe = regexp.MustCompile(`<html lang="([a-z]+)">`)

// i18nRequestCode asks for an email code on the hosted page in lang (Accept-Language) and
// returns the code-entry page.
func i18nRequestCode(t *testing.T, e *Env, b *Browser, email, lang string) *Resp {
	t.Helper()
	start := i18nDo(t, b, http.MethodGet, e.Issuer+"/login/code?channel=email", nil, lang)
	form := url.Values{"csrf_token": {FormField(t, start, csrfRe)}, "return_to": {""}, "email": {email}}
	return i18nDo(t, b, http.MethodPost, e.Issuer+"/login/code?channel=email", form, lang)
}

// TestI18nEmailCodeInUserLanguage — the login-code email is written in the user's language:
// the one of the pages they asked for it from. OpenID Connect Core 1.0 §3.1.2.1: "ui_locales
// OPTIONAL. End-User's preferred languages and scripts for the user interface, represented
// as a space-separated list of BCP47 language tag values, ordered by preference"; then the
// browser's Accept-Language (RFC 9110 §12.5.4); then the deployment's `locale`.
func TestI18nEmailCodeInUserLanguage(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox.txt")
	e := Start(t, Config{Gatehouse: i18nGatehouse(outbox), Sites: AppSite})
	const ada = "ada@example.test"
	e.CreateUser(ada)

	// German browser: German pages, German email with a German validity period.
	b := NewBrowser(t)
	verify := i18nRequestCode(t, e, b, ada, "de-DE,de;q=0.9,en;q=0.5")
	if m := i18nLangRe.FindSubmatch(verify.Body); verify.Status != http.StatusOK || m == nil || string(m[1]) != "de" ||
		verify.Header.Get("Content-Language") != "de" || !strings.Contains(string(verify.Body), "Code eingeben") {
		t.Fatalf("code page for a German browser: %s", verify)
	}
	mail := i18nOutboxMail(t, outbox, ada, 1)
	if !strings.Contains(mail, "Subject: Ihr Anmeldecode für Gatehouse\n") || !strings.Contains(mail, "Er läuft in 10 Minuten ab.") ||
		strings.Contains(mail, "sign-in code") {
		t.Errorf("email for a German browser is not German:\n%s", mail)
	}

	// ui_locales=fr on the authorization request beats the browser's German, through the
	// login pages that follow it (no ui_locales on them).
	b2 := NewBrowser(t)
	params, _ := AuthParams("app", e.App+"/.gatehouse/callback", "openid email")
	params.Set("ui_locales", "sv fr-CA")
	login := i18nDo(t, b2, http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, "de")
	if m := i18nLangRe.FindSubmatch(login.Body); login.URL.Path != "/login" || m == nil || string(m[1]) != "fr" {
		t.Fatalf("login page after ui_locales=sv fr-CA: %s", login)
	}
	verify = i18nRequestCode(t, e, b2, ada, "de")
	if !strings.Contains(string(verify.Body), "Saisissez votre code") {
		t.Errorf("the code page lost ui_locales=fr: %s", verify)
	}
	mail = i18nOutboxMail(t, outbox, ada, 2)
	if !strings.Contains(mail, "Subject: Votre code de connexion Gatehouse\n") || !strings.Contains(mail, "Il expire dans 10 minutes.") {
		t.Errorf("email after ui_locales=fr is not French:\n%s", mail)
	}

	// A browser asking for a language Gatehouse does not have: the deployment's locale (es).
	b3 := NewBrowser(t)
	verify = i18nRequestCode(t, e, b3, ada, "pt-BR,pt;q=0.9")
	if !strings.Contains(string(verify.Body), "Introduce tu código") {
		t.Errorf("code page for a Portuguese browser with locale es: %s", verify)
	}
	mail = i18nOutboxMail(t, outbox, ada, 3)
	if !strings.Contains(mail, "Subject: Tu código de inicio de sesión de Gatehouse\n") || !strings.Contains(mail, "Caduca en 10 minutos.") {
		t.Errorf("email for a Portuguese browser with locale es is not Spanish:\n%s", mail)
	}

	// A wrong code is refused in the page's language.
	form := url.Values{"csrf_token": {FormField(t, verify, csrfRe)}, "return_to": {""}, "code": {"000000"}}
	wrong := i18nDo(t, b3, http.MethodPost, e.Issuer+"/login/code/verify?channel=email", form, "pt-BR")
	if wrong.Status != http.StatusUnauthorized || !strings.Contains(string(wrong.Body), "El código no es correcto") {
		t.Errorf("wrong code for a Spanish page: %s", wrong)
	}

	// Unknown portal paths: the 404 page in the browser's language.
	nf := i18nDo(t, NewBrowser(t), http.MethodGet, e.Issuer+"/no-such-page", nil, "fr")
	if nf.Status != http.StatusNotFound || nf.Header.Get("Content-Language") != "fr" || !strings.Contains(string(nf.Body), "Page introuvable") {
		t.Errorf("404 page for a French browser: %s", nf)
	}
}
