package e2e

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/secret"
)

// familyRevokedInStore reports whether the store (not only the in-memory revocation list,
// whose entries expire with the access-token lifetime) marks the refresh token's family
// revoked.
func familyRevokedInStore(t *testing.T, rt string) bool {
	t.Helper()
	rec, err := Provider(t).Store.GetRefreshToken(Ctx(t), secret.Hash(rt))
	if err != nil {
		t.Fatalf("read refresh token: %v", err)
	}
	return rec.Revoked
}

func codeForm(code, verifier, redirectURI string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {"app"}, "code_verifier": {verifier}}
}

func wantTokenError(t *testing.T, what string, r *Resp, status int, code string) {
	t.Helper()
	if r.Status != status || r.JSON(t)["error"] != code {
		t.Errorf("%s: want HTTP %d %s, got %s", what, status, code, r)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
	}
}

// TestCodeReplay: an authorization code is single-use. Redeemed twice, the second request
// gets invalid_grant and the access and refresh tokens of the first redemption are revoked
// (OC-14, OC-15); twenty concurrent redemptions yield exactly one success, and the winner's
// tokens are revoked as well because the reuse was detected (AS-07, RB-08).
func TestCodeReplay(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("frank@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "frank@example.test", Password)
	ru := e.RP + "/app-cb"
	scope := "openid email offline_access read:docs"

	t.Run("sequential", func(t *testing.T) {
		e := e.T(t)
		code, verifier := e.Code(b, "app", ru, scope)
		r1 := e.Token(codeForm(code, verifier, ru))
		if r1.Status != http.StatusOK {
			t.Fatalf("first redemption: %s", r1)
		}
		tok := r1.JSON(t)
		at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
		if r := e.Userinfo(at); r.Status != http.StatusOK {
			t.Fatalf("userinfo with the first redemption's token: %s", r)
		}
		wantTokenError(t, "second redemption", e.Token(codeForm(code, verifier, ru)), http.StatusBadRequest, "invalid_grant")
		if r := e.Userinfo(at); r.Status != http.StatusUnauthorized {
			t.Errorf("userinfo after the code was replayed: %s", r)
		}
		if r := Get(t, e.App+"/x", at); r.Status != http.StatusUnauthorized {
			t.Errorf("protected route after the code was replayed: %s", r)
		}
		wantTokenError(t, "refresh after the code was replayed", e.Refresh("app", rt), http.StatusBadRequest, "invalid_grant")
		if !familyRevokedInStore(t, rt) {
			t.Errorf("the replayed code's refresh-token family is not revoked in the store")
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		e := e.T(t)
		code, verifier := e.Code(b, "app", ru, scope)
		const n = 20
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			mu    sync.Mutex
			wins  []map[string]any
			other = map[string]int{}
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := NewRequest(t, http.MethodPost, e.Issuer+"/token", codeForm(code, verifier, ru))
				<-start
				resp, err := API.Do(req)
				if err != nil {
					t.Errorf("token request: %v", err)
					return
				}
				r := &Resp{Status: resp.StatusCode, Header: resp.Header, URL: req.URL}
				var body map[string]any
				err = jsonDecode(resp, &body)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("token response: %v", err)
				case r.Status == http.StatusOK:
					wins = append(wins, body)
				default:
					other[body["error"].(string)]++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(wins) != 1 || other["invalid_grant"] != n-1 {
			t.Fatalf("%d concurrent redemptions: %d succeeded, errors %v; want exactly one success", n, len(wins), other)
		}
		at, rt := wins[0]["access_token"].(string), wins[0]["refresh_token"].(string)
		if r := e.Userinfo(at); r.Status != http.StatusUnauthorized {
			t.Errorf("the winner's access token after concurrent reuse: %s", r)
		}
		wantTokenError(t, "the winner's refresh token after concurrent reuse", e.Refresh("app", rt), http.StatusBadRequest, "invalid_grant")
		if !familyRevokedInStore(t, rt) {
			t.Errorf("the winner's refresh-token family is not revoked in the store: it would come back when the revocation-list entry expires")
		}
	})
}

// TestRefreshReuse: refresh tokens rotate, and presenting a rotated one again revokes the
// whole family: RT1 → RT2, then RT1 again → invalid_grant and RT2 (and the access token
// issued with it) stop working too (AS-15). Twenty concurrent refreshes of one token never
// fork the family: at most one succeeds and the family ends up revoked (AS-18). A refresh
// may narrow the scope, not widen it (AS-16), and another client cannot use the token
// (OC-23).
func TestRefreshReuse(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient + `
		client other {
			redirect_uri {{.RP}}/other-cb
		}`})
	e.CreateUser("gina@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "gina@example.test", Password)
	ru := e.RP + "/app-cb"

	t.Run("rotation and reuse", func(t *testing.T) {
		e := e.T(t)
		rt1 := e.Tokens(b, "app", ru, "openid email read:docs")["refresh_token"].(string)
		r := e.Refresh("app", rt1)
		if r.Status != http.StatusOK {
			t.Fatalf("refresh RT1: %s", r)
		}
		tok := r.JSON(t)
		rt2, at2 := tok["refresh_token"].(string), tok["access_token"].(string)
		if rt2 == "" || rt2 == rt1 {
			t.Fatalf("refresh did not rotate the token")
		}
		if r := e.Userinfo(at2); r.Status != http.StatusOK {
			t.Fatalf("userinfo with AT2: %s", r)
		}
		wantTokenError(t, "replayed RT1", e.Refresh("app", rt1), http.StatusBadRequest, "invalid_grant")
		wantTokenError(t, "RT2 after RT1 was replayed", e.Refresh("app", rt2), http.StatusBadRequest, "invalid_grant")
		if r := e.Userinfo(at2); r.Status != http.StatusUnauthorized {
			t.Errorf("AT2 after RT1 was replayed: %s", r)
		}
		if !familyRevokedInStore(t, rt2) {
			t.Errorf("the family is not revoked in the store")
		}
	})

	t.Run("scope and client binding", func(t *testing.T) {
		e := e.T(t)
		rt := e.Tokens(b, "app", ru, "openid email read:docs")["refresh_token"].(string)
		wantTokenError(t, "refresh with a wider scope", e.Token(url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {rt}, "client_id": {"app"}, "scope": {"openid email read:docs profile"}}), http.StatusBadRequest, "invalid_scope")
		wantTokenError(t, "refresh as another client", e.Refresh("other", rt), http.StatusBadRequest, "invalid_grant")
		r := e.Token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"app"}, "scope": {"openid read:docs"}})
		if r.Status != http.StatusOK || r.JSON(t)["scope"] != "openid read:docs" {
			t.Errorf("refresh with a narrower scope: %s", r)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		e := e.T(t)
		rt := e.Tokens(b, "app", ru, "openid email read:docs")["refresh_token"].(string)
		const n = 20
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			mu    sync.Mutex
			wins  []string
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := NewRequest(t, http.MethodPost, e.Issuer+"/token", url.Values{"grant_type": {"refresh_token"},
					"refresh_token": {rt}, "client_id": {"app"}})
				<-start
				resp, err := API.Do(req)
				if err != nil {
					t.Errorf("refresh: %v", err)
					return
				}
				var body map[string]any
				if err := jsonDecode(resp, &body); err != nil {
					t.Errorf("refresh response: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if resp.StatusCode == http.StatusOK {
					wins = append(wins, body["refresh_token"].(string))
				} else if body["error"] != "invalid_grant" {
					t.Errorf("concurrent refresh: HTTP %d %v", resp.StatusCode, body)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(wins) > 1 {
			t.Fatalf("%d concurrent refreshes of one token succeeded: the family forked", len(wins))
		}
		for _, succ := range wins {
			wantTokenError(t, "the successor after concurrent reuse", e.Refresh("app", succ), http.StatusBadRequest, "invalid_grant")
		}
	})
}
