package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TestExchangeCodeHappyPath: OC-01, OC-24 — a code redeemed once with the right client,
// redirect URI and PKCE verifier yields a Bearer access token (RFC 9068, verifiable by the
// provider), a refresh token and an ID token carrying the nonce, the session and the
// released claims.
func TestExchangeCodeHappyPath(t *testing.T) {
	e := idptest.New(t)
	resp, sess := e.Tokens("openid", "email", "read", "offline_access")
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 600 || resp.RefreshToken == "" || resp.IDToken == "" ||
		resp.Scope != "openid email read offline_access" {
		t.Fatalf("response %+v", resp)
	}
	c, err := e.P.Verifier.VerifyAccessToken(resp.AccessToken)
	if err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	if c.Subject != e.User.ID || c.ClientID != "web" || !c.Audience.Contains("web") || c.SessionID != sess.ID ||
		c.GrantID == "" || c.Email != "alice@example.com" || !c.EmailVerified || c.Name != "" || strings.Join(c.Groups, ",") != "staff" {
		t.Fatalf("access claims %+v", c)
	}
	idc, err := e.P.Verifier.VerifyIDToken(resp.IDToken, false)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idc["nonce"] != "n-1" || idc["sub"] != e.User.ID || idc["aud"] != "web" || idc["sid"] != sess.ID ||
		idc["email"] != "alice@example.com" || idc["iss"] != idptest.Issuer || idc["at_hash"] == nil || idc["tid"] != "tenant-1" {
		t.Fatalf("ID token claims %v", idc)
	}
	if _, ok := idc["name"]; ok {
		t.Fatal("name released without the profile scope (OC-06)")
	}
	// Without openid: no ID token; client without refresh grant: no refresh token.
	v, ch := idptest.PKCE()
	code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "read"))
	r2, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	if oerr != nil || r2.IDToken != "" {
		t.Fatalf("without openid: %v %q", oerr, r2.IDToken)
	}
}

// TestExchangeCodePKCE: AS-11, AS-08, AS-10, OC-28 — a wrong verifier fails and burns the
// code (the right verifier afterwards fails too: no guessing loop); a verifier sent for a
// code issued without a challenge is refused (PKCE downgrade); a missing or malformed
// verifier is refused.
func TestExchangeCodePKCE(t *testing.T) {
	e := idptest.New(t)
	v, ch := idptest.PKCE()
	code, _ := e.Code(idptest.AuthQuery("cli", idptest.CliCB, ch, "openid"))
	wrong, _ := idptest.PKCE()
	_, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.CLI, oauth.CodeGrant{Code: code, RedirectURI: idptest.CliCB, Verifier: wrong})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.CLI, oauth.CodeGrant{Code: code, RedirectURI: idptest.CliCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)

	// AS-08: no challenge at authorization, a verifier at the token endpoint.
	code, _ = e.Code(idptest.AuthQuery("web", idptest.WebCB, "", "openid"))
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)

	for name, verifier := range map[string]string{
		"missing":       "",
		"42 characters": strings.Repeat("a", 42),
		"129 chars":     strings.Repeat("a", 129),
		"with +":        v[:20] + "+" + v[21:],
		"with /":        v[:20] + "/" + v[21:],
		"with space":    v[:20] + " " + v[21:],
		"the challenge": ch,
	} {
		t.Run(name, func(t *testing.T) {
			code, _ := e.Code(idptest.AuthQuery("cli", idptest.CliCB, ch, "openid"))
			_, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.CLI, oauth.CodeGrant{Code: code, RedirectURI: idptest.CliCB, Verifier: verifier})
			idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
		})
	}
	// Control: the right verifier on a fresh code works; no challenge and no verifier works
	// for the confidential client that allows it.
	code, _ = e.Code(idptest.AuthQuery("cli", idptest.CliCB, ch, "openid"))
	if _, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.CLI, oauth.CodeGrant{Code: code, RedirectURI: idptest.CliCB, Verifier: v}); oerr != nil {
		t.Fatalf("control: %v", oerr)
	}
	code, _ = e.Code(idptest.AuthQuery("web", idptest.WebCB, "", "openid"))
	if _, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: ""}); oerr != nil {
		t.Fatalf("control without PKCE: %v", oerr)
	}
}

