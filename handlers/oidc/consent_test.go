package oidc

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// browser is one browser at the endpoints: it keeps its cookies (the portal session, the
// CSRF binding) across requests.
type browser struct {
	e       *env
	cookies map[string]*http.Cookie
}

// newBrowser returns a browser logged in as the fixture's user.
func newBrowser(e *env) *browser {
	e.T.Helper()
	secret, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		e.T.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := e.cookie.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), secret); err != nil {
		e.T.Fatal(err)
	}
	b := &browser{e: e, cookies: map[string]*http.Cookie{}}
	b.keep(w)
	return b
}

func (b *browser) keep(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		b.cookies[c.Name] = c
	}
}

func (b *browser) send(r *http.Request) *httptest.ResponseRecorder {
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := b.e.do(r)
	b.keep(w)
	return w
}

func (b *browser) get(target string) *httptest.ResponseRecorder {
	return b.send(httptest.NewRequest(http.MethodGet, target, nil))
}

// post submits a form as the page's own origin would (Sec-Fetch-Site: same-origin) unless
// site says otherwise.
func (b *browser) post(path string, form url.Values, site string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", site)
	return b.send(r)
}

var (
	csrfField    = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	requestField = regexp.MustCompile(`name="request" value="([^"]*)"`)
	userField    = regexp.MustCompile(`name="user" value="([^"]*)"`)
)

// consentForm returns the consent page's form fields, failing unless w is that page.
func consentForm(t *testing.T, w *httptest.ResponseRecorder) url.Values {
	t.Helper()
	body := w.Body.String()
	c, r, u := csrfField.FindStringSubmatch(body), requestField.FindStringSubmatch(body), userField.FindStringSubmatch(body)
	if w.Code != http.StatusOK || c == nil || r == nil || u == nil || !strings.Contains(body, "data-consent-form") {
		t.Fatalf("want the consent page, got %d %s %s", w.Code, w.Header().Get("Location"), body)
	}
	return url.Values{"csrf_token": {html.UnescapeString(c[1])}, "request": {html.UnescapeString(r[1])}, "user": {html.UnescapeString(u[1])}}
}

// partnerAuthorize is an authorization request of the third-party client.
func partnerAuthorize(scopes string, extra ...string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {"partner"}, "redirect_uri": {idptest.PartnerCB},
		"scope": {scopes}, "state": {"st-1"}, "nonce": {"n-1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return PathAuthorize + "?" + q.Encode()
}

// decide submits the consent page's form with decision and returns the answer.
func (b *browser) decide(t *testing.T, page *httptest.ResponseRecorder, decision string) *httptest.ResponseRecorder {
	t.Helper()
	f := consentForm(t, page)
	f.Set("decision", decision)
	return b.post(PathConsent, f, "same-origin")
}

// codeFor follows an Allow to /authorize and returns the code the client receives.
func (b *browser) codeFor(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code == http.StatusSeeOther {
		w = b.get(w.Header().Get("Location"))
	}
	p := redirectParams(t, w)
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, idptest.PartnerCB+"?") || p.Get("code") == "" || p.Get("state") != "st-1" {
		t.Fatalf("want a code at the client's redirect URI, got %d %s", w.Code, loc)
	}
	return p.Get("code")
}

