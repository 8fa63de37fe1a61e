package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // the caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"golang.org/x/oauth2"

	_ "github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/module"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Password is the password of every test user.
const Password = "correct horse battery staple"

// Env is one running Gatehouse: Caddy loaded from a Caddyfile rendered for free ports, a
// Badger directory of its own and a recording upstream.
type Env struct {
	t *testing.T

	// Dir is the Badger directory; CaddyDir is Caddy's own storage; LogFile its log.
	Dir, CaddyDir, LogFile string

	PortalPort, AdminPort, AppPort, App2Port, RPPort int
	// Issuer is the portal's URL; App and App2 are protected sites; RP is an address where
	// nothing listens, used for relying-party redirect URIs that the test never fetches.
	Issuer, App, App2, RP string
	// AdminAddr is host:port of Caddy's admin endpoint.
	AdminAddr string

	Upstream     *Upstream
	UpstreamAddr string

	cfg Config
}

// Config is what a test adds to the base Caddyfile. Both fields are text/templates over Env.
type Config struct {
	// Gatehouse is the body of the `gatehouse { }` global option after issuer and storage.
	Gatehouse string
	// Sites are the site blocks besides the portal.
	Sites string
	// Localhost names every site http://localhost:<port> instead of http://127.0.0.1:<port>
	// (WebAuthn needs a domain name: with an IP issuer, passkeys are off).
	Localhost bool
	// Storage, if set, replaces the storage line `storage badger {{.Dir}}` (a template too).
	Storage string
	// Global is added to the global options (a template too), such as a `log` of its own.
	Global string
}

// AppClient is a public client for the protected site App, with the read:docs scope.
const AppClient = `
		client app {
			name "Test app"
			redirect_uri {{.App}}/.gatehouse/callback {{.RP}}/app-cb
			scopes openid profile email offline_access read:docs
		}`

// AppSite is App protected with scope read:docs in front of the recording upstream.
const AppSite = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		scope read:docs
	}
	reverse_proxy {{.UpstreamAddr}}
}`

const baseCaddyfile = `{
	admin {{.AdminAddr}}
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system {{.CaddyDir}}
	log {
		output file {{.LogFile}}
		level WARN
	}
	{{.Global}}
	gatehouse {
		issuer {{.Issuer}}
		{{.Storage}}
		{{.Extra}}
	}
}

