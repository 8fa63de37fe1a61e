//go:build linux

package e2e

// The high-availability test of issue 15: two Gatehouse processes on one PostgreSQL schema
// behind a third process, a Caddy load balancer (reverse_proxy, round robin, health
// checks), started by haPair (ha_util_test.go).

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// haInstance is the Caddyfile of one Gatehouse instance: its own admin, portal and app
// ports, the load balancer's URLs as issuer and client redirect URI, and the shared schema.
// Its site addresses name no host (the balancer passes the original Host on), and the app's
// answers say which instance served them (X-Instance).
const haInstance = `{
	admin 127.0.0.1:%[1]d
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system %[2]s/caddy
	log {
		output file %[2]s/caddy.log
		level WARN
	}
	gatehouse {
		issuer %[3]s
		storage postgres {env.GATEHOUSE_E2E_DATABASE_URL} {
			schema %[4]s
		}
		client app {
			name "Test app"
			redirect_uri %[5]s/.gatehouse/callback %[6]s/app-cb
			scopes openid profile email offline_access read:docs
		}
	}
}

http://:%[7]d {
	bind 127.0.0.1
	gatehouse_portal
}

http://:%[8]d {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		scope read:docs
	}
	reverse_proxy %[9]s {
		header_down X-Instance %[10]s
	}
}
`

// haBalancer is the load balancer's Caddyfile: round robin over the two instances' portals
// and apps, active health checks on the portals' discovery document, passive ones on
// both, and a retry on the other instance when one refuses the connection.
const haBalancer = `{
	admin 127.0.0.1:%[1]d
	persist_config off
	auto_https off
	grace_period 1s
	storage file_system %[2]s/caddy
	log {
		output file %[2]s/caddy.log
		level WARN
	}
}

http://:%[3]d {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:%[5]d 127.0.0.1:%[6]d {
		lb_policy round_robin
		lb_try_duration 3s
		fail_duration 10s
		health_uri /.well-known/openid-configuration
		health_interval 500ms
		health_timeout 1s
	}
}

http://:%[4]d {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:%[7]d 127.0.0.1:%[8]d {
		lb_policy round_robin
		lb_try_duration 3s
		fail_duration 10s
	}
}
`

// haCluster is the running deployment.
type haCluster struct {
	lb, a, b *haProcess
	// Env is the deployment seen through the balancer (admin: instance A).
	Env *Env
	// AdminA, AdminB are the instances' admin addresses; AppA, AppB their app URLs.
	AdminA, AdminB string
	AppA, AppB     string
}

func startHACluster(t *testing.T) *haCluster {
	t.Helper()
	h := newHAPair(t)
	rp := freePort(t)
	rpURL := fmt.Sprintf("http://127.0.0.1:%d", rp)
	up := NewUpstream(t)
	h.Start(func(name string, p haPorts) string {
		return fmt.Sprintf(haInstance, p.Admin, h.Dir(name), h.Issuer, h.Schema, h.App, rpURL, p.Portal, p.App, up.Addr(), name)
	}, fmt.Sprintf(haBalancer, h.LB.Admin, h.Dir("lb"), h.LB.Portal, h.LB.App, h.A.Portal, h.B.Portal, h.A.App, h.B.App))
	c := &haCluster{lb: h.lb, a: h.a, b: h.b}
	c.AdminA, c.AdminB = h.A.AdminAddr(), h.B.AdminAddr()
	c.AppA, c.AppB = h.A.AppURL(), h.B.AppURL()
	c.Env = h.Env(up)
	c.Env.RP, c.Env.RPPort = rpURL, rp
	return c
}

