package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// session is a password login session of userID, idle for an hour, absolute for a day.
func session(id, userID string) store.Session {
	return store.Session{
		ID:                id,
		UserID:            userID,
		AuthTime:          base,
		AMR:               []string{"pwd"},
		ACR:               "urn:gatehouse:acr:1",
		CreatedAt:         base,
		LastSeenAt:        base,
		IdleExpiresAt:     at(time.Hour),
		AbsoluteExpiresAt: at(24 * time.Hour),
		UserAgent:         "Mozilla/5.0",
		IP:                "192.0.2.1",
	}
}

// testSessions: sessions are unique, updated atomically, listed and deleted per user.
func testSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("created session can be read back and its id is unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		se := session("s1", "u1")
		ok(t, s.CreateSession(ctx, se), "create")
		got, err := s.GetSession(ctx, "s1")
		ok(t, err, "get")
		same(t, got, se, "session")
		isErr(t, s.CreateSession(ctx, session("s1", "u2")), store.ErrAlreadyExists, "same id")
		got, err = s.GetSession(ctx, "s1")
		ok(t, err, "get after refused create")
		same(t, got, se, "session unchanged")
		_, err = s.GetSession(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "unknown session")
	})

	t.Run("session activity is stored and a failed update writes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateSession(ctx, session("s1", "u1")), "create")
		want := session("s1", "u1")
		want.LastSeenAt, want.IdleExpiresAt, want.AMR = at(30*time.Minute), at(90*time.Minute), []string{"pwd", "webauthn"}
		got, err := s.UpdateSession(ctx, "s1", func(se store.Session) (store.Session, error) {
			se.LastSeenAt, se.IdleExpiresAt, se.AMR = at(30*time.Minute), at(90*time.Minute), append(se.AMR, "webauthn")
			return se, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned session")
		got, err = s.GetSession(ctx, "s1")
		ok(t, err, "get")
		same(t, got, want, "stored session")
		_, err = s.UpdateSession(ctx, "s1", func(se store.Session) (store.Session, error) {
			se.ACR = "changed"
			return se, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		got, err = s.GetSession(ctx, "s1")
		ok(t, err, "get after failed update")
		same(t, got, want, "session unchanged")
		_, err = s.UpdateSession(ctx, "nope", func(se store.Session) (store.Session, error) { return se, nil })
		isErr(t, err, store.ErrNotFound, "update unknown")
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list")
		same(t, listed, []store.Session{want}, "listed after update")
	})

	t.Run("logged-out session is gone and logging out twice is harmless", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateSession(ctx, session("s1", "u1")), "create")
		ok(t, s.DeleteSession(ctx, "s1"), "delete")
		_, err := s.GetSession(ctx, "s1")
		isErr(t, err, store.ErrNotFound, "get")
		ok(t, s.DeleteSession(ctx, "s1"), "delete again")
		ok(t, s.DeleteSession(ctx, "never"), "delete unknown")
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list")
		if len(listed) != 0 {
			t.Fatalf("deleted session still listed: %+v", listed)
		}
	})

	t.Run("account page lists exactly the user's sessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		// "u1" and "u1/x" must not see each other's sessions, whatever the key layout.
		for _, se := range []store.Session{session("s2", "u1"), session("s1", "u1"), session("s3", "u1/x"), session("s4", "u2")} {
			ok(t, s.CreateSession(ctx, se), "create "+se.ID)
		}
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list u1")
		var ids []string
		for _, se := range listed {
			ids = append(ids, se.ID)
		}
		sameIDs(t, ids, []string{"s1", "s2"}, "sessions of u1")
		for _, se := range listed {
			same(t, se, session(se.ID, "u1"), "listed session")
		}
		listed, err = s.ListUserSessions(ctx, "nobody")
		ok(t, err, "list nobody")
		if len(listed) != 0 {
			t.Fatalf("sessions of a user without any: %+v", listed)
		}
	})

	t.Run("logging out everywhere deletes all of the user's sessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, se := range []store.Session{session("s1", "u1"), session("s2", "u1"), session("s3", "u1/x"), session("s4", "u2")} {
			ok(t, s.CreateSession(ctx, se), "create "+se.ID)
		}
		ids, err := s.DeleteUserSessions(ctx, "u1")
		ok(t, err, "delete u1's sessions")
		sameIDs(t, ids, []string{"s1", "s2"}, "deleted IDs")
		for _, id := range []string{"s1", "s2"} {
			_, err := s.GetSession(ctx, id)
			isErr(t, err, store.ErrNotFound, "deleted "+id)
		}
		for _, id := range []string{"s3", "s4"} {
			_, err := s.GetSession(ctx, id)
			ok(t, err, "other user's "+id)
		}
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list")
		if len(listed) != 0 {
			t.Fatalf("sessions left: %+v", listed)
		}
		ids, err = s.DeleteUserSessions(ctx, "u1")
		ok(t, err, "delete again")
		if len(ids) != 0 {
			t.Fatalf("second delete returned %q", ids)
		}
	})

	t.Run("moving a session to another user moves it between their lists", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateSession(ctx, session("s1", "u1")), "create")
		_, err := s.UpdateSession(ctx, "s1", func(se store.Session) (store.Session, error) {
			se.UserID = "u2"
			return se, nil
		})
		ok(t, err, "update user")
		l1, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list u1")
		l2, err := s.ListUserSessions(ctx, "u2")
		ok(t, err, "list u2")
		if len(l1) != 0 || len(l2) != 1 || l2[0].UserID != "u2" {
			t.Fatalf("after move: u1 %+v, u2 %+v", l1, l2)
		}
	})
}
