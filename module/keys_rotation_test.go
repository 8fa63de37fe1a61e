package module

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// TestKeyRotationRunsOnOneInstance: instances started together reach their hourly rotation
// together. Under the store's rotation lock exactly one of them rotates: the others either
// find the lock held or, taking it after the first released it, find the new key waiting
// and leave it. Without the lock each would add a key of its own.
func TestKeyRotationRunsOnOneInstance(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := context.Background()
	const n = 4
	var stores []store.Store
	var rings []*keys.Ring
	for i := range n {
		s, err := postgres.Open(ctx, postgres.Options{DSN: pgtest.DSN(), Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		r, err := keys.Load(ctx, s, []string{keys.RS256, keys.ES256}, time.Now)
		if err != nil {
			t.Fatalf("instance %d: load keys: %v", i, err)
		}
		stores, rings = append(stores, s), append(rings, r)
	}
	before := countKeys(t, stores[0])
	due := time.Now().Add(2 * time.Hour) // every key is older than rotate_every (1h) then
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			maintainKeys(ctx, rings[i], stores[i], time.Hour, true, due, zap.NewNop())
		}()
	}
	close(start)
	wg.Wait()
	after := countKeys(t, stores[0])
	for _, alg := range []string{keys.RS256, keys.ES256} {
		if after[alg] != before[alg]+1 {
			t.Errorf("%s: %d keys before, %d after %d instances rotated together; want exactly one new key", alg, before[alg], after[alg], n)
		}
	}
}

func countKeys(t *testing.T, s store.Keys) map[string]int {
	t.Helper()
	recs, err := s.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range recs {
		out[r.Alg]++
	}
	return out
}
