package storetest

import (
	"context"
	"encoding/json"
	"testing"

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
