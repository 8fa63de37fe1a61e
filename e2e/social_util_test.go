package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The upstream OpenID providers of the social login tests: one Node.js process
// (e2e/upstream/provider.mjs, oidc-provider) serving two providers on loopback ports,
// started at the first test that needs it and shared by the tests of the package run. It
// ends with the test binary: it exits when its standard input, a pipe from this process,
// closes.
var (
	soOnce   sync.Once
	soShared *soNode
	soErr    error
)

// soNode is the running provider process.
type soNode struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error } // kept open: the process exits when it closes
	out   *soLog
	ops   map[string]*soOP
}

// soOP is one upstream OpenID provider.
type soOP struct {
	Name, Issuer string
	// IDTokenClaims: email, profile and groups are in the ID token (as at Google); else only
	// at userinfo (oidc-provider's default).
	IDTokenClaims bool
	key           *rsa.PrivateKey
	kid           string
}

// soLog collects the process's output for failure messages.
type soLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *soLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 64<<10 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *soLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// soUpstreams returns the shared upstream providers "corp" (claims in the ID token) and
// "other" (claims at userinfo), starting them at the first call. Without Node.js or the
// package the test skips, saying what to install, or fails when GATEHOUSE_REQUIRE_TOOLS=1
// (scripts/test.sh): see internal/testenv.
func soUpstreams(t *testing.T) *soNode {
	t.Helper()
	node := testenv.Node(t, "this social login test (oidc-provider as the upstream OpenID provider)", "upstream", "oidc-provider")
	soOnce.Do(func() { soShared, soErr = soLaunch(node) })
	if soErr != nil {
		t.Fatal(soErr)
	}
	return soShared
}

func soLaunch(node string) (*soNode, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "e2e", "upstream")
	n := &soNode{out: &soLog{}, ops: map[string]*soOP{}}
	var providers []map[string]any
	for _, name := range []string{"corp", "other"} {
		port, err := pickPort()
		if err != nil {
			return nil, err
		}
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		op := &soOP{Name: name, Issuer: fmt.Sprintf("http://127.0.0.1:%d", port), IDTokenClaims: name == "corp",
			key: key, kid: name + "-key-1"}
		n.ops[name] = op
		providers = append(providers, map[string]any{"name": name, "port": port, "issuer": op.Issuer,
			"idTokenClaims": op.IDTokenClaims, "jwk": soPrivateJWK(key, op.kid)})
	}
	cfg, err := json.Marshal(map[string]any{"providers": providers})
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "gatehouse-upstream-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(cfg); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	n.cmd = exec.Command(node, "provider.mjs", "--config", f.Name())
	n.cmd.Dir = dir
	n.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	stdin, err := n.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	n.stdin = stdin
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node e2e/upstream/provider.mjs: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- n.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for _, op := range n.ops {
		for {
			res, err := http.Get(op.Issuer + "/.well-known/openid-configuration")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case err := <-exited:
				return nil, fmt.Errorf("node e2e/upstream/provider.mjs exited (%v) before serving its discovery document:\n%s", err, n.out)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				_ = n.cmd.Process.Kill()
				return nil, fmt.Errorf("node e2e/upstream/provider.mjs did not serve %s/.well-known/openid-configuration within 30 s:\n%s", op.Issuer, n.out)
			}
		}
	}
	return n, nil
}

// soPrivateJWK encodes an RSA private key as a JWK for oidc-provider's keystore.
func soPrivateJWK(k *rsa.PrivateKey, kid string) map[string]any {
	k.Precompute()
	b := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b(k.N), "e": b(big.NewInt(int64(k.E))), "d": b(k.D), "p": b(k.Primes[0]), "q": b(k.Primes[1]),
		"dp": b(k.Precomputed.Dp), "dq": b(k.Precomputed.Dq), "qi": b(k.Precomputed.Qinv)}
}

// op returns the named upstream provider.
func (n *soNode) op(name string) *soOP { return n.ops[name] }