// TestExchangeCodeBinding: AS-04, AS-05, AS-06 — a code is bound to its client (another
// client's redemption fails and burns it), to its redirect URI, and to its short lifetime.
func TestExchangeCodeBinding(t *testing.T) {
	e := idptest.New(t)
	v, ch := idptest.PKCE()

	// AS-05: client rp redeems web's code.
	code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	_, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.RP, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant) // burned

	// AS-04: another registered redirect URI, or none while two are registered.
	for _, ru := range []string{idptest.WebCB2, "", "https://evil.test/cb", idptest.WebCB + "/"} {
		code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
		_, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: ru, Verifier: v})
		idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	}

	// AS-06: expired code (lifetime 1 minute).
	code, _ = e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	e.Clock.Advance(e.P.CodeLifetime)
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	code, _ = e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	e.Clock.Advance(e.P.CodeLifetime - time.Second)
	if _, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v}); oerr != nil {
		t.Fatalf("code within its lifetime: %v", oerr)
	}

	// Unknown, empty and oversized codes.
	for _, c := range []string{"nope", "", strings.Repeat("a", 129)} {
		if _, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: c, RedirectURI: idptest.WebCB, Verifier: v}); oerr == nil {
			t.Fatalf("code %.20q accepted", c)
		}
	}
}

// TestExchangeCodeReplayRevokes: OC-14, OC-15, AS-07 — redeeming a code twice fails the
// second time and revokes what the first redemption issued: its access token stops
// verifying and its refresh token stops working.
func TestExchangeCodeReplayRevokes(t *testing.T) {
	e := idptest.New(t)
	v, ch := idptest.PKCE()
	code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid", "offline_access"))
	first, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	if oerr != nil {
		t.Fatal(oerr)
	}
	if _, err := e.P.Verifier.VerifyAccessToken(first.AccessToken); err != nil {
		t.Fatalf("control: %v", err)
	}
	e.Clock.Advance(30 * time.Second)
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	if _, err := e.P.Verifier.VerifyAccessToken(first.AccessToken); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("first access token after replay: %v, want ErrRevoked", err)
	}
	_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: first.RefreshToken})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
}

// TestExchangeCodeConcurrent: AS-07 — of 20 parallel redemptions of one code exactly one
// succeeds, and because reuse was detected its tokens are revoked as well.
func TestExchangeCodeConcurrent(t *testing.T) {
	e := idptest.New(t)
	v, ch := idptest.PKCE()
	code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins []*oauth.TokenResponse
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
			if oerr == nil {
				mu.Lock()
				wins = append(wins, resp)
				mu.Unlock()
			} else if oerr.Kind != oauth.InvalidGrant {
				t.Errorf("loser got %v", oerr)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1", len(wins))
	}
	if _, err := e.P.Verifier.VerifyAccessToken(wins[0].AccessToken); !errors.Is(err, tokens.ErrRevoked) {
		t.Fatalf("winner's token after concurrent reuse: %v, want ErrRevoked", err)
	}
}

// TestExchangeCodeUserAndSessionState: AS-17 — a code of a user disabled, or of a session
// logged out, since it was issued yields nothing.
func TestExchangeCodeUserAndSessionState(t *testing.T) {
	e := idptest.New(t)
	v, ch := idptest.PKCE()
	code, sess := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	if err := e.P.Sessions.End(e.Ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	_, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)

	code, _ = e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	if _, err := e.P.Accounts.SetDisabled(e.Ctx, e.User.ID, true); err != nil {
		t.Fatal(err)
	}
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
}

