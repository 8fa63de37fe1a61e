package keys_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store"
)

// countingKeys counts the ListKeys calls (the reloads) that reach the store.
type countingKeys struct {
	store.Store
	lists atomic.Int64
}

func (c *countingKeys) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	c.lists.Add(1)
	return c.Store.ListKeys(ctx)
}

// TestUnknownKidReloadsOnce: instance A rotates its key immediately (a suspected
// compromise) and signs with the new key at once; instance B, which reloaded its ring just
// before, must verify that token and not refuse it until its next periodic reload. So an
// unknown kid reloads the ring from the store once; a flood of unknown kids (an attacker's
// made-up ones) costs at most one reload a second.
func TestUnknownKidReloadsOnce(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	shared := memStore(t)
	a := load(t, shared, clk, keys.RS256)
	cs := &countingKeys{Store: shared}
	b := load(t, cs, clk, keys.RS256)
	if err := b.Reload(ctx); err != nil { // a periodic reload just happened
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	nk, err := a.Rotate(ctx, keys.RS256, true)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := a.Signer(keys.RS256); k.ID != nk.ID {
		t.Fatal("immediate rotation: the new key does not sign on A")
	}
	before := cs.lists.Load()
	if k, ok := b.Lookup(nk.ID); !ok || k.ID != nk.ID {
		t.Fatal("B refused the kid A just created")
	}
	if got := cs.lists.Load() - before; got != 1 {
		t.Fatalf("the unknown kid cost %d reloads, want 1", got)
	}
	before = cs.lists.Load()
	for range 100 {
		if _, ok := b.Lookup("made-up-kid"); ok {
			t.Fatal("a made-up kid resolved")
		}
	}
	if got := cs.lists.Load() - before; got > 1 {
		t.Fatalf("100 unknown kids within a second cost %d reloads, want at most 1", got)
	}
	clk.Advance(1100 * time.Millisecond)
	before = cs.lists.Load()
	b.Lookup("made-up-kid")
	if got := cs.lists.Load() - before; got != 1 {
		t.Fatalf("an unknown kid a second later cost %d reloads, want 1", got)
	}
}
