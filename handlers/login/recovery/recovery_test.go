package recovery

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	authrec "github.com/gatehouse-dev/gatehouse/login/recovery"
	"github.com/gatehouse-dev/gatehouse/login/social"
)

func newEnv(t *testing.T, mod ...func(*idp.Config)) *portaltest.Env {
	t.Helper()
	e := portaltest.New(t, mod...)
	e.Mount(&Handler{Kit: e.Kit, Recovery: e.P.Recovery})
	return e
}

// CR-31: the right recovery code starts a new session, ends every other one, and leads to
// the page where the user sets a new password (keeping a local return_to only).
func TestAPIRecovery(t *testing.T) {
	e := newEnv(t)
	stolen := e.Browser()
	stolen.LogIn()
	b := e.Browser()
	other := e.Browser().PostJSON("/api/v1/recovery/start", map[string]string{"identifier": "nobody@example.com"})
	r := b.PostJSON("/api/v1/recovery/start", map[string]string{"identifier": idptest.Alice})
	if r.StatusCode != http.StatusAccepted || r.Body != other.Body || r.Cookie("otp") == nil {
		t.Fatalf("start: %d %s (unknown: %s), want the same 202 and the flow cookie", r.StatusCode, r.Body, other.Body)
	}
	code := e.LastCode(idptest.Alice, portaltest.MsgRecovery)
	r = b.PostJSON("/api/v1/recovery/verify", map[string]string{"code": idptest.WrongCode(code, 3)})
	if got := r.APIError(t); r.StatusCode != http.StatusUnauthorized || got.Error != "invalid_code" {
		t.Fatalf("wrong code: %d %s, want 401 invalid_code", r.StatusCode, r.Body)
	}
	r = b.PostJSON("/api/v1/recovery/verify", map[string]string{"code": code, "return_to": "/app"})
	var got struct {
		User       struct{ Email string }
		RedirectTo string `json:"redirect_to"`
	}
	r.JSON(t, &got)
	if r.StatusCode != http.StatusOK || got.User.Email != idptest.Alice || got.RedirectTo != "/account/password?recovered=1&return_to=%2Fapp" ||
		r.Cookie("session") == nil {
		t.Fatalf("right code: %d %s, want 200, the password page and a session", r.StatusCode, r.Body)
	}
	sec := e.Kit.Cookie.Secret(&http.Request{Header: http.Header{"Cookie": {"gatehouse_session=" + stolen.CookieValue("session")}}})
	if sec == "" {
		t.Fatal("the other browser has no session secret")
	}
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec); err == nil {
		t.Fatal("the session of another browser survived the recovery")
	}
}

// A recovery code expires, and an expired one is refused.
func TestAPIRecoveryExpired(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.PostJSON("/api/v1/recovery/start", map[string]string{"email": idptest.Alice})
	code := e.LastCode(idptest.Alice, portaltest.MsgRecovery)
	e.Clock.Advance(e.P.Codes.CodeTTL() + time.Second)
	r := b.PostJSON("/api/v1/recovery/verify", map[string]string{"code": code})
	if got := r.APIError(t); r.StatusCode != http.StatusBadRequest || got.Error != "code_expired" || r.Cookie("session") != nil {
		t.Fatalf("expired code: %d %s, want 400 code_expired", r.StatusCode, r.Body)
	}
}