// TestRefreshRotation: AS-15 (RFC 9700 §4.14.2) — each refresh returns a new refresh token
// and retires the old one; presenting a retired token revokes the whole family: the
// successor refresh token and every access token of the grant stop working.
func TestRefreshRotation(t *testing.T) {
	e := idptest.New(t)
	resp, _ := e.Tokens("openid", "read", "offline_access")
	rt1 := resp.RefreshToken
	e.Clock.Advance(time.Minute)
	r2, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: rt1})
	if oerr != nil {
		t.Fatal(oerr)
	}
	if r2.RefreshToken == "" || r2.RefreshToken == rt1 || r2.AccessToken == resp.AccessToken || r2.IDToken == "" {
		t.Fatalf("rotation: %+v", r2)
	}
	c2, err := e.P.Verifier.VerifyAccessToken(r2.AccessToken)
	if err != nil || c2.GrantID != resp.Claims.GrantID || c2.Scope != "openid read offline_access" {
		t.Fatalf("refreshed access token: %v %+v", err, c2)
	}
	r3, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: r2.RefreshToken})
	if oerr != nil {
		t.Fatal(oerr)
	}
	// Reuse of rt1 (an attacker's stolen copy): refused, and the family dies.
	_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: rt1})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: r3.RefreshToken})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	for _, at := range []string{resp.AccessToken, r2.AccessToken, r3.AccessToken} {
		if _, err := e.P.Verifier.VerifyAccessToken(at); !errors.Is(err, tokens.ErrRevoked) {
			t.Fatalf("access token of a revoked family: %v", err)
		}
	}
	// Another grant of the same user is not affected.
	other, _ := e.Tokens("openid", "offline_access")
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: other.RefreshToken}); oerr != nil {
		t.Fatalf("unrelated grant: %v", oerr)
	}
}

// TestRefreshConcurrent: AS-18 — parallel refreshes with one token never fork the family:
// at most one succeeds, the others are reuse, and reuse revokes the family, so no returned
// refresh token stays usable.
func TestRefreshConcurrent(t *testing.T) {
	e := idptest.New(t)
	resp, _ := e.Tokens("openid", "offline_access")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins []*oauth.TokenResponse
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
			if oerr == nil {
				mu.Lock()
				wins = append(wins, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wins) > 1 {
		t.Fatalf("%d parallel refreshes succeeded: the family forked", len(wins))
	}
	for _, w := range wins {
		if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: w.RefreshToken}); oerr == nil {
			t.Fatal("a successor survived the detected reuse")
		}
	}
}

// TestRefreshScope: AS-16 — a refresh may narrow the scope and later return to the
// originally granted scope, never widen it (invalid_scope); a refresh token is bound to
// its client (OC-23).
func TestRefreshScope(t *testing.T) {
	e := idptest.New(t)
	resp, _ := e.Tokens("openid", "read", "offline_access")
	narrow, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken, Scopes: strings.Fields("read read")})
	if oerr != nil {
		t.Fatalf("narrowing: %v", oerr)
	}
	if c, _ := e.P.Verifier.VerifyAccessToken(narrow.AccessToken); c == nil || c.Scope != "read" || narrow.IDToken != "" {
		t.Fatalf("narrowed token scope %+v, id token %q", c, narrow.IDToken)
	}
	back, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: narrow.RefreshToken})
	if oerr != nil || back.Scope != "openid read offline_access" {
		t.Fatalf("back to the full grant: %v %q", oerr, back.Scope)
	}
	for _, scope := range []string{"openid read write", "admin", "read:all", "READ"} {
		_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: back.RefreshToken, Scopes: strings.Fields(scope)})
		idptest.WantOAuth(t, oerr, oauth.InvalidScope)
	}
	// The widening attempts did not consume the token.
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: back.RefreshToken}); oerr != nil {
		t.Fatalf("after refused widening: %v", oerr)
	}
	// OC-23: another client presenting it.
	r, _ := e.Tokens("openid", "offline_access")
	_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.RP, oauth.RefreshRequest{Token: r.RefreshToken})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	for _, bad := range []string{"", strings.Repeat("x", 129)} {
		_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: bad})
		idptest.WantOAuth(t, oerr, oauth.InvalidRequest)
	}
	_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: "unknown-token"})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
}