// soUser is a user of an upstream provider (its claims).
type soUser struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name,omitempty"`
	GivenName     string   `json:"given_name,omitempty"`
	FamilyName    string   `json:"family_name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
}

func (op *soOP) control(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	r := Do(t, API, NewRequest(t, method, op.Issuer+path, body))
	if r.Status != http.StatusOK {
		t.Fatalf("upstream %s control %s %s: %s", op.Name, method, path, r)
	}
	return r.Body
}

// setUser creates or replaces an upstream user.
func (op *soOP) setUser(t *testing.T, u soUser) {
	t.Helper()
	op.control(t, http.MethodPost, "/_test/users", u)
}

// requests returns the requests the provider received since the last reset, as
// "METHOD /path".
func (op *soOP) requests(t *testing.T) []string {
	t.Helper()
	var out struct{ Requests []string }
	if err := json.Unmarshal(op.control(t, http.MethodGet, "/_test/requests", nil), &out); err != nil {
		t.Fatal(err)
	}
	return out.Requests
}

func (op *soOP) resetRequests(t *testing.T) {
	t.Helper()
	op.control(t, http.MethodPost, "/_test/requests/reset", map[string]any{})
}

// soBackChannel are the requests that only Gatehouse itself makes to an OpenID provider.
var soBackChannel = []string{"GET /.well-known/openid-configuration", "GET /jwks", "POST /token", "GET /me"}

// gatehouseRequests counts, since the last reset, the requests of each back-channel kind
// (those the browser never makes), and their total.
func (op *soOP) gatehouseRequests(t *testing.T) (map[string]int, int) {
	t.Helper()
	counts, total := map[string]int{}, 0
	for _, r := range op.requests(t) {
		if slices.Contains(soBackChannel, r) {
			counts[r]++
			total++
		}
	}
	return counts, total
}

// tamper makes the provider's next token response carry idToken instead of its own.
func (op *soOP) tamper(t *testing.T, idToken string) {
	t.Helper()
	op.control(t, http.MethodPost, "/_test/tamper", map[string]string{"id_token": idToken})
}

// sign signs claims as an ID token with the provider's own key (kid and all).
func (op *soOP) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = op.kid
	s, err := tok.SignedString(op.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// soSocial is a `social` block of the gatehouse option for provider op under name, with
// the test client registered for this Gatehouse instance (see provider.mjs) and more
// option lines.
func soSocial(name string, op *soOP, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n\t\tsocial %s {\n\t\t\tissuer %s\n", name, op.Issuer)
	fmt.Fprintf(&b, "\t\t\tclient_id gatehouse-{{.PortalPort}}-%s\n\t\t\tclient_secret secret-gatehouse-{{.PortalPort}}-%s\n", name, name)
	for _, l := range lines {
		fmt.Fprintf(&b, "\t\t\t%s\n", l)
	}
	b.WriteString("\t\t}\n")
	return b.String()
}

// ---------------------------------------------------------------------------------------
// Browser trips through an upstream provider

// soTrip is one trip of a browser through an upstream provider.
type soTrip struct {
	// Auth is the authorization request Gatehouse sent the browser to.
	Auth *url.URL
	// Callback is where the upstream sent the browser back: Gatehouse's callback, not
	// fetched yet.
	Callback *url.URL
	// Form, when the upstream answered with response_mode=form_post, is what the browser
	// posts to Callback.
	Form url.Values
	// Prompts are the upstream's interaction prompts the user went through.
	Prompts []string
}

var (
	soFormPostRe = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	soHiddenRe   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"/>`)
	// Gatehouse's re-post page (social_repost.html).
	soRepostRe      = regexp.MustCompile(`<form method="post" action="([^"]*)" data-autosubmit>`)
	soRepostFieldRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// deliver makes the browser follow the upstream's answer to Gatehouse's callback (stop as
