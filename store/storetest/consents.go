package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testConsents: a consent is kept per user and client, a later one replaces it, consents
// are listed per user in client order, a user's ID that is the prefix of another's never
// shows the other's consents, and they go with their user.
func testConsents(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"ca", "ca/x", "cb"} {
		ok(t, s.CreateUser(ctx, store.User{ID: id}), "create user "+id)
	}
	c := store.Consent{UserID: "ca", ClientID: "shop", Scopes: []string{"openid", "email"}, GrantedAt: at(0)}
	ok(t, s.PutConsent(ctx, c), "put")
	isErr(t, s.PutConsent(ctx, store.Consent{UserID: "nobody", ClientID: "shop", GrantedAt: at(0)}), store.ErrNotFound, "consent of a missing user")
	got, err := s.GetConsent(ctx, "ca", "shop")
	ok(t, err, "get")
	same(t, got, c, "consent")
	got.Scopes[0] = "changed"
	again, err := s.GetConsent(ctx, "ca", "shop")
	ok(t, err, "get again")
	same(t, again, c, "consent after the caller changed its copy")
	_, err = s.GetConsent(ctx, "cb", "shop")
	isErr(t, err, store.ErrNotFound, "another user's consent")
	c2 := store.Consent{UserID: "ca", ClientID: "shop", Scopes: []string{"openid", "email", "phone"}, GrantedAt: at(time.Hour)}
	ok(t, s.PutConsent(ctx, c2), "replace")
	got, err = s.GetConsent(ctx, "ca", "shop")
	ok(t, err, "get replaced")
	same(t, got, c2, "replaced consent")
	ok(t, s.PutConsent(ctx, store.Consent{UserID: "ca", ClientID: "blog", Scopes: []string{"openid"}, GrantedAt: at(0)}), "second client")
	ok(t, s.PutConsent(ctx, store.Consent{UserID: "ca/x", ClientID: "wiki", GrantedAt: at(0)}), "user whose ID extends another's")
	list, err := s.ListUserConsents(ctx, "ca")
	ok(t, err, "list")
	if len(list) != 2 || list[0].ClientID != "blog" || list[1].ClientID != "shop" {
		t.Fatalf("consents of ca = %+v, want blog then shop", list)
	}
	ok(t, s.DeleteConsent(ctx, "ca", "blog"), "delete")
	ok(t, s.DeleteConsent(ctx, "ca", "blog"), "delete a missing consent")
	_, err = s.GetConsent(ctx, "ca", "blog")
	isErr(t, err, store.ErrNotFound, "deleted consent")
	ok(t, s.DeleteUser(ctx, "ca"), "delete user")
	_, err = s.GetConsent(ctx, "ca", "shop")
	isErr(t, err, store.ErrNotFound, "consent of a deleted user")
	list, err = s.ListUserConsents(ctx, "ca/x")
	ok(t, err, "list other user")
	if len(list) != 1 {
		t.Fatalf("consents of ca/x = %+v, want wiki only", list)
	}
}

// testGrants: ListUserGrants reports the user's live refresh-token families with the client,
// scopes and time of the first token; revoked and expired families and other users'
// families are left out.
func testGrants(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	first := refreshToken("g1", "gf1", "gu", "gs1")
	ok(t, s.CreateRefreshToken(ctx, first), "create g1")
	next := refreshToken("g2", "gf1", "gu", "gs1")
	next.CreatedAt, next.Scopes = at(time.Minute), []string{"openid"}
	_, err := s.RotateRefreshToken(ctx, "g1", next, at(time.Minute))
	ok(t, err, "rotate g1")
	other := refreshToken("g3", "gf2", "gu", "")
	other.ClientID = "tv"
	ok(t, s.CreateRefreshToken(ctx, other), "create g3")
	revoked := refreshToken("g4", "gf3", "gu", "gs1")
	ok(t, s.CreateRefreshToken(ctx, revoked), "create g4")
	ok(t, s.RevokeFamily(ctx, "gf3"), "revoke gf3")
	expired := refreshToken("g5", "gf4", "gu", "gs1")
	expired.FamilyExpiresAt = at(time.Hour)
	ok(t, s.CreateRefreshToken(ctx, expired), "create g5")
	ok(t, s.CreateRefreshToken(ctx, refreshToken("g6", "gf5", "gu2", "gs2")), "another user's")
	grants, err := s.ListUserGrants(ctx, "gu", at(2*time.Hour))
	ok(t, err, "list grants")
	want := []store.Grant{
		{FamilyID: "gf1", ClientID: "app", SessionID: "gs1", Scopes: first.Scopes, CreatedAt: base, ExpiresAt: first.FamilyExpiresAt},
		{FamilyID: "gf2", ClientID: "tv", Scopes: other.Scopes, CreatedAt: base, ExpiresAt: other.FamilyExpiresAt},
	}
	same(t, grants, want, "grants of gu")
}
