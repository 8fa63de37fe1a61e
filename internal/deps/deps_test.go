// Package deps holds only a test: the dependency rules of ../shared/DESIGN.md and STYLE.md
// §8 (who may import Caddy, net/http, zap, the store and each third-party library), checked
// on the import graph of the production code (`go list -deps -json ./...`; test files are
// free). A failure names the offending import chain, from the package to the import.
package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const mod = "github.com/gatehouse-dev/gatehouse"

// pkg is what `go list -json` says about a package.
type pkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	Imports    []string
}

// graph is the import graph of the module's packages and everything they depend on.
type graph struct {
	pkgs map[string]*pkg
	ours []string // the module's packages, sorted
}

func loadGraph(t *testing.T) *graph {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,Standard,GoFiles,Imports", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	g := &graph{pkgs: map[string]*pkg{}}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		g.pkgs[p.ImportPath] = p
		if p.ImportPath == mod || strings.HasPrefix(p.ImportPath, mod+"/") {
			g.ours = append(g.ours, p.ImportPath)
		}
	}
	slices.Sort(g.ours)
	if len(g.ours) < 10 {
		t.Fatalf("go list found %d packages of %s", len(g.ours), mod)
	}
	return g
}

// rel returns the package's path inside the module ("" for the root package).
func rel(path string) string {
	if path == mod {
		return ""
	}
	return strings.TrimPrefix(path, mod+"/")
}

// under tells whether the module's package path is dir or below it.
func under(path string, dirs ...string) bool {
	r := rel(path)
	if !strings.HasPrefix(path, mod) {
		return false
	}
	for _, d := range dirs {
		if r == d || strings.HasPrefix(r, d+"/") {
			return true
		}
	}
	return false
}

func ours(path string) bool { return path == mod || strings.HasPrefix(path, mod+"/") }

// isPath tells whether path is imp or one of its sub-packages (github.com/caddyserver/caddy/v2
// covers github.com/caddyserver/caddy/v2/modules/caddyhttp).
func isPath(path string, imps ...string) bool {
	for _, imp := range imps {
		if path == imp || strings.HasPrefix(path, imp+"/") {
			return true
		}
	}
	return false
}

// chain returns the shortest import chain from "from" to a package that target accepts,
// following only edges whose importer follow accepts (nil: every package), or nil.
func (g *graph) chain(from string, target, follow func(string) bool) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur != from && target(cur) {
			var c []string
			for p := cur; p != ""; p = prev[p] {
				c = append(c, p)
			}
			slices.Reverse(c)
			return c
		}
		if cur != from && follow != nil && !follow(cur) {
			continue
		}
		p := g.pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	return nil
}

func show(c []string) string {
	out := make([]string, len(c))
	for i, p := range c {
		if ours(p) {
			p = "gatehouse/" + rel(p)
			p = strings.TrimSuffix(p, "/")
		}
		out[i] = p
	}
	return strings.Join(out, " → ")
}

// exception is a package allowed to break a rule today, with the reason; every exception
// must still be needed (a ratchet: once the code is fixed, the exception goes).
type exception struct {
	dirs []string // the package and its sub-packages
	why  string
}

// reach says how far a rule follows imports.
type reach int

const (
	direct     reach = iota // the package's own imports
	viaOurs                 // also through the module's other packages
	transitive              // through every package, third-party ones included
)

// rule forbids the module's packages it applies to from importing what it forbids.
type rule struct {
	name string
	// applies selects the module's packages the rule is about.
	applies func(path string) bool
	// forbidden tells which imported package breaks the rule.
	forbidden func(path string) bool
	reach     reach
	// exceptions are the packages that break the rule today, each with the reason.
	exceptions []exception
}

