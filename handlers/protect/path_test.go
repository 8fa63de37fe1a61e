package protect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
)

type testStateKey struct{}

// withState gives r a per-request state map, as Caddy's request variables do.
func withState(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), testStateKey{}, map[string]any{}))
}

func testState(r *http.Request) map[string]any {
	m, _ := r.Context().Value(testStateKey{}).(map[string]any)
	return m
}

// TestGuardRefusesNonCanonicalPathFirst (PX-13): a non-canonical path is answered 400 before
// the Guard looks at credentials, strips or redirects — a browser is not sent to log in for a
// path the upstream would read as another one, and a valid token does not help.
func TestGuardRefusesNonCanonicalPathFirst(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	tok, _ := e.login("openid")
	for _, target := range []string{"/admin//../secret", "/admin/x/..", "/admin;x/y", "/%2561dmin/x", "/admin%2fx"} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, testSite+"/", nil)
		r.URL, r.RequestURI = u, target
		r.Header.Set("Accept", "text/html")
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w, id := serve(g, r)
		if w.Code != http.StatusBadRequest || id != nil || w.Header().Get("Location") != "" ||
			!strings.Contains(w.Body.String(), "not canonical") {
			t.Errorf("%s: %d %q (identity %v)", target, w.Code, w.Body.String(), id != nil)
		}
	}
}

// TestPathWaiverCarriesOverToLaterHandlers: insecure_allow_noncanonical_paths on the site's
// sanitizer waives the check for the guards that follow on the same request, and only then.
func TestPathWaiverCarriesOverToLaterHandlers(t *testing.T) {
	e := newEnv(t)
	g := e.guard(policy.Rule{})
	g.State = testState
	tok, _ := e.login("openid")
	s := &Sanitizer{State: testState, InsecureAllowNonCanonicalPaths: true}
	s.Init()
	for _, waived := range []bool{false, true} {
		r := withState(bearerRequest(tok.AccessToken))
		r.URL.Path = "/a//../docs"
		if waived {
			if s.Serve(httptest.NewRecorder(), r) {
				t.Fatal("waiving sanitizer answered the request")
			}
		}
		w, id := serve(g, r)
		if got := w.Code == http.StatusBadRequest && id == nil; got == waived {
			t.Errorf("waived=%v: %d (identity %v)", waived, w.Code, id != nil)
		}
	}
}

// TestBearerSeenByEveryGuard: several gatehouse_protect may match one request (their rules
// add up); the first removes the bearer token from what goes upstream (PX-30), and the next
// must still authenticate the request with it.
func TestBearerSeenByEveryGuard(t *testing.T) {
	e := newEnv(t)
	g1, g2 := e.guard(policy.Rule{}), e.guard(policy.Rule{Scopes: []string{"openid"}})
	g1.State, g2.State = testState, testState
	tok, _ := e.login("openid")
	r := withState(bearerRequest(tok.AccessToken))
	if w, id := serve(g1, r); id == nil {
		t.Fatalf("first guard: %d %s", w.Code, w.Body)
	}
	if r.Header.Get("Authorization") != "" {
		t.Fatal("the bearer token stays in the upstream request")
	}
	if w, id := serve(g2, r); id == nil {
		t.Fatalf("second guard: %d %s", w.Code, w.Body)
	}
}
