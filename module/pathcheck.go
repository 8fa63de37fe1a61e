package module

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Every Gatehouse handler refuses a request whose path is not canonical (see package
// reqpath) before it decides anything. That protects Gatehouse's own decisions; it does not
// protect a decision Caddy made on the path before the request reached a Gatehouse handler:
// a `handle /public/*` route evaluated on `/public/..;/admin` sends the request to an
// upstream that reads it as `/admin`, without ever passing a gatehouse_protect.
//
// checkPathOrder walks the provisioned routes of every HTTP server and refuses a
// configuration in which, on a site with a Gatehouse handler, a route chosen by a
// path-dependent matcher can hand the request to anything but a Gatehouse handler or a
// handler that cannot reach an upstream (a redirect, a rewrite, a header edit) before an
// unconditional Gatehouse handler has checked the path. The Caddyfile adapter puts
// gatehouse_sanitize first in a site and follows every matched gatehouse_protect with an
// unconditional one, so Caddyfile sites pass unless gatehouse_protect sits inside handle or
// route blocks without gatehouse_sanitize at the top of the site.

// pathBlindMatchers decide without looking at the request path.
var pathBlindMatchers = map[string]bool{
	"http.matchers.host": true, "http.matchers.protocol": true, "http.matchers.remote_ip": true,
	"http.matchers.client_ip": true, "http.matchers.method": true, "http.matchers.header": true,
	"http.matchers.header_regexp": true, "http.matchers.query": true, "http.matchers.tls": true,
}

// inertHandlers cannot hand a request to an upstream: they answer it themselves, change it,
// or pass it on to the next route.
var inertHandlers = map[string]bool{
	"http.handlers.static_response": true, "http.handlers.rewrite": true, "http.handlers.vars": true,
	"http.handlers.map": true, "http.handlers.headers": true, "http.handlers.request_body": true,
	"http.handlers.authentication": true, "http.handlers.log_append": true, "http.handlers.tracing": true,
	"http.handlers.encode": true, "http.handlers.error": true, "http.handlers.copy_response_headers": true,
	"http.handlers.log_skip": true, "http.handlers.log_name": true, "http.handlers.push": true,
}

// pathCheckingHandler reports whether h is a Gatehouse handler, and whether it waives the
// path check for the rest of the request.
func pathCheckingHandler(h caddyhttp.MiddlewareHandler) (gatehouse, waives bool) {
	switch h := h.(type) {
	case *Protect:
		return true, false
	case *Sanitize:
		return true, h.InsecureAllowNonCanonicalPaths
	case *Portal:
		return true, false
	}
	return false, false
}

// checkPathOrder returns one error per route that decides on an unchecked path, in a stable
// order.
func checkPathOrder(app *caddyhttp.App) error {
	if app == nil {
		return nil
	}
	names := make([]string, 0, len(app.Servers))
	for name := range app.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		srv := app.Servers[name]
		base := "apps.http.servers." + name
		if siteRoutes(srv.Routes) {
			// Caddyfile shape: one route per site, chosen by host. Sites without a
			// Gatehouse handler are none of Gatehouse's business.
			for i, rt := range srv.Routes {
				if !hasGatehouse(srv, caddyhttp.RouteList{rt}, nil) {
					continue
				}
				w := &pathWalk{site: siteName(rt), srv: srv}
				w.route(rt, fmt.Sprintf("%s.routes[%d]", base, i), walkState{})
				w.errorRoutes(srv.Errors, base+".errors.routes", hostsOf(rt))
				errs = append(errs, w.errs...)
			}
			continue
		}
		if hasGatehouse(srv, srv.Routes, nil) {
			w := &pathWalk{site: "server " + name, srv: srv}
			w.list(srv.Routes, base+".routes", walkState{})
			w.errorRoutes(srv.Errors, base+".errors.routes", nil)
			errs = append(errs, w.errs...)
		}
	}
	return errors.Join(errs...)
}

type pathWalk struct {
	site string
	srv  *caddyhttp.Server
	errs []error
	// uncheckedRaisers: a handler that can raise an error ran before the path was checked,
	// so error routes may see an unchecked path.
	uncheckedRaisers bool
	invoking         map[string]bool // named routes being walked (cycle guard)
}

