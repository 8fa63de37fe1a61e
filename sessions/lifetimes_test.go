package sessions_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// Issue 18: the session idle/absolute lifetimes of the runtime settings "take effect on the
// next request, without a reload". Sessions started under the defaults (24h idle, 14 days)
// end at their next request once the lifetimes are shortened: idle counted from their last
// use, absolute from their start — and so does the refresh grant of a session that ended
// this way. A session still within the new bounds goes on; one that ended stays ended when
// the lifetimes grow again.
func TestRuntimeLifetimesApplyToExistingSessions(t *testing.T) {
	e := idptest.New(t)
	set := idptest.UseSettings(t, e.P, e.Store, settings.Base{Values: settings.Defaults()}).Set
	start := func() string {
		sec, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return sec
	}
	get := func(sec string) error { _, _, err := e.P.Sessions.Get(e.Ctx, sec); return err }

	idle, long := start(), start()
	tr, _ := e.Tokens("openid", "profile") // a session with a refresh token (not offline_access)
	e.Clock.Advance(30 * time.Minute)
	recent := start()
	e.Clock.Advance(45 * time.Minute) // idle and the token's session: unused for 75 minutes
	if err := get(long); err != nil {
		t.Fatal(err)
	}

	set(`{"login":{"session_idle":"1h"}}`)
	if err := get(idle); !errors.Is(err, sessions.ErrNoSession) {
		t.Fatalf("a session unused for 75 minutes after the idle lifetime became 1h: %v, want ErrNoSession", err)
	}
	if err := get(recent); err != nil {
		t.Fatalf("a session unused for 45 minutes after the idle lifetime became 1h: %v", err)
	}
	if _, oerr := e.P.RefreshGrant(e.Ctx, e.Web, tr.RefreshToken, ""); oerr == nil {
		t.Fatal("the refresh token of a session past the new idle lifetime was accepted")
	}

	set(`{"login":{"session_lifetime":"2h"}}`)
	e.Clock.Advance(50 * time.Minute) // long: 125 minutes old, used 50 minutes ago
	if err := get(long); !errors.Is(err, sessions.ErrNoSession) {
		t.Fatalf("a session 125 minutes old after the lifetime became 2h: %v, want ErrNoSession", err)
	}

	set(`{"login":{"session_idle":"24h","session_lifetime":"336h"}}`)
	if err := get(idle); !errors.Is(err, sessions.ErrNoSession) {
		t.Fatalf("an idle-ended session came back when the lifetimes grew: %v", err)
	}
	if err := get(recent); err != nil {
		t.Fatalf("a live session with the lifetimes grown again: %v", err)
	}
}
