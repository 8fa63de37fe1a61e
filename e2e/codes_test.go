package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The passwordless methods end to end: Gatehouse in Caddy sends its email through a real SMTP
// server (MailDev, with SMTP AUTH) and its text messages to a recorder of Twilio's Messages
// API; each test reads the delivered message and completes the flow the way a user would, in
// the hosted pages (forms, CSRF tokens, cookies, redirects) and through the JSON API
// (docs/auth-api.md).

// TestEmailCodeLoginThroughSMTP: an email code logs in through the JSON API, and through the
// hosted pages in the middle of an OpenID Connect authorization request, whose ID token then
// says amr ["eotp"]. The message comes from the configured sender and carries the code on a
// line of its own; the flow cookie is HttpOnly and cleared once the code is used.
func TestEmailCodeLoginThroughSMTP(t *testing.T) {
	e := otStart(t, otOptions{})
	const email = "ada@example.test"
	e.CreateUser(email)

	t.Run("api", func(t *testing.T) {
		c := e.client(t)
		r := c.api("/api/v1/login/email-code/start", map[string]string{"email": "  Ada@Example.TEST "})
		otWant(t, "start", r, http.StatusAccepted)
		if got := r.JSON(t); got["sent"] != true || got["expires_in"] != float64(600) {
			t.Errorf("start answer %v, want sent and expires_in 600", got)
		}
		ck := otSetCookie(t, r, "gatehouse_otp")
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 600 {
			t.Errorf("flow cookie %+v: want HttpOnly, SameSite=Lax, Max-Age ≤ 600", ck)
		}
		msg := e.mail.next(email, otSubjCode)
		if len(msg.From) != 1 || msg.From[0].Address != otFrom {
			t.Errorf("message from %+v, want %s", msg.From, otFrom)
		}
		if !strings.Contains(msg.Text, "10 minutes") {
			t.Errorf("the message does not say how long the code works:\n%s", msg.Text)
		}
		code := msg.code(t)
		if msg.HTML == "" || !strings.Contains(msg.HTML, code) {
			t.Errorf("the HTML part lacks the code")
		}
		r = c.api("/api/v1/login/code/verify", map[string]string{"code": code})
		otWant(t, "verify", r, http.StatusOK)
		if got := r.JSON(t); got["redirect_to"] != "/" {
			t.Errorf("verify answer %v, want redirect_to /", got)
		}
		c.wantSession("email code login", email, "eotp")
		if c.cookie("otp") != "" {
			t.Errorf("the flow cookie outlives the login")
		}
	})

	t.Run("pages in an authorization request", func(t *testing.T) {
		c := e.client(t)
		params, verifier := AuthParams("app", e.RP+"/app-cb", "openid email offline_access")
		login := c.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, nil)
		if login.Status != http.StatusOK || login.URL.Path != "/login" {
			t.Fatalf("authorize did not lead to the login page: %s", login)
		}
		target := FormField(t, login, returnToRe)
		if !strings.Contains(string(login.Body), "/login/code?channel=email") {
			t.Errorf("the login page has no link to the email code method")
		}
		p := c.page("/login/code?channel=email&return_to="+url.QueryEscape(target), nil)
		otWant(t, "code page", p, http.StatusOK)
		if FormField(t, p, returnToRe) != target {
			t.Errorf("the code page lost return_to")
		}
		v := c.page("/login/code?channel=email", url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "return_to": {target}, "email": {email}})
		otWant(t, "send code", v, http.StatusOK)
		if !strings.Contains(string(v.Body), `action="/login/code/verify"`) {
			t.Fatalf("no code form after sending: %s", v)
		}
		code := e.mail.next(email, otSubjCode).code(t)
		r := c.page("/login/code/verify", url.Values{"csrf_token": {FormField(t, v, csrfRe)}, "return_to": {FormField(t, v, returnToRe)}, "code": {code}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != target {
			t.Fatalf("code form: want 303 to %s, got %s (Location %q)", target, r, r.Header.Get("Location"))
		}
		cb := c.Go(http.MethodGet, e.Issuer+target, nil, StopAt(e.RP))
		loc := cb.Location(t)
		if loc.Query().Get("code") == "" {
			t.Fatalf("no authorization code: %s", loc)
		}
		tr := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {e.RP + "/app-cb"}, "client_id": {"app"}, "code_verifier": {verifier}})
		otWant(t, "token", tr, http.StatusOK)
		claims := otClaims(t, tr.JSON(t)["id_token"].(string))
		if amr := otStrings(claims["amr"]); !slices.Equal(amr, []string{"eotp"}) {
			t.Errorf("ID token amr %q, want [eotp]", amr)
		}
		if claims["email"] != email || claims["email_verified"] != true {
			t.Errorf("ID token email %v verified %v", claims["email"], claims["email_verified"])
		}
	})
}

