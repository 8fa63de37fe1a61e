package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// refreshToken is a token of familyID valid for a day, its family for 30 days.
func refreshToken(id, familyID, userID, sessionID string) store.RefreshToken {
	return store.RefreshToken{
		ID:              id,
		FamilyID:        familyID,
		ClientID:        "app",
		UserID:          userID,
		SessionID:       sessionID,
		Scopes:          []string{"openid", "offline_access"},
		Audience:        []string{"app"},
		AuthTime:        base,
		AMR:             []string{"pwd"},
		CreatedAt:       base,
		ExpiresAt:       at(24 * time.Hour),
		FamilyExpiresAt: at(30 * 24 * time.Hour),
	}
}

// testRefreshTokens: rotation is single-use, and revoking a family (directly, by session
// or by user) ends every token in it and refuses new ones.
func testRefreshTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("refresh token can be read back and its id is unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		rt := refreshToken("t1", "f1", "u1", "s1")
		rt.Nonce, rt.ACR = "nonce", "acr"
		ok(t, s.CreateRefreshToken(ctx, rt), "create")
		got, err := s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get")
		same(t, got, rt, "token")
		isErr(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f2", "u1", "s1")), store.ErrAlreadyExists, "same id")
		_, err = s.GetRefreshToken(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "unknown token")
		// The refused token did not start family f2.
		isErr(t, s.RevokeFamily(ctx, "f2"), store.ErrNotFound, "family of the refused token")
	})

	t.Run("rotation marks the old token used and stores its successor", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		t1 := refreshToken("t1", "f1", "u1", "s1")
		ok(t, s.CreateRefreshToken(ctx, t1), "create")
		t2 := refreshToken("t2", "f1", "u1", "s1")
		t2.CreatedAt, t2.ExpiresAt = at(time.Hour), at(25*time.Hour)
		got, err := s.RotateRefreshToken(ctx, "t1", t2, at(time.Hour))
		ok(t, err, "rotate")
		same(t, got, t1, "rotate returns the old token as it was")
		got, err = s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get old")
		rotated := t1
		rotated.RotatedAt = at(time.Hour)
		same(t, got, rotated, "old token")
		got, err = s.GetRefreshToken(ctx, "t2")
		ok(t, err, "get successor")
		same(t, got, t2, "successor")
		t3 := refreshToken("t3", "f1", "u1", "s1")
		_, err = s.RotateRefreshToken(ctx, "t2", t3, at(2*time.Hour))
		ok(t, err, "rotate the successor")
	})

	t.Run("a rotated token cannot be used again", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create")
		_, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		ok(t, err, "first rotation")
		got, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t3", "f1", "u1", "s1"), at(2*time.Hour))
		isErr(t, err, store.ErrAlreadyUsed, "second rotation")
		if got.ID != "t1" || !got.RotatedAt.Equal(at(time.Hour)) {
			t.Fatalf("second rotation returned %+v, want t1 rotated at the first rotation", got)
		}
		_, err = s.GetRefreshToken(ctx, "t3")
		isErr(t, err, store.ErrNotFound, "successor of the refused rotation")
		_, err = s.RotateRefreshToken(ctx, "nope", refreshToken("t4", "f1", "u1", "s1"), base)
		isErr(t, err, store.ErrNotFound, "rotate unknown")
	})

	t.Run("a rotation onto a taken id stores nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create t1")
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t2", "f2", "u1", "s1")), "create t2")
		_, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		isErr(t, err, store.ErrAlreadyExists, "rotate onto t2")
		got, err := s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get t1")
		if !got.RotatedAt.IsZero() {
			t.Fatal("t1 marked rotated by a refused rotation")
		}
		got, err = s.GetRefreshToken(ctx, "t2")
		ok(t, err, "get t2")
		if got.FamilyID != "f2" {
			t.Fatalf("t2 overwritten: %+v", got)
		}
	})

	t.Run("revoking a family revokes every token in it", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create")
		_, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		ok(t, err, "rotate")
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t9", "f9", "u1", "s1")), "create other family")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke again")
		for _, id := range []string{"t1", "t2"} {
			got, err := s.GetRefreshToken(ctx, id)
			ok(t, err, "get "+id)
			if !got.Revoked {
				t.Fatalf("%s not revoked", id)
			}
		}
		got, err := s.GetRefreshToken(ctx, "t9")
		ok(t, err, "get t9")
		if got.Revoked {
			t.Fatal("token of another family revoked")
		}
		isErr(t, s.RevokeFamily(ctx, "nope"), store.ErrNotFound, "revoke unknown family")
	})

	t.Run("a token of a revoked family cannot be rotated", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		t1 := refreshToken("t1", "f1", "u1", "s1")
		ok(t, s.CreateRefreshToken(ctx, t1), "create")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke")
		got, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		isErr(t, err, store.ErrRevoked, "rotate")
		want := t1
		want.Revoked = true
		same(t, got, want, "rotate returns the old token")
		_, err = s.GetRefreshToken(ctx, "t2")
		isErr(t, err, store.ErrNotFound, "successor")
		got, err = s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get t1")
		if !got.RotatedAt.IsZero() {
			t.Fatal("refused rotation marked t1 rotated")
		}
	})

	t.Run("no new token can join a revoked family", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create")
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t2", "f1", "u1", "s1")), "join the live family")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke")
		isErr(t, s.CreateRefreshToken(ctx, refreshToken("t3", "f1", "u1", "s1")), store.ErrRevoked, "join the revoked family")
		_, err := s.GetRefreshToken(ctx, "t3")
		isErr(t, err, store.ErrNotFound, "refused token")
	})

	t.Run("logout revokes the families started in the session", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, rt := range []store.RefreshToken{
			refreshToken("t1", "f1", "u1", "s1"),
			refreshToken("t2", "f2", "u1", "s1"),
			refreshToken("t3", "f3", "u1", "s1/x"),
			refreshToken("t4", "f4", "u1", ""),
			refreshToken("t5", "f5", "u2", "s2"),
		} {
			ok(t, s.CreateRefreshToken(ctx, rt), "create "+rt.ID)
		}
		ids, err := s.RevokeSessionFamilies(ctx, "s1")
		ok(t, err, "revoke session families")
		sameIDs(t, ids, []string{"f1", "f2"}, "revoked families")
		for id, want := range map[string]bool{"t1": true, "t2": true, "t3": false, "t4": false, "t5": false} {
			got, err := s.GetRefreshToken(ctx, id)
			ok(t, err, "get "+id)
			if got.Revoked != want {
				t.Fatalf("%s: revoked %v, want %v", id, got.Revoked, want)
			}
		}
		ids, err = s.RevokeSessionFamilies(ctx, "no-such-session")
		ok(t, err, "revoke families of an unknown session")
		if len(ids) != 0 {
			t.Fatalf("unknown session: got %q", ids)
		}
	})

	t.Run("disabling a user revokes all of the user's families", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, rt := range []store.RefreshToken{
			refreshToken("t1", "f1", "u1", "s1"),
			refreshToken("t2", "f2", "u1", ""),
			refreshToken("t3", "f3", "u1/x", "s3"),
			refreshToken("t4", "f4", "u2", "s2"),
		} {
			ok(t, s.CreateRefreshToken(ctx, rt), "create "+rt.ID)
		}
		ids, err := s.RevokeUserFamilies(ctx, "u1")
		ok(t, err, "revoke user families")
		sameIDs(t, ids, []string{"f1", "f2"}, "revoked families")
		for id, want := range map[string]bool{"t1": true, "t2": true, "t3": false, "t4": false} {
			got, err := s.GetRefreshToken(ctx, id)
			ok(t, err, "get "+id)
			if got.Revoked != want {
				t.Fatalf("%s: revoked %v, want %v", id, got.Revoked, want)
			}
		}
		_, err = s.RotateRefreshToken(ctx, "t1", refreshToken("t9", "f1", "u1", "s1"), at(time.Hour))
		isErr(t, err, store.ErrRevoked, "rotate after user revocation")
		ids, err = s.RevokeUserFamilies(ctx, "nobody")
		ok(t, err, "revoke families of an unknown user")
		if len(ids) != 0 {
			t.Fatalf("unknown user: got %q", ids)
		}
	})
}