// walkState is what is known at a point of the route tree about every request reaching it.
type walkState struct {
	// checked: a Gatehouse handler has checked the path (or the site waived the check).
	checked bool
	// tainted: a path-dependent matcher chose between applying a Gatehouse handler, or
	// sending to an upstream, and not doing so — on a path not checked yet. why names it.
	tainted bool
	why     string
	stopped bool // an error was reported; nothing after it is reported again
}

// list visits routes in execution order and returns the state after them.
func (w *pathWalk) list(routes caddyhttp.RouteList, at string, st walkState) walkState {
	for i, rt := range routes {
		if st.checked || st.stopped {
			return st
		}
		st = w.route(rt, fmt.Sprintf("%s[%d]", at, i), st)
	}
	return st
}

// route visits one route's handlers; the returned state holds for the routes after it.
// Only a route without matchers runs for every request reaching it: a request that a
// matcher of any kind (host, header, method, path) turns away keeps the state it had.
func (w *pathWalk) route(rt caddyhttp.Route, at string, st walkState) walkState {
	conditional := len(rt.MatcherSets) > 0
	pathDecision := !pathBlindSets(rt.MatcherSets)
	in := st // the state of a request that took this route
	if pathDecision {
		in.tainted, in.why = true, describeMatchers(rt.MatcherSets)
	}
	for j, h := range rt.Handlers {
		if in.checked || in.stopped {
			break
		}
		hat := fmt.Sprintf("%s.handle[%d]", at, j)
		if gh, _ := pathCheckingHandler(h); gh {
			in.checked = true
			continue
		}
		switch h := h.(type) {
		case *caddyhttp.Subroute:
			in = w.list(h.Routes, hat+".routes", in)
			if h.Errors != nil && !in.stopped {
				w.errorRoutes(h.Errors, hat+".errors.routes", nil)
			}
			continue
		case *caddyhttp.Invoke:
			in = w.invoke(h.Name, hat, in)
			continue
		}
		id := caddy.GetModuleID(h)
		if !errorless[id] {
			w.uncheckedRaisers = true
		}
		if !inertHandlers[id] && in.tainted {
			w.errs = append(w.errs, fmt.Errorf("%s: %s (%s) can receive a request after %s judged its path, "+
				"before Gatehouse checked it, so a path like /public/..;/admin or /admin//../secret could be "+
				"judged as one path and served as another; put `gatehouse_sanitize` at the top of the site "+
				"(Caddyfile), or a route with the gatehouse_sanitize handler and no matcher before that "+
				"matcher (JSON)", w.site, hat, id, in.why))
			in.stopped = true
		}
	}
	if in.stopped {
		st.stopped = true
		return st
	}
	if !conditional {
		return in // every request reaching the route ran its handlers
	}
	// Requests that did not take the route are as before; if the route could apply a
	// policy or reach an upstream, whether they took it was a path decision.
	if pathDecision && !st.checked && !w.inertRoute(rt) {
		st.tainted, st.why = true, describeMatchers(rt.MatcherSets)
	}
	return st
}

// invoke walks the named route an invoke handler runs, as if it stood in its place.
func (w *pathWalk) invoke(name, at string, st walkState) walkState {
	rt := w.srv.NamedRoutes[name]
	if rt == nil || w.invoking[name] {
		return st
	}
	if w.invoking == nil {
		w.invoking = map[string]bool{}
	}
	w.invoking[name] = true
	defer delete(w.invoking, name)
	return w.route(*rt, at+".invoke("+name+")", st)
}

// errorRoutes walks error routes (handle_errors), which run with the request's path as it
// is: unchecked if any handler that can fail ran before the path was checked. hosts limits
// server-level error routes to the site's (nil: all).
func (w *pathWalk) errorRoutes(cfg *caddyhttp.HTTPErrorConfig, at string, hosts []string) {
	if cfg == nil || !w.uncheckedRaisers {
		return
	}
	for i, rt := range cfg.Routes {
		if hosts != nil && !sharesHost(hostsOf(rt), hosts) {
			continue
		}
		ew := &pathWalk{site: w.site, srv: w.srv}
		ew.route(rt, fmt.Sprintf("%s[%d]", at, i), walkState{tainted: true,
			why: "an error raised by a handler that ran before Gatehouse (handle_errors)"})
		w.errs = append(w.errs, ew.errs...)
	}
}

