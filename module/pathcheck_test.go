package module

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
)

func pathM(p ...string) caddyhttp.MatcherSets {
	m := caddyhttp.MatchPath(p)
	return caddyhttp.MatcherSets{{&m}}
}

func hostM(h ...string) caddyhttp.MatcherSets {
	m := caddyhttp.MatchHost(h)
	return caddyhttp.MatcherSets{{&m}}
}

func site(host string, routes ...caddyhttp.Route) caddyhttp.Route {
	return caddyhttp.Route{MatcherSets: hostM(host), Handlers: []caddyhttp.MiddlewareHandler{
		&caddyhttp.Subroute{Routes: routes}}, Terminal: true}
}

func handle(ms caddyhttp.MatcherSets, hs ...caddyhttp.MiddlewareHandler) caddyhttp.Route {
	return caddyhttp.Route{MatcherSets: ms, Handlers: hs}
}

func group(ms caddyhttp.MatcherSets, routes ...caddyhttp.Route) caddyhttp.Route {
	return handle(ms, &caddyhttp.Subroute{Routes: routes})
}

func server(routes ...caddyhttp.Route) *caddyhttp.App {
	return &caddyhttp.App{Servers: map[string]*caddyhttp.Server{"srv0": {Routes: routes}}}
}

var proxy = &reverseproxy.Handler{}

// TestPathOrderAcceptsCaddyfileShapes: the layouts the README shows (THREATS PX-13): a
// matched gatehouse_protect followed by the adapter's sanitizer, a fully protected site,
// handle blocks under a top-level gatehouse_sanitize, and inert handlers (redir, rewrite)
// deciding on the path before Gatehouse.
func TestPathOrderAcceptsCaddyfileShapes(t *testing.T) {
	for name, app := range map[string]*caddyhttp.App{
		"partly protected": server(site("app.example",
			handle(pathM("/old"), &caddyhttp.StaticResponse{}),
			handle(pathM("/x/*"), &rewrite.Rewrite{}),
			handle(pathM("/admin", "/admin/*"), &Protect{}),
			handle(nil, &Sanitize{}),
			handle(nil, proxy))),
		"fully protected": server(site("app.example",
			handle(nil, &Protect{}),
			group(pathM("/api/*"), handle(nil, proxy)),
			handle(nil, proxy))),
		"handle blocks under sanitize": server(site("app.example",
			handle(nil, &Sanitize{}),
			group(pathM("/admin/*"), handle(nil, &Protect{}), handle(nil, proxy)),
			group(nil, handle(nil, proxy)))),
		"portal": server(site("login.example", handle(nil, &Portal{}), handle(pathM("/x"), proxy))),
		"other site without gatehouse": server(
			site("app.example", handle(nil, &Protect{}), handle(nil, proxy)),
			site("static.example", group(pathM("/files/*"), handle(nil, proxy)))),
		"error routes after the check": func() *caddyhttp.App {
			a := server(site("app.example",
				handle(nil, &Sanitize{}),
				handle(pathM("/private/*"), &caddyhttp.StaticResponse{}),
				group(pathM("/admin/*"), handle(nil, &Protect{}), handle(nil, proxy))))
			a.Servers["srv0"].Errors = &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{site("app.example", handle(nil, proxy))}}
			return a
		}(),
		"invoke after the check": func() *caddyhttp.App {
			a := server(site("app.example",
				handle(nil, &Sanitize{}),
				handle(pathM("/admin/*"), &caddyhttp.Invoke{Name: "up"})))
			a.Servers["srv0"].NamedRoutes = map[string]*caddyhttp.Route{"up": {Handlers: []caddyhttp.MiddlewareHandler{proxy}}}
			return a
		}(),
		"opted out": server(site("app.example",
			handle(nil, &Sanitize{InsecureAllowNonCanonicalPaths: true}),
			group(pathM("/admin/*"), handle(nil, &Protect{}), handle(nil, proxy)),
			group(pathM("/public/*"), handle(nil, proxy)))),
	} {
		if err := checkPathOrder(app); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestPathOrderRefusesUncheckedPathDecisions: a path matcher that can send a request to an
// upstream before any Gatehouse handler checked the path is how `/public/..;/admin/x` (Caddy:
// public; Tomcat: /admin/x) or `/admin//../secret` (Caddy: /secret; Node: /admin/secret)
// skip a policy.
func TestPathOrderRefusesUncheckedPathDecisions(t *testing.T) {
	for name, c := range map[string]struct {
		app  *caddyhttp.App
		want string
	}{
		"handle blocks without sanitize": {server(site("app.example",
			group(pathM("/admin/*"), handle(nil, &Protect{}), handle(nil, proxy)),
			group(nil, handle(nil, proxy)))),
			"site app.example: apps.http.servers.srv0.routes[0].handle[0].routes[1].handle[0].routes[0].handle[0] (http.handlers.reverse_proxy) can receive a request after the matcher `path /admin/*`"},
		"public prefix proxied before the guard": {server(site("app.example",
			group(pathM("/public/*"), handle(nil, proxy)),
			handle(nil, &Protect{}), handle(nil, proxy))),
			"path /public/*"},
		"matched guard without a sanitizer after it": {server(site("app.example",
			handle(pathM("/admin/*"), &Protect{}),
			handle(nil, proxy))),
			"reverse_proxy"},
		"JSON without sites": {server(
			handle(pathM("/admin/*"), &Protect{}),
			handle(pathM("/api/*"), proxy)),
			"server srv0"},
		// Found by review: a guard behind a path-blind matcher (header) does not check the
		// requests that matcher turns away.
		"guard behind a header matcher": {server(site("app.example",
			group(caddyhttp.MatcherSets{{&caddyhttp.MatchHeader{"Authorization": {"Bearer *"}}}}, handle(nil, &Protect{}), handle(nil, proxy)),
			group(pathM("/admin/*"), handle(nil, &Protect{}), handle(nil, proxy)),
			group(nil, handle(nil, proxy)))),
			"path /admin/*"},
		// A guard in a named route (invoke) is a guard like any other.
		"guard in a named route": {func() *caddyhttp.App {
			a := server(site("app.example",
				handle(pathM("/admin/*"), &caddyhttp.Invoke{Name: "adminonly"}),
				handle(nil, proxy)))
			a.Servers["srv0"].NamedRoutes = map[string]*caddyhttp.Route{"adminonly": {Handlers: []caddyhttp.MiddlewareHandler{&Protect{}, proxy}}}
			return a
		}(), "path /admin/*"},
		// handle_errors runs with the request's own path: basic_auth (or anything that can
		// fail) before the guard sends an unchecked /private/..;/admin to the error routes.
		"error routes after an unchecked failure": {func() *caddyhttp.App {
			a := server(site("app.example",
				handle(pathM("/private/*"), &caddyhttp.StaticResponse{}),
				handle(pathM("/admin/*"), &Protect{}), handle(nil, &Sanitize{}), handle(nil, proxy)))
			a.Servers["srv0"].Errors = &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{site("app.example", handle(nil, proxy))}}
			return a
		}(), "handle_errors"},
		"check inside a conditional branch does not cover the rest": {server(site("app.example",
			group(pathM("/a/*"), handle(nil, &Sanitize{}), handle(nil, proxy)),
			group(pathM("/b/*"), handle(nil, proxy)),
			handle(nil, &Protect{}))),
			"path /b/*"},
	} {
		err := checkPathOrder(c.app)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "gatehouse_sanitize") {
			t.Errorf("%s: error %q does not name %q and the fix", name, err, c.want)
		}
	}
}
