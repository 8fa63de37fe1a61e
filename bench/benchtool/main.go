// Command benchtool is the load generator and fixture maker of bench/run.sh: a tiny upstream,
// token minting and store seeding (offline, on the Badger directory before the server
// starts, or on the PostgreSQL schema the server will use), and HTTP load for logins, code exchanges and refreshes against a running
// Gatehouse. Run `benchtool <command> -h` for the flags of a command.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool upstream|mint|seed|appcred|cookie|logins|exchange|refresh|latency [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"upstream": upstream, "mint": mint, "seed": seed, "appcred": appCredential, "cookie": cookie,
		"logins": logins, "exchange": exchange, "refresh": refresh, "latency": latency,
	}
	f, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := f(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool "+os.Args[1]+":", err)
		os.Exit(1)
	}
}

// upstream serves a tiny fixed answer, like the application behind the proxy.
func upstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:19003", "listen address")
	_ = fs.Parse(args)
	body := []byte("ok\n")
	return http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
}

// mint signs access tokens offline with the store's keys (creating the keys if the store is
// new), as the running server will verify them. One token per line.
func mint(args []string) error {
	fs := flag.NewFlagSet("mint", flag.ExitOnError)
	dir := fs.String("store", "", "Badger directory (the server must not be running), or a postgres:// DSN")
	schema := fs.String("schema", "", "PostgreSQL schema (with a postgres:// -store)")
	issuer := fs.String("issuer", "", "issuer URL")
	n := fs.Int("n", 1000, "number of tokens")
	alg := fs.String("alg", keys.RS256, "signing algorithm")
	aud := fs.String("aud", "bench", "audience (client ID)")
	scope := fs.String("scope", "openid bench", "scope")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	out := fs.String("out", "", "output file")
	_ = fs.Parse(args)
	s, err := openStore(*dir, *schema)
	if err != nil {
		return err
	}
	defer s.Close()
	ring, err := keys.Load(context.Background(), s, keys.Algorithms, time.Now)
	if err != nil {
		return err
	}
	key, err := ring.Signer(*alg)
	if err != nil {
		return err
	}
	toks := make([]string, *n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	now := time.Now()
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				c := &tokens.AccessClaims{Issuer: *issuer, Subject: secret.ID(), Audience: tokens.Audience{*aud},
					ExpiresAt: now.Add(*ttl).Unix(), IssuedAt: now.Unix(), ID: secret.New(16), ClientID: *aud,
					Scope: *scope, AuthTime: now.Unix(), ACR: "aal1", AMR: []string{"pwd"},
					Email: fmt.Sprintf("user%d@bench.test", i), Name: "Bench User", Groups: []string{"staff"}}
				t, err := tokens.Sign(key, tokens.TypeAccessToken, c)
				if err != nil {
					firstErr.Store(err)
					return
				}
				toks[i] = t
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(strings.Join(toks, "\n")+"\n"), 0o600)
}

// appCredential creates an app password or personal access token for a seeded user offline
// and prints its secret (the Authorization header value with -header).
func appCredential(args []string) error {
	fs := flag.NewFlagSet("appcred", flag.ExitOnError)
	dir := fs.String("store", "", "Badger directory (the server must not be running), or a postgres:// DSN")
	schema := fs.String("schema", "", "PostgreSQL schema (with a postgres:// -store)")
	kind := fs.String("kind", store.CredentialPAT, "pat or app_password")
	user := fs.String("user", "benchuser000000000000", "user ID (seed's first user by default)")
	scope := fs.String("scope", "bench", "scopes, space-separated")
	header := fs.Bool("header", false, "print the Authorization header value (Bearer or Basic)")
	_ = fs.Parse(args)
	s, err := openStore(*dir, *schema)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	u, err := s.GetUser(ctx, *user)
	if err != nil {
		return fmt.Errorf("user %s (run seed first): %w", *user, err)
	}
	sec := appcred.Generate(*kind)
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.CreateAppCredential(ctx, store.AppCredential{ID: appcred.Hash(sec), UserID: u.ID, Kind: *kind, Name: "bench",
		Scopes: strings.Fields(*scope), CreatedAt: now, ExpiresAt: now.AddDate(0, 0, 7)}); err != nil {
		return err
	}
	switch {
	case !*header:
		fmt.Println(sec)
	case *kind == store.CredentialAppPassword:
		fmt.Println("Basic " + base64.StdEncoding.EncodeToString([]byte(u.Email+":"+sec)))
	default:
		fmt.Println("Bearer " + sec)
	}
	return nil
}