// errorless handlers cannot fail a request (so they cannot send it to error routes).
var errorless = map[string]bool{
	"http.handlers.tracing": true, "http.handlers.vars": true, "http.handlers.map": true,
	"http.handlers.headers": true, "http.handlers.log_append": true, "http.handlers.log_skip": true,
	"http.handlers.log_name": true, "http.handlers.push": true, "http.handlers.copy_response_headers": true,
}

// inertRoute reports a route whose handlers cannot apply a Gatehouse policy or reach an
// upstream.
func (w *pathWalk) inertRoute(rt caddyhttp.Route) bool {
	for _, h := range rt.Handlers {
		if gh, _ := pathCheckingHandler(h); gh {
			return false
		}
		if sub, ok := h.(*caddyhttp.Subroute); ok {
			for _, r := range sub.Routes {
				if !w.inertRoute(r) {
					return false
				}
			}
			continue
		}
		if !inertHandlers[caddy.GetModuleID(h)] {
			return false
		}
	}
	return true
}

func hostsOf(rt caddyhttp.Route) []string {
	var hosts []string
	for _, set := range rt.MatcherSets {
		for _, m := range set {
			if h, ok := m.(*caddyhttp.MatchHost); ok {
				hosts = append(hosts, *h...)
			} else if h, ok := m.(caddyhttp.MatchHost); ok {
				hosts = append(hosts, h...)
			}
		}
	}
	return hosts
}

// sharesHost reports whether an error route chosen by hosts a (none: every host) can serve
// a site of hosts b.
func sharesHost(a, b []string) bool {
	if len(a) == 0 {
		return true
	}
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// siteRoutes reports the Caddyfile's shape: every top-level route is chosen by host alone.
func siteRoutes(routes caddyhttp.RouteList) bool {
	if len(routes) == 0 {
		return false
	}
	for _, rt := range routes {
		if len(rt.MatcherSets) == 0 || !pathBlindSets(rt.MatcherSets) {
			return false
		}
	}
	return true
}

func siteName(rt caddyhttp.Route) string {
	hosts := hostsOf(rt)
	if len(hosts) == 0 {
		return "site"
	}
	return "site " + strings.Join(hosts, ", ")
}

// hasGatehouse reports whether routes (or a named route they invoke) hold a Gatehouse
// handler.
func hasGatehouse(srv *caddyhttp.Server, routes caddyhttp.RouteList, seen map[string]bool) bool {
	for _, rt := range routes {
		for _, h := range rt.Handlers {
			if gh, _ := pathCheckingHandler(h); gh {
				return true
			}
			switch h := h.(type) {
			case *caddyhttp.Subroute:
				if hasGatehouse(srv, h.Routes, seen) {
					return true
				}
			case *caddyhttp.Invoke:
				named := srv.NamedRoutes[h.Name]
				if named == nil || seen[h.Name] {
					continue
				}
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[h.Name] = true
				if hasGatehouse(srv, caddyhttp.RouteList{*named}, seen) {
					return true
				}
			}
		}
	}
	return false
}

// pathBlindSets reports whether every matcher of every set ignores the path.
func pathBlindSets(sets caddyhttp.MatcherSets) bool {
	for _, set := range sets {
		for _, m := range set {
			if !pathBlindMatcher(m) {
				return false
			}
		}
	}
	return true
}

func pathBlindMatcher(m any) bool {
	switch n := m.(type) {
	case *caddyhttp.MatchNot:
		for _, set := range n.MatcherSets {
			if !pathBlindSets(caddyhttp.MatcherSets{set}) {
				return false
			}
		}
		return true
	case caddyhttp.MatchNot:
		return pathBlindMatcher(&n)
	}
	return pathBlindMatchers[caddy.GetModuleID(m)]
}

// describeMatchers names the path-dependent matchers of a route for the error message.
func describeMatchers(sets caddyhttp.MatcherSets) string {
	var parts []string
	for _, set := range sets {
		for _, m := range set {
			if pathBlindMatcher(m) {
				continue
			}
			id := caddy.GetModuleID(m)
			switch p := m.(type) {
			case caddyhttp.MatchPath:
				parts = append(parts, "path "+strings.Join(p, " "))
			case *caddyhttp.MatchPath:
				parts = append(parts, "path "+strings.Join(*p, " "))
			default:
				parts = append(parts, strings.TrimPrefix(id, "http.matchers."))
			}
		}
	}
	parts = slices.Compact(parts)
	if len(parts) == 0 {
		return "a matcher"
	}
	return "the matcher `" + strings.Join(parts, "; ") + "`"
}
