package storetest

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testDeleteUserGrants: DeleteUser erases the user's refresh tokens (with their families)
// and authorization codes, and nothing of another user (issue 18: "delete (GDPR: every
// credential, session, refresh token ... of the user is gone)").
func testDeleteUserGrants(t *testing.T, newStore func(t *testing.T) store.Store) {
	s, ctx := newStore(t), t.Context()
	ok(t, s.CreateUser(ctx, user("u1", "u1@example.com", "")), "create u1")
	ok(t, s.CreateUser(ctx, user("u2", "u2@example.com", "")), "create u2")
	ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "token of u1")
	ok(t, s.CreateRefreshToken(ctx, refreshToken("t1b", "f1", "u1", "s1")), "second token of u1's family")
	ok(t, s.CreateRefreshToken(ctx, refreshToken("t2", "f2", "u2", "s2")), "token of u2")
	c1 := authCode("c1") // of u1
	c2 := authCode("c2")
	c2.UserID, c2.SessionID = "u2", "s2"
	ok(t, s.CreateAuthCode(ctx, c1), "code of u1")
	ok(t, s.CreateAuthCode(ctx, c2), "code of u2")

	ok(t, s.DeleteUser(ctx, "u1"), "delete u1")
	for _, id := range []string{"t1", "t1b"} {
		_, err := s.GetRefreshToken(ctx, id)
		isErr(t, err, store.ErrNotFound, "token "+id+" of the deleted user")
	}
	_, err := s.RedeemAuthCode(ctx, "c1", "g1", base)
	isErr(t, err, store.ErrNotFound, "code of the deleted user")
	grants, err := s.ListUserGrants(ctx, "u1", base)
	ok(t, err, "grants of the deleted user")
	if len(grants) != 0 {
		t.Errorf("grants of the deleted user: %+v", grants)
	}
	_, err = s.GetRefreshToken(ctx, "t2")
	ok(t, err, "the other user's token")
	_, err = s.RedeemAuthCode(ctx, "c2", "g2", base)
	ok(t, err, "the other user's code")
}
