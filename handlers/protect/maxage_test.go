package protect

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func maxAgeGuard(e *env, maxAge time.Duration, rule policy.Rule) *Guard {
	e.t.Helper()
	g := &Guard{Provider: e.p, ClientID: "web", Rule: rule, Headers: mustCompile(e.t, DefaultHeaders), MaxAge: maxAge,
		CookieHashKey: e.ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: e.ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: e.ring.DeriveKey("protect-csrf"), SessionKey: e.ring.DeriveKey("protect-session-v1")}
	if err := g.Init(); err != nil {
		e.t.Fatal(err)
	}
	return g
}

// TestMaxAgeAPIChallenge: RFC 9470 §3 — "max_age: Indicates the allowable elapsed time in
// seconds since the last active authentication event associated with the access token";
// a bearer token whose auth_time is older than the route's max_age gets 401 with
// error="insufficient_user_authentication" and max_age in WWW-Authenticate, and never reaches
// the upstream; a token within the age passes. The cached identity is judged per request.
func TestMaxAgeAPIChallenge(t *testing.T) {
	e := newEnv(t)
	g := maxAgeGuard(e, time.Minute, policy.Rule{})
	resp, _ := e.login("openid", "read")

	call := func() (*httptest.ResponseRecorder, *Identity) {
		r := httptest.NewRequest(http.MethodGet, testSite+"/api/x", nil)
		r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
		return serve(g, r)
	}
	if w, id := call(); w.Code != http.StatusOK || id == nil {
		t.Fatalf("fresh login: %d %s", w.Code, w.Body)
	}
	e.clk.Advance(61 * time.Second)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	w, id := call()
	if id != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("login 61s old on a 1m route: %d, let through %v", w.Code, id != nil)
	}
	h := w.Header().Get("WWW-Authenticate")
	for _, want := range []string{`Bearer `, `error="insufficient_user_authentication"`, `max_age="60"`} {
		if !strings.Contains(h, want) {
			t.Errorf("WWW-Authenticate %q lacks %s", h, want)
		}
	}
	if !strings.Contains(w.Body.String(), `"error":"insufficient_user_authentication"`) {
		t.Errorf("body %s", w.Body)
	}
}

// TestMaxAgeAppCredentialsRefused: an app password or personal access token records no
// login, so a route with max_age refuses it with the challenge, saying so.
func TestMaxAgeAppCredentialsRefused(t *testing.T) {
	e := newEnv(t)
	g := maxAgeGuard(e, time.Hour, policy.Rule{})
	sec, _ := e.createCred(store.CredentialPAT, appcred.CreateRequest{Scopes: []string{"read"}})
	r := httptest.NewRequest(http.MethodGet, testSite+"/api/x", nil)
	r.Header.Set("Authorization", "Bearer "+sec)
	w, id := serve(g, r)
	if id != nil || w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `max_age="3600"`) ||
		!strings.Contains(w.Body.String(), "access tokens are not accepted") {
		t.Fatalf("PAT on a max_age route: %d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
}

// TestMaxAgeBrowserLogsInAgain: a browser whose session's login is older than the route's
// max_age is sent through the login again with max_age (OIDC Core §3.1.2.1: the portal must
// actively re-authenticate), and comes back to the page; every login of such a route asks for
// max_age, so that an older portal session cannot log it in silently.
func TestMaxAgeBrowserLogsInAgain(t *testing.T) {
	e := newEnv(t)
	g := maxAgeGuard(e, time.Minute, policy.Rule{})
	var maxAges []string
	login := e.portalAt("pwd")
	b := newStepUpBrowser(t, g, func(q url.Values) url.Values {
		maxAges = append(maxAges, q.Get("max_age"))
		return login(q)
	})
	if w, _ := b.open(testSite+"/docs?x=1", 6); w.Code != http.StatusOK || b.upstream != 1 {
		t.Fatalf("first visit: %d, upstream %d: %s", w.Code, b.upstream, w.Body)
	}
	if w, _ := b.open(testSite+"/docs?x=2", 6); w.Code != http.StatusOK || b.authorizations != 1 {
		t.Fatalf("within max_age: %d, %d logins", w.Code, b.authorizations)
	}
	e.clk.Advance(2 * time.Minute)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	w, _ := b.open(testSite+"/docs?x=3", 6)
	if w.Code != http.StatusOK || b.upstream != 3 || b.authorizations != 2 {
		t.Fatalf("after max_age: %d, upstream %d, %d logins: %s", w.Code, b.upstream, b.authorizations, w.Body)
	}
	if strings.Join(maxAges, ",") != "60,60" {
		t.Errorf("max_age sent to the portal: %q", maxAges)
	}
}

// TestMaxAgeStalePortalEndsOnPage: a portal that answers with a login older than the
// max_age it was asked for (it did not re-authenticate) leads to a page, not back to the
// route (which would start the same login again, forever), and never to the upstream.
func TestMaxAgeStalePortalEndsOnPage(t *testing.T) {
	e := newEnv(t)
	g := maxAgeGuard(e, time.Minute, policy.Rule{})
	_, old, err := e.p.StartSession(e.ctx, e.user, []string{"pwd"}, idp.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Minute)
	if err := e.p.Revocations.Sync(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
	b := newStepUpBrowser(t, g, func(q url.Values) url.Values {
		req, _, oerr := e.p.ParseAuthRequest(e.ctx, q)
		if oerr != nil {
			t.Fatalf("authorization request refused: %v", oerr)
		}
		code, err := e.p.IssueCode(e.ctx, req, old) // the old session, as if max_age were ignored
		if err != nil {
			t.Fatal(err)
		}
		return url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {testIssuer}}
	})
	w, _ := b.open(testSite+"/docs", 6)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "recent login") || b.upstream != 0 || b.authorizations != 1 {
		t.Fatalf("stale login: %d, upstream %d, %d logins: %s", w.Code, b.upstream, b.authorizations, w.Body)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1h", 90 * time.Minute: "1h30m", 10 * time.Minute: "10m", 8 * time.Second: "8s", 61 * time.Second: "1m1s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestRolesPermissionsPlaceholders: the identity exposes the token's roles and permissions
// as {gatehouse.user.roles} and {gatehouse.user.permissions} (comma-separated), empty when
// the token carries none.
func TestRolesPermissionsPlaceholders(t *testing.T) {
	c := &tokens.AccessClaims{Subject: "u1", Roles: []string{"editor", "viewer"}, Permissions: []string{"docs:write"}}
	id := newIdentity(c, mustCompile(t, []HeaderSpec{{Name: "X-Roles", Template: "{gatehouse.user.roles}"},
		{Name: "X-Permissions", Template: "{gatehouse.user.permissions}"}}))
	if v, ok := id.Lookup("gatehouse.user.roles"); !ok || v != "editor,viewer" {
		t.Errorf("roles %v %v", v, ok)
	}
	if v, ok := id.Lookup("gatehouse.user.permissions"); !ok || v != "docs:write" {
		t.Errorf("permissions %v %v", v, ok)
	}
	if len(id.headers) != 2 {
		t.Errorf("headers %v", id.headers)
	}
	empty := newIdentity(&tokens.AccessClaims{Subject: "u2"}, mustCompile(t, []HeaderSpec{{Name: "X-Roles", Template: "{gatehouse.user.roles}"}}))
	if len(empty.headers) != 0 {
		t.Errorf("a token without roles still sends X-Roles: %v", empty.headers)
	}
}