// Issue 14 (consent): a third-party client's first request shows the consent page with the
// client's name and a plain-language line per scope (a custom scope by its name); Allow
// gives the code; the decision is remembered per user, client and scope set: a subset
// skips the page, a superset asks again.
func TestConsentAllowIsRememberedPerScopeSet(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	page := b.get(partnerAuthorize("openid email read:reports"))
	body := page.Body.String()
	for _, want := range []string{"Partner Reports", "Your email address", "Know that it is you", "read:reports"} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(body, "phone number") {
		t.Error("consent page lists a scope that was not requested")
	}
	allow := b.decide(t, page, "allow")
	if allow.Code != http.StatusSeeOther || !strings.HasPrefix(allow.Header().Get("Location"), PathAuthorize+"?") {
		t.Fatalf("allow: %d %s, want 303 back to /authorize", allow.Code, allow.Header().Get("Location"))
	}
	code := b.codeFor(t, allow)
	resp, oerr := e.P.ExchangeCode(e.Ctx, e.Partner, code, idptest.PartnerCB, "")
	if oerr != nil || resp.IDToken == "" {
		t.Fatalf("exchange the code after consent: %v", oerr)
	}
	// A subset of what was consented to: no page.
	b.codeFor(t, b.get(partnerAuthorize("openid email")))
	// A superset: asked again, and the page names the new scope.
	page = b.get(partnerAuthorize("openid email phone"))
	if !strings.Contains(page.Body.String(), "Your phone number") {
		t.Fatalf("superset: want the consent page naming phone, got %d %s", page.Code, page.Header().Get("Location"))
	}
	b.codeFor(t, b.decide(t, page, "allow"))
	// Both sets are now remembered.
	b.codeFor(t, b.get(partnerAuthorize("openid email phone read:reports")))
	c, err := e.Store.GetConsent(e.Ctx, e.User.ID, "partner")
	if err != nil || strings.Join(c.Scopes, " ") != "email openid phone read:reports" {
		t.Fatalf("stored consent %+v, %v", c, err)
	}
}

// OIDC Core §3.1.2.6 access_denied: "The End-User denied the authorization request". Deny
// sends the error, with state and iss, to the client's redirect URI; nothing is remembered.
func TestConsentDenyAnswersAccessDenied(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	w := b.decide(t, b.get(partnerAuthorize("openid profile")), "deny")
	p := redirectParams(t, w)
	if !strings.HasPrefix(w.Header().Get("Location"), idptest.PartnerCB+"?") || p.Get("error") != codeAccessDenied ||
		p.Get("state") != "st-1" || p.Get("iss") != idptest.Issuer || p.Get("code") != "" {
		t.Fatalf("deny: %s", w.Header().Get("Location"))
	}
	consentForm(t, b.get(partnerAuthorize("openid profile")))
}

// OIDC Core §3.1.2.1 prompt=consent: "The Authorization Server SHOULD prompt the End-User for
// consent before returning information to the Client": the page is shown although a consent
// is stored, and Allow then gives the code (the resumed request no longer asks for the
// page). For a first-party client prompt=consent has nothing to ask.
func TestConsentPromptConsentForcesThePage(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	b.codeFor(t, b.decide(t, b.get(partnerAuthorize("openid")), "allow"))
	page := b.get(partnerAuthorize("openid", "prompt", "consent"))
	f := consentForm(t, page)
	if q, _ := url.ParseQuery(f.Get("request")); q.Get("prompt") != "" {
		t.Fatalf("the resumed request still says prompt=%q", q.Get("prompt"))
	}
	b.codeFor(t, b.decide(t, page, "allow"))
	q := idptest.AuthQuery("web", idptest.WebCB, "", "openid")
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	q.Set("prompt", "consent")
	if redirectParams(t, b.get(PathAuthorize+"?"+q.Encode())).Get("code") == "" {
		t.Fatal("first-party client with prompt=consent: no code")
	}
}

// OIDC Core §3.1.2.6 consent_required: "The Authorization Server requires End-User consent.
// This error MAY be returned when the prompt parameter value in the Authentication Request
// is none". Once consented, prompt=none gets the code. A first-party client never needs it.
func TestConsentPromptNoneAnswersConsentRequired(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	p := redirectParams(t, b.get(partnerAuthorize("openid", "prompt", "none")))
	if p.Get("error") != codeConsentRequired || p.Get("state") != "st-1" {
		t.Fatalf("prompt=none without consent: %v", p)
	}
	b.codeFor(t, b.decide(t, b.get(partnerAuthorize("openid")), "allow"))
	b.codeFor(t, b.get(partnerAuthorize("openid", "prompt", "none")))
	p = redirectParams(t, b.get(partnerAuthorize("openid offline_access", "prompt", "none")))
	if p.Get("error") != codeConsentRequired {
		t.Fatalf("prompt=none for a superset: %v", p)
	}
	q := idptest.AuthQuery("web", idptest.WebCB, "", "openid")
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	q.Set("prompt", "none")
	if redirectParams(t, b.get(PathAuthorize+"?"+q.Encode())).Get("code") == "" {
		t.Fatal("first-party client with prompt=none: no code")
	}
}