{{.Issuer}} {
	bind 127.0.0.1
	gatehouse_portal
}
{{.Sites}}
`

// Start loads a Gatehouse configuration and stops it when the test ends.
func Start(t *testing.T, cfg Config) *Env {
	t.Helper()
	tmp := t.TempDir()
	e := &Env{t: t, Dir: filepath.Join(tmp, "badger"), CaddyDir: filepath.Join(tmp, "caddy"),
		LogFile: filepath.Join(tmp, "caddy.log"), cfg: cfg}
	e.PortalPort, e.AdminPort, e.AppPort, e.App2Port, e.RPPort = freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	host := "127.0.0.1"
	if cfg.Localhost {
		host = "localhost"
	}
	e.Issuer = fmt.Sprintf("http://%s:%d", host, e.PortalPort)
	e.App = fmt.Sprintf("http://%s:%d", host, e.AppPort)
	e.App2 = fmt.Sprintf("http://%s:%d", host, e.App2Port)
	e.RP = fmt.Sprintf("http://%s:%d", host, e.RPPort)
	e.AdminAddr = fmt.Sprintf("127.0.0.1:%d", e.AdminPort)
	e.Upstream = NewUpstream(t)
	e.UpstreamAddr = e.Upstream.Addr()
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("caddy.Stop: %v", err)
		}
		if t.Failed() {
			e.dumpLog()
		}
	})
	// A first load: fresh ports, so no old servers to wait out (see Load).
	e.cfg = cfg
	if err := LoadCaddyfile(e.Render(cfg)); err != nil {
		t.Fatalf("load config: %v", err)
	}
	return e
}

// T returns a copy of e that reports to t (for subtests).
func (e *Env) T(t *testing.T) *Env {
	c := *e
	c.t = t
	return &c
}

// Render returns the Caddyfile for cfg.
func (e *Env) Render(cfg Config) string {
	e.t.Helper()
	extra := e.exec(cfg.Gatehouse)
	sites := e.exec(cfg.Sites)
	storage := "storage badger " + e.Dir
	if cfg.Storage != "" {
		storage = e.exec(cfg.Storage)
	}
	var buf bytes.Buffer
	tmpl := template.Must(template.New("base").Parse(baseCaddyfile))
	data := struct {
		*Env
		Extra, Sites, Storage, Global string
	}{e, extra, sites, storage, e.exec(cfg.Global)}
	if err := tmpl.Execute(&buf, data); err != nil {
		e.t.Fatalf("render Caddyfile: %v", err)
	}
	return buf.String()
}

func (e *Env) exec(src string) string {
	var buf bytes.Buffer
	if err := template.Must(template.New("part").Parse(src)).Execute(&buf, e); err != nil {
		e.t.Fatalf("render Caddyfile part: %v", err)
	}
	return buf.String()
}

// Load adapts and loads cfg in place of the test's running configuration (a reload).
//
// Caddy listens with SO_REUSEPORT: until the old servers have closed their sockets (Load
// returns once their shutdown has started, not finished), the kernel may queue a new
// connection on an old socket, and closing it resets the connection. Browsers retry that;
// Load waits it out and drops the shared API client's keep-alive connections to the old
// servers (a test's own Browser should call C.CloseIdleConnections after a reload).
func (e *Env) Load(cfg Config) error {
	e.cfg = cfg
	if err := LoadCaddyfile(e.Render(cfg)); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	API.CloseIdleConnections()
	return nil
}

// LoadCaddyfile adapts a Caddyfile and loads it into the process's Caddy.
func LoadCaddyfile(src string) error {
	cfgJSON, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return fmt.Errorf("adapt: %w\n%s", err, src)
	}
	for _, w := range warnings {
		if !strings.Contains(w.Message, "formatted") {
			fmt.Fprintf(os.Stderr, "caddyfile warning: %s\n", w.String())
		}
	}
	return caddy.Load(cfgJSON, true)
}

func (e *Env) dumpLog() {
	b, err := os.ReadFile(e.LogFile)
	if err != nil {
		return
	}
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	e.t.Logf("caddy log (tail):\n%s", b)
}

var (
	pickedMu sync.Mutex
	picked   = map[int]bool{}
)

// freePort returns a loopback port a server can listen on a moment later (fatal if none).
func freePort(t testing.TB) int {
	t.Helper()
	port, err := pickPort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

// pickPort returns a free loopback port below the kernel's ephemeral range (32768–60999 by
// default): a port from that range, free when checked, can be taken before the server binds
// it by the local end of any outgoing connection the tests open meanwhile ("address already
// in use"). A port is handed out once per test process, so two servers of one test never
// get the same one.
func pickPort() (int, error) {
	pickedMu.Lock()
	defer pickedMu.Unlock()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if picked[port] {
			continue
		}
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			picked[port] = true
			return port, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Provider returns the running identity provider (white-box access for forging tokens with
// the real key and for inspecting or breaking the store).
func Provider(t *testing.T) *idp.Provider {
	t.Helper()
	app, err := caddy.ActiveContext().App("gatehouse")
	if err != nil {
		t.Fatalf("gatehouse app: %v", err)
	}
	return app.(*module.App).Provider()
}

// ---------------------------------------------------------------------------------------
// Recording upstream

// Recorded is a request the upstream received.
type Recorded struct {
	Method string
	URI    string
	Host   string
	Header http.Header
	// Trailer holds the request trailers (the body is read to the end first).
	Trailer http.Header
}

// Upstream is an echo server that records every request.
type Upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Recorded
}

// NewUpstream starts a recording upstream, closed when the test ends.
func NewUpstream(t *testing.T) *Upstream {
	u := &Upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rec := Recorded{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Trailer: r.Trailer.Clone()}
		u.mu.Lock()
		u.reqs = append(u.reqs, rec)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "headers": r.Header})
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// Addr returns host:port.
func (u *Upstream) Addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

// Count returns how many requests arrived.
func (u *Upstream) Count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// Last returns the last request (fatal if none).
func (u *Upstream) Last(t *testing.T) Recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.reqs[len(u.reqs)-1]
}

// normName compares header names the way a lenient upstream might: case-insensitively, with
// '_' equal to '-'.
func normName(n string) string { return strings.ReplaceAll(strings.ToLower(n), "_", "-") }

// Values returns every value of every header whose name normalises to name's.
func (r Recorded) Values(name string) []string {
	var out []string
	for k, v := range r.Header {
		if normName(k) == normName(name) {
			out = append(out, v...)
		}
	}
	return out
}

// Cookies returns the cookie names the upstream received.
func (r Recorded) Cookies() []string {
	var names []string
	for _, v := range r.Values("Cookie") {
		for part := range strings.SplitSeq(v, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// ---------------------------------------------------------------------------------------
// HTTP helpers

// Resp is a fully read response.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
	// URL is the URL of the request that produced this response.
	URL *url.URL
	// Hops are the URLs visited (Browser.Go).
	Hops []string
}

// JSON decodes the body as a JSON object.
func (r *Resp) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response from %s (HTTP %d) is not JSON: %v\n%s", r.URL, r.Status, err, r.Body)
	}
	return m
}

// Location returns the parsed Location header resolved against the request URL.
func (r *Resp) Location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("%s: HTTP %d without Location\n%s", r.URL, r.Status, r.Body)
	}
	u, err := r.URL.Parse(loc)
	if err != nil {
		t.Fatalf("bad Location %q: %v", loc, err)
	}
	return u
}

func (r *Resp) String() string {
	return fmt.Sprintf("%v → HTTP %d %s", r.URL, r.Status, truncate(string(r.Body), 600))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

var noRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// API is a client without cookies that does not follow redirects.
var API = &http.Client{CheckRedirect: noRedirect, Timeout: 30 * time.Second}

// Do sends req with client c and reads the whole response.
func Do(t *testing.T, c *http.Client, req *http.Request) *Resp {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: req.URL}
}

// NewRequest builds a request; body may be nil, url.Values (form) or []byte/string (sent
// as is, set Content-Type yourself) or any other value (JSON).
func NewRequest(t *testing.T, method, rawURL string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

// Get sends an API GET with optional bearer token.
func Get(t *testing.T, rawURL, bearer string) *Resp {
	t.Helper()
	req := NewRequest(t, http.MethodGet, rawURL, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return Do(t, API, req)
}

// RawRequest writes raw (an HTTP/1.1 request, "\n" line ends are turned into CRLF) to addr
// and reads the response, so that header names, order and duplicates are exactly as
// written.
func RawRequest(t *testing.T, addr, raw string) *Resp {
	t.Helper()
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatalf("write raw request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read raw response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	u, _ := url.Parse("http://" + addr + "/")
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: u}
}

// ---------------------------------------------------------------------------------------
// Browser

// Browser is a cookie-keeping client that asks for HTML and follows redirects itself.
type Browser struct {
	t   *testing.T
	Jar *cookiejar.Jar
	C   *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t *testing.T) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, Jar: jar, C: &http.Client{Jar: jar, CheckRedirect: noRedirect, Timeout: 30 * time.Second}}
}

// Do sends one request (no redirect following). form, if not nil, is POSTed.
func (b *Browser) Do(method, rawURL string, form url.Values) *Resp {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = NewRequest(b.t, method, rawURL, form)
	} else {
		req = NewRequest(b.t, method, rawURL, nil)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("User-Agent", "gatehouse-e2e-browser")
	return Do(b.t, b.C, req)
}

// Go sends a request and follows redirects until an answer that is not a redirect, or until
// stop reports true for the next URL (then the redirect itself is returned). A redirect
// after a POST must be 302/303 (AS-19: never 307/308, which would re-send credentials).
func (b *Browser) Go(method, rawURL string, form url.Values, stop func(*url.URL) bool) *Resp {
	b.t.Helper()
	var hops []string
	for i := 0; i < 20; i++ {
		r := b.Do(method, rawURL, form)
		hops = append(hops, method+" "+rawURL)
		r.Hops = hops
		if r.Status < 300 || r.Status > 399 || r.Header.Get("Location") == "" {
			return r
		}
		if method == http.MethodPost && (r.Status == 307 || r.Status == 308) {
			b.t.Errorf("POST %s answered %d: credentials would be re-posted (AS-19)", rawURL, r.Status)
		}
		next := r.Location(b.t)
		if stop != nil && stop(next) {
			return r
		}
		method, rawURL, form = http.MethodGet, next.String(), nil
	}
	b.t.Fatalf("too many redirects: %v", hops)
	return nil
}

// Cookie returns the value of the named cookie the jar holds for rawURL ("" if none).
func (b *Browser) Cookie(rawURL, name string) string {
	u, _ := url.Parse(rawURL)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	csrfRe     = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	returnToRe = regexp.MustCompile(`name="return_to" value="([^"]*)"`)
)

