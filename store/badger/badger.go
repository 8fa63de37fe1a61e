package badger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

var _ store.Store = (*Store)(nil)

// ErrLocked is returned (wrapped, together with badger's own error) by Open when another
// process holds the directory lock.
var ErrLocked = errors.New("database directory is locked")

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("store is closed")

// Logger receives badger's log messages. It has the shape of badger.Logger; badger's Info
// messages (routine compaction and flush chatter) are passed to Debugf.
type Logger interface {
	Errorf(format string, args ...any)
	Warningf(format string, args ...any)
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
}

// Options configure Open.
type Options struct {
	// Path is the database directory; it is created (mode 0700) if missing. Required
	// unless InMemory is set.
	Path string
	// InMemory keeps everything in memory (nothing is durable); for tests.
	InMemory bool
	// Logger receives badger's messages; nil discards them.
	Logger Logger
}

// DefaultDir returns the default database directory inside dataDir (the Caddy module
// passes caddy.AppDataDir()).
func DefaultDir(dataDir string) string {
	return filepath.Join(dataDir, "gatehouse", "badger")
}

// Tuning. See doc.go ("Memory") for the reasoning.
const (
	memTableSize     = 8 << 20
	numMemtables     = 2
	blockCacheSize   = 16 << 20
	indexCacheSize   = 8 << 20
	baseTableSize    = 2 << 20
	baseLevelSize    = 8 << 20
	valueThreshold   = 16 << 10 // records are a few hundred bytes, an RSA signing key ~2 KB
	valueLogFileSize = 64 << 20
	numCompactors    = 2
	numL0Tables      = 3
	numL0TablesStall = 10

	// maxAttempts bounds the retries of a transaction that hits badger.ErrConflict.
	maxAttempts = 20
	// batchSize bounds the records changed by one transaction of a bulk operation
	// (DeleteUserSessions, Revoke*Families), well below badger's per-transaction limit.
	batchSize = 500
)

// Store is a store.Store on BadgerDB. Its methods are safe for concurrent use.
type Store struct {
	db       *badger.DB
	path     string
	inMemory bool
	log      Logger

	// mu guards closed: every method holds it for reading so that Close (which takes it
	// for writing) never unmaps files under a running read.
	mu     sync.RWMutex
	closed bool

	// revs mirrors the revocation list (see revocationCache).
	revs revocationCache

	// locks serialise read-modify-writes of one record inside the process (see lockKey).
	seed  maphash.Seed
	locks [64]sync.Mutex
}

// Open opens (creating if needed) the database described by opts.
func Open(opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = discardLogger{}
	}
	var bo badger.Options
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if opts.Path == "" {
			return nil, errors.New("badger: open: no path given")
		}
		if err := os.MkdirAll(opts.Path, 0o700); err != nil {
			return nil, fmt.Errorf("badger: open %q: %w", opts.Path, err)
		}
		bo = badger.DefaultOptions(opts.Path).WithSyncWrites(true)
	}
	bo = bo.
		WithLogger(badgerLogger{logger}).
		WithMetricsEnabled(false).
		WithNumGoroutines(2).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize).
		WithIndexCacheSize(indexCacheSize).
		WithBaseTableSize(baseTableSize).
		WithBaseLevelSize(baseLevelSize).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(valueLogFileSize).
		WithNumCompactors(numCompactors).
		WithNumLevelZeroTables(numL0Tables).
		WithNumLevelZeroTablesStall(numL0TablesStall).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(true)

	db, err := badger.Open(bo)
	if err != nil {
		if isLockError(err) {
			return nil, fmt.Errorf("badger: open %q: another Gatehouse/Caddy process is using this directory: %w: %w",
				opts.Path, ErrLocked, err)
		}
		return nil, fmt.Errorf("badger: open %q: %w", opts.Path, err)
	}
	return &Store{db: db, path: opts.Path, inMemory: opts.InMemory, log: logger, seed: maphash.MakeSeed()}, nil
}

// isLockError recognises badger's directory-lock failure. Badger flattens the underlying
// EWOULDBLOCK into its message, so the message is all there is to test.
func isLockError(err error) bool {
	return strings.Contains(err.Error(), "Cannot acquire directory lock")
}

// Close flushes and closes the database and releases the directory lock. It is safe to
// call more than once; later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badger: close %q: %w", s.path, err)
	}
	return nil
}

// RunGC runs badger's value-log garbage collection every interval (10 minutes if interval
// is not positive) until ctx is done or the store is closed. Callers start it in a
// goroutine. It does nothing for an in-memory store.
func (s *Store) RunGC(ctx context.Context, interval time.Duration) {
	if s.inMemory {
		return
	}
	if interval <= 0 {
		interval = 10 * time.Minute
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if !s.gcOnce(ctx) {
			return
		}
	}
}

// gcOnce rewrites value-log files while badger finds some worth rewriting. It returns
// false once the store is closed.
func (s *Store) gcOnce(ctx context.Context) bool {
	for range 16 {
		if ctx.Err() != nil {
			return true
		}
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return false
		}
		err := s.db.RunValueLogGC(0.5)
		s.mu.RUnlock()
		if err != nil {
			// ErrNoRewrite: nothing worth rewriting; ErrRejected: a GC is already running.
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.log.Warningf("badger: value log gc: %v", err)
			}
			return true
		}
		// A file was rewritten; try the next one.
	}
	return true
}

// enter guards a method against a concurrent or earlier Close; the caller must call
// s.mu.RUnlock when it returns nil.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// lockKey serialises read-modify-writes of one record inside the process and returns the
// unlock function. Badger's conflict detection already makes them correct; the lock only
// spares hot records (one rate-limit counter hit by many requests) a storm of conflicting
// transactions, each of which costs a retry. Every method takes at most one such lock, so
// they cannot deadlock.
func (s *Store) lockKey(key []byte) func() {
	m := &s.locks[maphash.Bytes(s.seed, key)%uint64(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// view runs fn in a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.db.View(fn)
}

// update runs fn in a read-write transaction and commits it, durably. On a conflict with a
// concurrent transaction it runs fn again (on a fresh snapshot), at most maxAttempts times,
// then fails with store.ErrConflict. fn's own errors abort the transaction and are
// returned as they are.
func (s *Store) update(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("%w after %d attempts", store.ErrConflict, attempt)
		}
		// Back off a little, with jitter, so that the conflicting writers spread out.
		time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(100*time.Microsecond))))
	}
}

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

// --- logging ---

type discardLogger struct{}

func (discardLogger) Errorf(string, ...any)   {}
func (discardLogger) Warningf(string, ...any) {}
func (discardLogger) Infof(string, ...any)    {}
func (discardLogger) Debugf(string, ...any)   {}

// badgerLogger adapts Logger to badger.Logger, demoting Info to Debug.
type badgerLogger struct{ l Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Errorf(trimNL(f), a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warningf(trimNL(f), a...) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debugf(trimNL(f), a...) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debugf(trimNL(f), a...) }

// trimNL drops the trailing newline badger puts on many of its format strings.
func trimNL(f string) string { return strings.TrimSuffix(f, "\n") }

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