// PX-24 (CSRF on consent): a cross-site POST of the consent form is refused before
// anything is stored, and so is a same-site POST without this browser's CSRF token (a token
// of another browser, or none); the user's own form still works afterwards.
func TestPX24_ConsentCSRF(t *testing.T) {
	e := newEnv(t)
	victim := newBrowser(e)
	page := victim.get(partnerAuthorize("openid email"))
	f := consentForm(t, page)
	f.Set("decision", "allow")
	if w := victim.post(PathConsent, f, "cross-site"); w.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST with the victim's cookies: %d %s", w.Code, w.Header().Get("Location"))
	}
	attacker := newBrowser(e)
	af := consentForm(t, attacker.get(partnerAuthorize("openid email")))
	forged := url.Values{"request": f["request"], "decision": {"allow"}, "csrf_token": af["csrf_token"], "user": f["user"]}
	if w := victim.post(PathConsent, forged, "same-origin"); w.Code != http.StatusForbidden {
		t.Fatalf("POST with another browser's CSRF token: %d", w.Code)
	}
	delete(forged, "csrf_token")
	if w := victim.post(PathConsent, forged, "same-origin"); w.Code != http.StatusForbidden {
		t.Fatalf("POST without a CSRF token: %d", w.Code)
	}
	if _, err := e.Store.GetConsent(e.Ctx, e.User.ID, "partner"); err == nil {
		t.Fatal("a refused POST stored a consent")
	}
	victim.codeFor(t, victim.post(PathConsent, f, "same-origin"))
}

// A consent form whose request was tampered with to name another redirect URI is refused
// with a page, never a redirect to the unregistered URI (RFC 6749 §4.1.2.1).
func TestConsentTamperedRequestIsAPage(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	f := consentForm(t, b.get(partnerAuthorize("openid")))
	q, _ := url.ParseQuery(f.Get("request"))
	q.Set("redirect_uri", "https://evil.test/cb")
	f.Set("request", q.Encode())
	f.Set("decision", "deny")
	if w := b.post(PathConsent, f, "same-origin"); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
		t.Fatalf("tampered redirect_uri: %d %s", w.Code, w.Header().Get("Location"))
	}
	f.Set("request", "")
	if w := b.post(PathConsent, f, "same-origin"); w.Code != http.StatusBadRequest {
		t.Fatalf("no request: %d", w.Code)
	}
}

// An Allow counts for the user the page asked: a form shown to one user and submitted after
// another user logged in to the same browser stores nothing, and the resumed request asks
// the user now logged in.
func TestConsentAllowBoundToTheUserAsked(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(e)
	f := consentForm(t, b.get(partnerAuthorize("openid email")))
	f.Set("user", "someone-else")
	f.Set("decision", "allow")
	w := b.post(PathConsent, f, "same-origin")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("allow for another user: %d", w.Code)
	}
	if _, err := e.Store.GetConsent(e.Ctx, e.User.ID, "partner"); err == nil {
		t.Fatal("a consent was stored for a user the page did not ask")
	}
	consentForm(t, b.get(w.Header().Get("Location")))
}

// The consent page's scope lines are in the page's language; a custom scope is shown by its
// name inside the translated sentence, taken as text even when it holds a '%' (the name
// comes from the client's request).
func TestConsentScopeLinesTranslated(t *testing.T) {
	got := scopeLines("de", []string{"openid", "email", "files:%d"})
	want := []ScopeLine{
		{Scope: "openid", Text: "Wissen, dass Sie es sind: eine feste Kennung Ihres Kontos"},
		{Scope: "email", Text: "Ihre E-Mail-Adresse und ob sie bestätigt ist"},
		{Scope: "files:%d", Text: "Zugriff namens „files:%d“"},
	}
	if len(got) != len(want) {
		t.Fatalf("scope lines %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("scope line %d: %q, want %q", i, got[i], want[i])
		}
	}
	if en := scopeLines("en", []string{"email"}); en[0].Text != "Your email address and whether it is verified" {
		t.Errorf("English scope line %q", en[0].Text)
	}
}