// in Browser.Go). A posted answer (form_post) comes from the upstream's page, another site:
// like a real browser, it carries none of the portal's SameSite=Lax cookies, and Gatehouse
// answers with a page that posts the same fields again from its own origin, which the
// browser then submits with its cookies (app.js does it on load).
func (tr soTrip) deliver(b *Browser, stop func(*url.URL) bool) *Resp {
	if tr.Form == nil {
		return b.Go(http.MethodGet, tr.Callback.String(), nil, stop)
	}
	t := b.t
	t.Helper()
	crossSite := &Browser{t: t, C: &http.Client{CheckRedirect: noRedirect, Timeout: 30 * time.Second}}
	r := crossSite.Do(http.MethodPost, tr.Callback.String(), tr.Form)
	m := soRepostRe.FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil || len(r.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("cross-site POST of the upstream's answer: want the re-post page and no cookie set (the state and CSRF cookies left alone), got %s (Set-Cookie %q)", r, r.Header.Values("Set-Cookie"))
	}
	action, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil || action.Path != tr.Callback.Path {
		t.Fatalf("re-post page posts to %q, want %s", m[1], tr.Callback.Path)
	}
	fields := url.Values{}
	for _, in := range soRepostFieldRe.FindAllSubmatch(r.Body, -1) {
		fields.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	for _, k := range []string{"state", "code", "error", "iss"} {
		if fields.Get(k) != tr.Form.Get(k) {
			t.Fatalf("re-post page changed %s: %q, posted %q", k, fields.Get(k), tr.Form.Get(k))
		}
	}
	return b.Go(http.MethodPost, tr.Callback.ResolveReference(action).String(), fields, stop)
}

func soIsCallback(u *url.URL) bool {
	return strings.HasPrefix(u.Path, "/login/social/") && strings.HasSuffix(u.Path, "/callback")
}

// soThrough sends the browser from start (a Gatehouse URL that redirects to an upstream
// provider; form, if not nil, is POSTed) through the upstream: it logs in there as sub
// when asked, then consents, or denies if deny is set, until the upstream sends the
// browser back to Gatehouse's callback.
func soThrough(t *testing.T, b *Browser, method, start string, form url.Values, sub string, deny bool) soTrip {
	t.Helper()
	var trip soTrip
	su, _ := url.Parse(start)
	r := b.Go(method, start, form, soIsCallback)
	for range 8 {
		for _, h := range r.Hops {
			_, raw, _ := strings.Cut(h, " ")
			if u, err := url.Parse(raw); err == nil && trip.Auth == nil && u.Host != su.Host {
				trip.Auth = u
			}
		}
		if r.Status >= 300 && r.Status <= 399 {
			if loc := r.Location(t); soIsCallback(loc) {
				trip.Callback = loc
				return trip
			}
		}
		if m := soFormPostRe.FindSubmatch(r.Body); r.Status == http.StatusOK && m != nil {
			// response_mode=form_post: a page that posts the answer to the callback.
			cb, err := url.Parse(html.UnescapeString(string(m[1])))
			if err != nil || !soIsCallback(cb) {
				t.Fatalf("form_post page posting to %q", m[1])
			}
			trip.Callback, trip.Form = cb, url.Values{}
			for _, in := range soHiddenRe.FindAllSubmatch(r.Body, -1) {
				trip.Form.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
			}
			return trip
		}
		if r.Status != http.StatusOK || !strings.HasPrefix(r.URL.Path, "/interaction/") {
			t.Fatalf("trip through the upstream from %s: expected an interaction or a redirect to the callback, got %s (hops %v)", start, r, r.Hops)
		}
		prompt, _ := r.JSON(t)["prompt"].(string)
		trip.Prompts = append(trip.Prompts, prompt)
		base := r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
		switch {
		case prompt == "login":
			r = b.Go(http.MethodPost, base+"/login", url.Values{"login": {sub}}, soIsCallback)
		case prompt == "consent" && deny:
			r = b.Go(http.MethodPost, base+"/abort", url.Values{}, soIsCallback)
		case prompt == "consent":
			r = b.Go(http.MethodPost, base+"/confirm", url.Values{}, soIsCallback)
		default:
			t.Fatalf("upstream prompt %q: %s", prompt, r)
		}
	}
	t.Fatalf("no way back from the upstream after prompts %v", trip.Prompts)
	return trip
}

// soLogin runs a whole social login in the browser at the portal: start, upstream (as sub),
// callback, and returns the final answer.
func soLogin(t *testing.T, e *Env, b *Browser, provider, sub string) *Resp {
	t.Helper()
	trip := soThrough(t, b, http.MethodGet, e.Issuer+"/login/social/"+provider, nil, sub, false)
	return trip.deliver(b, nil)
}

// soLoggedIn checks that r is the account page after a login as userID (or, with userID
// "", as anyone) and returns the session's user ID.
func soLoggedIn(t *testing.T, e *Env, b *Browser, what string, r *Resp, userID string) string {
	t.Helper()
	if r.Status != http.StatusOK || r.URL.Path != "/" {
		t.Fatalf("%s: expected the account page, got %s (hops %v)", what, r, r.Hops)
	}
	s := soSession(t, e, b)
	if s == nil {
		t.Fatalf("%s: no session", what)
	}
	if userID != "" && s.User.ID != userID {
		t.Fatalf("%s: logged in as %s, want %s", what, s.User.ID, userID)
	}
	return s.User.ID
}

// soSessionInfo is the answer of GET /api/v1/session.
type soSessionInfo struct {
	Authenticated bool `json:"authenticated"`
	User          struct {
		ID     string   `json:"id"`
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	} `json:"user"`
	AMR []string `json:"amr"`
}

// soSession returns the browser's session at the portal, or nil.
func soSession(t *testing.T, e *Env, b *Browser) *soSessionInfo {
	t.Helper()
	r := Do(t, b.C, NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil))
	if r.Status == http.StatusUnauthorized {
		return nil
	}
	var s soSessionInfo
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &s) != nil || !s.Authenticated {
		t.Fatalf("session: %s", r)
	}
	return &s
}

