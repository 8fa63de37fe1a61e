package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The secondary indexes of the users, for FindUsers (see doc.go, "Key layout"). They are
// written in the transaction that writes the user (CreateUser, UpdateUser, DeleteUser), so
// they never disagree with the records; Open builds them once for a database written by a
// version without them (userIndexVersion).
const (
	pUserGroup    = "ug/"     // ug/<len>:<group>/<uid>, empty value
	pUserRole     = "ur/"     // ur/<len>:<role>/<uid>, empty value
	pUserDisabled = "ud/"     // ud/<len>:<0|1>/<uid>, empty value
	pUserName     = "un/"     // un/<uid> -> store.NameKey of the user
	kUserIndex    = "meta/ui" // the version of the user indexes present in the database

	// userIndexVersion is the layout of the indexes above; a database holding another (or
	// none) is rebuilt at Open.
	userIndexVersion = "1"
)

// userIndexKeys returns the index entries of u (key -> value).
func userIndexKeys(u store.User) map[string]string {
	m := map[string]string{}
	for _, g := range u.Groups {
		m[string(indexKey(pUserGroup, g, u.ID))] = ""
	}
	for _, r := range u.Roles {
		m[string(indexKey(pUserRole, r, u.ID))] = ""
	}
	d := "0"
	if u.Disabled {
		d = "1"
	}
	m[string(indexKey(pUserDisabled, d, u.ID))] = ""
	m[string(key(pUserName, u.ID))] = store.NameKey(u)
	return m
}

// moveUserIndexes replaces the index entries of old (nil: none) by those of nu (nil: none),
// writing only what changed.
func moveUserIndexes(txn *badger.Txn, old, nu *store.User) error {
	var before, after map[string]string
	if old != nil {
		before = userIndexKeys(*old)
	}
	if nu != nil {
		after = userIndexKeys(*nu)
	}
	for k := range before {
		if _, keep := after[k]; !keep {
			if err := del(txn, []byte(k)); err != nil {
				return err
			}
		}
	}
	for k, v := range after {
		if was, ok := before[k]; ok && was == v {
			continue
		}
		if err := putRaw(txn, []byte(k), []byte(v), zeroTime); err != nil {
			return err
		}
	}
	return nil
}

