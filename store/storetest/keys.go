package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// signingKey is an ES256 key created at created.
func signingKey(id string, created time.Time) store.SigningKey {
	return store.SigningKey{ID: id, Alg: "ES256", PrivateKey: []byte("pkcs8-" + id), CreatedAt: created}
}

// testKeys: signing keys are unique, listed oldest first, retired atomically and deleted.
func testKeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("keys are listed oldest first, then by id", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		keys := []store.SigningKey{
			signingKey("k-b", at(time.Hour)),
			signingKey("k-c", base),
			signingKey("k-a", at(time.Hour)),
			signingKey("k-z", at(-time.Hour)),
		}
		keys[3].RetiredAt = base
		for _, k := range keys {
			ok(t, s.CreateKey(ctx, k), "create "+k.ID)
		}
		got, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, got, []store.SigningKey{keys[3], keys[1], keys[2], keys[0]}, "keys")
	})

	t.Run("key ids are unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		k := signingKey("k1", base)
		ok(t, s.CreateKey(ctx, k), "create")
		isErr(t, s.CreateKey(ctx, signingKey("k1", at(time.Hour))), store.ErrAlreadyExists, "create again")
		got, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, got, []store.SigningKey{k}, "keys")
	})

	t.Run("retiring a key is stored and a failed update writes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		k := signingKey("k1", base)
		ok(t, s.CreateKey(ctx, k), "create")
		retired := k
		retired.RetiredAt = at(time.Hour)
		got, err := s.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) {
			k.RetiredAt = at(time.Hour)
			return k, nil
		})
		ok(t, err, "retire")
		same(t, got, retired, "returned key")
		_, err = s.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) {
			k.Alg = "RS256"
			return k, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		list, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, list, []store.SigningKey{retired}, "stored key")
		_, err = s.UpdateKey(ctx, "nope", func(k store.SigningKey) (store.SigningKey, error) { return k, nil })
		isErr(t, err, store.ErrNotFound, "update unknown")
	})

	t.Run("deleted key is no longer published", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateKey(ctx, signingKey("k1", base)), "create k1")
		ok(t, s.CreateKey(ctx, signingKey("k2", base)), "create k2")
		ok(t, s.DeleteKey(ctx, "k1"), "delete")
		ok(t, s.DeleteKey(ctx, "k1"), "delete again")
		ok(t, s.DeleteKey(ctx, "nope"), "delete unknown")
		got, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, got, []store.SigningKey{signingKey("k2", base)}, "keys")
	})
}
