package module

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// background is the app's background work: it keeps the revocation list and the signing
// keys in step with the store, which other instances write too.
//
// Every poll (one second) it syncs the revocation list; every 60 polls it reloads the
// signing keys, and every 3600 (and once after the first minute) it rotates the keys that
// are due. If the store is a store.Notifier, a change another instance commits (a
// revocation, a key) is synced at once; the polling stays, as the fallback for a lost
// notification or a lost connection.
type background struct {
	store       store.Store
	revocations *tokens.RevocationList
	keys        *keys.Ring
	assertKeys  *keys.Ring // the identity-assertion keys, maintained like keys (nil: none)
	// settings is reloaded on its own schedule (settings.View.Run) and at once on a
	// store.TopicSettings notification (nil: none).
	settings    *settings.View
	rotateEvery time.Duration
	poll        time.Duration
	logger      *zap.Logger
}

// run does the work until ctx ends, then returns once everything it started has stopped.
func (b *background) run(ctx context.Context) {
	changes := newChangeSet()
	var wg sync.WaitGroup
	if n, ok := b.store.(store.Notifier); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			connected := 0
			_ = n.Listen(ctx, func(topic string) {
				if topic == store.TopicAll {
					if connected++; connected > 1 {
						b.logger.Warn("store change notifications reconnected; revocations and keys resynced")
					}
				}
				changes.add(topic)
				if b.settings != nil {
					b.settings.Changed(topic)
				}
			})
		}()
	}
	if b.settings != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.settings.Run(ctx, settings.DefaultPoll, nil)
		}()
	}
	defer wg.Wait()
	t := time.NewTicker(b.poll)
	defer t.Stop()
	failing := false
	tick := 0
	for {
		var syncRevs, reloadKeys bool
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tick++
			if tick%60 == 0 {
				maintainKeys(ctx, b.keys, b.store, b.rotateEvery, tick%3600 == 0 || tick == 60, time.Now(), b.logger)
				if b.assertKeys != nil {
					maintainKeys(ctx, b.assertKeys, b.store, b.rotateEvery, tick%3600 == 0 || tick == 60, time.Now(), b.logger)
				}
			}
			syncRevs = true
		case <-changes.wake:
			syncRevs, reloadKeys = changes.take()
		}
		if reloadKeys {
			if err := b.keys.Reload(ctx); err != nil && ctx.Err() == nil {
				b.logger.Error("reload signing keys", zap.Error(err))
			}
			if b.assertKeys != nil {
				if err := b.assertKeys.Reload(ctx); err != nil && ctx.Err() == nil {
					b.logger.Error("reload assertion keys", zap.Error(err))
				}
			}
		}
		if !syncRevs {
			continue
		}
		if err := b.revocations.Sync(ctx, b.store); err != nil {
			if !failing && ctx.Err() == nil {
				b.logger.Error("revocation list sync failing; after a minute protected routes serve only access tokens issued before the last sync (until they expire) and refuse the others with 503", zap.Error(err))
			}
			failing = true
		} else if failing {
			b.logger.Info("revocation list sync recovered")
			failing = false
		}
	}
}

// changeSet collects the topics a store.Notifier reported until the loop takes them.
type changeSet struct {
	mu         sync.Mutex
	revs, keys bool
	wake       chan struct{}
}

func newChangeSet() *changeSet { return &changeSet{wake: make(chan struct{}, 1)} }

// add records a topic and wakes the loop; it never blocks.
func (c *changeSet) add(topic string) {
	c.mu.Lock()
	switch topic {
	case store.TopicAll:
		c.revs, c.keys = true, true
	case store.TopicRevocations:
		c.revs = true
	case store.TopicKeys:
		c.keys = true
	default:
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take returns and clears what changed.
func (c *changeSet) take() (revs, keys bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	revs, keys = c.revs, c.keys
	c.revs, c.keys = false, false
	return revs, keys
}

// maintainKeys reloads ring from st (picking up keys other instances created) and, with
// rotate, replaces the keys older than every at now and deletes the ones no token can need
// any more.
//
// With several instances on one store, rotation runs on the one instance that holds the
// store's rotation lock (store.Locker); it reloads the keys under the lock, so that it sees
// a rotation another instance has just made and does not rotate again.
func maintainKeys(ctx context.Context, ring *keys.Ring, st store.Store, every time.Duration, rotate bool, now time.Time, logger *zap.Logger) {
	if l, ok := st.(store.Locker); ok && rotate {
		release, held, err := l.TryLock(ctx, rotationLock)
		if err != nil {
			logger.Error("signing-key rotation lock", zap.Error(err))
			rotate = false
		} else if !held {
			rotate = false // another instance is rotating
		} else {
			defer release()
		}
	}
	if err := ring.Reload(ctx); err != nil {
		logger.Error("reload signing keys", zap.Error(err))
		return
	}
	if !rotate {
		return
	}
	for _, alg := range ring.Algs() {
		k, err := ring.Signer(alg)
		if err != nil || now.Sub(k.CreatedAt) < every {
			continue
		}
		// Another instance may have rotated already: only rotate if no newer key is waiting.
		newest := k
		for _, info := range ring.Keys() {
			if info.Alg == alg && info.CreatedAt.After(newest.CreatedAt) {
				newest = nil
				break
			}
		}
		if newest == nil {
			continue
		}
		if nk, err := ring.Rotate(ctx, alg, false); err != nil {
			logger.Error("rotate signing key", zap.String("alg", alg), zap.Error(err))
		} else {
			logger.Info("signing key rotated", zap.String("alg", alg), zap.String("new_kid", nk.ID), zap.String("old_kid", k.ID))
		}
	}
	if err := ring.Collect(ctx); err != nil {
		logger.Error("delete retired signing keys", zap.Error(err))
	}
}

// rotationLock names the store lock under which an instance rotates the signing keys.
const rotationLock = "rotate-signing-keys"
