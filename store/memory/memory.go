// Package memory implements store.Store in memory. It is meant for tests and demos: nothing
// is persisted, and everything is lost when the Store is dropped. It is the reference
// implementation of the contract in package store and passes the same conformance suite
// (store/storetest) as store/badger.
//
// # How it works
//
// Records live in plain maps guarded by one mutex. They are copied on the way in and on the
// way out (slices, maps and pointers included), so a caller can never change stored state
// through a value it handed in or got back.
//
// The Update* methods are compare-and-swap: they read a copy of the record, call the update
// callback without holding the lock (a callback may read the store), and commit only if
// nobody wrote the record in the meantime; otherwise they call the callback again on a fresh
// copy. As with Badger, a callback may therefore run more than once and must not have side
// effects. Every other method runs entirely under the lock, so single-use records (codes,
// refresh-token rotation, one-time codes) and counters change exactly once.
//
// # Time
//
// The store never reads the clock. Methods given a time (RedeemAuthCode, RotateRefreshToken,
// ListRevocations, IncrementCounter, GetCounter) apply it as the contract says, and nothing
// else expires by itself: GarbageCollect purges what has expired at the time it is given
// (see store.GarbageCollector).
//
// # Choices where the contract is silent
//
// The store makes Badger's choices (store/badger/doc.go), so that a test that passes on it
// passes on Badger: Create* refuse an empty ID, Update* refuse a callback that changes the
// ID, DeleteUser of a missing user returns ErrNotFound, RotateRefreshToken takes an empty
// next.FamilyID as the old token's family and refuses a different one, a refresh token whose
// family is missing reads as revoked, Revoke*Families return every family found (including
// ones revoked before) ordered by ID, ListUserSessions is ordered by session ID and
// ListRevocations by kind then subject. Unlike Badger's, DeleteUserSessions and
// Revoke*Families are atomic however many records they change.
//
// Close is safe to call more than once; methods called after it return ErrClosed.
package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gatehouse-dev/gatehouse/store"
)

var (
	_ store.Store            = (*Store)(nil)
	_ store.GarbageCollector = (*Store)(nil)
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("store is closed")

// maxAttempts bounds the compare-and-swap attempts of an Update* method whose record keeps
// being written by others; then it fails with store.ErrConflict.
const maxAttempts = 1000

// Store is a store.Store in memory. Its methods are safe for concurrent use. The zero value
// is not usable; call New.
type Store struct {
	mu     sync.Mutex
	closed bool
	// rev numbers the writes; a record stored by an Update*-able method carries the number
	// of its last write, which the compare-and-swap of the Update* methods checks.
	rev uint64

	users      map[string]item[store.User]
	byEmail    map[string]string // Email -> user ID
	byExternal map[string]string // ExternalUserID -> user ID
	byPhone    map[string]string // verified PhoneNumber -> user ID
	passwords  map[string]store.PasswordCredential
	sessions   map[string]item[store.Session]
	codes      map[string]codeRecord
	tokens     map[string]tokenRecord
	families   map[string]family
	revs       map[revocationKey]store.Revocation
	keys       map[string]item[store.SigningKey]
	clients    map[string]item[store.Client]
	counters   map[string]counter
	oneTime    map[string]item[store.OneTimeCode]
	groups     map[string]item[store.Group]
	passkeys   map[string]item[store.Passkey]
	identities map[identityKey]store.Identity
	consents   map[consentKey]store.Consent
	factors    map[string]item[store.SecondFactor]
	appCreds   map[string]item[store.AppCredential]
	audit      map[string]item[store.AuditEvent]
	settings   map[string]store.Setting
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:      make(map[string]item[store.User]),
		byEmail:    make(map[string]string),
		byExternal: make(map[string]string),
		byPhone:    make(map[string]string),
		passwords:  make(map[string]store.PasswordCredential),
		sessions:   make(map[string]item[store.Session]),
		codes:      make(map[string]codeRecord),
		tokens:     make(map[string]tokenRecord),
		families:   make(map[string]family),
		revs:       make(map[revocationKey]store.Revocation),
		keys:       make(map[string]item[store.SigningKey]),
		clients:    make(map[string]item[store.Client]),
		counters:   make(map[string]counter),
		oneTime:    make(map[string]item[store.OneTimeCode]),
		groups:     make(map[string]item[store.Group]),
		passkeys:   make(map[string]item[store.Passkey]),
		identities: make(map[identityKey]store.Identity),
		consents:   make(map[consentKey]store.Consent),
		factors:    make(map[string]item[store.SecondFactor]),
		appCreds:   make(map[string]item[store.AppCredential]),
		audit:      make(map[string]item[store.AuditEvent]),
		settings:   make(map[string]store.Setting),
	}
}