// TestRefreshLifecycle: AS-17, PX-29 — a refresh token without offline_access dies with its
// session's logout (TestOfflineGrantOutlivesLogout: offline ones do not); every refresh token
// dies with the user's disabling or password change, and after its idle lifetime.
func TestRefreshLifecycle(t *testing.T) {
	t.Run("logout", func(t *testing.T) {
		e := idptest.New(t)
		resp, sess := e.Tokens("openid", "read")
		if resp.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		if err := e.P.Sessions.End(e.Ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
		idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
		if _, err := e.P.Verifier.VerifyAccessToken(resp.AccessToken); !errors.Is(err, tokens.ErrRevoked) {
			t.Fatalf("access token after logout: %v", err)
		}
	})
	t.Run("session expired", func(t *testing.T) {
		e := idptest.New(t)
		resp, _ := e.Tokens("openid")
		e.Clock.Advance(e.P.SessionIdle + time.Second)
		_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
		idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	})
	t.Run("offline access outlives the session", func(t *testing.T) {
		e := idptest.New(t)
		resp, _ := e.Tokens("openid", "offline_access")
		e.Clock.Advance(e.P.SessionIdle + time.Second)
		if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken}); oerr != nil {
			t.Fatalf("offline refresh after the session expired: %v", oerr)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		e := idptest.New(t)
		resp, _ := e.Tokens("openid", "offline_access")
		if _, err := e.P.Accounts.SetDisabled(e.Ctx, e.User.ID, true); err != nil {
			t.Fatal(err)
		}
		_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
		idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
		if _, err := e.P.Verifier.VerifyAccessToken(resp.AccessToken); !errors.Is(err, tokens.ErrRevoked) {
			t.Fatalf("access token of a disabled user: %v", err)
		}
	})
	t.Run("password change", func(t *testing.T) {
		e := idptest.New(t)
		resp, _ := e.Tokens("openid", "offline_access")
		if err := e.P.Accounts.SetPassword(e.Ctx, e.User.ID, "a brand new password"); err != nil {
			t.Fatal(err)
		}
		_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
		idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
		// A login after the change works (the user revocation covers earlier tokens only).
		e.Clock.Advance(time.Second)
		fresh, _ := e.Tokens("openid")
		if _, err := e.P.Verifier.VerifyAccessToken(fresh.AccessToken); err != nil {
			t.Fatalf("token issued after the password change: %v", err)
		}
	})
	t.Run("idle lifetime", func(t *testing.T) {
		e := idptest.New(t)
		resp, _ := e.Tokens("openid", "offline_access")
		e.Clock.Advance(e.P.RefreshTokenIdle)
		_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
		idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	})
}

// TestNewUserReportedOnce: the new_user claim is true in the ID token of the first code of
// the session whose login created the user, and false afterwards.
func TestNewUserReportedOnce(t *testing.T) {
	e := idptest.New(t)
	sess := e.Session(sessions.Meta{NewUser: true})
	var seen []any
	for i := 0; i < 3; i++ {
		v, ch := idptest.PKCE()
		code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"), sess)
		resp, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
		if oerr != nil {
			t.Fatal(oerr)
		}
		c, err := e.P.Verifier.VerifyIDToken(resp.IDToken, false)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, c["new_user"])
	}
	if seen[0] != true || seen[1] != false || seen[2] != false {
		t.Fatalf("new_user across three codes = %v, want [true false false]", seen)
	}
}

// TestAuthenticateClient: AS-24, OC-20 — a confidential client authenticates with its
// secret only; a public client must not send one; failures are counted and lock the client
// after the limit.
func TestAuthenticateClient(t *testing.T) {
	e := idptest.New(t, func(c *idp.Config) { c.ClientMaxFailures = 3 })
	if c, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "web", idptest.WebSecret, true, "192.0.2.1"); oerr != nil || c.ID != "web" {
		t.Fatalf("right secret: %v", oerr)
	}
	for name, tc := range map[string]struct {
		id, secret string
		has        bool
	}{
		"wrong secret":          {"web", "wrong-secret-0123456", true},
		"no secret":             {"web", "", false},
		"unknown client":        {"nope", "x", true},
		"empty id":              {"", idptest.WebSecret, true},
		"public with a secret":  {"cli", "anything", true},
		"other client's secret": {"rp", idptest.WebSecret, true},
	} {
		t.Run(name, func(t *testing.T) {
			_, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, tc.id, tc.secret, tc.has, "192.0.2.1")
			idptest.WantOAuth(t, oerr, oauth.InvalidClient)
		})
	}
	if _, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "cli", "", false, "192.0.2.1"); oerr != nil {
		t.Fatalf("public client: %v", oerr)
	}
	// rp: three failures from one IP throttle that IP (AS-24), even with the right secret...
	for i := 0; i < 3; i++ {
		_, _ = e.P.OAuth.AuthenticateClient(e.Ctx, "rp", "wrong-secret-0123456", true, "192.0.2.66")
	}
	_, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "rp", "another-secret-of-16+", true, "192.0.2.66")
	if oerr == nil || !strings.Contains(oerr.Description, "too many") {
		t.Fatalf("throttled client IP: %v", oerr)
	}
	// ...but the client keeps working from its own servers: an attacker cannot lock it out
	// (CR-04).
	if _, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "rp", "another-secret-of-16+", true, "198.51.100.7"); oerr != nil {
		t.Fatalf("client locked out by another IP's failures: %v", oerr)
	}
	// IPv6 addresses of one /64 share a counter.
	for i := 0; i < 3; i++ {
		_, _ = e.P.OAuth.AuthenticateClient(e.Ctx, "rp", "wrong-secret-0123456", true, fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if _, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "rp", "another-secret-of-16+", true, "2001:db8:1:2::ffff"); oerr == nil {
		t.Fatal("a /64 rotating addresses escaped the limit")
	}
}