// The pages: the start page, the code page, and the redirect to the password page; a
// foreign return_to is dropped.
func TestPages(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	if r := b.Get("/recover"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `name="identifier"`) {
		t.Fatalf("start page: %d\n%s", r.StatusCode, r.Body)
	}
	r := b.PostForm("/recover", url.Values{"identifier": {idptest.Alice}, "return_to": {"https://evil.test/"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `action="/recover/verify"`) || strings.Contains(r.Body, "evil.test") {
		t.Fatalf("start form: %d\n%s", r.StatusCode, r.Body)
	}
	code := e.LastCode(idptest.Alice, portaltest.MsgRecovery)
	r = b.PostForm("/recover/verify", url.Values{"code": {idptest.WrongCode(code, 4)}})
	if r.StatusCode != http.StatusUnauthorized || r.Cookie("session") != nil {
		t.Fatalf("wrong code: %d, want 401", r.StatusCode)
	}
	r = b.PostForm("/recover/verify", url.Values{"code": {code}, "return_to": {"https://evil.test/"}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/account/password?recovered=1" || r.Cookie("session") == nil {
		t.Fatalf("right code: %d %q, want 303 to the password page and a session", r.StatusCode, r.Location())
	}
}

// The forms need this browser's CSRF token: nothing is sent, no session starts.
func TestFormsNeedCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	if r := b.PostForm("/recover", url.Values{"identifier": {idptest.Alice}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden ||
		e.Msgs.Count(idptest.Alice) != 0 {
		t.Fatalf("start without token: %d, %d messages; want 403 and none", r.StatusCode, e.Msgs.Count(idptest.Alice))
	}
	b.PostJSON("/api/v1/recovery/start", map[string]string{"email": idptest.Alice})
	code := e.LastCode(idptest.Alice, portaltest.MsgRecovery)
	if r := b.PostForm("/recover/verify", url.Values{"code": {code}, "csrf_token": {"forged"}}); r.StatusCode != http.StatusForbidden ||
		r.Cookie("session") != nil {
		t.Fatalf("verify with a forged token: %d, want 403 and no session", r.StatusCode)
	}
}

// Issue 14 item 12: without email and SMS no code can be sent, but /recover is no dead 404:
// the page says how to get back in — a social login whose provider confirms the address
// (named by its label), or the administrator — and links back to the login page with the
// destination kept. The API still answers method_disabled.
func TestDisabled(t *testing.T) {
	e := newEnv(t, func(c *idp.Config) {
		c.EmailEnabled, c.SMSEnabled = false, false
		c.SocialProviders = []*social.Provider{{Name: "corp", Label: "Corp SSO", Kind: social.KindOIDC,
			Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s"}}
	})
	r := e.Browser().Get("/recover?return_to=%2Fapp")
	if r.StatusCode != http.StatusOK || strings.Contains(r.Body, `name="identifier"`) ||
		!strings.Contains(r.Body, "cannot send you a recovery code") || !strings.Contains(r.Body, "If Corp SSO knows your email address") ||
		!strings.Contains(r.Body, "ask your administrator") || !strings.Contains(r.Body, `href="/login?return_to=%2Fapp"`) {
		t.Fatalf("disabled: %d, want 200 with the ways to get help and a link back\n%s", r.StatusCode, r.Body)
	}
	if r := e.Browser().PostJSON("/api/v1/recovery/start", map[string]string{"email": idptest.Alice}); r.StatusCode != http.StatusNotFound ||
		r.APIError(t).Error != "method_disabled" {
		t.Fatalf("API start without senders: %d %s, want 404 method_disabled", r.StatusCode, r.Body)
	}
}

// flowField is the hidden flow field of a code page, "" if it has none.
func flowField(body string) string {
	const prefix = `name="flow" value="`
	_, rest, ok := strings.Cut(body, prefix)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// Issue 18: "Users: create (...; send an invitation or a recovery code)". A code an
// administrator issued goes through this flow like one the user asked for: its link's page
// names the account by its masked address and keeps the flow secret in a hidden field of
// its form (no cookie), the code on the page recovers the account once, and a second use
// fails.
func TestIssuedCode(t *testing.T) {
	e := newEnv(t)
	u, err := e.P.Accounts.Get(e.Ctx, idptest.Alice)
	if err != nil {
		t.Fatal(err)
	}
	is, err := e.P.Recovery.Issue(e.Ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if e.Msgs.Count(idptest.Alice) != 0 {
		t.Fatal("issuing a code sent a message")
	}
	link := authrec.CodePath + "?flow=" + url.QueryEscape(is.Flow)
	b := e.Browser()
	r := b.Get(link)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `action="/recover/verify"`) || flowField(r.Body) != is.Flow ||
		!strings.Contains(r.Body, "a***@example.com") {
		t.Fatalf("code page: %d\n%s", r.StatusCode, r.Body)
	}
	// A day later it still works (an administrator's code outlives a self-service one).
	e.Clock.Advance(24 * time.Hour)
	r = b.PostForm("/recover/verify", url.Values{"code": {idptest.WrongCode(is.Code, 1)}, "flow": {is.Flow}})
	if r.StatusCode != http.StatusUnauthorized || flowField(r.Body) != is.Flow {
		t.Fatalf("wrong code: %d, want 401 and the page again with the flow\n%s", r.StatusCode, r.Body)
	}
	r = b.PostForm("/recover/verify", url.Values{"code": {is.Code}, "flow": {is.Flow}})
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/account/password?recovered=1" || r.Cookie("session") == nil {
		t.Fatalf("right code: %d %q, want 303 to the password page and a session", r.StatusCode, r.Location())
	}
	// Single use: the same link and code in another browser fail; the page says so.
	again := e.Browser()
	if r := again.Get(link); r.StatusCode != http.StatusBadRequest || strings.Contains(r.Body, "a***@example.com") || flowField(r.Body) != "" {
		t.Fatalf("used link: %d, want 400 without the account\n%s", r.StatusCode, r.Body)
	}
	r = again.PostForm("/recover/verify", url.Values{"code": {is.Code}, "flow": {is.Flow}})
	if r.StatusCode == http.StatusSeeOther || r.Cookie("session") != nil {
		t.Fatalf("second use: %d %q, want a refusal", r.StatusCode, r.Location())
	}
}

// Attack (login CSRF): a cross-site link or image to the recovery link of the attacker's
// own account (an issued code's, or the attacker's self-service flow) must not put the
// attacker's flow into the victim's browser — the victim would then recover, and set a
// password on, the attacker's account — nor replace the flow of a recovery the victim has
// in progress. The GET sets no cookie; the victim's own code still works with its cookie;
// the page names the account it recovers.
func TestIssuedLinkSetsNoCookie(t *testing.T) {
	e := newEnv(t)
	u, err := e.P.Accounts.Get(e.Ctx, idptest.Alice)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := e.P.Recovery.Issue(e.Ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	const bob = "bob@example.com"
	if _, err := e.P.Accounts.Create(e.Ctx, idp.NewUser{Email: bob, EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	victim := e.Browser()
	if r := victim.PostForm("/recover", url.Values{"identifier": {bob}}); r.StatusCode != http.StatusOK {
		t.Fatalf("victim's recovery: %d", r.StatusCode)
	}
	own := victim.CookieValue("otp")
	code := e.LastCode(bob, portaltest.MsgRecovery)
	r := victim.Get(authrec.CodePath + "?flow=" + url.QueryEscape(attacker.Flow))
	if r.Cookie("otp") != nil || victim.CookieValue("otp") != own || len(r.Header.Values("Set-Cookie")) > 1 {
		t.Fatalf("the link set cookies %q", r.Header.Values("Set-Cookie"))
	}
	if !strings.Contains(r.Body, "a***@example.com") {
		t.Errorf("the page does not name the account it recovers\n%s", r.Body)
	}
	r = victim.PostForm("/recover/verify", url.Values{"code": {code}})
	if r.StatusCode != http.StatusSeeOther || r.Cookie("session") == nil {
		t.Fatalf("the victim's own code after the link: %d, want 303 and a session", r.StatusCode)
	}
	sec := e.Kit.Cookie.Secret(&http.Request{Header: http.Header{"Cookie": {"gatehouse_session=" + victim.CookieValue("session")}}})
	if _, got, err := e.P.Sessions.Get(e.Ctx, sec); err != nil || got.Email != bob {
		t.Errorf("the new session is %q's (%v), want the victim's own", got.Email, err)
	}
}

// An issued code expires (recovery.IssuedTTL) and is attempt-limited like any other.
func TestIssuedCodeExpiresAndLimits(t *testing.T) {
	e := newEnv(t)
	u, _ := e.P.Accounts.Get(e.Ctx, idptest.Alice)
	is, err := e.P.Recovery.Issue(e.Ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(authrec.IssuedTTL + time.Second)
	b := e.Browser()
	if r := b.Get(authrec.CodePath + "?flow=" + url.QueryEscape(is.Flow)); r.StatusCode != http.StatusBadRequest || flowField(r.Body) != "" {
		t.Fatalf("expired link: %d, want 400\n%s", r.StatusCode, r.Body)
	}
	if r := b.PostForm("/recover/verify", url.Values{"code": {is.Code}, "flow": {is.Flow}}); r.StatusCode == http.StatusSeeOther {
		t.Fatalf("expired issued code: %d %s", r.StatusCode, r.Body)
	}

	is, err = e.P.Recovery.Issue(e.Ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	b = e.Browser()
	for i := 1; i <= 5; i++ {
		b.PostForm("/recover/verify", url.Values{"code": {idptest.WrongCode(is.Code, i)}, "flow": {is.Flow}})
	}
	if r := b.PostForm("/recover/verify", url.Values{"code": {is.Code}, "flow": {is.Flow}}); r.StatusCode == http.StatusSeeOther {
		t.Fatalf("the right code after 5 wrong ones: %d %s", r.StatusCode, r.Body)
	}
}
