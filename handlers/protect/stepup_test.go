package protect

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// stepUpBrowser is a browser on the protected site whose portal is a function: it keeps the
// site's cookies, follows redirects on the site, and answers every trip to the portal's
// /authorize with portal(query) — the query of the callback URL the portal would redirect to.
type stepUpBrowser struct {
	t       *testing.T
	g       *Guard
	cookies map[string]*http.Cookie
	portal  func(q url.Values) url.Values
	// authorizations counts the trips to /authorize; acrValues lists their acr_values.
	authorizations int
	acrValues      []string
	// upstream counts the requests the Guard let through.
	upstream int
}

func newStepUpBrowser(t *testing.T, g *Guard, portal func(url.Values) url.Values) *stepUpBrowser {
	return &stepUpBrowser{t: t, g: g, cookies: map[string]*http.Cookie{}, portal: portal}
}

// do sends one browser navigation to the site.
func (b *stepUpBrowser) do(target string) *httptest.ResponseRecorder {
	b.t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w, id := serve(b.g, r)
	if id != nil {
		b.upstream++
	}
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return w
}

// open navigates to target and follows at most max redirects, through the portal; it
// returns the final answer and the number of redirects followed (fatal past max).
func (b *stepUpBrowser) open(target string, max int) (*httptest.ResponseRecorder, int) {
	b.t.Helper()
	for hops := 0; ; hops++ {
		w := b.do(target)
		loc := w.Header().Get("Location")
		if w.Code < 300 || w.Code > 399 || loc == "" {
			return w, hops
		}
		if hops >= max {
			b.t.Fatalf("more than %d redirects (a loop): last Location %s; %d trips to /authorize", max, loc, b.authorizations)
		}
		u, err := url.Parse(loc)
		if err != nil {
			b.t.Fatalf("Location %q: %v", loc, err)
		}
		if strings.HasPrefix(loc, testIssuer+"/authorize?") {
			b.authorizations++
			b.acrValues = append(b.acrValues, u.Query().Get("acr_values"))
			target = testCallback + "?" + b.portal(u.Query()).Encode()
			continue
		}
		target = testSite + u.RequestURI()
	}
}

// portalAt is a portal that logs e.user in with amr at every authorization request and
// answers with a code (the portal of a user who has only what amr says).
func (e *env) portalAt(amr ...string) func(url.Values) url.Values {
	return func(q url.Values) url.Values {
		e.t.Helper()
		req, _, oerr := e.p.ParseAuthRequest(e.ctx, q)
		if oerr != nil {
			e.t.Fatalf("authorization request refused: %v", oerr)
		}
		_, sess, err := e.p.StartSession(e.ctx, e.user, amr, idp.SessionMeta{})
		if err != nil {
			e.t.Fatal(err)
		}
		code, err := e.p.IssueCode(e.ctx, req, sess)
		if err != nil {
			e.t.Fatal(err)
		}
		return url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {testIssuer}}
	}
}

// TestStepUpWithoutSecondFactorEndsOnPage — issue 12, the MFA redirect loop (not a THREATS
// row; the route's protection itself is CR-18, MFA bypass by forced browsing): a browser at
// a route with mfa whose step-up login (acr_values=aal2, RFC 9470 §4 / OIDC Core §3.1.2.1,
// which lets the OP answer with a lower acr) comes back still single-factor gets a 403 page
// saying how to add a second factor — with a link to the portal's account page and one back
// to the route — instead of a redirect to the route, which would start the same step-up
// again, forever. Even a portal that answers every request with aal1 costs at most two
// trips to /authorize (the login, then one step-up), and the upstream is never reached.
func TestStepUpWithoutSecondFactorEndsOnPage(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{MFA: true})
	b := newStepUpBrowser(t, g, e.portalAt("pwd"))

	w, hops := b.open(testSite+"/admin/panel?x=1", 6)
	if w.Code != http.StatusForbidden {
		t.Fatalf("final answer %d after %d redirects, want the 403 second-factor page: %s", w.Code, hops, w.Body)
	}
	if b.authorizations != 2 || b.acrValues[0] != "" || b.acrValues[1] != "aal2" {
		t.Errorf("trips to /authorize: %d with acr_values %q, want a login then one step-up (aal2)", b.authorizations, b.acrValues)
	}
	if b.upstream != 0 {
		t.Errorf("the upstream was reached %d times without a multi-factor login (CR-18)", b.upstream)
	}
	body := w.Body.String()
	for _, want := range []string{"second factor", `href="` + testIssuer + `/"`, "passkey", `href="/admin/panel?x=1"`, "Try again"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("page headers: Content-Type %q, Cache-Control %q", ct, w.Header().Get("Cache-Control"))
	}
	// The single-factor session is kept: it is what the browser has for routes without mfa.
	if b.cookies["__Host-gatehouse_auth"] == nil {
		t.Error("the step-up's session cookie was not kept")
	}

	// Going back to the route is the user's choice, and it costs one more step-up, again
	// ending on the page: one click, one trip, never a loop.
	w, _ = b.open(testSite+"/admin/panel?x=1", 6)
	if w.Code != http.StatusForbidden || b.authorizations != 3 || b.upstream != 0 {
		t.Errorf("try again: %d, %d trips to /authorize, upstream %d", w.Code, b.authorizations, b.upstream)
	}
}

