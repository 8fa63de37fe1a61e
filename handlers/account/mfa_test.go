package account

import (
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

var (
	keyRe   = regexp.MustCompile(`data-totp-key>([A-Z2-7 ]+)<`)
	tokenRe = regexp.MustCompile(`name="token" value="([^"]+)"`)
	codeRe  = regexp.MustCompile(`<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>`)
)

// Setting up the app on the account page: a QR code (a PNG data: URI, which the CSP's
// img-src allows) and the grouped key; a wrong first code shows the same key again with
// the error; the right one turns the app on and shows ten recovery codes once; the page
// then counts them.
func TestAccountSetsUpTheAuthenticatorApp(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	if r := b.Get("/"); !strings.Contains(r.Body, `data-totp-status="off"`) || !strings.Contains(r.Body, `action="/account/totp"`) {
		t.Fatalf("account page without an app:\n%s", r.Body)
	}
	r := b.PostForm("/account/totp", nil)
	m := keyRe.FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(r.Body, `src="data:image/png;base64,`) {
		t.Fatalf("setup page: %d\n%s", r.StatusCode, r.Body)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:") {
		t.Fatalf("CSP %q does not allow the QR code's data: URI", csp)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	token := tokenRe.FindStringSubmatch(r.Body)[1]
	r = b.PostForm("/account/totp/confirm", url.Values{"token": {token}, "code": {"000000"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, m[1]) || !strings.Contains(r.Body, "wrong or expired") {
		t.Fatalf("wrong first code: %d\n%s", r.StatusCode, r.Body)
	}
	c, _ := totp.Code(raw, e.Clock.Now().Unix()/totp.Period)
	r = b.PostForm("/account/totp/confirm", url.Values{"token": {token}, "code": {c}})
	if codes := codeRe.FindAllStringSubmatch(r.Body, -1); r.StatusCode != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirmation: %d, %d recovery codes\n%s", r.StatusCode, len(codes), r.Body)
	}
	r = b.Get("/")
	if !strings.Contains(r.Body, `data-totp-status="on"`) || !strings.Contains(r.Body, `data-recovery-left="10"`) || strings.Contains(r.Body, m[1]) {
		t.Fatalf("account page with the app (the key must not show again):\n%s", r.Body)
	}
	// A new set replaces the old.
	r = b.PostForm("/account/recovery-codes", nil)
	if codes := codeRe.FindAllStringSubmatch(r.Body, -1); r.StatusCode != http.StatusOK || len(codes) != 10 {
		t.Fatalf("new recovery codes: %d\n%s", r.StatusCode, r.Body)
	}
	r = b.PostForm("/account/totp/remove", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", r.StatusCode, r.Body)
	}
	if r := b.Get("/"); !strings.Contains(r.Body, `data-totp-status="off"`) {
		t.Fatalf("account page after removal:\n%s", r.Body)
	}
}

// CR-19 / PX-24: with a login older than ten minutes the changes are refused and the page
// says to log in again; a form without its CSRF token is refused.
func TestCR19_PX24_SecondFactorChangesNeedAFreshLoginAndCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	if r := b.PostForm("/account/totp", url.Values{"csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("setup without CSRF token: %d", r.StatusCode)
	}
	e.Clock.Advance(sessions.FreshLogin + time.Minute)
	r := b.PostForm("/account/totp", nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "log in again") || keyRe.MatchString(r.Body) {
		t.Fatalf("setup with an old login: %d\n%s", r.StatusCode, r.Body)
	}
	if r := b.SendJSON(http.MethodDelete, "/api/v1/account/totp", ""); r.StatusCode != http.StatusForbidden || r.APIError(t).Error != "reauthenticate" {
		t.Fatalf("API removal with an old login: %d %s", r.StatusCode, r.Body)
	}
}

// The JSON API: begin, confirm, factors.
func TestAccountAuthenticatorAPI(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	var begin struct{ Token, Key, URI, QR string }
	r := b.PostJSON("/api/v1/account/totp/begin", "{}")
	r.JSON(t, &begin)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(begin.URI, "otpauth://totp/") || !strings.HasPrefix(begin.QR, "data:image/png;base64,") {
		t.Fatalf("begin: %d %s", r.StatusCode, r.Body)
	}
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(begin.Key, " ", ""))
	c, _ := totp.Code(raw, e.Clock.Now().Unix()/totp.Period)
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r = b.PostJSON("/api/v1/account/totp/confirm", map[string]string{"token": begin.Token, "code": c})
	r.JSON(t, &out)
	if r.StatusCode != http.StatusOK || len(out.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.Body)
	}
	r = b.Get("/api/v1/account/mfa")
	if r.StatusCode != http.StatusOK || r.Body != `{"passkeys":false,"totp":true,"recovery_codes_left":10}`+"\n" {
		t.Fatalf("factors: %d %q", r.StatusCode, r.Body)
	}
}