// TestClientAuthenticationCost: issue 15 — an honest client's authentication writes no
// attempt counter (a success costs no synced write); ten wrong secrets from one address
// lock it, the right secret included, until the lockout window ends; a success after a few
// failures starts the count over.
func TestClientAuthenticationCost(t *testing.T) {
	e := idptest.New(t, func(c *idp.Config) { c.ClientMaxFailures = 10 })
	cs := &idptest.CountingStore{Store: e.Store}
	e.Swap(cs)
	auth := func(sec, ip string) *oauth.Error {
		_, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "web", sec, true, ip)
		return oerr
	}
	for i := 0; i < 50; i++ {
		if oerr := auth(idptest.WebSecret, "192.0.2.1"); oerr != nil {
			t.Fatalf("grant %d: %v", i, oerr)
		}
	}
	if n := cs.CounterWrites(); n != 0 {
		t.Fatalf("50 honest authentications wrote %d counters; want none", n)
	}
	// Nine failures, then a success: the count starts over (one write, the reset).
	for i := 0; i < 9; i++ {
		idptest.WantOAuth(t, auth("wrong-secret-0123456", "192.0.2.2"), oauth.InvalidClient)
	}
	if oerr := auth(idptest.WebSecret, "192.0.2.2"); oerr != nil {
		t.Fatalf("right secret after 9 failures: %v", oerr)
	}
	if n := cs.CounterWrites(); n != 10 {
		t.Fatalf("%d counter writes for 9 failures and a success; want 10", n)
	}
	for i := 0; i < 10; i++ {
		oerr := auth("wrong-secret-0123456", "192.0.2.2")
		if oerr == nil || oerr.Description != "client authentication failed" {
			t.Fatalf("failure %d after the reset: %v", i+1, oerr)
		}
	}
	oerr := auth(idptest.WebSecret, "192.0.2.2")
	if oerr == nil || !strings.Contains(oerr.Description, "too many") {
		t.Fatalf("right secret after 10 failures: %v", oerr)
	}
	e.Clock.Advance(e.P.LockoutWindow)
	if oerr := auth(idptest.WebSecret, "192.0.2.2"); oerr != nil {
		t.Fatalf("right secret after the window: %v", oerr)
	}
}

// TestClientAuthenticationParallelGuesses: CR-03 for client secrets — forty wrong secrets at
// once from one address are checked at most five times (the limit); none gets through, and
// the right secret is refused under the lock.
func TestClientAuthenticationParallelGuesses(t *testing.T) {
	e := idptest.New(t, func(c *idp.Config) { c.ClientMaxFailures = 5 })
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "web", fmt.Sprintf("wrong-secret-%08d", i), true, "192.0.2.7")
			key := "other"
			switch {
			case c != nil:
				key = "accepted"
			case oerr != nil && oerr.Description == "client authentication failed":
				key = "checked"
			case oerr != nil && strings.Contains(oerr.Description, "too many"):
				key = "locked"
			}
			mu.Lock()
			outcomes[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if outcomes["checked"] != 5 || outcomes["locked"] != 35 || len(outcomes) != 2 {
		t.Fatalf("outcomes %v; want 5 checked, 35 locked", outcomes)
	}
	if _, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "web", idptest.WebSecret, true, "192.0.2.7"); oerr == nil {
		t.Fatal("right secret admitted under the lock")
	}
}