// TestStepUpWithSecondFactorReturns — RFC 9470 step-up, CR-18: the same route, once the
// portal answers the step-up with a multi-factor login (password + passkey: acr aal2), goes
// back to the page first asked for, and that request reaches the upstream.
func TestStepUpWithSecondFactorReturns(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{MFA: true})
	single := e.portalAt("pwd")
	b := newStepUpBrowser(t, g, func(q url.Values) url.Values {
		if q.Get("acr_values") == "aal2" {
			return e.portalAt("pwd", "webauthn", "mfa")(q)
		}
		return single(q)
	})
	w, _ := b.open(testSite+"/admin/panel?x=1", 6)
	if w.Code != http.StatusOK || b.upstream != 1 || b.authorizations != 2 {
		t.Fatalf("final %d, upstream %d, %d trips to /authorize: %s", w.Code, b.upstream, b.authorizations, w.Body)
	}
}

// TestStepUpRefusedEndsOnPage — issue 12: a portal that refuses the step-up outright
// (error=access_denied at the callback, RFC 6749 §4.1.2.1) leads to the same second-factor
// page, without a redirect; an ordinary login refused that way keeps its own page.
func TestStepUpRefusedEndsOnPage(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{MFA: true})
	login := e.portalAt("pwd")
	b := newStepUpBrowser(t, g, func(q url.Values) url.Values {
		if q.Get("acr_values") == "aal2" {
			return url.Values{"error": {"access_denied"}, "state": {q.Get("state")}, "iss": {testIssuer}}
		}
		return login(q)
	})
	w, _ := b.open(testSite+"/admin", 6)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "second factor") || b.authorizations != 2 || b.upstream != 0 {
		t.Fatalf("refused step-up: %d, %d trips, upstream %d: %s", w.Code, b.authorizations, b.upstream, w.Body)
	}

	denied := newStepUpBrowser(t, e.guard(policy.Rule{}), func(q url.Values) url.Values {
		return url.Values{"error": {"access_denied"}, "state": {q.Get("state")}, "iss": {testIssuer}}
	})
	w, _ = denied.open(testSite+"/docs", 6)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Login not completed") || strings.Contains(w.Body.String(), "second factor") {
		t.Fatalf("refused login: %d %s", w.Code, w.Body)
	}
}

// TestStepUpFlagIsPerLogin — issue 12: the step-up mark belongs to the pending login that
// the Guard started for a route with mfa (sealed in the state cookie): a plain login that
// comes back single-factor still returns to its page, and a single-factor answer to the
// step-up started in another tab of the same browser still gets the page. Starting the
// second login keeps the first one's record (the Guard reads the state cookie as sent, not
// from the request it has already stripped).
func TestStepUpFlagIsPerLogin(t *testing.T) {
	e := newEnv(t)
	plain := e.guard(policy.Rule{})
	mfa := e.guard(policy.Rule{MFA: true})
	// Per-request variables, as Caddy gives them: the Guard keeps the cookies the client
	// sent there before it strips them.
	vars := map[*http.Request]map[string]any{}
	state := func(r *http.Request) map[string]any {
		if vars[r] == nil {
			vars[r] = map[string]any{}
		}
		return vars[r]
	}
	plain.State, mfa.State = state, state
	resp, _ := e.login("openid")
	cookie := &http.Cookie{Name: "__Host-gatehouse_auth", Value: sealFor(t, plain, "__Host-gatehouse_auth", resp.AccessToken, resp.RefreshToken)}

	// Tab 1: a step-up at the mfa route. Tab 2 (no session cookie): a plain login.
	r := httptest.NewRequest(http.MethodGet, testSite+"/admin", nil)
	r.Header.Set("Accept", "text/html")
	r.AddCookie(cookie)
	w1, _ := serve(mfa, r)
	loc1, _ := url.Parse(w1.Header().Get("Location"))
	if w1.Code != http.StatusFound || loc1.Query().Get("acr_values") != "aal2" {
		t.Fatalf("step-up start: %d %s", w1.Code, w1.Header().Get("Location"))
	}
	stateCookie := w1.Result().Cookies()[0]
	r = httptest.NewRequest(http.MethodGet, testSite+"/docs", nil)
	r.Header.Set("Accept", "text/html")
	r.AddCookie(stateCookie)
	w2, _ := serve(plain, r)
	loc2, _ := url.Parse(w2.Header().Get("Location"))
	if w2.Code != http.StatusFound || loc2.Query().Has("acr_values") {
		t.Fatalf("plain login start: %d %s", w2.Code, w2.Header().Get("Location"))
	}
	stateCookie = w2.Result().Cookies()[0] // now holds both pending logins

	portal := e.portalAt("pwd")
	callback := func(q url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, testCallback+"?"+portal(q).Encode(), nil)
		r.AddCookie(stateCookie)
		w, _ := serve(plain, r) // the callback may be served by any Guard of the site
		for _, c := range w.Result().Cookies() {
			if c.Name == stateCookie.Name {
				stateCookie = c
			}
		}
		return w
	}
	if w := callback(loc2.Query()); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/docs" {
		t.Errorf("plain login, single-factor: %d %q, want 303 to /docs", w.Code, w.Header().Get("Location"))
	}
	if w := callback(loc1.Query()); w.Code != http.StatusForbidden || w.Header().Get("Location") != "" {
		t.Errorf("step-up, single-factor: %d %q, want the 403 page: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
}