// soRefused checks that r is the portal's error page with title, status and error code.
func soRefused(t *testing.T, what string, r *Resp, status int, title, code string) {
	t.Helper()
	if r.Status != status || !bytes.Contains(r.Body, []byte("<h2>"+title+"</h2>")) ||
		!bytes.Contains(r.Body, []byte("Error code: <code>"+code+"</code>")) {
		t.Errorf("%s: want HTTP %d %q (%s), got %s", what, status, title, code, r)
	}
}

// soNoSession checks that the browser has no session at the portal.
func soNoSession(t *testing.T, e *Env, b *Browser, what string) {
	t.Helper()
	if s := soSession(t, e, b); s != nil {
		t.Errorf("%s: the browser has a session as %s", what, s.User.Email)
	}
}

// soToUpstream stops Browser.Go before it leaves the portal.
func soToUpstream(e *Env) func(*url.URL) bool {
	iss, _ := url.Parse(e.Issuer)
	return func(u *url.URL) bool { return u.Host != iss.Host }
}

// soBegin starts a login at the portal in the browser without going upstream, and returns
// the authorization request it would follow.
func soBegin(t *testing.T, e *Env, b *Browser, provider string) *url.URL {
	t.Helper()
	r := b.Go(http.MethodGet, e.Issuer+"/login/social/"+provider, nil, soToUpstream(e))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start a login at %s: %s", provider, r)
	}
	return r.Location(t)
}

// soLink links, in the browser logged in at the portal, the upstream identity sub of
// provider from the account page, and returns the answer of the callback.
func soLink(t *testing.T, e *Env, b *Browser, provider, sub string) *Resp {
	t.Helper()
	account := b.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	action := ""
	for _, m := range soLinkFormRe.FindAllSubmatch(account.Body, -1) {
		if a := html.UnescapeString(string(m[1])); strings.HasSuffix(a, "/link/"+provider) {
			action = a
		}
	}
	if account.Status != http.StatusOK || action == "" {
		t.Fatalf("account page without a form to link %s: %s", provider, account)
	}
	form := url.Values{"csrf_token": {FormField(t, account, csrfRe)}}
	trip := soThrough(t, b, http.MethodPost, e.Issuer+action, form, sub, false)
	return trip.deliver(b, nil)
}

