package protect

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/tokens"
)

func cachedIdentity(sub string, exp time.Time) *Identity {
	return newIdentity(&tokens.AccessClaims{Subject: sub, ExpiresAt: exp.Unix()}, nil)
}

func (c *cache) size() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}

// TestCacheExpiry: a cached verification never outlives its token: the entry stops being
// returned at the token's exp (JW-11 holds for cached credentials too).
func TestCacheExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newCache(100)
	c.add("tok", cachedIdentity("u1", now.Add(10*time.Second)), now)
	if id := c.get("tok", now.Add(9*time.Second)); id == nil || id.Claims.Subject != "u1" {
		t.Fatal("live entry not returned")
	}
	if id := c.get("tok", now.Add(10*time.Second)); id != nil {
		t.Fatal("entry returned at its expiry")
	}
	if id := c.get("tok", now.Add(time.Hour)); id != nil {
		t.Fatal("entry returned after its expiry")
	}
	if c.get("other", now) != nil {
		t.Fatal("unknown key returned an identity")
	}
	c.add("tok2", cachedIdentity("u2", now.Add(time.Minute)), now)
	c.remove("tok2")
	if c.get("tok2", now) != nil {
		t.Fatal("removed entry returned")
	}
	c.remove("never-there") // no panic
}

// TestCacheAdmission: a credential enters the cache on its second sighting, so that a flood
// of one-time tokens does not churn it.
func TestCacheAdmission(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newCache(100)
	c.put("tok", cachedIdentity("u1", now.Add(time.Hour)), now)
	if c.get("tok", now) != nil {
		t.Fatal("admitted on first sight")
	}
	c.put("tok", cachedIdentity("u1", now.Add(time.Hour)), now)
	if c.get("tok", now) == nil {
		t.Fatal("not admitted on second sight")
	}
	for i := 0; i < 10_000; i++ {
		c.put(fmt.Sprint("once-", i), cachedIdentity("u", now.Add(time.Hour)), now)
	}
	if n := c.size(); n != 1 {
		t.Fatalf("one-time tokens entered the cache: %d entries", n)
	}
}

// TestCacheBounded: RB (memory DoS) — a client sending endless distinct valid tokens cannot
// grow the cache beyond its configured size; the newest entry is always kept, and
// expired entries go first.
func TestCacheBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, size := range []int{0, 1, 64, 1000} {
		c := newCache(size)
		limit := max(size, cacheShards)
		for i := 0; i < 20_000; i++ {
			key := fmt.Sprint("token-", i)
			c.add(key, cachedIdentity("u", now.Add(time.Hour)), now)
			if c.get(key, now) == nil {
				t.Fatalf("size %d: just-stored entry %d missing", size, i)
			}
		}
		if n := c.size(); n > limit {
			t.Fatalf("size %d: cache holds %d entries, limit %d", size, n, limit)
		}
	}
	// Expired entries are evicted before live ones.
	c := newCache(cacheShards * 8) // 8 per shard
	for i := 0; i < 1000; i++ {
		c.add(fmt.Sprint("old-", i), cachedIdentity("u", now.Add(time.Second)), now)
	}
	later := now.Add(time.Minute)
	var live []string
	for i := 0; i < cacheShards*4; i++ {
		k := fmt.Sprint("live-", i)
		live = append(live, k)
		c.add(k, cachedIdentity("u", later.Add(time.Hour)), later)
	}
	kept := 0
	for _, k := range live {
		if c.get(k, later) != nil {
			kept++
		}
	}
	// With 4 live entries per shard on average and room for 8, live entries are only lost
	// when a shard received more than 8 of them.
	if kept < len(live)*3/4 {
		t.Fatalf("only %d of %d live entries kept: live entries evicted while expired ones remained", kept, len(live))
	}
}
