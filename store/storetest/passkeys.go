package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testPasskeys: a credential ID belongs to one user only (CR-26); passkeys are listed per
// user, updated atomically, and deleted with their user.
func testPasskeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"pa", "pb"} {
		ok(t, s.CreateUser(ctx, store.User{ID: id}), "create user "+id)
	}
	pk := store.Passkey{ID: "cred1", UserID: "pa", Credential: json.RawMessage(`{"publicKey":"AQ"}`), Name: "Laptop"}
	ok(t, s.CreatePasskey(ctx, pk), "create passkey")
	isErr(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred1", UserID: "pb"}), store.ErrAlreadyExists, "same credential ID for another user")
	ok(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred2", UserID: "pa", Name: "Phone"}), "second passkey")
	ok(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred3", UserID: "pb", Name: "Key"}), "other user's passkey")
	list, err := s.ListUserPasskeys(ctx, "pa")
	ok(t, err, "list")
	if len(list) != 2 || list[0].ID != "cred1" || list[1].ID != "cred2" {
		t.Fatalf("passkeys of pa = %+v", list)
	}
	up, err := s.UpdatePasskey(ctx, "cred1", func(p store.Passkey) (store.Passkey, error) {
		p.Name, p.UseCount = "Work laptop", p.UseCount+1
		return p, nil
	})
	ok(t, err, "update")
	if up.Name != "Work laptop" || up.UseCount != 1 || string(up.Credential) != `{"publicKey":"AQ"}` {
		t.Fatalf("updated = %+v", up)
	}
	_, err = s.UpdatePasskey(ctx, "cred1", func(p store.Passkey) (store.Passkey, error) {
		p.UserID = "pb"
		return p, nil
	})
	if err == nil {
		t.Fatal("moved a passkey to another user")
	}
	ok(t, s.DeletePasskey(ctx, "cred2"), "delete")
	ok(t, s.DeletePasskey(ctx, "cred2"), "delete missing")
	_, err = s.GetPasskey(ctx, "cred2")
	isErr(t, err, store.ErrNotFound, "get deleted")
	ok(t, s.DeleteUser(ctx, "pa"), "delete user")
	_, err = s.GetPasskey(ctx, "cred1")
	isErr(t, err, store.ErrNotFound, "passkey of a deleted user")
	if list, _ := s.ListUserPasskeys(ctx, "pb"); len(list) != 1 {
		t.Fatalf("other user's passkeys = %+v", list)
	}
}

// testAppCredentials: app passwords and personal access tokens are listed per user, updated
// atomically (revocation, last use), never moved to another user, and deleted with their
// user.
func testAppCredentials(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"ca", "cb"} {
		ok(t, s.CreateUser(ctx, store.User{ID: id}), "create user "+id)
	}
	c := store.AppCredential{ID: "h1", UserID: "ca", Kind: store.CredentialPAT, Name: "ci", Scopes: []string{"read"},
		Sites: []string{"files.example"}, CreatedAt: base, ExpiresAt: at(time.Hour)}
	ok(t, s.CreateAppCredential(ctx, c), "create")
	isErr(t, s.CreateAppCredential(ctx, store.AppCredential{ID: "h1", UserID: "cb"}), store.ErrAlreadyExists, "same ID")
	ok(t, s.CreateAppCredential(ctx, store.AppCredential{ID: "h2", UserID: "ca", Kind: store.CredentialAppPassword}), "second")
	ok(t, s.CreateAppCredential(ctx, store.AppCredential{ID: "h3", UserID: "cb", Kind: store.CredentialPAT}), "other user's")
	list, err := s.ListUserAppCredentials(ctx, "ca")
	ok(t, err, "list")
	if len(list) != 2 || list[0].ID != "h1" || list[1].ID != "h2" {
		t.Fatalf("credentials of ca = %+v", list)
	}
	got, err := s.GetAppCredential(ctx, "h1")
	ok(t, err, "get")
	if got.Name != "ci" || len(got.Scopes) != 1 || got.Sites[0] != "files.example" || !got.ExpiresAt.Equal(at(time.Hour)) {
		t.Fatalf("got = %+v", got)
	}
	up, err := s.UpdateAppCredential(ctx, "h1", func(c store.AppCredential) (store.AppCredential, error) {
		c.LastUsedAt, c.LastUsedIP, c.RevokedAt = at(time.Minute), "192.0.2.1", at(2*time.Minute)
		return c, nil
	})
	ok(t, err, "update")
	if up.LastUsedIP != "192.0.2.1" || !up.RevokedAt.Equal(at(2*time.Minute)) || up.Name != "ci" {
		t.Fatalf("updated = %+v", up)
	}
	_, err = s.UpdateAppCredential(ctx, "h1", func(c store.AppCredential) (store.AppCredential, error) {
		c.UserID = "cb"
		return c, nil
	})
	if err == nil {
		t.Fatal("moved a credential to another user")
	}
	_, err = s.UpdateAppCredential(ctx, "missing", func(c store.AppCredential) (store.AppCredential, error) { return c, nil })
	isErr(t, err, store.ErrNotFound, "update missing")
	ok(t, s.DeleteAppCredential(ctx, "h2"), "delete")
	ok(t, s.DeleteAppCredential(ctx, "h2"), "delete missing")
	_, err = s.GetAppCredential(ctx, "h2")
	isErr(t, err, store.ErrNotFound, "get deleted")
	ok(t, s.DeleteUser(ctx, "ca"), "delete user")
	_, err = s.GetAppCredential(ctx, "h1")
	isErr(t, err, store.ErrNotFound, "credential of a deleted user")
	if list, _ := s.ListUserAppCredentials(ctx, "cb"); len(list) != 1 {
		t.Fatalf("other user's credentials = %+v", list)
	}
}
