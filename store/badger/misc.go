package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// --- revocations ---

// revocationKey is rv/<len>:<kind>/<subject>.
func revocationKey(kind, subject string) []byte {
	return indexKey(pRevocation, kind, subject)
}

// revocationCache mirrors the rv/ prefix in memory, so that ListRevocations, which every
// instance polls every few seconds, is a filter over a small map instead of a scan and a
// JSON decode per entry. It is coherent because the directory lock makes this Store the
// only writer: AddRevocation updates it after each commit (and drops it when a commit may
// have failed half-way), and it is loaded from the database on first use.
type revocationCache struct {
	mu      sync.Mutex
	loaded  bool
	entries map[string]store.Revocation // by revocation key
}

// AddRevocation implements store.Revocations.
func (s *Store) AddRevocation(ctx context.Context, r store.Revocation) error {
	rk := revocationKey(r.Kind, r.Subject)
	defer s.lockKey(rk)()
	var stored store.Revocation
	err := s.update(ctx, func(txn *badger.Txn) error {
		var old store.Revocation
		err := get(txn, rk, &old)
		switch {
		case err == nil:
			stored = r
			stored.At = latest(old.At, r.At)
			stored.ExpiresAt = latest(old.ExpiresAt, r.ExpiresAt)
			if stored.At.Equal(old.At) && stored.ExpiresAt.Equal(old.ExpiresAt) {
				stored = old
				return nil // nothing to change
			}
			return put(txn, rk, stored, stored.ExpiresAt)
		case errors.Is(err, store.ErrNotFound):
			stored = r
			return put(txn, rk, r, r.ExpiresAt)
		}
		return err
	})
	s.revs.mu.Lock()
	if err != nil {
		s.revs.loaded, s.revs.entries = false, nil
	} else if s.revs.loaded {
		s.revs.entries[string(rk)] = stored
	}
	s.revs.mu.Unlock()
	if err != nil {
		return fmt.Errorf("badger: add revocation %s %q: %w", r.Kind, r.Subject, err)
	}
	return nil
}

// ListRevocations implements store.Revocations, from the in-memory mirror. The result is
// ordered by kind, then subject.
func (s *Store) ListRevocations(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	s.revs.mu.Lock()
	defer s.revs.mu.Unlock()
	if !s.revs.loaded {
		entries, err := s.loadRevocations(ctx)
		if err != nil {
			return nil, fmt.Errorf("badger: list revocations: %w", err)
		}
		s.revs.entries, s.revs.loaded = entries, true
	} else if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("badger: list revocations: %w", err)
	}
	// Forget what badger's TTL has purged from the database (same rule, same clock), so
	// the mirror does not grow without bound.
	wall := uint64(time.Now().Unix())
	out := make([]store.Revocation, 0, len(s.revs.entries))
	for k, r := range s.revs.entries {
		if exp := expiresAt(r.ExpiresAt); exp != 0 && exp <= wall {
			delete(s.revs.entries, k)
			continue
		}
		if r.At.Before(since) || !r.ExpiresAt.After(now) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.Revocation) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	return out, nil
}

// loadRevocations reads every stored revocation.
func (s *Store) loadRevocations(ctx context.Context) (map[string]store.Revocation, error) {
	entries := make(map[string]store.Revocation)
	err := s.view(ctx, func(txn *badger.Txn) error {
		prefix := []byte(pRevocation)
		return scan(txn, prefix, "", func(suffix []byte, item *badger.Item) (bool, error) {
			var r store.Revocation
			if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &r) }); err != nil {
				return false, fmt.Errorf("decode %q: %w", pRevocation+string(suffix), err)
			}
			entries[pRevocation+string(suffix)] = r
			return true, nil
		})
	})
	return entries, err
}

