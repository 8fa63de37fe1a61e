package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestCookieRefresh: the access token held in the protect session cookie expires, and the
// next request refreshes it in-process (the browser never sees a login page); parallel
// requests carrying the same expired cookie share one refresh instead of tripping the
// refresh-token reuse detection (AS-18); a client that ignores Set-Cookie costs one refresh
// per access-token lifetime, not one per request; after a portal logout the refresh fails and the
// browser is sent to the login again (PX-29, AS-17).
func TestCookieRefresh(t *testing.T) {
	e := Start(t, Config{
		Gatehouse: `tokens {
			access_token_lifetime 1s
			leeway 1s
		}` + AppClient,
		Sites: AppSite,
	})
	e.CreateUser("rita@example.test")
	b := NewBrowser(t)
	page := e.App + "/docs?refresh=1"
	if r := e.BrowserLogin(b, page, "rita@example.test", Password); r.Status != http.StatusOK || r.URL.String() != page {
		t.Fatalf("login: %s (hops %v)", r, r.Hops)
	}
	first := b.Cookie(e.App, "gatehouse_auth")
	if first == "" {
		t.Fatal("no gatehouse_auth cookie after login")
	}

	// Let the access token expire (lifetime 1s + leeway 1s).
	time.Sleep(2200 * time.Millisecond)

	// Several requests in parallel with the expired cookie: all pass, one refresh happens.
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	setCookies := make([]string, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := NewRequest(t, http.MethodGet, page, nil)
			req.Header.Set("Accept", "text/html")
			req.AddCookie(&http.Cookie{Name: "gatehouse_auth", Value: first})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
			for _, c := range resp.Cookies() {
				if c.Name == "gatehouse_auth" {
					setCookies[i] = c.Value
				}
			}
		}()
	}
	wg.Wait()
	// Each request that took part in the refresh is told the new cookie; one served just
	// after it from memory may not be (the successor is sent at most once a second).
	var successor string
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("request %d with the expired cookie: HTTP %d, want 200 after an in-process refresh", i, s)
		}
		if setCookies[i] == "" {
			continue
		}
		if setCookies[i] == first || (successor != "" && setCookies[i] != successor) {
			t.Fatalf("parallel requests got different refreshed cookies: the refresh token was exchanged twice")
		}
		successor = setCookies[i]
	}
	if successor == "" {
		t.Fatal("no request received the refreshed cookie")
	}
	setCookies[0] = successor
	if got := e.Upstream.Last(t).Values("X-User-Email"); len(got) != 1 || got[0] != "rita@example.test" {
		t.Fatalf("after the refresh the upstream saw X-User-Email %q", got)
	}

	// A client that ignores Set-Cookie keeps sending the first cookie: every request passes
	// with the successor's identity and is told the same successor (no refresh per request);
	// when the successor expires too, one more refresh, shared by every request after it.
	stale := func() (int, string) {
		req := NewRequest(t, http.MethodGet, page, nil)
		req.AddCookie(&http.Cookie{Name: "gatehouse_auth", Value: first})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == "gatehouse_auth" {
				return resp.StatusCode, c.Value
			}
		}
		return resp.StatusCode, ""
	}
	for i := 0; i < 20; i++ {
		if status, set := stale(); status != http.StatusOK || (set != "" && set != setCookies[0]) {
			t.Fatalf("stale cookie, request %d: HTTP %d, Set-Cookie %.12q, want 200 and the first successor", i, status, set)
		}
	}
	time.Sleep(2200 * time.Millisecond)
	var second string
	for i := 0; i < 20; i++ {
		status, set := stale()
		if status != http.StatusOK || set == setCookies[0] || (set != "" && second != "" && set != second) {
			t.Fatalf("stale cookie after the successor expired, request %d: HTTP %d, Set-Cookie %.12q (second %.12q)", i, status, set, second)
		}
		if set != "" {
			second = set
		}
	}
	if second == "" {
		t.Fatal("the stale cookie was never told its new successor")
	}

	// The browser keeps working with the refreshed cookie (the family was not revoked).
	refreshed := setCookies[0]
	req := NewRequest(t, http.MethodGet, page, nil)
	req.AddCookie(&http.Cookie{Name: "gatehouse_auth", Value: refreshed})
	if resp := Do(t, http.DefaultClient, req); resp.Status != http.StatusOK {
		t.Fatalf("request with the refreshed cookie: %s", resp)
	}

	// A portal logout ends the session the cookie descends from: the cookie stops working at
	// once (revocation list), for API-style requests (401) and browsers (back to the login).
	logout := b.Go(http.MethodGet, e.Issuer+"/logout", nil, nil)
	if r := b.Go(http.MethodPost, e.Issuer+"/logout", map[string][]string{"csrf_token": {FormField(t, logout, csrfRe)}}, nil); r.Status != http.StatusOK {
		t.Fatalf("portal logout: %s", r)
	}
	req = NewRequest(t, http.MethodGet, page, nil)
	req.AddCookie(&http.Cookie{Name: "gatehouse_auth", Value: refreshed})
	if resp := Do(t, http.DefaultClient, req); resp.Status != http.StatusUnauthorized {
		t.Fatalf("API request with the cookie after logout: %s, want 401", resp)
	}
	time.Sleep(2200 * time.Millisecond) // now the refresh path is taken, and must fail too
	req = NewRequest(t, http.MethodGet, page, nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: "gatehouse_auth", Value: refreshed})
	resp := Do(t, noFollow(), req)
	if resp.Status != http.StatusFound || resp.Location(t).Path != "/authorize" {
		t.Fatalf("browser request with the cookie after logout: %s, want a redirect to /authorize", resp)
	}
}

func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
