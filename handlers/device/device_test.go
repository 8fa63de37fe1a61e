package device

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// newEnv mounts the device page on a portaltest env with a public device client "tv".
func newEnv(t *testing.T) (*portaltest.Env, *oauth.Client) {
	t.Helper()
	e := portaltest.New(t)
	tv, err := oauth.NewClient(oauth.ClientConfig{ID: "tv", Name: "Living-room TV", GrantTypes: []string{"device_code"},
		Scopes: []string{"openid", "email"}})
	if err != nil {
		t.Fatal(err)
	}
	e.P.OAuth.Configured["tv"] = tv
	e.Mount(&Handler{Kit: e.Kit, Devices: e.P.OAuth})
	return e, tv
}

func start(t *testing.T, e *portaltest.Env, tv *oauth.Client) *oauth.DeviceStart {
	t.Helper()
	st, oerr := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid", "email"})
	if oerr != nil {
		t.Fatal(oerr)
	}
	return st
}

// RFC 8628 §3.3: "the authorization server SHOULD … authenticate the user" before the code:
// without a session, the page (with the code of verification_uri_complete) leads to the login
// page, which comes back to it; the forms post nothing without a session.
func TestDevicePageNeedsLogin(t *testing.T) {
	e, _ := newEnv(t)
	b := e.Browser()
	r := b.Get("/device?user_code=BCDF-GHJK")
	if r.StatusCode != http.StatusSeeOther || r.Location() != "/login?return_to="+url.QueryEscape("/device?user_code=BCDF-GHJK") {
		t.Fatalf("GET /device without a session: %d %q", r.StatusCode, r.Location())
	}
	for _, path := range []string{"/device", "/device/decide"} {
		r := b.PostForm(path, url.Values{"user_code": {"BCDF-GHJK"}, "decision": {"approve"}})
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
			t.Errorf("POST %s without a session: %d %q", path, r.StatusCode, r.Location())
		}
	}
}

// RFC 8628 §3.3.1: verification_uri_complete pre-fills the code, and the user confirms it
// (§5.4: remote phishing): the page shows the code in the form, then — once the user
// continues — which client asks for which scopes, with Approve and Deny; approving lets the
// device's next poll get tokens; the user code is refused afterwards (never accepted twice).
func TestDevicePageApprove(t *testing.T) {
	e, tv := newEnv(t)
	st := start(t, e, tv)
	b := e.Browser()
	b.LogIn()
	r := b.Get("/device?user_code=" + url.QueryEscape(strings.ToLower(st.UserCode)))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `value="`+strings.ToLower(st.UserCode)+`"`) || !strings.Contains(r.Body, "csrf_token") {
		t.Fatalf("code form: %d %s", r.StatusCode, r.Body)
	}
	r = b.PostForm("/device", url.Values{"user_code": {strings.ToLower(strings.ReplaceAll(st.UserCode, "-", ""))}})
	body := html.UnescapeString(r.Body)
	if r.StatusCode != http.StatusOK || !strings.Contains(body, "Living-room TV") || !strings.Contains(body, "<li>email</li>") ||
		!strings.Contains(body, st.UserCode) || !strings.Contains(body, "data-device-approve") {
		t.Fatalf("confirmation: %d %s", r.StatusCode, body)
	}
	// A form without its CSRF token does nothing.
	if r := b.PostForm("/device/decide", url.Values{"user_code": {st.UserCode}, "decision": {"approve"}, "csrf_token": {""}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("decision without CSRF token: %d", r.StatusCode)
	}
	if _, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode); oerr == nil || oerr.Kind != oauth.AuthorizationPending {
		t.Fatalf("poll before the decision: %v", oerr)
	}
	r = b.PostForm("/device/decide", url.Values{"user_code": {st.UserCode}, "decision": {"approve"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `data-device-done="approved"`) {
		t.Fatalf("approval: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(6e9)
	if resp, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode); oerr != nil || resp.IDToken == "" {
		t.Fatalf("poll after approval: %v", oerr)
	}
	for _, f := range []struct{ path, decision string }{{"/device", ""}, {"/device/decide", "approve"}, {"/device/decide", "deny"}} {
		r := b.PostForm(f.path, url.Values{"user_code": {st.UserCode}, "decision": {f.decision}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "not valid or has expired") {
			t.Errorf("%s with a used code: %d %s", f.path, r.StatusCode, r.Body)
		}
	}
}

// RFC 8628 §3.5 access_denied follows a denial on the page; a wrong or malformed code shows
// the form again with what to change; a decision other than approve or deny is refused.
func TestDevicePageDenyAndWrongCode(t *testing.T) {
	e, tv := newEnv(t)
	st := start(t, e, tv)
	b := e.Browser()
	b.LogIn()
	for _, code := range []string{"BCDF-GHJK", "not a code", strings.Repeat("x", 100)} {
		r := b.PostForm("/device", url.Values{"user_code": {code}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "This code is not valid or has expired; check it on the device") ||
			!strings.Contains(r.Body, "data-device-input") {
			t.Errorf("wrong code %q: %d %s", code, r.StatusCode, r.Body)
		}
	}
	if r := b.PostForm("/device/decide", url.Values{"user_code": {st.UserCode}, "decision": {"maybe"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("decision maybe: %d", r.StatusCode)
	}
	r := b.PostForm("/device/decide", url.Values{"user_code": {st.UserCode}, "decision": {"deny"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `data-device-done="denied"`) {
		t.Fatalf("denial: %d %s", r.StatusCode, r.Body)
	}
	if _, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode); oerr == nil || oerr.Kind != oauth.AccessDenied {
		t.Fatalf("poll after denial: %v", oerr)
	}
}

// CR-05, RFC 8628 §5.1 ("the authorization server … MUST … rate-limit" the user code
// entry): after five wrong codes the page refuses even the right one and says to wait.
func TestCR05_DevicePageGuessingLimited(t *testing.T) {
	e, tv := newEnv(t)
	st := start(t, e, tv)
	b := e.Browser()
	b.LogIn()
	for i := range 5 {
		b.PostForm("/device", url.Values{"user_code": {"BBBB-BBB" + string(oauth.UserCodeAlphabet[i])}})
	}
	r := b.PostForm("/device", url.Values{"user_code": {st.UserCode}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "Too many failed attempts; try again in") {
		t.Fatalf("right code after five wrong ones: %d %s", r.StatusCode, r.Body)
	}
}
