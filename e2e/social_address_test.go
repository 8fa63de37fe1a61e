package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSocialVerifiedAddressClaimsSquattedAccount (AS-29; issue 14 items 11 and 12, README
// "Account takeover defences"): with `signup open` and password-only login a squatter
// signs up first with the owner's address (unverified: no email sender). The owner then
// arrives from the app through "Log in with Corp SSO", whose provider vouches for the
// address (email_verified, trust_email_verified on by default): that proves the address as
// an email code would, so the account is claimed — the squatter's password and session
// stop working — and the owner lands on the app page they asked for, which receives
// X-User-Email now that the address is verified.
func TestSocialVerifiedAddressClaimsSquattedAccount(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-owner", Email: "owner@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open\n\t\tlogin password" + AppClient + soSocial("corp", corp, `label "Corp SSO"`), Sites: AppSite})

	// The squatter signs up with the owner's address.
	squatter := NewBrowser(t)
	signup := squatter.Go(http.MethodGet, e.Issuer+"/signup", nil, nil)
	const squatPw = "squatter's own password 1"
	if r := squatter.Go(http.MethodPost, e.Issuer+"/signup", url.Values{"csrf_token": {FormField(t, signup, csrfRe)},
		"email": {"owner@corp.test"}, "password": {squatPw}, "fname": {"Not"}, "lname": {"Owner"}}, nil); r.Status != http.StatusOK || r.URL.Path != "/" {
		t.Fatalf("squatter's sign-up: %s", r)
	}
	if u, ok := soUserByEmail(t, "owner@corp.test"); !ok || u.EmailVerified {
		t.Fatalf("squatted account %+v: want an unverified account", u)
	}

	// The owner comes from the app, and logs in with Corp SSO from the login page.
	owner := NewBrowser(t)
	target := e.App + "/docs/report"
	login := owner.Go(http.MethodGet, target, nil, nil)
	if login.Status != http.StatusOK || login.URL.Path != "/login" || !strings.Contains(string(login.Body), "Corp SSO") {
		t.Fatalf("the app's login page with a Corp SSO button: %s", login)
	}
	start := e.Issuer + "/login/social/corp?return_to=" + url.QueryEscape(FormField(t, login, returnToRe))
	final := soThrough(t, owner, http.MethodGet, start, nil, "so-owner", false).deliver(owner, nil)
	if final.Status != http.StatusOK || final.URL.String() != target {
		t.Fatalf("the owner's social login: want the app page %s, got %s (hops %v)", target, final, final.Hops)
	}
	if got := e.Upstream.Last(t).Values("X-User-Email"); len(got) != 1 || got[0] != "owner@corp.test" {
		t.Errorf("the app received X-User-Email %q, want the verified owner@corp.test", got)
	}
	u, _ := soUserByEmail(t, "owner@corp.test")
	if !u.EmailVerified || soUserCount(t) != 1 {
		t.Errorf("after the claim: %+v, %d accounts; want the one account, verified", u, soUserCount(t))
	}
	if ids := soIdentities(t, e, u.ID); len(ids) != 1 {
		t.Errorf("identities %v, want the owner's Corp SSO identity", ids)
	}

	// The squatter is out: the session ended, the password is gone.
	soNoSession(t, e, squatter, "the squatter after the claim")
	if r := e.APILogin("owner@corp.test", squatPw); r.Status != http.StatusUnauthorized {
		t.Errorf("the squatter's password after the claim: %s, want 401", r)
	}
}

// TestSocialLinkVerifiesAddress (issue 14 item 11): an account whose address is not
// verified links a Corp SSO identity that vouches for the same address: the address is
// verified from then on, and the app receives X-User-Email. With trust_email_verified off
// the address stays unverified (and the header absent).
func TestSocialLinkVerifiesAddress(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-lin", Email: "lin@corp.test", EmailVerified: true})
	for _, trust := range []string{"on", "off"} {
		t.Run("trust_email_verified "+trust, func(t *testing.T) {
			e := Start(t, Config{Gatehouse: "signup open" + AppClient + soSocial("corp", corp, `label "Corp SSO"`, "trust_email_verified "+trust), Sites: AppSite})
			r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "lin@corp.test", "password": Password, "email_verified": false})
			if r.Status != http.StatusCreated {
				t.Fatalf("create user: %s", r)
			}
			b := NewBrowser(t)
			e.PortalLogin(b, "lin@corp.test", Password)
			account := soLink(t, e, b, "corp", "so-lin")
			verified := strings.Contains(string(account.Body), `<span class="badge">verified</span>`)
			if account.Status != http.StatusOK || !strings.Contains(string(account.Body), "Corp SSO is now linked") || verified != (trust == "on") {
				t.Fatalf("account page after linking: verified %v, want %v: %s", verified, trust == "on", account)
			}
			if r := b.Go(http.MethodGet, e.App+"/docs", nil, nil); r.Status != http.StatusOK {
				t.Fatalf("the app: %s", r)
			}
			got := e.Upstream.Last(t).Values("X-User-Email")
			if trust == "on" && (len(got) != 1 || got[0] != "lin@corp.test") || trust == "off" && got != nil {
				t.Errorf("X-User-Email %q with trust_email_verified %s", got, trust)
			}
		})
	}
}

// TestRecoverWithoutSenderExplains (issue 14 item 12): a server that cannot send email or
// text messages cannot send a recovery code, but /recover is no dead 404: the login page's
// "Cannot log in?" leads to a page that says how to get back in — Corp SSO, which proves the
// address, or the administrator — and links back to the login page.
func TestRecoverWithoutSenderExplains(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	e := Start(t, Config{Gatehouse: "signup open\n\t\tlogin password" + soSocial("corp", corp, `label "Corp SSO"`)})
	b := NewBrowser(t)
	login := b.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
	if !strings.Contains(string(login.Body), `/recover">Cannot log in?</a>`) {
		t.Errorf("the login page has no way to /recover: %s", login)
	}
	r := b.Go(http.MethodGet, e.Issuer+"/recover?return_to=%2Fx", nil, nil)
	body := string(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(body, "cannot send you a recovery code") ||
		!strings.Contains(body, "If Corp SSO knows your email address, log in with it") || !strings.Contains(body, "ask your administrator") ||
		!strings.Contains(body, `href="/login?return_to=%2Fx"`) {
		t.Errorf("/recover without a sender: want 200 with the ways back in, got %s", r)
	}
}
