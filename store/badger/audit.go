package badger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// AppendAuditEvents implements store.AuditEvents. A record's TTL is its ExpiresAt (the
// retention), so Badger purges it by itself.
func (s *Store) AppendAuditEvents(ctx context.Context, events ...store.AuditEvent) error {
	for _, e := range events {
		if err := store.CheckAuditEvent(e); err != nil {
			return fmt.Errorf("badger: append audit events: %w", err)
		}
	}
	// One transaction: one synced commit for the whole batch, and nothing of it is
	// stored if an ID is taken (an ID repeated within events is seen by exists too, as
	// a transaction reads its own writes).
	err := s.update(ctx, func(txn *badger.Txn) error {
		for _, e := range events {
			if ok, err := exists(txn, key(pAudit, e.ID)); err != nil || ok {
				return existsErr(ok, err, "id")
			}
			if err := put(txn, key(pAudit, e.ID), e, e.ExpiresAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badger: append audit events: %w", err)
	}
	return nil
}

// ListAuditEvents implements store.AuditEvents. IDs start with the time of their event, so
// the scan starts at f.Since and stops at f.Until; the other fields are filters on the
// events in between.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	limit := listLimit(f.Limit)
	after := f.After
	if !f.Since.IsZero() {
		// Every ID of an event at or after Since sorts after its bare prefix.
		if p := store.AuditEventIDPrefix(f.Since); p > after {
			after = p
		}
	}
	until := ""
	if !f.Until.IsZero() {
		until = store.AuditEventIDPrefix(f.Until)
	}
	var out []store.AuditEvent
	err := s.view(ctx, func(txn *badger.Txn) error {
		return scan(txn, []byte(pAudit), after, func(suffix []byte, item *badger.Item) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if until != "" && string(suffix) >= until {
				return false, nil
			}
			var e store.AuditEvent
			if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &e) }); err != nil {
				return false, fmt.Errorf("decode %q: %w", pAudit+string(suffix), err)
			}
			if f.Match(e) {
				out = append(out, e)
			}
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badger: list audit events: %w", err)
	}
	return out, nil
}