// waitRefused polls rawURL with hdr until it answers 401 and returns how long that took
// (fatal after limit).
func waitRefused(t *testing.T, what, rawURL string, hdr map[string]string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r, err := haGet(API, rawURL, hdr)
		if err == nil && r.Status == http.StatusUnauthorized {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: still not refused after %v: (%v, %v)", what, limit, r, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHAPostgresTwoInstances: issue 15's "one service out of many instances". Two Gatehouse
// processes share one PostgreSQL schema behind a Caddy load balancer doing round robin.
//
//   - A browser logs in through the balancer, then goes back and forth between both
//     instances and stays logged in (shared session store and cookie keys).
//   - A logout through instance A ends the session on instance B within a second (the
//     revocation arrives by LISTEN/NOTIFY; the one-second polling is the fallback): the
//     old site cookie and an access token of the session are refused by B.
//   - A user disabled through A's admin API is refused by B within a second.
//   - An immediate key rotation on A during traffic fails no request: tokens A signs with
//     the new key at once verify on B (notification, or reload on the unknown kid).
//   - SIGKILL of A under load: B keeps serving; only requests in flight on A when it died
//     may fail.
func TestHAPostgresTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gatehouse processes (skipped under -short)")
	}
	c := startHACluster(t)
	e := c.Env
	alice := e.CreateUser("alice@example.test")
	e.CreateUser("bob@example.test")

	// --- Log in through the balancer, then round robin over both instances.
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/docs", "alice@example.test", Password); r.Status != http.StatusOK || r.URL.Path != "/docs" {
		t.Fatalf("browser login through the balancer: %s (hops %v)", r, r.Hops)
	}
	served := map[string]int{}
	for i := range 20 {
		r := b.Do(http.MethodGet, fmt.Sprintf("%s/page/%d", e.App, i), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("request %d after login: %s (X-Instance %q): the browser was logged out", i, r, r.Header.Get("X-Instance"))
		}
		served[r.Header.Get("X-Instance")]++
	}
	if served["a"] == 0 || served["b"] == 0 {
		t.Fatalf("round robin: requests served by %v, want both a and b", served)
	}
	t.Logf("20 requests of one logged-in browser: served by %v", served)

	// --- Logout through A ends the session on B within a second.
	at := e.AccessToken(b, "openid read:docs")
	siteCookie := b.Cookie(e.App, "gatehouse_auth")
	if siteCookie == "" {
		t.Fatal("no site cookie after login")
	}
	cookieHdr := map[string]string{"Cookie": "gatehouse_auth=" + siteCookie}
	bearerHdr := map[string]string{"Authorization": "Bearer " + at}
	for _, h := range []map[string]string{cookieHdr, bearerHdr} {
		if r, err := haGet(API, c.AppB+"/before-logout", h); err != nil || r.Status != http.StatusOK {
			t.Fatalf("B before logout: (%v, %v)", r, err)
		}
	}
	form := b.Go(http.MethodGet, c.AppA+"/.gatehouse/logout", nil, nil)
	if form.Status != http.StatusOK {
		t.Fatalf("logout page on A: %s", form)
	}
	out := b.Go(http.MethodPost, c.AppA+"/.gatehouse/logout", url.Values{"csrf_token": {FormField(t, form, csrfRe)}}, nil)
	if out.Status != http.StatusOK {
		t.Fatalf("logout on A: %s (hops %v)", out, out.Hops)
	}
	cookieLat := waitRefused(t, "the site cookie on B after logout on A", c.AppB+"/after-logout", cookieHdr, time.Second)
	bearerLat := waitRefused(t, "the access token on B after logout on A", c.AppB+"/after-logout", bearerHdr, time.Second)
	t.Logf("logout on A refused on B after %v (site cookie), %v more (access token)", cookieLat, bearerLat)

	// --- A user disabled through A's admin API is refused by B.
	b = NewBrowser(t)
	if r := e.BrowserLogin(b, e.App+"/again", "alice@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("login again: %s", r)
	}
	at = e.AccessToken(b, "openid read:docs")
	cookieHdr = map[string]string{"Cookie": "gatehouse_auth=" + b.Cookie(e.App, "gatehouse_auth")}
	bearerHdr = map[string]string{"Authorization": "Bearer " + at}
	for _, h := range []map[string]string{cookieHdr, bearerHdr} {
		if r, err := haGet(API, c.AppB+"/before-disable", h); err != nil || r.Status != http.StatusOK {
			t.Fatalf("B before disable: (%v, %v)", r, err)
		}
	}
	if r := e.Admin(http.MethodPost, "/gatehouse/users/"+alice+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable through A's admin API: %s", r)
	}
	bearerLat = waitRefused(t, "the access token on B after disable on A", c.AppB+"/after-disable", bearerHdr, time.Second)
	cookieLat = waitRefused(t, "the site cookie on B after disable on A", c.AppB+"/after-disable", cookieHdr, time.Second)
	t.Logf("disable on A refused on B after %v (access token), %v more (site cookie)", bearerLat, cookieLat)

	// --- Key rotation during traffic: no failed request.
	bob := NewBrowser(t)
	if r := e.BrowserLogin(bob, e.App+"/bob", "bob@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("bob's login: %s", r)
	}
	toks := e.Tokens(bob, "app", e.RP+"/app-cb", "openid offline_access read:docs")
	rt := toks["refresh_token"].(string)
	bobAT := toks["access_token"].(string)
	var requests, failures int
	rotated := false
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if !rotated && time.Until(deadline) < 2*time.Second {
			if r := e.Admin(http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"immediate": true}); r.Status != http.StatusOK {
				t.Fatalf("rotate on A: %s", r)
			}
			rotated = true
		}
		r := e.Refresh("app", rt)
		requests++
		if r.Status != http.StatusOK {
			failures++
			t.Errorf("refresh during rotation: %s", r)
			continue
		}
		m := r.JSON(t)
		rt, bobAT = m["refresh_token"].(string), m["access_token"].(string)
		for _, u := range []string{c.AppA, c.AppB} { // the token verifies on both instances
			requests++
			if r, err := haGet(API, u+"/during-rotation", map[string]string{"Authorization": "Bearer " + bobAT}); err != nil || r.Status != http.StatusOK {
				failures++
				t.Errorf("token at %s during rotation: (%v, %v)", u, r, err)
			}
		}
	}
	if !rotated || failures > 0 {
		t.Fatalf("key rotation during traffic: %d of %d requests failed (rotated %v)", failures, requests, rotated)
	}
	t.Logf("key rotation during traffic: %d requests, none failed", requests)

	// --- SIGKILL of A under load: B keeps serving.
	bobCookie := map[string]string{"Cookie": "gatehouse_auth=" + bob.Cookie(e.App, "gatehouse_auth")}
	bobBearer := map[string]string{"Authorization": "Bearer " + bobAT}
	type result struct {
		start, end time.Time
		ok         bool
		instance   string
		err        string
	}
	var (
		mu      sync.Mutex
		results []result
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect,
				Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			defer cl.CloseIdleConnections()
			hdr := bobCookie
			if w%2 == 1 {
				hdr = bobBearer
			}
			for i := 0; !stop.Load(); i++ {
				res := result{start: time.Now()}
				r, err := haGet(cl, fmt.Sprintf("%s/load/%d/%d", e.App, w, i), hdr)
				res.end = time.Now()
				switch {
				case err != nil:
					res.err = err.Error()
				case r.Status != http.StatusOK:
					res.err = r.String()
				default:
					res.ok, res.instance = true, r.Header.Get("X-Instance")
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	killedAt := time.Now()
	c.a.kill()
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()

	var before, after, inFlight, afterB int
	for _, r := range results {
		switch {
		case r.end.Before(killedAt):
			before++
			if !r.ok {
				t.Errorf("failure before the kill: %s", r.err)
			}
		case r.start.Before(killedAt):
			inFlight++ // in flight on one of the instances when A died: may fail
			if !r.ok {
				t.Logf("in flight at the kill, failed: %s", r.err)
			}
		default:
			after++
			if !r.ok {
				t.Errorf("request started %v after the kill failed: %s", r.start.Sub(killedAt), r.err)
			} else if r.instance == "a" {
				t.Errorf("a request started after the kill was served by the dead instance")
			} else {
				afterB++
			}
		}
	}
	t.Logf("SIGKILL of A under load: %d requests before, %d in flight, %d after (served by B: %d)", before, inFlight, after, afterB)
	if afterB == 0 {
		t.Fatal("B served nothing after A was killed")
	}
	// B alone still logs users in and issues tokens.
	carol := NewBrowser(t)
	if r := e.BrowserLogin(carol, e.App+"/after-kill", "bob@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("login with A dead: %s", r)
	}
}
