package badger

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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
	// ReadOnly opens an existing database for reading only (gatehouse store copy and
	// export): every write fails, and the directory lock is shared, so that opening fails
	// while a server holds it.
	ReadOnly bool
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

	// userIndex tells that the user indexes are complete (see userindex.go).
	userIndex bool

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
		if opts.ReadOnly {
			if _, err := os.Stat(filepath.Join(opts.Path, "MANIFEST")); err != nil {
				return nil, fmt.Errorf("badger: open %q: no database there: %w", opts.Path, err)
			}
		} else if err := os.MkdirAll(opts.Path, 0o700); err != nil {
			return nil, fmt.Errorf("badger: open %q: %w", opts.Path, err)
		}
		bo = badger.DefaultOptions(opts.Path).WithSyncWrites(true).WithReadOnly(opts.ReadOnly)
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
		if opts.ReadOnly && errors.Is(err, badger.ErrTruncateNeeded) {
			return nil, fmt.Errorf("badger: open %q read-only: the database was not closed cleanly (a crash?): "+
				"start and stop the server once so that it recovers, then try again: %w", opts.Path, err)
		}
		return nil, fmt.Errorf("badger: open %q: %w", opts.Path, err)
	}
	s := &Store{db: db, path: opts.Path, inMemory: opts.InMemory, log: logger, seed: maphash.MakeSeed()}
	if err := s.openUserIndexes(opts.ReadOnly); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("badger: open %q: user indexes: %w", opts.Path, err)
	}
	return s, nil
}

// openUserIndexes builds the user indexes of a database written without them (once; see
// buildUserIndexes) or, read-only, notes whether they are there (FindUsers then scans).
func (s *Store) openUserIndexes(readOnly bool) error {
	ctx := context.Background()
	if readOnly {
		return s.view(ctx, func(txn *badger.Txn) error {
			v, err := getIndex(txn, []byte(kUserIndex))
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			s.userIndex = v == userIndexVersion
			return err
		})
	}
	built, err := s.buildUserIndexes(ctx)
	if err != nil {
		return err
	}
	if built {
		s.log.Infof("badger: built the user indexes (version %s)", userIndexVersion)
	}
	s.userIndex = true
	return nil
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
// transactions, each of which costs a retry. A method takes one such lock, or several
// with lockKeys, which takes them in one order, so they cannot deadlock.
func (s *Store) lockKey(key []byte) func() {
	m := &s.locks[maphash.Bytes(s.seed, key)%uint64(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// lockKeys is lockKey for several records: their locks are taken in ascending order of
// lock (each once) and released together.
func (s *Store) lockKeys(keys ...[]byte) func() {
	idx := make([]uint64, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, maphash.Bytes(s.seed, k)%uint64(len(s.locks)))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.locks[i].Lock()
	}
	return func() {
		for _, i := range idx {
			s.locks[i].Unlock()
		}
	}
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