// FormField scrapes a hidden field's value from an HTML page.
func FormField(t *testing.T, r *Resp, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("%s: no %s in page (HTTP %d):\n%s", r.URL, re, r.Status, truncate(string(r.Body), 2000))
	}
	return html.UnescapeString(string(m[1]))
}

// StopAt stops Browser.Go before fetching any URL on origin (a relying party's redirect
// URI, where nothing listens).
func StopAt(origin string) func(*url.URL) bool {
	return func(u *url.URL) bool { return strings.HasPrefix(u.String(), origin+"/") }
}

// SubmitLogin fills in the login form of page p (a /login page) and follows the redirects
// (until stop, if given).
func (e *Env) SubmitLogin(b *Browser, p *Resp, email, pw string, stop func(*url.URL) bool) *Resp {
	e.t.Helper()
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.Path, "/login") {
		e.t.Fatalf("expected the login page, got %s", p)
	}
	form := url.Values{"csrf_token": {FormField(e.t, p, csrfRe)}, "return_to": {FormField(e.t, p, returnToRe)},
		"email": {email}, "password": {pw}}
	return b.Go(http.MethodPost, e.Issuer+"/login", form, stop)
}

// BrowserLogin opens target (a protected page), logs in on the portal's form and follows the
// redirects back; it returns the final answer.
func (e *Env) BrowserLogin(b *Browser, target, email, pw string) *Resp {
	e.t.Helper()
	p := b.Go(http.MethodGet, target, nil, nil)
	return e.SubmitLogin(b, p, email, pw, nil)
}

