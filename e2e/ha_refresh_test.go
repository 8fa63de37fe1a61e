//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// haRefreshInstance is an instance whose access tokens live 2 s (leeway 1 s), so that a
// session cookie needs a refresh every few seconds; its app says which instance served it.
const haRefreshInstance = `{
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
		tokens {
			access_token_lifetime 2s
			leeway 1s
		}
		client app {
			name "Test app"
			redirect_uri %[5]s/.gatehouse/callback
			scopes openid profile email offline_access read:docs
		}
	}
}

http://:%[6]d {
	bind 127.0.0.1
	gatehouse_portal
}

http://:%[7]d {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		scope read:docs
	}
	reverse_proxy %[8]s {
		header_down X-Instance %[9]s
	}
}
`

// haRefreshBalancer balances the portals round robin and the app by cookie, as README
// "Running several instances" advises for sites whose pages send parallel requests.
const haRefreshBalancer = `{
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
	}
}

http://:%[4]d {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:%[7]d 127.0.0.1:%[8]d {
		lb_policy cookie gatehouse_lb
		lb_try_duration 3s
	}
}
`

// TestAS18_HARefreshRace: the cross-instance refresh race of README "Running several
// instances" (the decision: balance browsers by cookie; no store-side grace, which would
// make an immediate replay of a rotated refresh token — the signature of a thief racing
// the client — indistinguishable from a retry, weakening RFC 9700 §4.14.2).
//
//   - With the advised balancer (lb_policy cookie for the app), a page's parallel requests
//     across three access-token expiries all reach one instance, are all served, and the
//     login survives: the instance's in-process refresh is shared by the parallel requests
//     (AS-18).
//   - Without stickiness, the same expired cookie sent to both instances at the same
//     instant makes both exchange the one refresh token: the store lets exactly one rotate
//     it, the other exchange is a reuse, and the family is revoked (RFC 9700 §4.14.2):
//     within a second no cookie of the login — the old one or any successor — is served by
//     either instance. The race ends the login; it never leaves two live chains.
func TestAS18_HARefreshRace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gatehouse processes (skipped under -short)")
	}
	h := newHAPair(t)
	up := NewUpstream(t)
	h.Start(func(name string, p haPorts) string {
		return fmt.Sprintf(haRefreshInstance, p.Admin, h.Dir(name), h.Issuer, h.Schema, h.App, p.Portal, p.App, up.Addr(), name)
	}, fmt.Sprintf(haRefreshBalancer, h.LB.Admin, h.Dir("lb"), h.LB.Portal, h.LB.App, h.A.Portal, h.B.Portal, h.A.App, h.B.App))
	e, app := h.Env(up), h.App
	e.CreateUser("pat@example.test", "staff")
	b := NewBrowser(t)
	if r := e.BrowserLogin(b, app+"/docs", "pat@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("browser login through the balancer: %s", r)
	}
	html := map[string]string{"Accept": "text/html"}
	served := func(r *Resp, err error) bool {
		return err == nil && r.Status == http.StatusOK && r.Header.Get("X-Instance") != ""
	}

	t.Run("sticky balancer", func(t *testing.T) {
		pinned := ""
		for round := 1; round <= 3; round++ {
			time.Sleep(3200 * time.Millisecond) // past the access token's expiry and leeway
			var wg sync.WaitGroup
			rs := make([]*Resp, 8)
			errs := make([]error, 8)
			for i := range rs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rs[i], errs[i] = haGet(b.C, fmt.Sprintf("%s/page/%d/%d", app, round, i), html)
				}()
			}
			wg.Wait()
			for i, r := range rs {
				if !served(r, errs[i]) {
					t.Fatalf("round %d, parallel request %d across the expiry: (%v, %v), want 200 from an instance", round, i, r, errs[i])
				}
				if pinned == "" {
					pinned = r.Header.Get("X-Instance")
				}
				if got := r.Header.Get("X-Instance"); got != pinned {
					t.Errorf("round %d, request %d served by %s, the browser's instance is %s: the balancer did not stick", round, i, got, pinned)
				}
			}
		}
		if r, err := haGet(b.C, app+"/after", html); !served(r, err) {
			t.Fatalf("the login after three refreshes: (%v, %v)", r, err)
		}
	})

	t.Run("round robin race ends the login", func(t *testing.T) {
		name := "gatehouse_auth"
		u, _ := url.Parse(app)
		var old string
		for _, c := range b.Jar.Cookies(u) {
			if strings.HasSuffix(c.Name, name) {
				name, old = c.Name, c.Value
			}
		}
		if old == "" {
			t.Fatal("no site session cookie in the browser")
		}
		time.Sleep(3200 * time.Millisecond) // the cookie's access token expires
		hdr := map[string]string{"Accept": "application/json", "Cookie": name + "=" + old}
		direct := []string{h.A.AppURL(), h.B.AppURL()}
		var wg sync.WaitGroup
		rs := make([]*Resp, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range direct {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rs[i], errs[i] = haGet(API, direct[i]+"/race", hdr)
			}()
		}
		close(start)
		wg.Wait()
		cookies := []string{old}
		for i, r := range rs {
			if errs[i] != nil {
				t.Fatalf("race request %d: %v", i, errs[i])
			}
			t.Logf("instance %s: %d", []string{"a", "b"}[i], r.Status)
			for _, sc := range r.Header.Values("Set-Cookie") {
				if v, ok := strings.CutPrefix(sc, name+"="); ok {
					if v, _, _ = strings.Cut(v, ";"); v != "" {
						cookies = append(cookies, v)
					}
				}
			}
		}
		if rs[0].Status == http.StatusOK && rs[1].Status == http.StatusOK {
			t.Errorf("both instances served the one expired cookie: %d and %d, want the reuse refused", rs[0].Status, rs[1].Status)
		}
		time.Sleep(1500 * time.Millisecond) // revocations reach every instance within a second
		for _, c := range cookies {
			for _, d := range direct {
				r, err := haGet(API, d+"/after-race", map[string]string{"Accept": "application/json", "Cookie": name + "=" + c})
				if err != nil {
					t.Fatal(err)
				}
				if r.Status == http.StatusOK {
					t.Errorf("a cookie of the raced login is still served by %s after the reuse: two live chains (RFC 9700 §4.14.2)", d)
				}
			}
		}
	})
}
