package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testIdentities: an upstream identity links to one user only (no account takeover by a
// second link); links are listed per user, touched at login, deleted with their user, and
// subjects with unusual characters cannot collide.
func testIdentities(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"ia", "ib"} {
		ok(t, s.CreateUser(ctx, store.User{ID: id}), "create user "+id)
	}
	g := store.Identity{Provider: "google", Subject: "1234", UserID: "ia", Email: "a@example.com", CreatedAt: at(0)}
	ok(t, s.CreateIdentity(ctx, g), "link")
	isErr(t, s.CreateIdentity(ctx, store.Identity{Provider: "google", Subject: "1234", UserID: "ib"}), store.ErrAlreadyExists, "same identity for another user")
	isErr(t, s.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "1", UserID: "nobody"}), store.ErrNotFound, "link to a missing user")
	ok(t, s.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "a/b", UserID: "ia", CreatedAt: at(0)}), "subject with a slash")
	ok(t, s.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "a", UserID: "ib", CreatedAt: at(0)}), "prefix of another subject")
	got, err := s.GetIdentity(ctx, "google", "1234")
	ok(t, err, "get")
	same(t, got, g, "identity")
	_, err = s.GetIdentity(ctx, "google", "123")
	isErr(t, err, store.ErrNotFound, "prefix of a subject")
	list, err := s.ListUserIdentities(ctx, "ia")
	ok(t, err, "list")
	if len(list) != 2 {
		t.Fatalf("user ia has %d identities, want 2: %+v", len(list), list)
	}
	ok(t, s.TouchIdentity(ctx, "google", "1234", "new@example.com", at(time.Hour)), "touch")
	got, err = s.GetIdentity(ctx, "google", "1234")
	ok(t, err, "get after touch")
	same(t, got.LastUsedAt, at(time.Hour), "last used")
	same(t, got.Email, "new@example.com", "email")
	isErr(t, s.TouchIdentity(ctx, "google", "nope", "", at(0)), store.ErrNotFound, "touch a missing identity")
	ok(t, s.DeleteIdentity(ctx, "google", "1234"), "unlink")
	ok(t, s.DeleteIdentity(ctx, "google", "1234"), "unlink twice")
	_, err = s.GetIdentity(ctx, "google", "1234")
	isErr(t, err, store.ErrNotFound, "after unlink")
	ok(t, s.CreateIdentity(ctx, store.Identity{Provider: "google", Subject: "1234", UserID: "ib"}), "relink to another user after unlink")
	ok(t, s.DeleteUser(ctx, "ia"), "delete user")
	_, err = s.GetIdentity(ctx, "github", "a/b")
	isErr(t, err, store.ErrNotFound, "identity of a deleted user")
	list, err = s.ListUserIdentities(ctx, "ib")
	ok(t, err, "list ib")
	if len(list) != 2 {
		t.Fatalf("user ib has %d identities, want 2 (github/a, google/1234): %+v", len(list), list)
	}

	// Listed by provider, then subject, whatever bytes follow a provider name that is the
	// prefix of another ("google-workspace" sorts after "google").
	for _, id := range []store.Identity{
		{Provider: "google-workspace", Subject: "1", UserID: "ib"},
		{Provider: "google", Subject: "0", UserID: "ib"},
		{Provider: "google.com", Subject: "1", UserID: "ib"},
	} {
		ok(t, s.CreateIdentity(ctx, id), "link "+id.Provider+"/"+id.Subject)
	}
	list, err = s.ListUserIdentities(ctx, "ib")
	ok(t, err, "list ib again")
	var listed []string
	for _, id := range list {
		listed = append(listed, id.Provider+" "+id.Subject)
	}
	want := []string{"github a", "google 0", "google 1234", "google-workspace 1", "google.com 1"}
	if !slices.Equal(listed, want) {
		t.Fatalf("identities of ib listed as %q, want %q", listed, want)
	}
}