// --- signing keys ---

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return errors.New("badger: create key: empty id")
	}
	err := s.create(ctx, key(pKey, k.ID), k, zeroTime)
	if err != nil {
		return fmt.Errorf("badger: create key %q: %w", k.ID, err)
	}
	return nil
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	var out []store.SigningKey
	err := s.view(ctx, func(txn *badger.Txn) error {
		return scan(txn, []byte(pKey), "", func(suffix []byte, item *badger.Item) (bool, error) {
			var k store.SigningKey
			if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &k) }); err != nil {
				return false, fmt.Errorf("decode %q: %w", pKey+string(suffix), err)
			}
			out = append(out, k)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list keys: %w", err)
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateKey implements store.Keys.
func (s *Store) UpdateKey(ctx context.Context, id string, update func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	kk := key(pKey, id)
	return updateRecord(s, ctx, "key", id, kk, update, func(txn *badger.Txn, _, k store.SigningKey) error {
		if k.ID != id {
			return errIDChanged
		}
		return put(txn, kk, k, zeroTime)
	})
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.delete(ctx, key(pKey, id)); err != nil {
		return fmt.Errorf("badger: delete key %q: %w", id, err)
	}
	return nil
}

// --- clients ---

// CreateClient implements store.Clients.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return errors.New("badger: create client: empty id")
	}
	if err := s.create(ctx, key(pClient, c.ID), c, zeroTime); err != nil {
		return fmt.Errorf("badger: create client %q: %w", c.ID, err)
	}
	return nil
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var c store.Client
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pClient, id), &c)
	})
	if err != nil {
		return store.Client{}, fmt.Errorf("badger: get client %q: %w", id, err)
	}
	return c, nil
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	ck := key(pClient, id)
	return updateRecord(s, ctx, "client", id, ck, update, func(txn *badger.Txn, _, c store.Client) error {
		if c.ID != id {
			return errIDChanged
		}
		return put(txn, ck, c, zeroTime)
	})
}

// DeleteClient implements store.Clients. Deleting a missing client is not an error.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := s.delete(ctx, key(pClient, id)); err != nil {
		return fmt.Errorf("badger: delete client %q: %w", id, err)
	}
	return nil
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context, opts store.ListOptions) ([]store.Client, error) {
	var out []store.Client
	err := s.view(ctx, func(txn *badger.Txn) (err error) {
		out, err = listJSON[store.Client](txn, pClient, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list clients: %w", err)
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

// --- counters ---

// counter is the stored form of a fixed-window counter.
type counter struct {
	Value     int64     `json:"value"`
	WindowEnd time.Time `json:"window_end"`
}

// IncrementCounter implements store.Counters. The record expires at the window end.
func (s *Store) IncrementCounter(ctx context.Context, name string, delta int64, window time.Duration, now time.Time) (int64, time.Time, error) {
	nk := key(pCounter, name)
	defer s.lockKey(nk)()
	var c counter
	err := s.update(ctx, func(txn *badger.Txn) error {
		c = counter{}
		err := get(txn, nk, &c)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err != nil || !c.WindowEnd.After(now) {
			c = counter{WindowEnd: now.Add(window)}
		}
		c.Value += delta
		return put(txn, nk, c, c.WindowEnd)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("badger: increment counter %q: %w", name, err)
	}
	return c.Value, c.WindowEnd, nil
}

// GetCounter implements store.Counters.
func (s *Store) GetCounter(ctx context.Context, name string, now time.Time) (int64, time.Time, error) {
	var c counter
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pCounter, name), &c)
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.WindowEnd.After(now)) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("badger: get counter %q: %w", name, err)
	}
	return c.Value, c.WindowEnd, nil
}

// ResetCounter implements store.Counters.
func (s *Store) ResetCounter(ctx context.Context, name string) error {
	if err := s.delete(ctx, key(pCounter, name)); err != nil {
		return fmt.Errorf("badger: reset counter %q: %w", name, err)
	}
	return nil
}

// --- one-time codes ---

// putOneTimeCode writes the code and its purpose index entry with the code's TTL.
func putOneTimeCode(txn *badger.Txn, c store.OneTimeCode) error {
	if err := putRaw(txn, indexKey(pOneTimePurp, c.Purpose, c.ID), nil, c.ExpiresAt); err != nil {
		return err
	}
	return put(txn, key(pOneTime, c.ID), c, c.ExpiresAt)
}

// CreateOneTimeCode implements store.OneTimeCodes.
func (s *Store) CreateOneTimeCode(ctx context.Context, c store.OneTimeCode) error {
	if c.ID == "" {
		return errors.New("badger: create one-time code: empty id")
	}
	ok := key(pOneTime, c.ID)
	err := s.update(ctx, func(txn *badger.Txn) error {
		if found, err := exists(txn, ok); err != nil || found {
			return existsErr(found, err, "id")
		}
		return putOneTimeCode(txn, c)
	})
	if err != nil {
		return fmt.Errorf("badger: create one-time code %q: %w", c.ID, err)
	}
	return nil
}

// GetOneTimeCode implements store.OneTimeCodes.
func (s *Store) GetOneTimeCode(ctx context.Context, id string) (store.OneTimeCode, error) {
	var c store.OneTimeCode
	err := s.view(ctx, func(txn *badger.Txn) error {
		return get(txn, key(pOneTime, id), &c)
	})
	if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("badger: get one-time code %q: %w", id, err)
	}
	return c, nil
}