// TestClientAccessTokenAlg: issue 15 — a client's own access_token_alg signs its access
// tokens (here ES256, for a busy machine client) while the others keep the provider's
// (RS256 by default); both verify; an unknown algorithm is refused at load.
func TestClientAccessTokenAlg(t *testing.T) {
	e := idptest.New(t)
	alg := func(tok string) string {
		h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		var hdr struct{ Alg string }
		if err := json.Unmarshal(h, &hdr); err != nil {
			t.Fatal(err)
		}
		return hdr.Alg
	}
	machine, err := idp.NewClient(idp.ClientConfig{ID: "machine", Secret: "machine-secret-0123456789",
		GrantTypes: []string{oauth.GrantClientCredentials}, Scopes: []string{"read"}, AccessTokenAlg: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	resp, oerr := e.P.OAuth.ClientCredentialsGrant(e.Ctx, machine, oauth.ClientCredentialsRequest{Scopes: []string{"read"}})
	if oerr != nil {
		t.Fatal(oerr)
	}
	if a := alg(resp.AccessToken); a != "ES256" {
		t.Fatalf("machine client's access token alg %s, want ES256", a)
	}
	if _, err := e.P.Verifier.VerifyAccessToken(resp.AccessToken); err != nil {
		t.Fatalf("ES256 access token: %v", err)
	}
	web, _ := e.Tokens("openid")
	if a := alg(web.AccessToken); a != "RS256" {
		t.Fatalf("default access token alg %s, want RS256", a)
	}
	if a := alg(web.IDToken); a != "RS256" {
		t.Fatalf("default ID token alg %s, want RS256", a)
	}
	if _, err := idp.NewClient(idp.ClientConfig{ID: "bad", Secret: "machine-secret-0123456789", AccessTokenAlg: "HS256"}); err == nil ||
		!strings.Contains(err.Error(), "access_token_alg") {
		t.Fatalf("access_token_alg HS256: %v", err)
	}
}

// TestExchangeAfterLogout: a code issued before a logout cannot be redeemed after it, even
// when the revocation list no longer holds the session (PX-29).
func TestExchangeAfterLogout(t *testing.T) {
	e := idptest.New(t)
	v, ch := idptest.PKCE()
	code, s := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	// Delete the session record only: the store, not the in-memory list, must decide.
	if err := e.Store.DeleteSession(e.Ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	_, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
}

// TestOfflineGrantOutlivesLogout: AS-17 — OpenID Connect Core 1.0 §11: "offline_access ...
// requests that an OAuth 2.0 Refresh Token be issued that can be used to obtain an Access
// Token that grants access to the End-User's UserInfo Endpoint even when the End-User is not
// present (not logged in)"; Back-Channel Logout 1.0 §2.7: "Refresh tokens issued without the
// offline_access property to a session being logged out SHOULD be revoked. Refresh tokens
// issued with the offline_access property normally SHOULD NOT be revoked." After logout the
// online refresh token and the session's access tokens are refused and the offline refresh
// token still refreshes (its new access token is accepted); a password change, disabling
// the user, revocation (RFC 7009) and reuse detection still end the offline grant.
func TestOfflineGrantOutlivesLogout(t *testing.T) {
	kills := map[string]func(e *idptest.Env, offline *idp.TokenResponse) string{
		"password change": func(e *idptest.Env, _ *idp.TokenResponse) string {
			if err := e.P.Accounts.SetPassword(e.Ctx, e.User.ID, "a brand new password"); err != nil {
				t.Fatal(err)
			}
			return ""
		},
		"user disabled": func(e *idptest.Env, _ *idp.TokenResponse) string {
			if _, err := e.P.Accounts.SetDisabled(e.Ctx, e.User.ID, true); err != nil {
				t.Fatal(err)
			}
			return ""
		},
		"revocation": func(e *idptest.Env, offline *idp.TokenResponse) string {
			if oerr := e.P.OAuth.Revoke(e.Ctx, e.Web, offline.RefreshToken, oauth.RefreshTokenHint); oerr != nil {
				t.Fatal(oerr)
			}
			return ""
		},
		"reuse": func(e *idptest.Env, offline *idp.TokenResponse) string {
			next, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: offline.RefreshToken})
			if oerr != nil {
				t.Fatal(oerr)
			}
			_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: offline.RefreshToken})
			idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
			return next.RefreshToken // the successor dies with its family
		},
	}
	for name, kill := range kills {
		t.Run(name, func(t *testing.T) {
			e := idptest.New(t)
			sess := e.Session(sessions.Meta{})
			exchange := func(scopes ...string) *idp.TokenResponse {
				v, ch := idptest.PKCE()
				code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, scopes...), sess)
				resp, oerr := e.P.ExchangeCode(e.Ctx, e.Web, code, idptest.WebCB, v)
				if oerr != nil {
					t.Fatal(oerr)
				}
				return resp
			}
			online, offline := exchange("openid", "read"), exchange("openid", "offline_access")
			if err := e.P.Sessions.End(e.Ctx, sess.ID); err != nil {
				t.Fatal(err)
			}
			_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: online.RefreshToken})
			idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
			for what, at := range map[string]string{"online": online.AccessToken, "offline": offline.AccessToken} {
				if _, err := e.P.Verifier.VerifyAccessToken(at); !errors.Is(err, tokens.ErrRevoked) {
					t.Fatalf("the session's %s access token after logout: %v, want revoked", what, err)
				}
			}
			e.Clock.Advance(time.Second)
			next, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: offline.RefreshToken})
			if oerr != nil {
				t.Fatalf("offline refresh after logout: %v", oerr)
			}
			if _, err := e.P.Verifier.VerifyAccessToken(next.AccessToken); err != nil {
				t.Fatalf("access token refreshed from the offline grant after logout: %v", err)
			}
			e.Clock.Advance(time.Second)
			rt := kill(e, next)
			if rt == "" {
				rt = next.RefreshToken
			}
			_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: rt})
			idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
		})
	}
}

