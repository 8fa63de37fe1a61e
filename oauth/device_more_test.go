package oauth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// RFC 8628 §3.5 slow_down is for a client polling faster than the interval: a client on a
// ticker (golang.org/x/oauth2) polls one interval apart, arriving a little early or late; a
// poll half a second early is still on time, one 1.5 s early is not.
func TestDevicePollJitter(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	st, _ := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
	_, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "first poll", oerr, oauth.AuthorizationPending)
	e.Clock.Advance(4500 * time.Millisecond)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll 4.5 s later", oerr, oauth.AuthorizationPending)
	e.Clock.Advance(3500 * time.Millisecond)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll 3.5 s later", oerr, oauth.SlowDown)
}

// The device's tokens belong to the session that approved them, as the code flow's do: a
// logout of that session before the device polls leaves nothing to collect, and a logout
// after it ends the device's refresh token (granted without offline_access).
func TestDeviceTokensEndWithTheSession(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	approve := func() (*oauth.DeviceStart, store.Session) {
		_, sess, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
		if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, st.UserCode, sess.ID, true, "192.0.2.7"); oerr != nil {
			t.Fatal(oerr)
		}
		return st, sess
	}
	st, sess := approve()
	if err := e.P.Sessions.End(e.Ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	_, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll after the approving session's logout", oerr, oauth.InvalidGrant)

	st, sess = approve()
	resp, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	if oerr != nil || resp.RefreshToken == "" {
		t.Fatalf("poll: %v", oerr)
	}
	if err := e.P.Sessions.End(e.Ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	_, oerr = e.P.OAuth.RefreshGrant(e.Ctx, tv, oauth.RefreshRequest{Token: resp.RefreshToken})
	wantKind(t, "refresh after the logout", oerr, oauth.InvalidGrant)
}

// A user code is never accepted twice, also across instances: two authorization servers on
// one PostgreSQL store (each with its own connection pool, as two Gatehouse processes have)
// race 20 approvals of the same user code; exactly one takes effect.
func TestDeviceUserCodeSingleUseAcrossInstances(t *testing.T) {
	dsn, schema := pgtest.Need(t), pgtest.Schema(t)
	ctx := context.Background()
	open := func() store.Store {
		s, err := postgres.Open(ctx, postgres.Options{DSN: dsn, Schema: schema, MaxConns: 8})
		if err != nil {
			t.Fatalf("open PostgreSQL store: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	e := idptest.NewOn(t, open(), nil)
	tv, err := oauth.NewClient(oauth.ClientConfig{ID: "tv", GrantTypes: []string{"device_code"}})
	if err != nil {
		t.Fatal(err)
	}
	e.P.OAuth.Configured["tv"] = tv
	s2 := open()
	p1 := e.P.OAuth
	p2 := &oauth.Server{Issuer: p1.Issuer, Store: s2, Configured: p1.Configured, Tokens: p1.Tokens, Sessions: p1.Sessions,
		Limiter: &lockout.Limiter{Store: s2, Now: e.Clock.Now, Window: 15 * time.Minute}, Verifier: p1.Verifier,
		Revocations: p1.Revocations, CodeLifetime: p1.CodeLifetime, AccessTokenLifetime: p1.AccessTokenLifetime,
		RefreshTokenIdle: p1.RefreshTokenIdle, RefreshTokenLifetime: p1.RefreshTokenLifetime, DeviceKey: p1.DeviceKey, Now: e.Clock.Now}
	st, oerr := p1.StartDevice(ctx, tv, []string{"openid"})
	if oerr != nil {
		t.Fatal(oerr)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 20 {
		sess := e.Session(sessions.Meta{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := p1
			if i%2 == 1 {
				p = p2
			}
			if _, oerr := p.DecideDevice(ctx, st.UserCode, sess.ID, true, "192.0.2.7"); oerr == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if oerr.Kind != oauth.InvalidGrant {
				t.Errorf("losing approval: %v", oerr)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d approvals took effect, want exactly one", won)
	}
	// The device code is single use across instances too: of two concurrent polls on the
	// two instances, one gets the tokens.
	results := make(chan *oauth.Error, 2)
	for _, p := range []*oauth.Server{p1, p2} {
		go func() {
			_, oerr := p.DeviceGrant(ctx, tv, st.DeviceCode)
			results <- oerr
		}()
	}
	got := []*oauth.Error{<-results, <-results}
	if (got[0] == nil) == (got[1] == nil) {
		t.Fatalf("two polls on two instances: %v, %v; want exactly one success", got[0], got[1])
	}
}
