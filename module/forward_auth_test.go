package module

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestForwardAuthValidate: gatehouse_forward_auth checks gatehouse_protect's options under its
// own name, and refuses close_on_revoke, which cannot apply to a subrequest.
func TestForwardAuthValidate(t *testing.T) {
	f := &ForwardAuth{Protect: Protect{Audience: []string{"web"}, CloseOnRevoke: true}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "gatehouse_forward_auth.close_on_revoke") {
		t.Fatalf("close_on_revoke: %v", err)
	}
	f = &ForwardAuth{Protect: Protect{Audience: []string{"web"}, Scopes: []string{"bad scope\""}}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "gatehouse_forward_auth.scopes") {
		t.Fatalf("bad scope: %v", err)
	}
	if err := (&ForwardAuth{Protect: Protect{Audience: []string{"web"}}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// fwdConfig is a Caddy JSON config with one server on :9091 whose routes are routesJSON.
func fwdConfig(t *testing.T, routesJSON string) *caddy.Config {
	t.Helper()
	raw := `{
		"admin": {"disabled": true},
		"apps": {"http": {"servers": {"fwd": {
			"listen": [":9091"],
			"automatic_https": {"disable": true},
			"routes": ` + routesJSON + `
		}}}}
	}`
	var cfg caddy.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// The Caddyfile's `auth.example.com { gatehouse_forward_auth { ... } }`, and a nested form.
const (
	fwdUnderSiteHost = `[{"match": [{"host": ["auth.example.com"]}], "handle": [{"handler": "subroute", "routes": [
		{"handle": [{"handler": "gatehouse_forward_auth", "client": "web"}]}]}], "terminal": true}]`
	fwdUnderInnerHost = `[{"handle": [{"handler": "subroute", "routes": [
		{"match": [{"path": ["/x"]}], "handle": [{"handler": "static_response", "status_code": 404}]},
		{"match": [{"host": ["a.example", "b.example"]}], "handle": [{"handler": "gatehouse_forward_auth", "client": "web"}]}]}]}]`
	fwdNoHost = `[{"handle": [{"handler": "subroute", "routes": [
		{"match": [{"path": ["/x"]}], "handle": [{"handler": "static_response", "status_code": 404}]},
		{"handle": [{"handler": "gatehouse_forward_auth", "client": "web"}]}]}], "terminal": true},
		{"match": [{"host": ["other.example"]}], "handle": [{"handler": "static_response", "status_code": 204}]}]`
)

// TestForwardAuthRefusedBehindHostMatcher: issue 17 follow-up, "gatehouse_forward_auth on a
// site with a host matcher ... is dangerous: when nginx sends an auth subrequest with another
// Host, Caddy answers an empty 200 for an unmatched host and nginx treats it as allowed.
// Make the configuration refuse this at load with a message that says what to change." The
// whole config goes through Caddy's own provisioning (caddy.Validate: everything but
// listening), so the check sees the http app exactly as it is when handlers provision.
func TestForwardAuthRefusedBehindHostMatcher(t *testing.T) {
	for _, tc := range []struct {
		name, routes string
		hosts        []string
	}{
		{"site host", fwdUnderSiteHost, []string{`"auth.example.com"`}},
		{"inner route host", fwdUnderInnerHost, []string{`"a.example"`, `"b.example"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := caddy.Validate(fwdConfig(t, tc.routes))
			if err == nil {
				t.Fatal("a forward-auth endpoint behind a host matcher loaded")
			}
			for _, want := range append(tc.hosts, "matches host", "empty 200", "no host name", "http://:9091") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
		})
	}
	// Without a host matcher on its way (another route's host matcher does not count), the
	// check passes: loading goes on and stops only at the missing gatehouse app.
	err := caddy.Validate(fwdConfig(t, fwdNoHost))
	if err == nil || strings.Contains(err.Error(), "matches host") || !strings.Contains(err.Error(), "gatehouse") {
		t.Fatalf("no host matcher: want only the missing gatehouse app refused, got %v", err)
	}
}

// TestHostGuardedForwardAuthForms: the walk reads routes in both forms it meets during
// provisioning: raw JSON (not loaded yet) and loaded modules.
func TestHostGuardedForwardAuthForms(t *testing.T) {
	raw := func(routes string) *caddyhttp.App {
		var rl caddyhttp.RouteList
		if err := json.Unmarshal([]byte(routes), &rl); err != nil {
			t.Fatal(err)
		}
		return &caddyhttp.App{Servers: map[string]*caddyhttp.Server{"srv0": {Routes: rl}}}
	}
	if hosts, servers := hostGuardedForwardAuth(raw(fwdUnderSiteHost)); !slices.Equal(hosts, []string{"auth.example.com"}) || !slices.Equal(servers, []string{"srv0"}) {
		t.Errorf("raw site host: %v %v", hosts, servers)
	}
	if hosts, _ := hostGuardedForwardAuth(raw(fwdNoHost)); len(hosts) != 0 {
		t.Errorf("raw, no host: %v", hosts)
	}
	host := caddyhttp.MatchHost{"auth.example.com"}
	loaded := &caddyhttp.App{Servers: map[string]*caddyhttp.Server{"srv0": {Routes: caddyhttp.RouteList{
		{MatcherSets: caddyhttp.MatcherSets{{&host}}, Handlers: []caddyhttp.MiddlewareHandler{
			&caddyhttp.Subroute{Routes: caddyhttp.RouteList{{Handlers: []caddyhttp.MiddlewareHandler{new(ForwardAuth)}}}}}},
	}}}}
	if hosts, _ := hostGuardedForwardAuth(loaded); !slices.Equal(hosts, []string{"auth.example.com"}) {
		t.Errorf("loaded site host: %v", hosts)
	}
	loaded.Servers["srv0"].Routes[0].MatcherSets = nil
	if hosts, _ := hostGuardedForwardAuth(loaded); len(hosts) != 0 {
		t.Errorf("loaded, no host: %v", hosts)
	}
	// handle_errors routes answer requests too: the same refusal behind a host there.
	var rl caddyhttp.RouteList
	if err := json.Unmarshal([]byte(fwdUnderSiteHost), &rl); err != nil {
		t.Fatal(err)
	}
	errs := &caddyhttp.App{Servers: map[string]*caddyhttp.Server{"srv0": {Errors: &caddyhttp.HTTPErrorConfig{Routes: rl}}}}
	if hosts, _ := hostGuardedForwardAuth(errs); !slices.Equal(hosts, []string{"auth.example.com"}) {
		t.Errorf("handle_errors under a host: %v", hosts)
	}
}