// seed creates users (all with one password, hashed once) and sessions directly in the store.
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dir := fs.String("store", "", "Badger directory (the server must not be running), or a postgres:// DSN")
	schema := fs.String("schema", "", "PostgreSQL schema (with a postgres:// -store)")
	users := fs.Int("users", 0, "users to create: user<i>@bench.test")
	sessions := fs.Int("sessions", 0, "sessions to create, spread over the users")
	pw := fs.String("password", "bench-password-1", "password of every user")
	workers := fs.Int("workers", 64, "parallel writers")
	_ = fs.Parse(args)
	s, err := openStore(*dir, *schema)
	if err != nil {
		return err
	}
	defer s.Close()
	hash, err := password.New(password.OWASP, 0).Hash(context.Background(), *pw)
	if err != nil {
		return err
	}
	ctx := context.Background()
	now := time.Now()
	start := time.Now()
	ids := make([]string, *users)
	err = parallel(*users, *workers, func(i int) error {
		u := store.User{ID: fmt.Sprintf("benchuser%012d", i), Email: fmt.Sprintf("user%d@bench.test", i),
			FirstName: "Bench", LastName: fmt.Sprint(i), Groups: []string{"staff"}, CreatedAt: now, UpdatedAt: now}
		ids[i] = u.ID
		if err := s.CreateUser(ctx, u); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
		if err := s.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: now}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded %d users in %s\n", *users, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	err = parallel(*sessions, *workers, func(i int) error {
		return s.CreateSession(ctx, store.Session{ID: secret.Hash(secret.Token()), UserID: ids[i%len(ids)],
			AuthTime: now, AMR: []string{"pwd"}, ACR: "aal1", CreatedAt: now, LastSeenAt: now,
			IdleExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(14 * 24 * time.Hour),
			UserAgent: "benchtool", IP: "127.0.0.1"})
	})
	if err != nil {
		return err
	}
	if *sessions > 0 {
		fmt.Fprintf(os.Stderr, "seeded %d sessions in %s\n", *sessions, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// openStore opens the Badger directory spec, or the PostgreSQL database if spec is a
// postgres:// or postgresql:// DSN (in schema, created and migrated if new).
func openStore(spec, schema string) (store.Store, error) {
	if strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") {
		return postgres.Open(context.Background(), postgres.Options{DSN: spec, Schema: schema, MaxConns: 32})
	}
	if spec == "" {
		return nil, errors.New("-store is required")
	}
	return badger.Open(badger.Options{Path: spec})
}

func parallel(n, workers int, f func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
var returnToRe = regexp.MustCompile(`name="return_to" value="([^"]*)"`)

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: noRedirect, Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DialContext: (&net.Dialer{}).DialContext}}
}

// browse follows redirects by hand with a cookie jar, as a browser would.
func browse(c *http.Client, method, u string, form url.Values) (*http.Response, []byte, error) {
	for i := 0; i < 15; i++ {
		var req *http.Request
		if form != nil {
			req, _ = http.NewRequest(method, u, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, u, nil)
		}
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp, body, nil
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return nil, nil, err
		}
		method, u, form = http.MethodGet, next.String(), nil
	}
	return nil, nil, errors.New("too many redirects")
}

// login opens target, logs in on the portal's form and returns the client (with cookies).
func login(target, email, pw string) (*http.Client, error) {
	c := newClient()
	resp, body, err := browse(c, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	m1, m2 := csrfRe.FindSubmatch(body), returnToRe.FindSubmatch(body)
	if m1 == nil || m2 == nil {
		return nil, fmt.Errorf("no login form at %s (HTTP %d)", resp.Request.URL, resp.StatusCode)
	}
	loginURL := *resp.Request.URL
	loginURL.RawQuery = ""
	form := url.Values{"csrf_token": {unescape(m1[1])}, "return_to": {unescape(m2[1])}, "email": {email}, "password": {pw}}
	resp, _, err = browse(c, http.MethodPost, loginURL.String(), form)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login ended with HTTP %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return c, nil
}

func unescape(b []byte) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">").Replace(string(b))
}