// PortalLogin logs the browser in at the portal itself.
func (e *Env) PortalLogin(b *Browser, email, pw string) {
	e.t.Helper()
	p := b.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
	r := e.SubmitLogin(b, p, email, pw, nil)
	if r.Status != http.StatusOK || r.URL.Path != "/" {
		e.t.Fatalf("portal login as %s: %s", email, r)
	}
}

// ---------------------------------------------------------------------------------------
// OAuth helpers

// AuthParams returns the parameters of an authorization request with PKCE and its verifier.
func AuthParams(clientID, redirectURI, scope string) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {scope},
		"state":                 {"st-" + oauth2.GenerateVerifier()[:16]},
		"nonce":                 {"n-" + oauth2.GenerateVerifier()[:16]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}, verifier
}

// Authorize sends the browser (logged in at the portal) to /authorize and returns the
// authorization response's query at the redirect URI.
func (e *Env) Authorize(b *Browser, params url.Values) url.Values {
	e.t.Helper()
	ru := params.Get("redirect_uri")
	r := b.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, func(u *url.URL) bool {
		return strings.HasPrefix(u.String(), ru)
	})
	if r.Status != http.StatusFound {
		e.t.Fatalf("authorize: expected a redirect to the client, got %s (hops %v)", r, r.Hops)
	}
	loc := r.Location(e.t)
	if !strings.HasPrefix(loc.String(), ru+"?") {
		e.t.Fatalf("authorize: redirected to %s, not to the redirect URI", loc)
	}
	return loc.Query()
}