// UpdateOneTimeCode implements store.OneTimeCodes. A changed Purpose or ExpiresAt moves
// or re-times the index entry.
func (s *Store) UpdateOneTimeCode(ctx context.Context, id string, update func(store.OneTimeCode) (store.OneTimeCode, error)) (store.OneTimeCode, error) {
	return updateRecord(s, ctx, "one-time code", id, key(pOneTime, id), update, func(txn *badger.Txn, old, c store.OneTimeCode) error {
		if c.ID != id {
			return errIDChanged
		}
		if c.Purpose != old.Purpose {
			if err := del(txn, indexKey(pOneTimePurp, old.Purpose, id)); err != nil {
				return err
			}
		}
		return putOneTimeCode(txn, c)
	})
}

// ConsumeOneTimeCode implements store.OneTimeCodes.
func (s *Store) ConsumeOneTimeCode(ctx context.Context, id string) (store.OneTimeCode, error) {
	ok := key(pOneTime, id)
	defer s.lockKey(ok)()
	var c store.OneTimeCode
	err := s.update(ctx, func(txn *badger.Txn) error {
		c = store.OneTimeCode{} // a retry decodes afresh
		if err := get(txn, ok, &c); err != nil {
			return err
		}
		if err := del(txn, indexKey(pOneTimePurp, c.Purpose, id)); err != nil {
			return err
		}
		return del(txn, ok)
	})
	if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("badger: consume one-time code %q: %w", id, err)
	}
	return c, nil
}

// ListOneTimeCodes implements store.OneTimeCodes.
func (s *Store) ListOneTimeCodes(ctx context.Context, purpose string, opts store.ListOptions) ([]store.OneTimeCode, error) {
	limit := listLimit(opts.Limit)
	var out []store.OneTimeCode
	err := s.view(ctx, func(txn *badger.Txn) error {
		var ids []string
		err := scan(txn, indexPrefix(pOneTimePurp, purpose), opts.After, func(suffix []byte, _ *badger.Item) (bool, error) {
			ids = append(ids, string(suffix))
			return len(ids) < limit, nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			var c store.OneTimeCode
			err := get(txn, key(pOneTime, id), &c)
			if errors.Is(err, store.ErrNotFound) {
				continue // expired between the index entry and the record
			}
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list one-time codes of purpose %q: %w", purpose, err)
	}
	return out, nil
}

// PutGroup implements store.Groups.
func (s *Store) PutGroup(ctx context.Context, g store.Group) error {
	if g.Name == "" {
		return errors.New("badger: put group: empty name")
	}
	err := s.update(ctx, func(txn *badger.Txn) error { return put(txn, key(pGroup, g.Name), g, zeroTime) })
	if err != nil {
		return fmt.Errorf("badger: put group %q: %w", g.Name, err)
	}
	return nil
}

// GetGroup implements store.Groups.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	var g store.Group
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pGroup, name), &g) })
	if err != nil {
		return store.Group{}, fmt.Errorf("badger: get group %q: %w", name, err)
	}
	return g, nil
}

// DeleteGroup implements store.Groups. Deleting a missing group is not an error.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := s.delete(ctx, key(pGroup, name)); err != nil {
		return fmt.Errorf("badger: delete group %q: %w", name, err)
	}
	return nil
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context, opts store.ListOptions) ([]store.Group, error) {
	var out []store.Group
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		out, err = listJSON[store.Group](txn, pGroup, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list groups: %w", err)
	}
	return out, nil
}

// CreatePasskey implements store.Passkeys.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("badger: create passkey: empty id or user")
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pPasskey, p.ID)); err != nil || ok {
			return existsErr(ok, err, "credential id")
		}
		if err := putRaw(txn, indexKey(pUserPasskey, p.UserID, p.ID), nil, zeroTime); err != nil {
			return err
		}
		return put(txn, key(pPasskey, p.ID), p, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create passkey: %w", err)
	}
	return nil
}

// GetPasskey implements store.Passkeys.
func (s *Store) GetPasskey(ctx context.Context, id string) (store.Passkey, error) {
	var p store.Passkey
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pPasskey, id), &p) })
	if err != nil {
		return store.Passkey{}, fmt.Errorf("badger: get passkey: %w", err)
	}
	return p, nil
}

