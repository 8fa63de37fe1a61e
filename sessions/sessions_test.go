package sessions_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// TestSessions: a session is found by its cookie secret only (the store holds the hash),
// ends at logout, and is refused for a disabled user or after its idle lifetime.
func TestSessions(t *testing.T) {
	e := idptest.New(t)
	sec, s, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{IP: "192.0.2.1", UserAgent: strings.Repeat("u", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == sec || len(s.UserAgent) > 256 {
		t.Fatalf("session %+v", s)
	}
	if got, u, err := e.P.Sessions.Get(e.Ctx, sec); err != nil || got.ID != s.ID || u.ID != e.User.ID {
		t.Fatalf("Session: %v", err)
	}
	for _, bad := range []string{"", s.ID, sec + "x", strings.Repeat("a", 200)} {
		if _, _, err := e.P.Sessions.Get(e.Ctx, bad); !errors.Is(err, sessions.ErrNoSession) {
			t.Fatalf("Session(%.20q) = %v", bad, err)
		}
	}
	e.Clock.Advance(2 * time.Minute) // touch: idle expiry moves forward
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(e.P.SessionIdle - time.Minute)
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec); err != nil {
		t.Fatalf("idle expiry not extended by use: %v", err)
	}
	if err := e.P.Sessions.EndBySecret(e.Ctx, sec); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec); !errors.Is(err, sessions.ErrNoSession) {
		t.Fatalf("after logout: %v", err)
	}
	sec2, _, _ := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	e.Clock.Advance(e.P.SessionIdle)
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec2); !errors.Is(err, sessions.ErrNoSession) {
		t.Fatalf("idle session: %v", err)
	}
	sec3, _, _ := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if _, err := e.P.Accounts.SetDisabled(e.Ctx, e.User.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.P.Sessions.Get(e.Ctx, sec3); !errors.Is(err, sessions.ErrNoSession) {
		t.Fatalf("disabled user's session: %v", err)
	}
}