// TestMagicLinkLoginThroughSMTP: the emailed link is <issuer>/login/magic#<token>; opened in
// the browser that asked for it, the interstitial page's form logs in (amr ["eml"]) and
// returns to where the login started; opened in another browser, it asks first which account
// will be logged in (CR-17), in the pages and in the API.
func TestMagicLinkLoginThroughSMTP(t *testing.T) {
	e := otStart(t, otOptions{})
	const email = "grace@example.test"
	e.CreateUser(email)

	t.Run("same browser, pages", func(t *testing.T) {
		c := e.client(t)
		p := c.page("/login/magic-link?return_to="+url.QueryEscape("/?from=magic"), nil)
		otWant(t, "magic link page", p, http.StatusOK)
		s := c.page("/login/magic-link", url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "return_to": {FormField(t, p, returnToRe)}, "email": {email}})
		otWant(t, "request link", s, http.StatusOK)
		if !strings.Contains(string(s.Body), "Check your email") || c.cookie("magic") == "" {
			t.Fatalf("no confirmation page or browser cookie: %s", s)
		}
		link := e.mail.next(email, otSubjLink).link(t)
		if !strings.HasPrefix(link, e.Issuer+"/login/magic#") {
			t.Fatalf("link %s is not built from the issuer with the token in the fragment", link)
		}
		_, token, _ := strings.Cut(link, "#")
		// A browser does not send the fragment: it GETs the page, whose script moves the
		// token into the form.
		page := c.page(link, nil)
		otWant(t, "interstitial", page, http.StatusOK)
		c.wantNoSession("after GET of the link")
		r := c.page("/login/magic", url.Values{"csrf_token": {FormField(t, page, csrfRe)}, "token": {token}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/?from=magic" {
			t.Fatalf("magic form: want 303 to the return_to, got %s (Location %q)", r, r.Header.Get("Location"))
		}
		c.wantSession("magic link", email, "eml")
		if c.cookie("magic") != "" || c.cookie("magic_link") != "" {
			t.Errorf("the magic cookies outlive the login")
		}
	})

	t.Run("other browser, api", func(t *testing.T) {
		asker, other := e.client(t), e.client(t)
		otWant(t, "start", asker.api("/api/v1/login/magic-link/start", map[string]string{"email": email}), http.StatusAccepted)
		_, token, _ := strings.Cut(e.mail.next(email, otSubjLink).link(t), "#")
		r := other.api("/api/v1/login/magic-link/finish", map[string]any{"token": token})
		otAPIError(t, "finish in another browser", r, http.StatusConflict, "confirmation_required")
		if got := r.JSON(t)["email"]; got != email {
			t.Errorf("the confirmation names %v, want %s", got, email)
		}
		other.wantNoSession("before confirming")
		otWant(t, "confirmed finish", other.api("/api/v1/login/magic-link/finish", map[string]any{"token": token, "confirm": true}), http.StatusOK)
		other.wantSession("confirmed", email, "eml")
		asker.wantNoSession("the asking browser")
	})
}