// ListUserPasskeys implements store.Passkeys.
func (s *Store) ListUserPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	var out []store.Passkey
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserPasskey, userID), 0)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var p store.Passkey
			if err := get(txn, key(pPasskey, id), &p); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list passkeys of user %q: %w", userID, err)
	}
	return out, nil
}

// UpdatePasskey implements store.Passkeys.
func (s *Store) UpdatePasskey(ctx context.Context, id string, update func(store.Passkey) (store.Passkey, error)) (store.Passkey, error) {
	pk := key(pPasskey, id)
	return updateRecord(s, ctx, "passkey", id, pk, update, func(txn *badger.Txn, old, p store.Passkey) error {
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		return put(txn, pk, p, zeroTime)
	})
}

// DeletePasskey implements store.Passkeys. Deleting a missing passkey is not an error.
func (s *Store) DeletePasskey(ctx context.Context, id string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		var p store.Passkey
		if err := get(txn, key(pPasskey, id), &p); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := del(txn, indexKey(pUserPasskey, p.UserID, id)); err != nil {
			return err
		}
		return del(txn, key(pPasskey, id))
	})
	if err != nil {
		return fmt.Errorf("badger: delete passkey: %w", err)
	}
	return nil
}

// identityID is the key suffix of an identity: provider names cannot contain "/".
func identityID(provider, subject string) string { return provider + "/" + subject }

// CreateIdentity implements store.Identities.
func (s *Store) CreateIdentity(ctx context.Context, id store.Identity) error {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" || strings.Contains(id.Provider, "/") {
		return errors.New("badger: create identity: empty provider, subject or user, or / in provider")
	}
	iid := identityID(id.Provider, id.Subject)
	err := s.update(ctx, func(txn *badger.Txn) error {
		if ok, err := exists(txn, key(pIdentity, iid)); err != nil || ok {
			return existsErr(ok, err, "identity")
		}
		if ok, err := exists(txn, key(pUser, id.UserID)); err != nil || !ok {
			if err == nil {
				err = store.ErrNotFound
			}
			return fmt.Errorf("user %q: %w", id.UserID, err)
		}
		if err := putRaw(txn, indexKey(pUserIdent, id.UserID, iid), nil, zeroTime); err != nil {
			return err
		}
		return put(txn, key(pIdentity, iid), id, zeroTime)
	})
	if err != nil {
		return fmt.Errorf("badger: create identity: %w", err)
	}
	return nil
}

// GetIdentity implements store.Identities.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (store.Identity, error) {
	var id store.Identity
	err := s.view(ctx, func(txn *badger.Txn) error { return get(txn, key(pIdentity, identityID(provider, subject)), &id) })
	if err != nil {
		return store.Identity{}, fmt.Errorf("badger: get identity: %w", err)
	}
	return id, nil
}

// ListUserIdentities implements store.Identities.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	var out []store.Identity
	err := s.view(ctx, func(txn *badger.Txn) error {
		ids, err := indexIDs(txn, indexPrefix(pUserIdent, userID), 0)
		if err != nil {
			return err
		}
		for _, iid := range ids {
			var id store.Identity
			if err := get(txn, key(pIdentity, iid), &id); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list identities of user %q: %w", userID, err)
	}
	return out, nil
}

// TouchIdentity implements store.Identities.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject, email string, at time.Time) error {
	iid := identityID(provider, subject)
	_, err := updateRecord(s, ctx, "identity", iid, key(pIdentity, iid), func(id store.Identity) (store.Identity, error) {
		id.LastUsedAt = at
		if email != "" {
			id.Email = email
		}
		return id, nil
	}, func(txn *badger.Txn, _, id store.Identity) error { return put(txn, key(pIdentity, iid), id, zeroTime) })
	return err
}

// DeleteIdentity implements store.Identities.
func (s *Store) DeleteIdentity(ctx context.Context, provider, subject string) error {
	iid := identityID(provider, subject)
	err := s.update(ctx, func(txn *badger.Txn) error {
		var id store.Identity
		if err := get(txn, key(pIdentity, iid), &id); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := del(txn, indexKey(pUserIdent, id.UserID, iid)); err != nil {
			return err
		}
		return del(txn, key(pIdentity, iid))
	})
	if err != nil {
		return fmt.Errorf("badger: delete identity: %w", err)
	}
	return nil
}
