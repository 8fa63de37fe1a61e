package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// --- encoding helpers ---

// get decodes the value at key into v; a missing (or expired) key is store.ErrNotFound.
func get(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(val []byte) error {
		if err := json.Unmarshal(val, v); err != nil {
			return fmt.Errorf("decode %q: %w", printableKey(key), err)
		}
		return nil
	})
}

// exists tells whether key is present (and not expired).
func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// getIndex returns the value of an index entry (an ID).
func getIndex(txn *badger.Txn, key []byte) (string, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	val, err := item.ValueCopy(nil)
	return string(val), err
}

// put stores v JSON-encoded at key, expiring at exp (zero: never).
func put(txn *badger.Txn, key []byte, v any, exp time.Time) error {
	val, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", printableKey(key), err)
	}
	return putRaw(txn, key, val, exp)
}

// putRaw stores val at key, expiring at exp (zero: never).
func putRaw(txn *badger.Txn, key, val []byte, exp time.Time) error {
	e := badger.NewEntry(key, val)
	e.ExpiresAt = expiresAt(exp)
	return txn.SetEntry(e)
}

// del deletes key; deleting a missing key is not an error.
func del(txn *badger.Txn, key []byte) error {
	return txn.Delete(key)
}

// expiresAt converts an expiry into badger's TTL (Unix seconds, rounded up so that a record
// never disappears before its expiry). The zero time means no TTL; a time at or before the
// Unix epoch is already expired.
func expiresAt(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	if sec <= 0 {
		return 1
	}
	return uint64(sec)
}

// earliest returns the earlier of the non-zero times (zero if both are zero).
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero(), a.Before(b):
		return a
	}
	return b
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// --- keys ---

// key joins a prefix and an ID.
func key(prefix, id string) []byte {
	k := make([]byte, 0, len(prefix)+len(id))
	k = append(k, prefix...)
	return append(k, id...)
}

// indexPrefix returns prefix + "<len>:<owner>/", the prefix of the composite keys of owner.
// The length makes the owner component unambiguous whatever characters it holds.
func indexPrefix(prefix, owner string) []byte {
	k := make([]byte, 0, len(prefix)+len(owner)+8)
	k = append(k, prefix...)
	k = strconv.AppendInt(k, int64(len(owner)), 10)
	k = append(k, ':')
	k = append(k, owner...)
	return append(k, '/')
}

// indexKey returns the composite key of (owner, id) under prefix.
func indexKey(prefix, owner, id string) []byte {
	return append(indexPrefix(prefix, owner), id...)
}

// printableKey renders a key for an error message.
func printableKey(k []byte) string { return strconv.Quote(string(k)) }

// Key prefixes (see doc.go).
const (
	pUser        = "u/"
	pUserEmail   = "ue/"
	pUserExt     = "ux/"
	pUserPhone   = "up/"
	pPassword    = "pw/"
	pFactor      = "sf/"
	pSession     = "s/"
	pUserSession = "su/"
	pCode        = "c/"
	pToken       = "rt/"
	pFamily      = "rf/"
	pSessFamily  = "rfs/"
	pUserFamily  = "rfu/"
	pRevocation  = "rv/"
	pKey         = "k/"
	pClient      = "cl/"
	pCounter     = "n/"
	pOneTime     = "o/"
	pOneTimePurp = "op/"
	pGroup       = "g/"
	pPasskey     = "pk/"
	pUserPasskey = "pku/"
	pIdentity    = "id/"
	pUserIdent   = "idu/"
	pConsent     = "cs/"
	pAppCred     = "ac/"
	pUserAppCred = "acu/"
	pAudit       = "ae/"
	pSetting     = "st/"
)

// --- listing ---

// listLimit applies store.ListOptions' limit rules.
func listLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// scan calls fn for every key under prefix whose suffix sorts strictly after after, in key
// order, until fn returns false or an error. suffix is the key without the prefix; both
// slices are only valid during the call.
func scan(txn *badger.Txn, prefix []byte, after string, fn func(suffix []byte, item *badger.Item) (bool, error)) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	start := prefix
	if after != "" {
		start = append(append([]byte{}, prefix...), after...)
	}
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		suffix := item.Key()[len(prefix):]
		if after != "" && string(suffix) <= after {
			continue
		}
		more, err := fn(suffix, item)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// listJSON decodes up to limit records under prefix whose ID sorts after after.
func listJSON[T any](txn *badger.Txn, prefix string, opts store.ListOptions) ([]T, error) {
	limit := listLimit(opts.Limit)
	var out []T
	err := scan(txn, []byte(prefix), opts.After, func(suffix []byte, item *badger.Item) (bool, error) {
		var v T
		if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &v) }); err != nil {
			return false, fmt.Errorf("decode %q: %w", prefix+string(suffix), err)
		}
		out = append(out, v)
		return len(out) < limit, nil
	})
	return out, err
}

// indexIDs returns up to limit IDs of the composite keys under prefix (limit <= 0: all).
func indexIDs(txn *badger.Txn, prefix []byte, limit int) ([]string, error) {
	var ids []string
	err := scan(txn, prefix, "", func(suffix []byte, _ *badger.Item) (bool, error) {
		ids = append(ids, string(suffix))
		return limit <= 0 || len(ids) < limit, nil
	})
	return ids, err
}

// zeroTime is "no expiry".
var zeroTime time.Time

// errIDChanged is returned by the Update* methods when the callback changed the ID.
var errIDChanged = errors.New("the update changed the id")

// updateRecord is the body of the Update* methods: in one transaction (retried on
// conflicts, serialised in-process on the record key) it reads the record at k, applies
// update, and hands old and new to write, which checks and stores the result. An error from
// update is returned as it is, unwrapped, and nothing is written; other errors are
// wrapped as "badger: update <what> <id>: ...".
func updateRecord[T any](s *Store, ctx context.Context, what, id string, k []byte, update func(T) (T, error), write func(txn *badger.Txn, old, new T) error) (T, error) {
	defer s.lockKey(k)()
	var out, zero T
	var cbErr error
	err := s.update(ctx, func(txn *badger.Txn) error {
		var old T
		if err := get(txn, k, &old); err != nil {
			return err
		}
		nu, err := update(old)
		if err != nil {
			cbErr = err
			return err
		}
		if err := write(txn, old, nu); err != nil {
			return err
		}
		out = nu
		return nil
	})
	if cbErr != nil {
		return zero, cbErr
	}
	if err != nil {
		return zero, fmt.Errorf("badger: update %s %q: %w", what, id, err)
	}
	return out, nil
}

// create stores v at k unless k exists (ErrAlreadyExists).
func (s *Store) create(ctx context.Context, k []byte, v any, exp time.Time) error {
	return s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, k); err != nil || ok {
			return existsErr(ok, err, "id")
		}
		return put(txn, k, v, exp)
	})
}

// delete removes k; a missing key is not an error.
func (s *Store) delete(ctx context.Context, k []byte) error {
	return s.update(ctx, func(txn *badger.Txn) error { return del(txn, k) })
}

// existsErr turns the result of exists into ErrAlreadyExists (naming the field) or the
// lookup error.
func existsErr(ok bool, err error, field string) error {
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("%s taken: %w", field, store.ErrAlreadyExists)
	}
	return nil
}
