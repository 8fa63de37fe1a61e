package module

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// A gatehouse_forward_auth handler behind a host matcher fails open: nginx's auth_request
// sends its subrequest with the Host of its proxy_pass target (an address, an upstream
// block's name), Traefik with the client's, and a request whose Host matches no route gets
// Caddy's empty 200, which both proxies read as "allowed". No handler can answer a request
// that never reaches it, so the refusal is at load: ForwardAuth.Provision looks through the
// http app being provisioned for a forward-auth handler under a host matcher.
//
// The http app is registered in the config before it provisions itself, and it provisions
// every server's top-level matchers before any handler; a route's HandlersRaw and
// MatcherSetsRaw are cleared only once loaded. So while a handler provisions, each route is
// either loaded (Handlers, MatcherSets), or still raw JSON (the route being provisioned and
// those after it): hostGuardedForwardAuth reads both forms, and so sees the whole tree.

// hostGuardedForwardAuth returns, sorted and without repeats, the host names of matchers
// that a gatehouse_forward_auth handler of app sits behind (the route's own matcher or any
// enclosing route's), with the server names where that happens.
func hostGuardedForwardAuth(app *caddyhttp.App) (hosts, servers []string) {
	hs := map[string]bool{}
	ss := map[string]bool{}
	for name, srv := range app.Servers {
		if srv == nil {
			continue
		}
		found := map[string]bool{}
		walkRoutes(srv.Routes, nil, found)
		if srv.Errors != nil {
			// handle_errors routes answer too (an error of the route that would have
			// answered), and behind a host they fail open the same way.
			walkRoutes(srv.Errors.Routes, nil, found)
		}
		if len(found) > 0 {
			ss[name] = true
			for h := range found {
				hs[h] = true
			}
		}
	}
	return sortedKeys(hs), sortedKeys(ss)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// walkRoutes adds to found the hosts guarding each forward-auth handler in routes, given the
// hosts of the enclosing routes' matchers.
func walkRoutes(routes caddyhttp.RouteList, outer []string, found map[string]bool) {
	for _, r := range routes {
		hosts := slices.Clone(outer)
		hosts = append(hosts, typedHosts(r.MatcherSets)...)
		hosts = append(hosts, rawHosts(r.MatcherSetsRaw)...)
		for _, h := range r.Handlers {
			switch h := h.(type) {
			case *ForwardAuth:
				markHosts(hosts, found)
			case *caddyhttp.Subroute:
				walkRoutes(h.Routes, hosts, found)
			}
		}
		for _, raw := range r.HandlersRaw {
			walkRawHandler(raw, hosts, found)
		}
	}
}

// walkRawHandler is walkRoutes for a handler not loaded yet.
func walkRawHandler(raw json.RawMessage, outer []string, found map[string]bool) {
	var h struct {
		Handler string `json:"handler"`
		Routes  []struct {
			Match  caddyhttp.RawMatcherSets `json:"match"`
			Handle []json.RawMessage        `json:"handle"`
		} `json:"routes"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return // the handler's own loading reports it
	}
	switch h.Handler {
	case "gatehouse_forward_auth":
		markHosts(outer, found)
	case "subroute":
		for _, r := range h.Routes {
			hosts := append(slices.Clone(outer), rawHosts(r.Match)...)
			for _, hr := range r.Handle {
				walkRawHandler(hr, hosts, found)
			}
		}
	}
}

func markHosts(hosts []string, found map[string]bool) {
	for _, h := range hosts {
		found[h] = true
	}
}

func typedHosts(sets caddyhttp.MatcherSets) []string {
	var out []string
	for _, set := range sets {
		for _, m := range set {
			switch m := m.(type) {
			case *caddyhttp.MatchHost:
				out = append(out, hostList(*m)...)
			case caddyhttp.MatchHost:
				out = append(out, hostList(m)...)
			}
		}
	}
	return out
}

func rawHosts(sets caddyhttp.RawMatcherSets) []string {
	var out []string
	for _, set := range sets {
		raw, ok := set["host"]
		if !ok {
			continue
		}
		var hs []string
		_ = json.Unmarshal(raw, &hs)
		out = append(out, hostList(hs)...)
	}
	return out
}

// hostList keeps an empty host matcher visible (it still matches only some requests).
func hostList(hs []string) []string {
	if len(hs) == 0 {
		return []string{"(empty host list)"}
	}
	return hs
}

// checkForwardAuthHosts refuses a configuration in which a gatehouse_forward_auth handler
// sits behind a host matcher (see above); ctx is the handler's provisioning context.
func checkForwardAuthHosts(ctx caddy.Context) error {
	for _, m := range ctx.Modules() {
		app, ok := m.(*caddyhttp.App)
		if !ok {
			continue
		}
		hosts, servers := hostGuardedForwardAuth(app)
		if len(hosts) == 0 {
			return nil
		}
		return fmt.Errorf("gatehouse_forward_auth: the endpoint is inside a site or route that matches host %s (server %s): "+
			"the proxy's subrequest carries the Host of its proxy_pass target, and a request whose Host matches no route gets "+
			"Caddy's empty 200, which nginx's auth_request and Traefik's ForwardAuth read as allowed. "+
			"Give the endpoint a site with no host name, e.g. `http://:9091 { bind 10.0.0.2 ... }` "+
			"(in JSON: no \"host\" matcher on its routes), and keep X-Forwarded-Host for the app's name",
			quoteJoin(hosts), strings.Join(servers, ", "))
	}
	return nil
}

func quoteJoin(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