// soLogged tells whether Caddy's log holds s.
func soLogged(t *testing.T, e *Env, s string) bool {
	t.Helper()
	b, err := os.ReadFile(e.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

// soUserByEmail returns the account with email, or ok false.
func soUserByEmail(t *testing.T, email string) (store.User, bool) {
	t.Helper()
	u, err := Provider(t).Store.GetUserByEmail(context.Background(), email)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false
	} else if err != nil {
		t.Fatal(err)
	}
	return u, true
}

// soUserCount is the number of accounts.
func soUserCount(t *testing.T) int {
	t.Helper()
	us, err := Provider(t).Accounts.List(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

// soIdentities lists a user's linked identities as "provider/subject" through the admin
// API.
func soIdentities(t *testing.T, e *Env, userID string) []string {
	t.Helper()
	r := e.Admin(http.MethodGet, "/gatehouse/users/"+url.PathEscape(userID)+"/identities", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("admin identities: %s", r)
	}
	var out struct {
		Identities []store.Identity `json:"identities"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, i := range out.Identities {
		ids = append(ids, i.Provider+"/"+i.Subject)
	}
	return ids
}

var (
	soLinkFormRe = regexp.MustCompile(`<form method="post" action="([^"]*/account/identities/link/[^"]*)"`)
	soSocialRe   = regexp.MustCompile(`<a class="button secondary" href="([^"]*/login/social/[^"]*)">([^<]*)</a>`)
)

// soButtons returns the "Log in with …" buttons of a login page: label → URL.
func soButtons(t *testing.T, e *Env, r *Resp) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range soSocialRe.FindAllSubmatch(r.Body, -1) {
		out[html.UnescapeString(string(m[2]))] = e.Issuer + html.UnescapeString(string(m[1]))
	}
	return out
}

// soIDToken verifies an ID token of Gatehouse for the app client with go-oidc and returns
// its claims.
func soIDToken(t *testing.T, e *Env, raw, nonce string) map[string]any {
	t.Helper()
	ctx := Ctx(t)
	p, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery of Gatehouse: %v", err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Errorf("ID token nonce %q, want %q", idt.Nonce, nonce)
	}
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ---------------------------------------------------------------------------------------
// A GitHub-shaped OAuth 2.0 server

// soGitHub implements the shape of GitHub's OAuth app flow and REST user API: authorize,
// access_token (form-encoded, or JSON when asked for), /user and /user/emails.
type soGitHub struct {
	srv                    *httptest.Server
	clientID, clientSecret string

	mu       sync.Mutex
	redirect string // the registered callback URL
	users    map[int64]soGitHubUser
	as       int64 // who authorizes at the next authorize request
	codes    map[string]soGitHubCode
	tokens   map[string]int64
	reqs     []string
	authReqs []url.Values
	problems []string
}

type soGitHubUser struct {
	ID     int64
	Login  string
	Name   string
	Emails []soGitHubEmail
}

type soGitHubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type soGitHubCode struct {
	user                 int64
	challenge, redirect  string
	clientID             string
	used                 bool
	createdAt, expiresAt time.Time
}

func soNewGitHub(t *testing.T) *soGitHub {
	g := &soGitHub{clientID: "gh-client-id", clientSecret: "gh-client-secret",
		users: map[int64]soGitHubUser{}, codes: map[string]soGitHubCode{}, tokens: map[string]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.accessToken)
	mux.HandleFunc("GET /user", g.user)
	mux.HandleFunc("GET /user/emails", g.emails)
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.reqs = append(g.reqs, r.Method+" "+r.URL.Path)
		g.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// config is the social block for the fake.
func (g *soGitHub) config(lines ...string) string {
	all := append([]string{"client_id " + g.clientID, "client_secret " + g.clientSecret,
		"auth_url " + g.srv.URL + "/login/oauth/authorize", "token_url " + g.srv.URL + "/login/oauth/access_token",
		"api_url " + g.srv.URL}, lines...)
	return "\n\t\tsocial github {\n\t\t\t" + strings.Join(all, "\n\t\t\t") + "\n\t\t}\n"
}

func (g *soGitHub) problem(format string, args ...any) {
	g.problems = append(g.problems, fmt.Sprintf(format, args...))
}

func (g *soGitHub) authorize(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := r.URL.Query()
	g.authReqs = append(g.authReqs, q)
	switch {
	case q.Get("client_id") != g.clientID:
		g.problem("authorize: client_id %q", q.Get("client_id"))
		http.Error(w, "unknown client", http.StatusNotFound)
		return
	case q.Get("redirect_uri") != g.redirect:
		g.problem("authorize: redirect_uri %q, registered %q", q.Get("redirect_uri"), g.redirect)
		http.Error(w, "The redirect_uri is not associated with this application.", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		g.problem("authorize: no S256 code challenge: %v", q)
		http.Error(w, "PKCE S256 required by this test server", http.StatusBadRequest)
		return
	}
	code := oauth2Verifier()[:20]
	g.codes[code] = soGitHubCode{user: g.as, challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"),
		clientID: q.Get("client_id"), createdAt: time.Now(), expiresAt: time.Now().Add(10 * time.Minute)}
	back, _ := url.Parse(g.redirect)
	bq := url.Values{"code": {code}}
	if s := q.Get("state"); s != "" {
		bq.Set("state", s)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func oauth2Verifier() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (g *soGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	jsonAnswer := strings.Contains(r.Header.Get("Accept"), "application/json")
	answer := func(v map[string]string) {
		// GitHub answers errors of this endpoint with 200 too.
		if jsonAnswer {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(v)
			return
		}
		q := url.Values{}
		for k, s := range v {
			q.Set(k, s)
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(q.Encode()))
	}
	c, ok := g.codes[f.Get("code")]
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case f.Get("client_id") != g.clientID || f.Get("client_secret") != g.clientSecret:
		g.problem("access_token: client credentials %q/%q", f.Get("client_id"), f.Get("client_secret"))
		answer(map[string]string{"error": "incorrect_client_credentials"})
	case !ok || c.used || time.Now().After(c.expiresAt) || c.clientID != f.Get("client_id"):
		answer(map[string]string{"error": "bad_verification_code"})
	case f.Get("redirect_uri") != c.redirect:
		g.problem("access_token: redirect_uri %q, authorized %q", f.Get("redirect_uri"), c.redirect)
		answer(map[string]string{"error": "redirect_uri_mismatch"})
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		g.problem("access_token: code_verifier does not match the code challenge")
		answer(map[string]string{"error": "bad_verification_code", "error_description": "PKCE verification failed"})
	default:
		c.used = true
		g.codes[f.Get("code")] = c
		tok := "gho_" + oauth2Verifier()[:30]
		g.tokens[tok] = c.user
		answer(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:user,user:email"})
	}
}

func (g *soGitHub) bearer(w http.ResponseWriter, r *http.Request) (soGitHubUser, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(r.Header.Get("Authorization"), "token ")
	}
	id, known := g.tokens[tok]
	if !ok || !known {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
		return soGitHubUser{}, false
	}
	return g.users[id], true
}

func (g *soGitHub) user(w http.ResponseWriter, r *http.Request) {
	u, ok := g.bearer(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": u.ID, "login": u.Login, "name": u.Name,
		"avatar_url": "https://avatars.example.test/u/" + strconv.FormatInt(u.ID, 10), "type": "User"})
}

func (g *soGitHub) emails(w http.ResponseWriter, r *http.Request) {
	u, ok := g.bearer(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	emails := u.Emails
	if emails == nil {
		emails = []soGitHubEmail{}
	}
	_ = json.NewEncoder(w).Encode(emails)
}

// register records the callback URL registered for the OAuth app (Gatehouse's, known once
// it runs).
func (g *soGitHub) register(e *Env) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.redirect = e.Issuer + "/login/social/github/callback"
}

// login sets who authorizes next (GitHub's own login and consent are out of scope).
func (g *soGitHub) login(u soGitHubUser) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users[u.ID] = u
	g.as = u.ID
}

// check fails the test for any protocol problem the fake saw.
func (g *soGitHub) check(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.problems {
		t.Errorf("GitHub fake: %s", p)
	}
}

// soStrings converts a JSON array to strings.
func soStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// soSameSet tells whether a and b hold the same strings in any order.
func soSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// soRelogin logs the browser, logged in already, in again with the password (a fresh
// login).
func soRelogin(t *testing.T, e *Env, b *Browser, email string) {
	t.Helper()
	p := b.Go(http.MethodGet, e.Issuer+"/login?return_to=/", nil, nil)
	if r := e.SubmitLogin(b, p, email, Password, nil); r.Status != http.StatusOK || r.URL.Path != "/" {
		t.Fatalf("log in again as %s: %s", email, r)
	}
}
