package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestLockout: failed logins are limited per account (CR-01) with `lockout {
// account_max_failures 3 }`: after three wrong passwords even the right one gets 429 with
// Retry-After, for every spelling of the address; twenty parallel wrong guesses are counted
// atomically, so at most three are evaluated (CR-03). An unknown account answers exactly like
// a wrong password, and is locked the same way (CR-06, CR-08).
func TestLockout(t *testing.T) {
	e := Start(t, Config{Gatehouse: `lockout {
			account_max_failures 3
		}` + AppClient})
	e.CreateUser("kate@example.test")
	e.CreateUser("leo@example.test")
	e.CreateUser("mia@example.test")

	t.Run("enumeration", func(t *testing.T) {
		e := e.T(t)
		known := e.APILogin("mia@example.test", "wrong password")
		unknown := e.APILogin("nobody@example.test", "wrong password")
		if known.Status != http.StatusUnauthorized || unknown.Status != known.Status || string(known.Body) != string(unknown.Body) {
			t.Errorf("wrong password vs unknown user differ:\n%s\n%s", known, unknown)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Set-Cookie", "Retry-After"} {
			if known.Header.Get(h) != unknown.Header.Get(h) {
				t.Errorf("header %s differs: %q vs %q", h, known.Header.Get(h), unknown.Header.Get(h))
			}
		}
		// The login form: same status and page but for the echoed address.
		form := func(email string) *Resp {
			b := NewBrowser(t)
			p := b.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
			r := b.Do(http.MethodPost, e.Issuer+"/login", url.Values{"csrf_token": {FormField(t, p, csrfRe)},
				"email": {email}, "password": {"wrong password"}})
			r.Body = []byte(strings.ReplaceAll(string(r.Body), email, "EMAIL"))
			r.Body = csrfRe.ReplaceAll(r.Body, nil)
			return r
		}
		kf, uf := form("mia@example.test"), form("nobody@example.test")
		if kf.Status != http.StatusUnauthorized || kf.Status != uf.Status || string(kf.Body) != string(uf.Body) {
			t.Errorf("login form: wrong password vs unknown user differ:\n%s\n%s", kf, uf)
		}
		// Both have 2 failures; the third is still evaluated, the fourth is locked — alike.
		k3, u3 := e.APILogin("mia@example.test", "wrong"), e.APILogin("nobody@example.test", "wrong")
		if k3.Status != http.StatusUnauthorized || u3.Status != http.StatusUnauthorized {
			t.Errorf("third failure: %s / %s", k3, u3)
		}
		k4, u4 := e.APILogin("mia@example.test", Password), e.APILogin("nobody@example.test", Password)
		if k4.Status != http.StatusTooManyRequests || u4.Status != k4.Status || string(k4.Body) != string(u4.Body) ||
			(k4.Header.Get("Retry-After") == "") != (u4.Header.Get("Retry-After") == "") {
			t.Errorf("locked known vs unknown account differ:\n%s\n%s", k4, u4)
		}
	})

	t.Run("sequential", func(t *testing.T) {
		e := e.T(t)
		for i := 1; i <= 3; i++ {
			if r := e.APILogin("kate@example.test", "guess-"+strconv.Itoa(i)); r.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %s", i, r)
			}
		}
		r := e.APILogin("kate@example.test", Password)
		if r.Status != http.StatusTooManyRequests || r.JSON(t)["error"] != "too_many_attempts" {
			t.Fatalf("right password after 3 failures: %s", r)
		}
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s <= 0 {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("a locked login set a cookie: %q", r.Header.Get("Set-Cookie"))
		}
		for _, variant := range []string{"KATE@example.test", " kate@EXAMPLE.test ", "ｋａｔｅ@example.test"} {
			if r := e.APILogin(variant, Password); r.Status != http.StatusTooManyRequests {
				t.Errorf("locked account spelled %q: %s", variant, r)
			}
		}
		// The form login is locked too.
		b := NewBrowser(t)
		p := b.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
		if r := b.Do(http.MethodPost, e.Issuer+"/login", url.Values{"csrf_token": {FormField(t, p, csrfRe)},
			"email": {"kate@example.test"}, "password": {Password}}); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("form login of a locked account: %s", r)
		}
	})

	t.Run("parallel", func(t *testing.T) {
		e := e.T(t)
		const n = 20
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			status = map[int]int{}
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := NewRequest(t, http.MethodPost, e.Issuer+"/api/v1/login/password",
					map[string]string{"email": "leo@example.test", "password": "parallel-guess-" + strconv.Itoa(i)})
				<-start
				resp, err := API.Do(req)
				if err != nil {
					t.Errorf("login: %v", err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				status[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if status[http.StatusUnauthorized] > 3 || status[http.StatusUnauthorized]+status[http.StatusTooManyRequests] != n {
			t.Errorf("20 parallel wrong passwords with a limit of 3: %v (want at most three 401, the rest 429)", status)
		}
		if r := e.APILogin("leo@example.test", Password); r.Status != http.StatusTooManyRequests {
			t.Errorf("right password after the parallel guesses: %s", r)
		}
	})
}
