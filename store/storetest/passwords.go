package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testPasswords: one password credential per existing user, replaced, read and deleted.
func testPasswords(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("password can be set, replaced and read back", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		c := store.PasswordCredential{UserID: "u1", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", UpdatedAt: base}
		ok(t, s.SetPassword(ctx, c), "set")
		got, err := s.GetPassword(ctx, "u1")
		ok(t, err, "get")
		same(t, got, c, "password")
		c2 := store.PasswordCredential{UserID: "u1", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdDI$aGFzaDI", UpdatedAt: at(time.Hour)}
		ok(t, s.SetPassword(ctx, c2), "replace")
		got, err = s.GetPassword(ctx, "u1")
		ok(t, err, "get replaced")
		same(t, got, c2, "replaced password")
	})

	t.Run("password of a missing user is refused", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		err := s.SetPassword(ctx, store.PasswordCredential{UserID: "nobody", Hash: "x", UpdatedAt: base})
		isErr(t, err, store.ErrNotFound, "set")
		_, err = s.GetPassword(ctx, "nobody")
		isErr(t, err, store.ErrNotFound, "get")
	})

	t.Run("deleted password is gone and deleting again is harmless", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		_, err := s.GetPassword(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get before set")
		ok(t, s.SetPassword(ctx, store.PasswordCredential{UserID: "u1", Hash: "x", UpdatedAt: base}), "set")
		ok(t, s.DeletePassword(ctx, "u1"), "delete")
		_, err = s.GetPassword(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get after delete")
		ok(t, s.DeletePassword(ctx, "u1"), "delete again")
		ok(t, s.DeletePassword(ctx, "nobody"), "delete for a missing user")
		_, err = s.GetUser(ctx, "u1")
		ok(t, err, "user survives")
	})
}