// TestSignupEmailVerificationThroughSMTP: signing up sends a code that verifies the address
// (API and pages); the account's email_verified follows it.
func TestSignupEmailVerificationThroughSMTP(t *testing.T) {
	e := otStart(t, otOptions{})

	t.Run("api", func(t *testing.T) {
		const email = "hedy@example.test"
		c := e.client(t)
		r := c.api("/api/v1/signup", map[string]string{"email": email, "password": Password, "fname": "Hedy", "lname": "Lamarr"})
		otWant(t, "signup", r, http.StatusCreated)
		if got := r.JSON(t); got["redirect_to"] != "/account/email/verify" {
			t.Errorf("signup answer %v, want redirect_to /account/email/verify", got)
		}
		if otUser(t, email).EmailVerified {
			t.Fatal("verified before the code was entered")
		}
		code := e.mail.next(email, otSubjVerify).code(t)
		otAPIError(t, "wrong code", c.api("/api/v1/account/email/verify", map[string]string{"code": otWrongCode(code, 1)}), http.StatusUnauthorized, "invalid_code")
		r = c.api("/api/v1/account/email/verify", map[string]string{"code": code})
		otWant(t, "verify", r, http.StatusOK)
		if u := r.JSON(t)["user"].(map[string]any); u["email_verified"] != true {
			t.Errorf("verify answer %v", u)
		}
		if !otUser(t, email).EmailVerified {
			t.Error("the store does not say verified")
		}
	})

	t.Run("pages", func(t *testing.T) {
		const email = "joan@example.test"
		c := e.client(t)
		p := c.page("/signup", nil)
		otWant(t, "signup page", p, http.StatusOK)
		r := c.page("/signup", url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "email": {email}, "password": {Password}, "fname": {"Joan"}, "lname": {"Clarke"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account/email/verify" {
			t.Fatalf("signup form: want 303 to /account/email/verify, got %s (Location %q)", r, r.Header.Get("Location"))
		}
		v := c.page("/account/email/verify", nil)
		otWant(t, "verify page", v, http.StatusOK)
		if !strings.Contains(string(v.Body), email) || !strings.Contains(string(v.Body), "Skip for now") {
			t.Errorf("the verify page neither names the address nor can be skipped")
		}
		code := e.mail.next(email, otSubjVerify).code(t)
		r = c.page("/account/email/verify", url.Values{"csrf_token": {FormField(t, v, csrfRe)}, "code": {code}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("verify form: want 303 to /, got %s", r)
		}
		if !otUser(t, email).EmailVerified {
			t.Error("the store does not say verified")
		}
	})
}

// TestRecoverByEmailThroughSMTP: a user who forgot the password proves control of the address
// with an emailed code; every session of the account (in two browsers) ends, and the refresh
// and access tokens a relying party held stop working; the new session sets a password, with
// which the user logs in (the old one no longer works). The address is told of the recovery
// and of the new password.
func TestRecoverByEmailThroughSMTP(t *testing.T) {
	e := otStart(t, otOptions{})
	const email = "lise@example.test"
	e.CreateUser(email)

	laptop, phone := e.client(t), e.client(t)
	e.PortalLogin(laptop.Browser, email, Password)
	e.PortalLogin(phone.Browser, email, Password)
	tok := e.Tokens(laptop.Browser, "app", e.RP+"/app-cb", "openid email offline_access")
	rt, at := tok["refresh_token"].(string), tok["access_token"].(string)
	otWant(t, "userinfo before", e.Userinfo(at), http.StatusOK)

	c := e.client(t)
	p := c.page("/recover", nil)
	otWant(t, "recover page", p, http.StatusOK)
	v := c.page("/recover", url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "identifier": {email}})
	otWant(t, "recover form", v, http.StatusOK)
	code := e.mail.next(email, otSubjRecover).code(t)
	r := c.page("/recover/verify", url.Values{"csrf_token": {FormField(t, v, csrfRe)}, "code": {code}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account/password?recovered=1" {
		t.Fatalf("recover verify: want 303 to /account/password?recovered=1, got %s (Location %q)", r, r.Header.Get("Location"))
	}
	c.wantSession("recovery session", email, "eotp")
	laptop.wantNoSession("laptop after recovery")
	phone.wantNoSession("phone after recovery")
	if rr := e.Refresh("app", rt); rr.Status != http.StatusBadRequest {
		t.Errorf("refresh token after recovery: %s", rr)
	}
	if ur := e.Userinfo(at); ur.Status != http.StatusUnauthorized {
		t.Errorf("access token after recovery: %s", ur)
	}
	e.mail.next(email, otSubjChanged)

	pw := c.page("/account/password?recovered=1", nil)
	otWant(t, "password page", pw, http.StatusOK)
	if !strings.Contains(string(pw.Body), "Your account is recovered") {
		t.Errorf("the password page does not say the account is recovered")
	}
	const newPassword = "a brand new passphrase for lise"
	r = c.page("/account/password", url.Values{"csrf_token": {FormField(t, pw, csrfRe)}, "password": {newPassword}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("password form: %s", r)
	}
	e.mail.next(email, otSubjChanged)
	c.wantSession("after setting the password", email)
	if r := e.APILogin(email, Password); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password still logs in: %s", r)
	}
	if r := e.APILogin(email, newPassword); r.Status != http.StatusOK {
		t.Errorf("the new password does not log in: %s", r)
	}
}

// TestSMSCodeLoginThroughTwilio: a logged-in user adds a phone number on the account API (any
// common spelling of it), verifies it with the texted code, and then logs in with a code
// texted to it, in the API and the pages. The Twilio-shaped server checked the account SID,
// auth token, sender and form fields of every message.
func TestSMSCodeLoginThroughTwilio(t *testing.T) {
	e := otStart(t, otOptions{})
	const email, phone = "katherine@example.test", "+14155550100"
	e.CreateUser(email)

	c := e.client(t)
	otWant(t, "password login", c.api("/api/v1/login/password", map[string]string{"email": email, "password": Password}), http.StatusOK)
	otWant(t, "phone start", c.api("/api/v1/account/phone/start", map[string]string{"phone_number": "+1 (415) 555-0100"}), http.StatusAccepted)
	sms := e.sms.next(t, phone)
	if !strings.Contains(sms.Body, "confirm this phone number") {
		t.Errorf("verification text %q", sms.Body)
	}
	r := c.api("/api/v1/account/phone/verify", map[string]string{"code": sms.code(t)})
	otWant(t, "phone verify", r, http.StatusOK)
	if got := r.JSON(t); got["phone_number"] != phone || got["phone_number_verified"] != true {
		t.Errorf("phone verify answer %v", got)
	}

	t.Run("api", func(t *testing.T) {
		d := e.client(t)
		otWant(t, "sms start", d.api("/api/v1/login/sms-code/start", map[string]string{"phone_number": "+1 415.555.0100"}), http.StatusAccepted)
		code := e.sms.next(t, phone).code(t)
		otWant(t, "sms verify", d.api("/api/v1/login/code/verify", map[string]string{"code": code}), http.StatusOK)
		d.wantSession("sms login", email, "sms")
	})

	t.Run("pages", func(t *testing.T) {
		d := e.client(t)
		p := d.page("/login/code?channel=sms", nil)
		otWant(t, "sms page", p, http.StatusOK)
		v := d.page("/login/code?channel=sms", url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "phone_number": {phone}})
		otWant(t, "sms form", v, http.StatusOK)
		code := e.sms.next(t, phone).code(t)
		r := d.page("/login/code/verify", url.Values{"csrf_token": {FormField(t, v, csrfRe)}, "code": {code}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("code form: %s", r)
		}
		d.wantSession("sms login (pages)", email, "sms")
	})
}

// ---------------------------------------------------------------------------------------

// otSetCookie returns the Set-Cookie of name in r (fatal if absent).
func otSetCookie(t *testing.T, r *Resp, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s: no Set-Cookie %s (headers %v)", r.URL, name, r.Header)
	return nil
}

// otClaims decodes a JWT's payload (signatures are checked by the OIDC suites).
func otClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func otStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

var (
	_ = regexp.MustCompile
	_ = time.Second
)
