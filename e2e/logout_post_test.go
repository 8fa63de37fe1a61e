package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

// OpenID Connect RP-Initiated Logout 1.0 §2: "The OP MUST support the use of the HTTP GET and
// POST methods defined in RFC 7231 at the Logout Endpoint. RPs MAY use the HTTP GET or POST
// methods to send the logout request to the OP. If using the HTTP POST method, the request
// parameters are serialized using Form Serialization." A form posted from the RP's page
// (Origin of the RP) and a server-side POST (no Origin) get the confirmation page (200), as
// the GET does; confirming logs out and redirects to the registered post_logout_redirect_uri
// with state; an unregistered post_logout_redirect_uri is not redirected to (OC-27).
func TestOC27_RPInitiatedLogoutByPOST(t *testing.T) {
	e, _, _ := cfStart(t)
	bye := e.RP + "/bye"
	rpPost := func(b *Browser, form url.Values, header map[string]string) *Resp {
		t.Helper()
		req := NewRequest(t, http.MethodPost, e.Issuer+"/logout", form)
		req.Header.Set("Accept", "text/html")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return Do(t, b.C, req)
	}
	field := func(r *Resp, name string) string {
		if m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(r.Body); m != nil {
			return FormField(t, r, regexp.MustCompile(`name="`+name+`" value="([^"]*)"`))
		}
		return ""
	}
	for _, tc := range []struct {
		name   string
		header map[string]string
		uri    string
		want   string // Location after confirming
	}{
		{"form from the RP's page", map[string]string{"Origin": e.RP, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}, bye, bye + "?state=st-p"},
		{"server-side POST", nil, bye, bye + "?state=st-p"},
		{"unregistered post_logout_redirect_uri", map[string]string{"Origin": e.RP}, "https://evil.test/bye", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBrowser(t)
			e.PortalLogin(b, cfUser, Password)
			tok := cfPublicTokens(t, e, b, "openid")
			page := rpPost(b, url.Values{"id_token_hint": {cfStr(tok, "id_token")}, "post_logout_redirect_uri": {tc.uri},
				"state": {"st-p"}}, tc.header)
			if page.Status != http.StatusOK || field(page, "csrf_token") == "" {
				t.Fatalf("RP's logout POST: %s, want 200 and the confirmation page", page)
			}
			if r := b.Do(http.MethodGet, e.Issuer+"/api/v1/session", nil); r.Status != http.StatusOK {
				t.Fatalf("the RP's POST alone ended the session: %s", r)
			}
			form := url.Values{"csrf_token": {field(page, "csrf_token")}}
			for _, name := range []string{"client_id", "post_logout_redirect_uri", "state"} {
				if v := field(page, name); v != "" {
					form.Set(name, v)
				}
			}
			r := b.Do(http.MethodPost, e.Issuer+"/logout", form)
			if got := r.Header.Get("Location"); got != tc.want {
				t.Fatalf("confirmation: %s, Location %q, want %q", r, got, tc.want)
			}
			if r := b.Do(http.MethodGet, e.Issuer+"/api/v1/session", nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("session after confirming: %s, want 401", r)
			}
		})
	}
}
