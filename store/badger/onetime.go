package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

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

// CreateLatestOneTimeCode implements store.OneTimeCodes in one transaction.
func (s *Store) CreateLatestOneTimeCode(ctx context.Context, now time.Time, c, latest store.OneTimeCode, count ...store.CounterIncrement) ([]store.CounterValue, bool, error) {
	if c.ID == "" || latest.ID == "" || c.ID == latest.ID {
		return nil, false, errors.New("badger: create one-time code: empty or equal ids")
	}
	if err := store.CheckCounterKeys(count); err != nil {
		return nil, false, fmt.Errorf("badger: create one-time code %q: %w", c.ID, err)
	}
	keys := counterKeys(count)
	defer s.lockKeys(keys...)()
	var vs []store.CounterValue
	var created bool
	err := s.update(ctx, func(txn *badger.Txn) error {
		if found, err := exists(txn, key(pOneTime, c.ID)); err != nil || found {
			return existsErr(found, err, "id")
		}
		var err error
		if vs, err = incrementCounters(txn, keys, count, now); err != nil {
			return err
		}
		if created = store.WithinLimits(count, vs); !created {
			return nil // only the counters
		}
		if err := putOneTimeCode(txn, c); err != nil {
			return err
		}
		var old store.OneTimeCode
		switch err := get(txn, key(pOneTime, latest.ID), &old); {
		case err == nil && old.Purpose != latest.Purpose:
			if err := del(txn, indexKey(pOneTimePurp, old.Purpose, latest.ID)); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		return putOneTimeCode(txn, latest)
	})
	if err != nil {
		return nil, false, fmt.Errorf("badger: create one-time code %q: %w", c.ID, err)
	}
	return vs, created, nil
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

// UseOneTimeCode implements store.OneTimeCodes in one transaction.
func (s *Store) UseOneTimeCode(ctx context.Context, id string, decide func(store.OneTimeCode) bool) (store.OneTimeCode, bool, error) {
	ok := key(pOneTime, id)
	defer s.lockKey(ok)()
	var c store.OneTimeCode
	var consumed bool
	err := s.update(ctx, func(txn *badger.Txn) error {
		c = store.OneTimeCode{} // a retry decodes afresh
		if err := get(txn, ok, &c); err != nil {
			return err
		}
		c.Attempts++
		if consumed = decide(c); consumed {
			if err := del(txn, indexKey(pOneTimePurp, c.Purpose, id)); err != nil {
				return err
			}
			return del(txn, ok)
		}
		return putOneTimeCode(txn, c)
	})
	if err != nil {
		return store.OneTimeCode{}, false, fmt.Errorf("badger: use one-time code %q: %w", id, err)
	}
	return c, consumed, nil
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
