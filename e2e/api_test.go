package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// apiSites protects App per path: /admin/* needs group admins, /write/* scope write:docs,
// /aud/* audience other-api, everything else scope read:docs.
const apiSites = `
{{.App}} {
	bind 127.0.0.1
	handle /admin/* {
		gatehouse_protect {
			client app
			group admins
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /write/* {
		gatehouse_protect {
			client app
			scope write:docs
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /aud/* {
		gatehouse_protect {
			client app
			audience other-api
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle {
		gatehouse_protect {
			client app
			scope read:docs
		}
		reverse_proxy {{.UpstreamAddr}}
	}
}`

func wwwAuth(r *Resp) string { return r.Header.Get("WWW-Authenticate") }

// TestAPIClientErrors: API clients get RFC 6750 answers — no credential: 401 with a Bearer
// challenge; an invalid token: 401 error="invalid_token"; a valid token without the route's
// scope: 403 error="insufficient_scope" naming the scope (JW-25); a user in none of the
// route's groups: 403; after an administrator adds the group (PUT
// /gatehouse/users/{id}/groups, what `gatehouse user groups` does) a new token passes.
// Token transport rules (JW-24): the scheme is case-insensitive, two Authorization headers
// are refused, and ?access_token= is not a credential. None of the denied requests reaches
// the upstream.
func TestAPIClientErrors(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: apiSites})
	id := e.CreateUser("carol@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "carol@example.test", Password)
	at := e.AccessToken(b, "openid email read:docs")
	before := e.Upstream.Count()

	r := Get(t, e.App+"/docs", "")
	if r.Status != http.StatusUnauthorized || !strings.HasPrefix(wwwAuth(r), "Bearer ") {
		t.Errorf("no credential: %s, WWW-Authenticate %q", r, wwwAuth(r))
	}
	r = Get(t, e.App+"/docs", "not.a.token")
	if r.Status != http.StatusUnauthorized || !strings.Contains(wwwAuth(r), `error="invalid_token"`) || r.JSON(t)["error"] != "invalid_token" {
		t.Errorf("invalid token: %s, WWW-Authenticate %q", r, wwwAuth(r))
	}
	r = Get(t, e.App+"/write/x", at)
	if r.Status != http.StatusForbidden || !strings.Contains(wwwAuth(r), `error="insufficient_scope"`) ||
		!strings.Contains(wwwAuth(r), `scope="write:docs"`) || r.JSON(t)["error"] != "insufficient_scope" {
		t.Errorf("missing scope: %s, WWW-Authenticate %q", r, wwwAuth(r))
	}
	noRead := e.AccessToken(b, "openid email")
	r = Get(t, e.App+"/docs", noRead)
	if r.Status != http.StatusForbidden || !strings.Contains(wwwAuth(r), `error="insufficient_scope"`) {
		t.Errorf("token without read:docs: %s, WWW-Authenticate %q", r, wwwAuth(r))
	}
	r = Get(t, e.App+"/admin/x", at)
	if r.Status != http.StatusForbidden || r.JSON(t)["error"] != "forbidden" {
		t.Errorf("user not in the group: %s", r)
	}
	r = Get(t, e.App+"/aud/x", at)
	if r.Status != http.StatusUnauthorized || !strings.Contains(wwwAuth(r), `error="invalid_token"`) {
		t.Errorf("token for another audience (AS-25): %s", r)
	}
	// Transport (JW-24).
	req := NewRequest(t, http.MethodGet, e.App+"/docs", nil)
	req.Header.Add("Authorization", "Bearer "+at)
	req.Header.Add("Authorization", "Bearer "+at)
	if r := Do(t, API, req); r.Status != http.StatusBadRequest {
		t.Errorf("two Authorization headers: %s", r)
	}
	if r := Get(t, e.App+"/docs?access_token="+url.QueryEscape(at), ""); r.Status != http.StatusUnauthorized {
		t.Errorf("token in the query string: %s", r)
	}
	req = NewRequest(t, http.MethodGet, e.App+"/docs", nil)
	req.Header.Set("Authorization", "Bearer  "+at)
	if r := Do(t, API, req); r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
		t.Errorf("Bearer with two spaces: %s", r)
	}
	if n := e.Upstream.Count(); n != before {
		t.Fatalf("%d denied requests reached the upstream", n-before)
	}
	req = NewRequest(t, http.MethodGet, e.App+"/docs", nil)
	req.Header.Set("Authorization", "bearer "+at)
	if r := Do(t, API, req); r.Status != http.StatusOK {
		t.Errorf("lower-case bearer scheme: %s", r)
	}

	// The administrator adds the group; a new token carries it.
	g := e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/groups", map[string]any{"groups": []string{"staff", "admins"}})
	if g.Status != http.StatusOK || !slices.Equal(toStrings(g.JSON(t)["groups"]), []string{"staff", "admins"}) {
		t.Fatalf("set groups: %s", g)
	}
	at2 := e.AccessToken(b, "openid email read:docs")
	r = Get(t, e.App+"/admin/x", at2)
	if r.Status != http.StatusOK {
		t.Fatalf("user now in the group: %s", r)
	}
	if got := e.Upstream.Last(t).Values("X-User-Groups"); !slices.Equal(got, []string{"staff,admins"}) {
		t.Errorf("X-User-Groups = %q", got)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
