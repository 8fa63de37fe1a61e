package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Change notifications (store.Notifier) and named locks (store.Locker).
//
// The writes other instances must see at once (AddRevocation, UpdateUser, DeleteUser and
// the signing-key and settings methods) run `SELECT pg_notify(channel, topic)` in their transaction, so
// that the notification is delivered exactly when the change commits (and never for a
// rolled-back one). The channel is named after the schema, so that deployments (and tests)
// sharing one database in different schemas do not hear each other. Listen holds a
// dedicated connection outside the pool, LISTENing on the channel; when it drops, Listen
// reconnects with exponential back-off and reports store.TopicAll, since notifications
// sent meanwhile are lost.

const (
	// listenerName is the application_name of the listener's connection (visible in
	// pg_stat_activity).
	listenerName = "gatehouse-listener"
	// listenPing is how long the listener waits for a notification before checking that
	// the connection is still alive.
	listenPing = 30 * time.Second
	// Listen's reconnection back-off.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// channelName is the NOTIFY channel of schema (at most 63 bytes, PostgreSQL's limit on
// identifiers).
func channelName(schema string) string {
	ch := "gatehouse"
	if schema != "" {
		ch += ":" + schema
	}
	if len(ch) > 63 {
		ch = ch[:63]
	}
	return ch
}

// notify sends topic on the store's channel when tx commits.
func (s *Store) notify(ctx context.Context, tx pgx.Tx, topic string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, topic)
	return err
}

// Listen implements store.Notifier.
func (s *Store) Listen(ctx context.Context, changed func(topic string)) error {
	backoff := minBackoff
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		listening := false
		err := s.listen(ctx, func(topic string) {
			if !listening {
				listening, backoff = true, minBackoff
			}
			changed(topic)
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = err // the caller polls meanwhile; reconnecting is all there is to do
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs, reports store.TopicAll and then every notification until the
// connection fails or ctx ends.
func (s *Store) listen(ctx context.Context, changed func(topic string)) error {
	cfg := s.conn.Copy()
	cfg.RuntimeParams["application_name"] = listenerName
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(dialCtx, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	changed(store.TopicAll)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			changed(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: make sure the connection is alive.
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pingCtx)
			cancel()
			if err == nil {
				continue
			}
		}
		return fmt.Errorf("postgres: listen: %w", err)
	}
}

// TryLock implements store.Locker with a session-level advisory lock, held on a pooled
// connection until release (or until the connection or the process dies).
func (s *Store) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: lock %q: %w", name, err)
	}
	key := s.channel + "/" + name
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("postgres: lock %q: %w", name, err)
		}
		return nil, false, nil
	}
	release := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
			// Closing the session releases its locks.
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	})
	return release, true, nil
}