func (g *graph) check(t *testing.T, r rule) {
	t.Run(r.name, func(t *testing.T) {
		used := make([]bool, len(r.exceptions))
		for _, p := range g.ours {
			if !r.applies(p) {
				continue
			}
			var c []string
			switch r.reach {
			case direct:
				c = g.chain(p, r.forbidden, func(string) bool { return false })
			case viaOurs:
				c = g.chain(p, r.forbidden, ours)
			default:
				c = g.chain(p, r.forbidden, nil)
			}
			if c == nil {
				continue
			}
			excused := false
			for i, e := range r.exceptions {
				if under(p, e.dirs...) {
					used[i], excused = true, true
				}
			}
			if !excused {
				t.Errorf("import chain %s", show(c))
			}
		}
		for i, e := range r.exceptions {
			if !used[i] {
				t.Errorf("the exception for %s (%s) is no longer needed: delete it from the rule", strings.Join(e.dirs, ", "), e.why)
			}
		}
	})
}

// TestDependencyRules: the layering of DESIGN.md ("Imports point one way: cmd and the root
// package only blank-import; caddyfile -> module -> handlers -> domain packages -> store.
// Only module/ and caddyfile/ import Caddy; handlers are plain net/http; store/ knows nothing
// of HTTP") and STYLE.md §8, on the production import graph.
func TestDependencyRules(t *testing.T) {
	g := loadGraph(t)
	const (
		caddy      = "github.com/caddyserver/caddy/v2"
		zap        = "go.uber.org/zap"
		badger     = "github.com/dgraph-io/badger/v4"
		pgx        = "github.com/jackc/pgx/v5"
		webauthn   = "github.com/go-webauthn/webauthn"
		otpLib     = "github.com/pquerna/otp"
		jwt        = "github.com/golang-jwt/jwt/v5"
		sessions   = "github.com/gorilla/sessions"
		oidc       = "github.com/coreos/go-oidc/v3"
		prometheus = "github.com/prometheus"
		storePkg   = mod + "/store"
		netHTTP    = "net/http"
		handlers   = "handlers"
		handlerKit = "handlers/web"
		portalKit  = "handlers/portalkit"
	)
	std := func(p string) bool { return g.pkgs[p] != nil && g.pkgs[p].Standard }
	not := func(f func(string) bool) func(string) bool { return func(p string) bool { return !f(p) } }
	for _, r := range []rule{
		{
			name:      "only module, caddyfile, cmd and the root package depend on Caddy",
			applies:   func(p string) bool { return p != mod && !under(p, "module", "caddyfile", "cmd") },
			forbidden: func(p string) bool { return isPath(p, caddy) },
			reach:     transitive,
		},
		{
			name:      "caddyfile imports only module, Caddy and the standard library",
			applies:   func(p string) bool { return under(p, "caddyfile") },
			forbidden: func(p string) bool { return !std(p) && !isPath(p, caddy) && p != mod+"/module" },
		},
		{
			name:      "only the root package imports caddyfile; only caddyfile, cmd and the root package import module",
			applies:   func(p string) bool { return p != mod && !under(p, "caddyfile", "cmd", "module") },
			forbidden: func(p string) bool { return under(p, "caddyfile", "module") },
		},
		{
			name:      "handlers never depend on Caddy or zap (plain net/http and *slog.Logger)",
			applies:   func(p string) bool { return under(p, handlers) },
			forbidden: func(p string) bool { return isPath(p, caddy, zap) },
			reach:     transitive,
		},
		{
			name:      "zap stays in module",
			applies:   func(p string) bool { return !under(p, "module") },
			forbidden: func(p string) bool { return isPath(p, zap) },
		},
		{
			// handlers/portalkit is the portal pages' kit (rendering, CSRF, cookies, sessions,
			// error mapping; no routes), shared by handlers/login/*, handlers/signup and
			// handlers/account; it may import only handlers/web itself.
			name:      "handler packages do not import each other, except the route-free kits handlers/web and handlers/portalkit",
			applies:   func(p string) bool { return under(p, handlers) && !under(p, handlerKit) },
			forbidden: func(p string) bool { return under(p, handlers) && !under(p, handlerKit, portalKit) },
			exceptions: []exception{{dirs: []string{"handlers/console"},
				why: "the console is the Administration API's client: it calls handlers/adminv1 in-process and reads its wire contract (paths, problem type, header names), never its internals"}},
		},
		{
			name:      "domain packages and the store never import handlers (imports point one way)",
			applies:   func(p string) bool { return p != mod && !under(p, "module", "caddyfile", "cmd", handlers) },
			forbidden: func(p string) bool { return under(p, handlers) },
		},
		{
			name:      "store imports only the standard library",
			applies:   func(p string) bool { return p == storePkg },
			forbidden: not(std),
		},
		{
			name:    "store/* imports the standard library, store and its one driver (store/badger: badger; store/postgres: pgx; store/storetest: testing)",
			applies: func(p string) bool { return under(p, "store") && p != storePkg },
			forbidden: func(p string) bool {
				return !std(p) && p != storePkg && !isPath(p, badger) && !isPath(p, pgx) && !isPath(p, mod+"/store/postgres")
			},
		},
		{
			name:      "only store/badger imports badger",
			applies:   func(p string) bool { return !under(p, "store/badger") },
			forbidden: func(p string) bool { return isPath(p, badger) },
		},
		{
			name:      "only store/postgres imports pgx",
			applies:   func(p string) bool { return !under(p, "store/postgres") },
			forbidden: func(p string) bool { return isPath(p, pgx) },
		},
		{
			name:      "nothing under store knows HTTP",
			applies:   func(p string) bool { return under(p, "store") },
			forbidden: func(p string) bool { return isPath(p, netHTTP) },
			reach:     viaOurs,
		},
		{
			// internal/storecli is the `gatehouse store copy|export|import` commands, which open
			// the stores named on their command line (badger:<dir>, postgres:<dsn>).
			name: "store implementations are chosen by the composition root (module), the store commands (internal/storecli), the benchmarks and the test fixture internal/idptest only",
			applies: func(p string) bool {
				return !under(p, "module", "bench", "store", "internal/idptest", "internal/storecli")
			},
			forbidden: func(p string) bool { return under(p, "store") && p != storePkg && !under(p, "store/storetest") },
		},
		{
			name:      "handlers do not import the store",
			applies:   func(p string) bool { return under(p, handlers) },
			forbidden: func(p string) bool { return under(p, "store") },
			exceptions: []exception{{dirs: []string{"handlers/account", "handlers/admin", "handlers/adminv1", "handlers/login", "handlers/oidc", "handlers/portalkit", "handlers/signup"},
				why: "they render store records (store.User, store.Session, store.Passkey, ...) that the domain returns; they hold no store and call none"}},
		},
		{
			name:      "policy imports only the standard library",
			applies:   func(p string) bool { return under(p, "policy") },
			forbidden: not(std),
		},
		{
			name:      "go-webauthn only in the login methods (handlers/login, login/)",
			applies:   func(p string) bool { return !under(p, "handlers/login", "login") },
			forbidden: func(p string) bool { return isPath(p, webauthn) },
		},
		{
			name:      "pquerna/otp only in the authenticator-app method (login/totp)",
			applies:   func(p string) bool { return !under(p, "login/totp") },
			forbidden: func(p string) bool { return isPath(p, otpLib) },
		},
		{
			name:      "go-oidc only in the social-login client (handlers/login, login/, upstream/)",
			applies:   func(p string) bool { return !under(p, "handlers/login", "login", "upstream") },
			forbidden: func(p string) bool { return isPath(p, oidc) },
		},
		{
			name: "golang-jwt only in tokens, keys and upstream (Sign in with Apple's client secret is an ES256 JWT signed with the operator's Apple key, not a Gatehouse key)",
			// examples/ is code for the apps behind Gatehouse (the assertion verifier), not Gatehouse.
			applies:   func(p string) bool { return !under(p, "tokens", "keys", "upstream", "examples") },
			forbidden: func(p string) bool { return isPath(p, jwt) },
		},
		{
			// Issue 15: the collectors live on Caddy's metrics registry, which only module
			// holds; the domain and the handlers report through gatehouse/metrics (a
			// dependency-free observer interface), so they never see a Prometheus type.
			name:      "the Prometheus client only in module (the rest reports through gatehouse/metrics)",
			applies:   func(p string) bool { return !under(p, "module") },
			forbidden: func(p string) bool { return isPath(p, prometheus) },
		},
		{
			name:      "metrics imports only the standard library (everything may import it)",
			applies:   func(p string) bool { return under(p, "metrics") },
			forbidden: not(std),
		},
		{
			name:      "gorilla/sessions only in session",
			applies:   func(p string) bool { return !under(p, "session") },
			forbidden: func(p string) bool { return isPath(p, sessions) },
		},
	} {
		g.check(t, r)
	}
}

