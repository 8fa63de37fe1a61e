package idp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TestExchangeAfterLogout: a code issued before a logout cannot be redeemed after it, even
// when the revocation list no longer holds the session (PX-29).
func TestExchangeAfterLogout(t *testing.T) {
	e := newEnv(t)
	v, ch := pkce()
	code, s := e.code(authQuery("web", webCB, ch, "openid"))
	// Delete the session record only: the store, not the in-memory list, must decide.
	if err := e.store.DeleteSession(e.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	_, oerr := e.p.ExchangeCode(e.ctx, e.web, code, webCB, v)
	wantOAuth(t, oerr, idp.ErrCodeInvalidGrant)
}

// TestSignupThrottledPerIP: sign-up attempts are limited per client IP (each costs a
// password hash and tells whether an address is registered), and IPv6 addresses count per
// /64.
func TestSignupThrottledPerIP(t *testing.T) {
	e := newEnv(t) // signup closed: every attempt is refused, and still counted
	var err error
	for i := 0; i < 31; i++ {
		_, err = e.p.Signup(e.ctx, idp.NewUser{Email: fmt.Sprintf("u%d@example.com", i), Password: "long enough password"},
			"", fmt.Sprintf("2001:db8:aa:bb::%x", i+1))
	}
	var locked *idp.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("31st sign-up from one /64: %v, want too many attempts", err)
	}
	if _, err := e.p.Signup(e.ctx, idp.NewUser{Email: "x@example.com", Password: "long enough password"}, "", "192.0.2.99"); !errors.Is(err, idp.ErrSignupClosed) {
		t.Fatalf("another IP: %v", err)
	}
}

// TestAccessTokenGroupsCapped: a user in very many groups gets an access token whose group
// list fits the size budget (so the token fits a browser cookie, RB-07); the groups left out
// are whole names, never a truncated one.
func TestAccessTokenGroupsCapped(t *testing.T) {
	e := newEnv(t)
	var groups []string
	for i := 0; i < 250; i++ {
		groups = append(groups, fmt.Sprintf("group-number-%04d", i))
	}
	if _, err := e.p.SetGroups(e.ctx, e.user.ID, groups); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.tokens("openid")
	if len(resp.AccessToken) > tokens.MaxTokenSize/2 {
		t.Fatalf("access token of %d bytes", len(resp.AccessToken))
	}
	got := resp.Claims.Groups
	if len(got) == 0 || len(got) >= 250 || len(strings.Join(got, ",")) > 2048 {
		t.Fatalf("%d groups (%d bytes) in the token", len(got), len(strings.Join(got, ",")))
	}
	for i, g := range got {
		if g != groups[i] {
			t.Fatalf("group %d = %q, want %q", i, g, groups[i])
		}
	}
}