// Code returns an authorization code for a browser logged in at the portal, and the PKCE
// verifier.
func (e *Env) Code(b *Browser, clientID, redirectURI, scope string) (string, string) {
	e.t.Helper()
	params, verifier := AuthParams(clientID, redirectURI, scope)
	q := e.Authorize(b, params)
	if q.Get("code") == "" {
		e.t.Fatalf("authorize: no code: %v", q)
	}
	if q.Get("state") != params.Get("state") {
		e.t.Fatalf("authorize: state %q, want %q", q.Get("state"), params.Get("state"))
	}
	return q.Get("code"), verifier
}

// Token posts a token request; basic, if given, is client_id and secret for
// client_secret_basic.
func (e *Env) Token(form url.Values, basic ...string) *Resp {
	e.t.Helper()
	req := NewRequest(e.t, http.MethodPost, e.Issuer+"/token", form)
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return Do(e.t, API, req)
}

// Tokens runs the code flow for a public client with PKCE and returns the token response.
func (e *Env) Tokens(b *Browser, clientID, redirectURI, scope string) map[string]any {
	e.t.Helper()
	code, verifier := e.Code(b, clientID, redirectURI, scope)
	r := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {clientID}, "code_verifier": {verifier}})
	if r.Status != http.StatusOK {
		e.t.Fatalf("token: %s", r)
	}
	return r.JSON(e.t)
}

// AccessToken runs the code flow for the app client and returns the access token.
func (e *Env) AccessToken(b *Browser, scope string) string {
	e.t.Helper()
	return e.Tokens(b, "app", e.RP+"/app-cb", scope)["access_token"].(string)
}

// Refresh posts a refresh_token grant for a public client.
func (e *Env) Refresh(clientID, rt string) *Resp {
	e.t.Helper()
	return e.Token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}})
}

// Userinfo calls /userinfo with a bearer token.
func (e *Env) Userinfo(at string) *Resp {
	e.t.Helper()
	return Get(e.t, e.Issuer+"/userinfo", at)
}

// ---------------------------------------------------------------------------------------
// Admin API

// Admin calls the admin API (Caddy's admin endpoint checks Host, which is the admin
// address here).
func (e *Env) Admin(method, path string, body any) *Resp {
	e.t.Helper()
	req := NewRequest(e.t, method, "http://"+e.AdminAddr+path, body)
	req.Host = e.AdminAddr
	return Do(e.t, API, req)
}

// CreateUser creates a user with Password through the admin API and returns its ID.
func (e *Env) CreateUser(email string, groups ...string) string {
	e.t.Helper()
	if groups == nil {
		groups = []string{}
	}
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": email, "password": Password,
		"fname": "Ada", "lname": "Lovelace", "groups": groups, "email_verified": true})
	if r.Status != http.StatusCreated {
		e.t.Fatalf("create user %s: %s", email, r)
	}
	return r.JSON(e.t)["id"].(string)
}

// APILogin logs in through the JSON API and returns the response (with the session cookie
// in Set-Cookie on success).
func (e *Env) APILogin(email, pw string) *Resp {
	e.t.Helper()
	return Do(e.t, API, NewRequest(e.t, http.MethodPost, e.Issuer+"/api/v1/login/password",
		map[string]string{"email": email, "password": pw}))
}

// WaitNextSecond sleeps into the next wall-clock second. Revocations of a user cover every
// token issued in the second of the revocation (iat has one-second resolution), so a test
// that logs in again after disabling or re-enabling a user waits for the next second.
func WaitNextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + 50*time.Millisecond).Sub(now))
}

// Ctx returns a context cancelled at the end of the test.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// JWTClaims decodes a JWT's payload without checking its signature (the token comes straight
// from the token endpoint; signatures are checked by the OIDC suites).
func JWTClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// AgeSessions moves the authentication time of every session of the user back by d (the
// store is the only clock the running server has).
func AgeSessions(t *testing.T, userID string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	st := Provider(t).Store
	sessions, err := st.ListUserSessions(ctx, userID)
	if err != nil || len(sessions) == 0 {
		t.Fatalf("sessions of %s: %v (%d)", userID, err, len(sessions))
	}
	for _, s := range sessions {
		if _, err := st.UpdateSession(ctx, s.ID, func(s store.Session) (store.Session, error) {
			s.AuthTime = s.AuthTime.Add(-d)
			return s, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