// cookie logs in through a protected site and prints its session cookie (name=value).
func cookie(args []string) error {
	fs := flag.NewFlagSet("cookie", flag.ExitOnError)
	app := fs.String("app", "", "protected site URL")
	email := fs.String("email", "user0@bench.test", "user")
	pw := fs.String("password", "bench-password-1", "password")
	_ = fs.Parse(args)
	c, err := login(*app+"/", *email, *pw)
	if err != nil {
		return err
	}
	u, _ := url.Parse(*app)
	for _, ck := range c.Jar.Cookies(u) {
		if strings.HasSuffix(ck.Name, "gatehouse_auth") {
			fmt.Printf("%s=%s\n", ck.Name, ck.Value)
			return nil
		}
	}
	return errors.New("no gatehouse_auth cookie after login")
}

type result struct {
	mu   sync.Mutex
	lat  []time.Duration
	errs map[string]int
}

func (r *result) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.errs == nil {
			r.errs = map[string]int{}
		}
		msg := err.Error()
		if len(msg) > 120 {
			msg = msg[:120]
		}
		r.errs[msg]++
		return
	}
	r.lat = append(r.lat, d)
}

func (r *result) report(what string, elapsed time.Duration) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[int(float64(len(r.lat)-1)*p)]
	}
	fmt.Printf("%s: %d ok in %s = %.0f/s  p50 %s  p99 %s  errors %d\n", what, len(r.lat), elapsed.Round(time.Millisecond),
		float64(len(r.lat))/elapsed.Seconds(), pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), sum(r.errs))
	for msg, n := range r.errs {
		fmt.Fprintf(os.Stderr, "  %d × %s\n", n, msg)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// logins measures password logins per second through the JSON API.
func logins(args []string) error {
	fs := flag.NewFlagSet("logins", flag.ExitOnError)
	issuer := fs.String("issuer", "", "issuer URL")
	users := fs.Int("users", 100, "users user0..user<n-1>@bench.test to rotate through")
	pw := fs.String("password", "bench-password-1", "password")
	conc := fs.Int("c", 4, "concurrent clients")
	dur := fs.Duration("d", 10*time.Second, "duration")
	_ = fs.Parse(args)
	c := newClient()
	var res result
	var n atomic.Int64
	deadline := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := n.Add(1) % int64(*users)
				body, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("user%d@bench.test", i), "password": *pw})
				t0 := time.Now()
				resp, err := c.Post(*issuer+"/api/v1/login/password", "application/json", bytes.NewReader(body))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				res.add(time.Since(t0), err)
			}
		}()
	}
	wg.Wait()
	res.report("password logins", time.Since(start))
	return nil
}

type pkceCode struct{ code, verifier string }