// A journey yields approval_data only when an approve step approved it (security review:
// a pushed payment answered by a login-only journey must not come back "approved"; the
// journey handler passes ApprovedBy only for the very transaction of the request).
func TestJourneyCodeNeedsTheApprovedTransaction(t *testing.T) {
	e := idptest.New(t)
	_, ch := idptest.PKCE()
	req, _, oerr := e.P.ParseAuthRequest(e.Ctx, idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	if oerr != nil {
		t.Fatal(oerr)
	}
	req.ApprovalData = []byte(`{"amount":"100.00","currency":"EUR","payee":"Shop","type":"payment"}`)
	res := oauth.JourneyResult{UserID: e.User.ID}
	if _, err := e.P.OAuth.IssueJourneyCode(e.Ctx, req, res); !errors.Is(err, oauth.ErrApprovalPending) {
		t.Fatalf("no approval: %v, want ErrApprovalPending", err)
	}
	res.ApprovedBy = "webauthn"
	if code, err := e.P.OAuth.IssueJourneyCode(e.Ctx, req, res); err != nil || code == "" {
		t.Fatalf("approved: %q %v", code, err)
	}
	req.ApprovalData = nil
	if _, err := e.P.OAuth.IssueJourneyCode(e.Ctx, req, oauth.JourneyResult{UserID: e.User.ID}); err != nil {
		t.Fatalf("no transaction: %v", err)
	}
}

// TestStepUpRequiredRefusesSingleFactorGrants: issue 18 ("take effect on the next request,
// without a reload") — once the settings require a second factor for the password method
// (login.mfa.password: required), a refresh token of a password-only login (amr [pwd]) gets
// no new tokens, nor does a code issued just before the switch; relaxing the setting again
// makes the same refresh token work.
func TestStepUpRequiredRefusesSingleFactorGrants(t *testing.T) {
	e := idptest.New(t)
	set := idptest.UseSettings(t, e.P, e.Store, settings.Base{Values: settings.Defaults(), PasskeysAvailable: true}).Set
	resp, _ := e.Tokens("openid", "read", "offline_access")
	v, ch := idptest.PKCE()
	code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid", "offline_access"))

	set(`{"login":{"mfa":{"password":"required"}}}`)
	_, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)
	if !strings.Contains(oerr.Description, "second factor") {
		t.Fatalf("refresh: %q does not tell to log in with a second factor", oerr.Description)
	}
	_, oerr = e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	idptest.WantOAuth(t, oerr, oauth.InvalidGrant)

	// A multi-factor login is not affected.
	_, s, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd", "mfa", "otp"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	code, _ = e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid", "offline_access"), s)
	mf, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	if oerr != nil {
		t.Fatalf("multi-factor code: %v", oerr)
	}
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: mf.RefreshToken}); oerr != nil {
		t.Fatalf("multi-factor refresh: %v", oerr)
	}

	set(`{"login":{"mfa":{"password":"if_enrolled"}}}`)
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken}); oerr != nil {
		t.Fatalf("setting relaxed: refresh refused: %v", oerr)
	}
}