// buildUserIndexes makes the user indexes match the users, once per database: when
// kUserIndex does not hold userIndexVersion (a database written before the indexes
// existed, or by another layout), it removes every index entry and writes those of every
// user, batchSize users per transaction, then records the version. It runs in Open, before
// the store is handed out and while the directory lock keeps other processes away, so no
// write races it; if it is interrupted, the version is not recorded and the next Open
// starts over.
func (s *Store) buildUserIndexes(ctx context.Context) (built bool, err error) {
	var version string
	err = s.view(ctx, func(txn *badger.Txn) error {
		v, err := getIndex(txn, []byte(kUserIndex))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		version = v
		return err
	})
	if err != nil || version == userIndexVersion {
		return false, err
	}
	for _, p := range []string{pUserGroup, pUserRole, pUserDisabled, pUserName} {
		if err := s.dropPrefix([]byte(p)); err != nil {
			return false, fmt.Errorf("drop %s: %w", p, err)
		}
	}
	after := ""
	for {
		var users []store.User
		err := s.view(ctx, func(txn *badger.Txn) (err error) {
			users, err = listJSON[store.User](txn, pUser, store.ListOptions{After: after, Limit: batchSize})
			return err
		})
		if err != nil {
			return false, err
		}
		if len(users) == 0 {
			break
		}
		err = s.update(ctx, func(txn *badger.Txn) error {
			for i := range users {
				if err := moveUserIndexes(txn, nil, &users[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return false, err
		}
		after = users[len(users)-1].ID
	}
	err = s.update(ctx, func(txn *badger.Txn) error {
		return putRaw(txn, []byte(kUserIndex), []byte(userIndexVersion), zeroTime)
	})
	return err == nil, err
}

// dropPrefix deletes every key under prefix, batchSize keys per transaction.
func (s *Store) dropPrefix(prefix []byte) error {
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			return scan(txn, prefix, "", func(suffix []byte, _ *badger.Item) (bool, error) {
				keys = append(keys, append(append([]byte{}, prefix...), suffix...))
				return len(keys) < batchSize, nil
			})
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// FindUsers implements store.Users. An email or external user ID is one lookup of its
// unique index. Groups, roles and the disabled flag are index entries sorted by user ID
// under their value; several of them are intersected by leapfrogging (each iterator seeks
// to the largest ID the others are at), so a page costs about as many seeks as the rarest
// filter has users up to the page's end, never a read of every user.
//
// The name filter ("contains", case-insensitive) cannot be answered by a sorted index;
// alone, it is a scan of the compact un/ entries (the lower-cased names, no JSON to decode)
// from the cursor until the page is full, reading a user record only for a match. That
// keeps the documented "contains" meaning identical on every store (PostgreSQL answers it
// with a trigram index) at the price of a key scan that grows with the users skipped: the
// benchmark (handlers/adminv1 BenchmarkListUsers, bench/README.md) measures it. Combined
// with another filter, the name is checked on the un/ entry of the other filter's
// candidates.
func (s *Store) FindUsers(ctx context.Context, f store.UserFilter, opts store.ListOptions) ([]store.User, error) {
	if f.Empty() {
		return s.ListUsers(ctx, opts)
	}
	limit := listLimit(opts.Limit)
	var out []store.User
	err := s.view(ctx, func(txn *badger.Txn) error {
		if !s.userIndex {
			// A read-only store of a database the indexes were never built in (gatehouse
			// store export opened on an old database): correct, if slow.
			return scanUsers(txn, f, opts.After, limit, &out)
		}
		switch {
		case f.Email != "" || f.ExternalUserID != "":
			return findUnique(txn, f, opts.After, &out)
		case f.Group == "" && f.Role == "" && f.Disabled == nil:
			return findByName(txn, f, opts.After, limit, &out)
		}
		var prefixes [][]byte
		if f.Group != "" {
			prefixes = append(prefixes, indexPrefix(pUserGroup, f.Group))
		}
		if f.Role != "" {
			prefixes = append(prefixes, indexPrefix(pUserRole, f.Role))
		}
		if f.Disabled != nil {
			d := "0"
			if *f.Disabled {
				d = "1"
			}
			prefixes = append(prefixes, indexPrefix(pUserDisabled, d))
		}
		return leapfrog(txn, prefixes, opts.After, func(id string) (bool, error) {
			u, ok, err := candidate(txn, f, id)
			if ok {
				out = append(out, u)
			}
			return len(out) < limit, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badger: find users: %w", err)
	}
	return out, nil
}

// candidate reads the user id if it matches f, checking the name on its un/ entry first so
// that non-matching names cost no JSON decoding.
func candidate(txn *badger.Txn, f store.UserFilter, id string) (store.User, bool, error) {
	var u store.User
	if f.Name != "" {
		name, err := getIndex(txn, key(pUserName, id))
		if errors.Is(err, store.ErrNotFound) {
			return u, false, nil
		}
		if err != nil || !strings.Contains(name, strings.ToLower(f.Name)) {
			return u, false, err
		}
	}
	err := get(txn, key(pUser, id), &u)
	if errors.Is(err, store.ErrNotFound) {
		return u, false, nil
	}
	return u, err == nil && f.Match(u), err
}

// findUnique answers a filter with an email or external user ID: at most one user.
func findUnique(txn *badger.Txn, f store.UserFilter, after string, out *[]store.User) error {
	k := key(pUserEmail, f.Email)
	if f.Email == "" {
		k = key(pUserExt, f.ExternalUserID)
	}
	id, err := getIndex(txn, k)
	if errors.Is(err, store.ErrNotFound) || (err == nil && id <= after) {
		return nil
	}
	if err != nil {
		return err
	}
	u, ok, err := candidate(txn, f, id)
	if ok {
		*out = append(*out, u)
	}
	return err
}

// findByName answers a filter on the name alone (see FindUsers).
func findByName(txn *badger.Txn, f store.UserFilter, after string, limit int, out *[]store.User) error {
	needle := []byte(strings.ToLower(f.Name))
	return scan(txn, []byte(pUserName), after, func(suffix []byte, item *badger.Item) (bool, error) {
		var hit bool
		if err := item.Value(func(v []byte) error { hit = strings.Contains(string(v), string(needle)); return nil }); err != nil {
			return false, err
		}
		if !hit {
			return true, nil
		}
		u, ok, err := candidate(txn, f, string(suffix))
		if ok {
			*out = append(*out, u)
		}
		return len(*out) < limit, err
	})
}

// scanUsers answers f by reading every user after after (no indexes).
func scanUsers(txn *badger.Txn, f store.UserFilter, after string, limit int, out *[]store.User) error {
	return scan(txn, []byte(pUser), after, func(suffix []byte, item *badger.Item) (bool, error) {
		var u store.User
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &u) }); err != nil {
			return false, fmt.Errorf("decode user %q: %w", suffix, err)
		}
		if f.Match(u) {
			*out = append(*out, u)
		}
		return len(*out) < limit, nil
	})
}

// leapfrog calls fn, in ID order, with every ID after after that is under all of the
// prefixes (composite index keys ending in the user ID), until fn returns false.
func leapfrog(txn *badger.Txn, prefixes [][]byte, after string, fn func(id string) (bool, error)) error {
	its := make([]*badger.Iterator, len(prefixes))
	for i, p := range prefixes {
		o := badger.DefaultIteratorOptions
		o.Prefix = p
		o.PrefetchValues = false
		its[i] = txn.NewIterator(o)
		defer its[i].Close()
	}
	// seek moves iterator i to the first ID >= target (> target unless inclusive).
	seek := func(i int, target string, inclusive bool) (string, bool) {
		it, p := its[i], prefixes[i]
		it.Seek(append(append([]byte{}, p...), target...))
		if it.Valid() && !inclusive && string(it.Item().Key()[len(p):]) == target {
			it.Next()
		}
		if !it.Valid() {
			return "", false
		}
		return string(it.Item().Key()[len(p):]), true
	}
	target, inclusive := after, after == ""
	for {
		id, ok := seek(0, target, inclusive)
		if !ok {
			return nil
		}
		agree := true
		for i := 1; i < len(its); i++ {
			other, ok := seek(i, id, true)
			if !ok {
				return nil
			}
			if other != id {
				target, inclusive, agree = other, true, false
				break
			}
		}
		if !agree {
			continue
		}
		more, err := fn(id)
		if err != nil || !more {
			return err
		}
		target, inclusive = id, false
	}
}

// Keys calls fn with every key in the database and its value, in key order, until fn
// returns an error: what is really stored, index entries included, beyond what Dump
// exports. Tests use it to prove an erasure (a deleted user leaves no key naming it).
func (s *Store) Keys(ctx context.Context, fn func(key, value []byte) error) error {
	return s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(item.KeyCopy(nil), v); err != nil {
				return err
			}
		}
		return nil
	})
}
