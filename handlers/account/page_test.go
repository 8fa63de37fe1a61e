package account

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/login/social"
)

// section returns the <section> of the account page whose heading is h, or "".
func section(body, h string) string {
	for _, s := range regexp.MustCompile(`(?s)<section[^>]*>.*?</section>`).FindAllString(body, -1) {
		if strings.Contains(s, ">"+h+"</h3>") {
			return s
		}
	}
	return ""
}

// Issue 14 item 8: an account without a password is offered to "Add a password", not to
// "Set a new password"; "Add a passkey" and "Log out" are separate sections with their own
// headings (not one form that looks like one).
func TestPagePasswordWordingAndSections(t *testing.T) {
	e := newEnv(t)
	b := e.Browser()
	b.LogIn()
	r := b.Get("/")
	if !strings.Contains(section(r.Body, "Password"), "Set a new password") {
		t.Errorf("account with a password: no \"Set a new password\" in its section\n%s", r.Body)
	}
	passkeys, logout := section(r.Body, "Passkeys"), section(r.Body, "Log out")
	if !strings.Contains(passkeys, "Add a passkey") || strings.Contains(passkeys, `action="/logout"`) {
		t.Errorf("passkeys section: %q, want \"Add a passkey\" and no logout form", passkeys)
	}
	if !strings.Contains(logout, `action="/logout"`) || strings.Contains(logout, "passkey") {
		t.Errorf("logout section: %q, want the logout form alone", logout)
	}
	if err := e.Store.DeletePassword(e.Ctx, e.User.ID); err != nil {
		t.Fatal(err)
	}
	r = b.Get("/")
	if !strings.Contains(section(r.Body, "Password"), "Add a password") || strings.Contains(r.Body, "Set a new password") {
		t.Errorf("account without a password: want \"Add a password\"\n%s", r.Body)
	}
	if r := b.Get("/account/password"); !strings.Contains(r.Body, "<h2>Add a password</h2>") {
		t.Errorf("password page of an account without one:\n%s", r.Body)
	}
}

// Issue 14 item 10: the remark that passkeys need "a domain name, not an IP address" is
// shown only when that is the reason (PasskeysNeedDomain), never when passkeys are simply
// off (login password only) — the section is then left out.
func TestPagePasskeyRemark(t *testing.T) {
	const remark = "a domain name, not an IP address"
	e := portaltest.New(t, func(c *idp.Config) { c.Passkeys.Disabled = true })
	e.Mount(&Handler{Kit: e.Kit, Accounts: e.P.Accounts, Verification: e.P.Verification, Passkeys: e.P.Passkey, Identities: e.P.Social,
		Apps: e.P.OAuth, UserSessions: e.P.Sessions, TOTP: e.P.TOTP, RecoveryCodes: e.P.RecoveryCodes, Factors: e.P.MFA})
	b := e.Browser()
	b.LogIn()
	if r := b.Get("/"); strings.Contains(r.Body, remark) || section(r.Body, "Passkeys") != "" {
		t.Errorf("passkeys off: the page shows the IP remark or a passkey section\n%s", r.Body)
	}
	e2 := portaltest.New(t, func(c *idp.Config) { c.Passkeys.Disabled = true })
	e2.Mount(&Handler{Kit: e2.Kit, Accounts: e2.P.Accounts, Verification: e2.P.Verification, Passkeys: e2.P.Passkey,
		Identities: e2.P.Social, PasskeysNeedDomain: true, Apps: e2.P.OAuth, UserSessions: e2.P.Sessions,
		TOTP: e2.P.TOTP, RecoveryCodes: e2.P.RecoveryCodes, Factors: e2.P.MFA})
	b2 := e2.Browser()
	b2.LogIn()
	if r := b2.Get("/"); !strings.Contains(section(r.Body, "Passkeys"), remark) {
		t.Errorf("IP issuer: no remark\n%s", r.Body)
	}
	e3 := newEnv(t) // passkeys on, a domain name
	b3 := e3.Browser()
	b3.LogIn()
	if r := b3.Get("/"); strings.Contains(r.Body, remark) {
		t.Errorf("passkeys on: the IP remark is shown")
	}
}

// Issue 14 item 10: linked identities are listed by the provider's label, and a link that
// just finished is confirmed (only for an identity that is linked).
func TestPageIdentitiesByLabelAndLinkConfirmation(t *testing.T) {
	e := portaltest.New(t, func(c *idp.Config) {
		c.SocialProviders = []*social.Provider{{Name: "corp", Label: "Corp SSO", Kind: social.KindOIDC,
			Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s"}, {Name: "other", Label: "Other SSO",
			Kind: social.KindOIDC, Issuer: "https://other.example.com", ClientID: "c", ClientSecret: "s"}}
	})
	e.Mount(&Handler{Kit: e.Kit, Accounts: e.P.Accounts, Verification: e.P.Verification, Passkeys: e.P.Passkey, Identities: e.P.Social,
		Apps: e.P.OAuth, UserSessions: e.P.Sessions, TOTP: e.P.TOTP, RecoveryCodes: e.P.RecoveryCodes, Factors: e.P.MFA})
	if _, err := e.P.Social.Link(e.Ctx, e.User.ID, "corp", "sub-1"); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	b.LogIn()
	r := b.Get("/?linked=corp")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "<strong>Corp SSO</strong>") || strings.Contains(r.Body, "<strong>corp</strong>") {
		t.Errorf("identity not listed by its label\n%s", r.Body)
	}
	if !strings.Contains(r.Body, "Corp SSO is now linked to your account") {
		t.Errorf("no confirmation of the link\n%s", r.Body)
	}
	if r := b.Get("/?linked=other"); strings.Contains(r.Body, "is now linked") {
		t.Errorf("a confirmation for a provider that is not linked")
	}
	var api struct {
		Identities []struct{ Provider, Label string }
	}
	b.Get("/api/v1/account/identities").JSON(t, &api)
	if len(api.Identities) != 1 || api.Identities[0].Label != "Corp SSO" {
		t.Errorf("API identities %+v, want corp labelled Corp SSO", api)
	}
}