// TestBlankImportsOnly: the root package and cmd/ import Gatehouse packages only for their
// side effects (`_ "..."`): the modules register themselves with Caddy, and nothing outside
// module and caddyfile calls into them.
func TestBlankImportsOnly(t *testing.T) {
	g := loadGraph(t)
	for _, path := range g.ours {
		if path != mod && !under(path, "cmd") {
			continue
		}
		p := g.pkgs[path]
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range file.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				if ours(ip) && (imp.Name == nil || imp.Name.Name != "_") {
					t.Errorf("%s imports %s by name: the root package and cmd/ only blank-import Gatehouse packages", show([]string{path}), show([]string{ip}))
				}
			}
		}
	}
}

// TestDomainSpeaksNoHTTP: the domain packages of the identity core speak no HTTP (the issue
// "Put the house in order", the protocol line: request parsing, error codes and HTTP
// statuses are the handlers'; the domain returns typed errors). A domain package's files do
// not import net/http, nor reach it through the module's other packages, except the
// outbound clients listed here with the reason. Like an exception, every listed entry must
// still be needed.
func TestDomainSpeaksNoHTTP(t *testing.T) {
	g := loadGraph(t)
	const netHTTP = "net/http"
	domain := []string{"oauth", "account", "sessions", "mfa", "login", "tokens/issue"}
	// outbound are the files (dir/file.go) or packages (dir) that may import net/http.
	outbound := map[string]string{
		"oauth/backchannel.go": "the back-channel logout client POSTs logout tokens to the relying parties (OIDC Back-Channel Logout 1.0 §2.5)",
		"login/social":         "social login is an OAuth client of upstream providers: it takes their *http.Client and hands it to upstream/",
	}
	used := map[string]bool{}
	allowed := func(key string) (string, bool) {
		for k := range outbound {
			if key == k || strings.HasPrefix(key, k+"/") {
				return k, true
			}
		}
		return "", false
	}
	// A package with an allowed file may be imported without its outbound client counting
	// against the importer: that client is the one listed.
	hasOutbound := func(path string) bool {
		for k := range outbound {
			if strings.HasSuffix(k, ".go") && filepath.Dir(k) == rel(path) {
				return true
			}
			if under(path, k) {
				return true
			}
		}
		return false
	}
	isHTTP := func(p string) bool { return isPath(p, netHTTP) }
	for _, path := range g.ours {
		if !under(path, domain...) {
			continue
		}
		p := g.pkgs[path]
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range file.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				if !isHTTP(ip) {
					continue
				}
				if k, ok := allowed(rel(path) + "/" + f); ok {
					used[k] = true
					continue
				}
				t.Errorf("%s/%s imports %s: parse requests and answer with statuses in handlers/, return typed errors from the domain", rel(path), f, ip)
			}
		}
		if _, ok := allowed(rel(path)); ok {
			continue // an outbound client package: its HTTP dependencies are the listed reason
		}
		for _, imp := range p.Imports {
			if !ours(imp) || hasOutbound(imp) {
				continue
			}
			if c := g.chain(imp, isHTTP, func(q string) bool { return ours(q) && !hasOutbound(q) }); c != nil {
				t.Errorf("import chain %s", show(append([]string{path}, c...)))
			}
		}
	}
	for k, why := range outbound {
		if !used[k] {
			t.Errorf("the outbound client %s (%s) no longer imports %s: delete it from the list", k, why, netHTTP)
		}
	}
}