// codes logs in once and collects n authorization codes (PKCE S256).
func codes(issuer, client, redirect, email, pw string, n, conc int) (*http.Client, []pkceCode, time.Duration, error) {
	c, err := login(issuer+"/login", email, pw)
	if err != nil {
		return nil, nil, 0, err
	}
	out := make([]pkceCode, n)
	start := time.Now()
	err = parallel(n, conc, func(i int) error {
		verifier := secret.New(32)
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect},
			"scope": {"openid email offline_access"}, "state": {secret.New(8)},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		resp, err := c.Get(issuer + "/authorize?" + q.Encode())
		if err != nil {
			return err
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			return fmt.Errorf("authorize: HTTP %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		out[i] = pkceCode{code: loc.Query().Get("code"), verifier: verifier}
		return nil
	})
	return c, out, time.Since(start), err
}

func tokenRequest(c *http.Client, issuer string, form url.Values) (map[string]any, error) {
	resp, err := c.PostForm(issuer+"/token", form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d %v", resp.StatusCode, out["error"])
	}
	return out, nil
}

// exchange measures authorization-code exchanges per second: codes are collected first,
// then redeemed as fast as possible.
func exchange(args []string) error {
	fs := flag.NewFlagSet("exchange", flag.ExitOnError)
	issuer := fs.String("issuer", "", "issuer URL")
	client := fs.String("client", "bench", "public client ID")
	redirect := fs.String("redirect", "", "registered redirect URI")
	n := fs.Int("n", 3000, "codes")
	conc := fs.Int("c", 16, "concurrent clients")
	_ = fs.Parse(args)
	c, cs, took, err := codes(*issuer, *client, *redirect, "user0@bench.test", "bench-password-1", *n, *conc)
	if err != nil {
		return err
	}
	fmt.Printf("authorize (code issued): %d in %s = %.0f/s\n", len(cs), took.Round(time.Millisecond), float64(len(cs))/took.Seconds())
	var res result
	start := time.Now()
	_ = parallel(len(cs), *conc, func(i int) error {
		t0 := time.Now()
		_, err := tokenRequest(c, *issuer, url.Values{"grant_type": {"authorization_code"}, "code": {cs[i].code},
			"redirect_uri": {*redirect}, "client_id": {*client}, "code_verifier": {cs[i].verifier}})
		res.add(time.Since(t0), err)
		return nil
	})
	res.report("code exchanges", time.Since(start))
	return nil
}

// refresh measures refresh-token rotations per second: each worker refreshes its own chain.
func refresh(args []string) error {
	fs := flag.NewFlagSet("refresh", flag.ExitOnError)
	issuer := fs.String("issuer", "", "issuer URL")
	client := fs.String("client", "bench", "public client ID")
	redirect := fs.String("redirect", "", "registered redirect URI")
	conc := fs.Int("c", 16, "concurrent chains")
	dur := fs.Duration("d", 10*time.Second, "duration")
	_ = fs.Parse(args)
	c, cs, _, err := codes(*issuer, *client, *redirect, "user0@bench.test", "bench-password-1", *conc, *conc)
	if err != nil {
		return err
	}
	rts := make([]string, len(cs))
	for i, pc := range cs {
		out, err := tokenRequest(c, *issuer, url.Values{"grant_type": {"authorization_code"}, "code": {pc.code},
			"redirect_uri": {*redirect}, "client_id": {*client}, "code_verifier": {pc.verifier}})
		if err != nil {
			return err
		}
		rts[i], _ = out["refresh_token"].(string)
	}
	var res result
	deadline := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range rts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				out, err := tokenRequest(c, *issuer, url.Values{"grant_type": {"refresh_token"},
					"refresh_token": {rts[w]}, "client_id": {*client}})
				res.add(time.Since(t0), err)
				if err != nil {
					return
				}
				rts[w], _ = out["refresh_token"].(string)
			}
		}()
	}
	wg.Wait()
	res.report("refreshes", time.Since(start))
	return nil
}

// latency sends requests at a fixed rate (open loop, well below saturation) and reports the
// latency distribution: unlike a saturating load, it shows the time a request spends in the
// server, not in a queue.
func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	target := fs.String("url", "", "URL")
	rate := fs.Int("rate", 2000, "requests per second")
	dur := fs.Duration("d", 10*time.Second, "duration")
	tokFile := fs.String("tokens", "", "file of bearer tokens, one per request (optional)")
	header := fs.String("H", "", "extra header, Name: value (optional)")
	label := fs.String("label", "", "label to print")
	_ = fs.Parse(args)
	var toks []string
	if *tokFile != "" {
		b, err := os.ReadFile(*tokFile)
		if err != nil {
			return err
		}
		toks = strings.Fields(string(b))
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}
	var res result
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rate)
	n := int(dur.Seconds() * float64(*rate))
	start := time.Now()
	for i := 0; i < n; i++ {
		next := start.Add(time.Duration(i) * interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, *target, nil)
			if len(toks) > 0 {
				req.Header.Set("Authorization", "Bearer "+toks[i%len(toks)])
			}
			if name, v, ok := strings.Cut(*header, ":"); ok {
				req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(v))
			}
			t0 := time.Now()
			resp, err := c.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("HTTP %d", resp.StatusCode)
				}
			}
			res.add(time.Since(t0), err)
		}(i)
	}
	wg.Wait()
	res.report(*label+" at "+strconv.Itoa(*rate)+"/s", time.Since(start))
	return nil
}
