package protect

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/metrics"
)

// cache maps a credential (a bearer token, or the value of the protect cookie) to the
// identity its verification produced, so that a client reusing a credential costs a map
// lookup instead of a signature verification. It is bounded (entries beyond the limit evict
// others) and an entry never outlives its token (Identity.until). Revocation is not cached:
// the guard checks the revocation list on every request, hit or miss.
//
// A credential is admitted on its second sighting: the first one only records its hash in
// a small table. A client that reuses its token pays one extra verification; a flood of
// distinct tokens (every request a new one) neither churns the cache nor keeps identities
// alive for the garbage collector.
type cache struct {
	shards [cacheShards]cacheShard
	seed   maphash.Seed
	max    int // per shard
	seen   [seenSlots]atomic.Uint64
	// removals is the key ring's removal counter (keys.Ring.Removals; nil: none). An entry
	// made before a signing key was removed is not used: the token may be signed by it.
	removals func() uint64
	// hit and miss count the lookups (nil: not counted).
	hit, miss metrics.Counter
}

const seenSlots = 1 << 14

const cacheShards = 32

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*Identity
}

func newCache(maxEntries int) *cache {
	if maxEntries < cacheShards {
		maxEntries = cacheShards
	}
	c := &cache{seed: maphash.MakeSeed(), max: maxEntries / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*Identity)
	}
	return c
}

func (c *cache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// get returns the identity cached for key if it has not expired at now.
func (c *cache) get(key string, now time.Time) *Identity {
	s := c.shard(key)
	s.mu.RLock()
	id := s.m[key]
	s.mu.RUnlock()
	if id == nil || now.Unix() >= id.until || id.keyGen != c.generation() {
		metrics.Inc(c.miss)
		return nil
	}
	metrics.Inc(c.hit)
	return id
}

// generation returns the key ring's removal counter; read it before verifying a credential
// and store it in the identity's keyGen.
func (c *cache) generation() uint64 {
	if c.removals == nil {
		return 0
	}
	return c.removals()
}

// put stores id under key if key was seen before (see cache), evicting when full.
func (c *cache) put(key string, id *Identity, now time.Time) {
	h := maphash.String(c.seed, key) | 1 // never 0, the empty slot
	slot := &c.seen[h%seenSlots]
	if slot.Load() != h {
		slot.Store(h)
		return
	}
	c.add(key, id, now)
}

// add stores id under key, evicting expired entries (and, if none expired, arbitrary ones)
// when the shard is full.
func (c *cache) add(key string, id *Identity, now time.Time) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.max {
		evicted := 0
		for k, v := range s.m {
			if now.Unix() >= v.until {
				delete(s.m, k)
				evicted++
			}
		}
		for k := range s.m {
			if evicted >= c.max/8+1 {
				break
			}
			delete(s.m, k) // map iteration order is random: a random eviction
			evicted++
		}
	}
	s.m[key] = id
}

// remove drops key.
func (c *cache) remove(key string) {
	s := c.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}