// Close implements store.Store. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// lock takes the store's lock unless ctx is done or the store is closed; the caller must
// call s.mu.Unlock when it returns nil.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// item is a record with the number of its last write.
type item[T any] struct {
	rec T
	rev uint64
}

// put stores rec under id in m as a new write. The caller holds the lock.
func put[K comparable, T any](s *Store, m map[K]item[T], id K, rec T) {
	s.rev++
	m[id] = item[T]{rec: rec, rev: s.rev}
}

// errIDChanged is returned by the Update* methods when the callback changed the ID.
var errIDChanged = errors.New("the update changed the id")

// updateRecord is the body of the Update* methods (see the package doc): it reads a copy
// of the record id of m, applies update outside the lock, and, if the record was not
// written meanwhile, hands the stored and the new record to write, which checks the new
// one and stores it (under the lock). An error from update is returned as it is and
// nothing is written; other errors are wrapped as "memory: update <what> <id>: ...".
func updateRecord[T any](s *Store, ctx context.Context, what, id string, m map[string]item[T], clone func(T) T,
	update func(T) (T, error), write func(old, nu T) error) (T, error) {
	var zero T
	fail := func(err error) (T, error) { return zero, fmt.Errorf("memory: update %s %q: %w", what, id, err) }
	for range maxAttempts {
		if err := s.lock(ctx); err != nil {
			return fail(err)
		}
		read, found := m[id]
		s.mu.Unlock()
		if !found {
			return fail(store.ErrNotFound)
		}
		nu, err := update(clone(read.rec))
		if err != nil {
			return zero, err
		}
		nu = clone(nu)
		if err := s.lock(ctx); err != nil {
			return fail(err)
		}
		cur, found := m[id]
		switch {
		case !found:
			err = store.ErrNotFound
		case cur.rev != read.rev:
			s.mu.Unlock()
			continue // written meanwhile: start again from the new state
		default:
			err = write(cur.rec, nu)
		}
		s.mu.Unlock()
		if err != nil {
			return fail(err)
		}
		return clone(nu), nil
	}
	return fail(fmt.Errorf("%w after %d attempts", store.ErrConflict, maxAttempts))
}

// taken is the error for a unique field (or ID) already in use.
func taken(field string) error {
	return fmt.Errorf("%s taken: %w", field, store.ErrAlreadyExists)
}

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

// page returns, ordered by ID, copies of up to opts' limit of the records of m whose ID
// sorts after opts.After and which keep accepts (nil: all). The caller holds the lock.
func page[T any](m map[string]item[T], opts store.ListOptions, keep func(T) bool, clone func(T) T) []T {
	ids := make([]string, 0, len(m))
	for id, it := range m {
		if id > opts.After && (keep == nil || keep(it.rec)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = ids[:min(len(ids), listLimit(opts.Limit))]
	var out []T
	for _, id := range ids {
		out = append(out, clone(m[id].rec))
	}
	return out
}

// sortedBy returns recs ordered by key.
func sortedBy[T any, K cmp.Ordered](recs []T, key func(T) K) []T {
	slices.SortFunc(recs, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return recs
}
