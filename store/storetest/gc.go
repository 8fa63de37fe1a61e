package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testGarbageCollect: a store that purges expired records when asked (store.GarbageCollector)
// removes what expired before the time it is given and nothing else. A redeemed code and a
// rotated refresh token outlive their own expiry (until PurgeAfter and the family's expiry),
// so that their replay is still recognised as a replay; a zero time is no expiry. Stores
// that purge by themselves (Badger's TTL) skip it.
func testGarbageCollect(t *testing.T, newStore func(t *testing.T) store.Store) {
	s, ctx := newStore(t), t.Context()
	gc, isGC := s.(store.GarbageCollector)
	if !isGC {
		t.Skip("the store purges expired records by itself")
	}
	ok(t, s.CreateUser(ctx, user("u1", "ada@example.com", "")), "create user")

	// Sessions: the earlier non-zero expiry counts; an expiry at now has not passed.
	sessions := map[string]bool{} // ID -> kept
	for _, c := range []struct {
		id             string
		idle, absolute time.Time
		kept           bool
	}{
		{"s-live", at(time.Hour), at(24 * time.Hour), true},
		{"s-idle", at(-time.Minute), at(24 * time.Hour), false},
		{"s-absolute", at(time.Hour), at(-time.Second), false},
		{"s-no-idle", time.Time{}, at(-time.Minute), false},
		{"s-no-expiry", time.Time{}, time.Time{}, true},
		{"s-now", base, at(time.Hour), true},
	} {
		se := session(c.id, "u1")
		se.IdleExpiresAt, se.AbsoluteExpiresAt = c.idle, c.absolute
		ok(t, s.CreateSession(ctx, se), "create session "+c.id)
		sessions[c.id] = c.kept
	}

	// Authorization codes: purged after PurgeAfter, never before ExpiresAt, never without
	// PurgeAfter.
	codes := map[string]bool{}
	for _, c := range []struct {
		id                  string
		expires, purgeAfter time.Time
		kept                bool
	}{
		{"c-live", at(time.Minute), at(time.Hour), true},
		{"c-redeemed", at(-10 * time.Minute), at(50 * time.Minute), true},
		{"c-purged", at(-2 * time.Hour), at(-time.Hour), false},
		{"c-no-purge", at(-time.Hour), time.Time{}, true},
		{"c-purge-before-expiry", at(time.Minute), at(-time.Hour), true},
	} {
		ac := authCode(c.id)
		ac.ExpiresAt, ac.PurgeAfter = c.expires, c.purgeAfter
		ok(t, s.CreateAuthCode(ctx, ac), "create code "+c.id)
		codes[c.id] = c.kept
	}
	_, err := s.RedeemAuthCode(ctx, "c-redeemed", "g1", at(-11*time.Minute))
	ok(t, err, "redeem")

	// Refresh tokens live as long as their family; without a family expiry, their own counts.
	live := refreshToken("t-rotated", "f-live", "u1", "s1")
	live.ExpiresAt = at(-time.Hour)
	ok(t, s.CreateRefreshToken(ctx, live), "create t-rotated")
	_, err = s.RotateRefreshToken(ctx, "t-rotated", refreshToken("t-live", "f-live", "u1", "s1"), at(-2*time.Hour))
	ok(t, err, "rotate")
	dead := refreshToken("t-dead", "f-dead", "u1", "s1")
	dead.FamilyExpiresAt = at(-time.Minute)
	ok(t, s.CreateRefreshToken(ctx, dead), "create t-dead")
	for id, exp := range map[string]time.Time{"t-own-expired": at(-time.Minute), "t-own-live": at(time.Minute), "t-no-expiry": {}} {
		rt := refreshToken(id, "f-none", "u1", "s1")
		rt.ExpiresAt, rt.FamilyExpiresAt = exp, time.Time{}
		ok(t, s.CreateRefreshToken(ctx, rt), "create "+id)
	}

	ok(t, s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Subject: "live", At: at(-2 * time.Hour), ExpiresAt: at(time.Hour)}), "add live revocation")
	ok(t, s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Subject: "dead", At: at(-2 * time.Hour), ExpiresAt: at(-time.Minute)}), "add dead revocation")
	_, _, err = s.IncrementCounter(ctx, "n-live", 5, time.Hour, base)
	ok(t, err, "increment n-live")
	_, _, err = s.IncrementCounter(ctx, "n-dead", 5, time.Hour, at(-2*time.Hour))
	ok(t, err, "increment n-dead")
	otc := map[string]bool{}
	for id, exp := range map[string]time.Time{"o-live": at(time.Hour), "o-dead": at(-time.Minute), "o-no-expiry": {}} {
		c := oneTimeCode(id, "invite")
		c.ExpiresAt = exp
		ok(t, s.CreateOneTimeCode(ctx, c), "create "+id)
		otc[id] = !exp.Before(base) || exp.IsZero()
	}
	ok(t, s.CreateKey(ctx, signingKey("k1", at(-365*24*time.Hour))), "create key")
	ok(t, s.CreateClient(ctx, client("app")), "create client")

	n, err := gc.GarbageCollect(ctx, base)
	ok(t, err, "garbage collect")
	// 3 sessions, 1 code, 2 tokens, 1 family, 1 revocation, 1 counter, 1 one-time code.
	if n != 10 {
		t.Errorf("garbage collect removed %d records, want 10", n)
	}

	for id, kept := range sessions {
		_, err := s.GetSession(ctx, id)
		checkKept(t, err, kept, "session "+id)
	}
	for id, kept := range codes {
		_, err := s.RedeemAuthCode(ctx, id, "g2", base)
		if kept {
			if id == "c-redeemed" {
				isErr(t, err, store.ErrAlreadyUsed, "replay of a redeemed code before PurgeAfter")
			} else {
				ok(t, err, "redeem "+id)
			}
			continue
		}
		isErr(t, err, store.ErrNotFound, "purged code "+id)
	}
	_, err = s.RotateRefreshToken(ctx, "t-rotated", refreshToken("t-x", "f-live", "u1", "s1"), base)
	isErr(t, err, store.ErrAlreadyUsed, "replay of a rotated token of a live family")
	for id, kept := range map[string]bool{"t-live": true, "t-dead": false, "t-own-expired": false, "t-own-live": true, "t-no-expiry": true} {
		_, err := s.GetRefreshToken(ctx, id)
		checkKept(t, err, kept, "refresh token "+id)
	}
	isErr(t, s.RevokeFamily(ctx, "f-dead"), store.ErrNotFound, "revoke a purged family")
	ok(t, s.RevokeFamily(ctx, "f-none"), "revoke a family without expiry")
	revs, err := s.ListRevocations(ctx, time.Time{}, at(-3*time.Hour))
	ok(t, err, "list revocations as of before their expiries")
	if len(revs) != 1 || revs[0].Subject != "live" {
		t.Errorf("revocations after garbage collection: %+v, want only live", revs)
	}
	if v, _, err := s.GetCounter(ctx, "n-live", base); err != nil || v != 5 {
		t.Errorf("live counter: (%d, %v), want 5", v, err)
	}
	if v, _, err := s.GetCounter(ctx, "n-dead", at(-90*time.Minute)); err != nil || v != 0 {
		t.Errorf("purged counter read as of its window: (%d, %v), want 0", v, err)
	}
	for id, kept := range otc {
		_, err := s.GetOneTimeCode(ctx, id)
		checkKept(t, err, kept, "one-time code "+id)
	}
	_, err = s.GetUser(ctx, "u1")
	ok(t, err, "user")
	if keys, err := s.ListKeys(ctx); err != nil || len(keys) != 1 {
		t.Errorf("keys after garbage collection: (%d, %v)", len(keys), err)
	}
	_, err = s.GetClient(ctx, "app")
	ok(t, err, "client")

	n, err = gc.GarbageCollect(ctx, base)
	ok(t, err, "garbage collect again")
	if n != 0 {
		t.Errorf("second garbage collection removed %d records, want 0", n)
	}
}

// checkKept checks the error of reading a record that garbage collection had to keep (or
// to remove).
func checkKept(t *testing.T, err error, kept bool, what string) {
	t.Helper()
	if kept {
		ok(t, err, what+" kept")
	} else {
		isErr(t, err, store.ErrNotFound, what+" removed")
	}
}
