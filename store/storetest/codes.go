package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// authCode is a PKCE authorization code valid for a minute, purged after an hour.
func authCode(id string) store.AuthCode {
	return store.AuthCode{
		ID:                  id,
		ClientID:            "app",
		RedirectURI:         "https://app.example/callback",
		UserID:              "u1",
		SessionID:           "s1",
		Scopes:              []string{"openid", "email"},
		Audience:            []string{"app"},
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		AuthTime:            base,
		AMR:                 []string{"pwd"},
		CreatedAt:           base,
		ExpiresAt:           at(time.Minute),
		PurgeAfter:          at(time.Hour),
	}
}

// testAuthCodes: a code is redeemed once; a replay, even late, returns the first
// redemption with ErrAlreadyUsed.
func testAuthCodes(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("code can be redeemed only once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := authCode("c1")
		ok(t, s.CreateAuthCode(ctx, c), "create")
		want := c
		want.RedeemedAt, want.GrantID = at(10*time.Second), "g1"
		got, err := s.RedeemAuthCode(ctx, "c1", "g1", at(10*time.Second))
		ok(t, err, "first redeem")
		same(t, got, want, "first redeem")
		for i, grant := range []string{"g2", "g1"} {
			got, err = s.RedeemAuthCode(ctx, "c1", grant, at(20*time.Second))
			isErr(t, err, store.ErrAlreadyUsed, fmt.Sprintf("replay %d", i+1))
			same(t, got, want, "replay returns the first redemption")
		}
	})

	t.Run("a code redeemed after its expiry is still recognised as a replay", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateAuthCode(ctx, authCode("c1")), "create")
		_, err := s.RedeemAuthCode(ctx, "c1", "g1", at(10*time.Second))
		ok(t, err, "redeem")
		got, err := s.RedeemAuthCode(ctx, "c1", "g2", at(30*time.Minute)) // past ExpiresAt, before PurgeAfter
		isErr(t, err, store.ErrAlreadyUsed, "late replay")
		if got.GrantID != "g1" {
			t.Fatalf("late replay: grant %q, want g1", got.GrantID)
		}
	})

	t.Run("unknown code is refused and code ids are unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		_, err := s.RedeemAuthCode(ctx, "nope", "g1", base)
		isErr(t, err, store.ErrNotFound, "redeem unknown")
		ok(t, s.CreateAuthCode(ctx, authCode("c1")), "create")
		isErr(t, s.CreateAuthCode(ctx, authCode("c1")), store.ErrAlreadyExists, "create again")
		_, err = s.RedeemAuthCode(ctx, "c1", "g1", base)
		ok(t, err, "redeem after refused duplicate")
		isErr(t, s.CreateAuthCode(ctx, authCode("c1")), store.ErrAlreadyExists, "re-create a redeemed code")
		_, err = s.RedeemAuthCode(ctx, "c1", "g2", base)
		isErr(t, err, store.ErrAlreadyUsed, "redeemed code stays redeemed")
	})
}
