package protect

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/metrics"
)

type countingCounter struct{ n atomic.Int64 }

func (c *countingCounter) Inc() { c.n.Add(1) }

// TestMetricsCountDecisions: every answer of Serve counts one decision with its outcome,
// and the credential cache counts its lookups.
func TestMetricsCountDecisions(t *testing.T) {
	e := newEnv(t)
	var cs [metrics.NumOutcomes]countingCounter
	var hit, miss countingCounter
	m := &metrics.Route{CacheHit: &hit, CacheMiss: &miss}
	for i := range cs {
		m.Decisions[i] = &cs[i]
	}
	g := e.guardWith(benchRule, m)
	resp, _ := e.login("openid", "email", "read")
	other, _ := e.login("openid", "email")
	serve := func(authz string) {
		r := benchRequest()
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		g.Serve(httptest.NewRecorder(), r)
	}
	for range 3 {
		serve("Bearer " + resp.AccessToken)
	}
	serve("")                            // no credential
	serve("Bearer not-a-token")          // invalid
	serve("Bearer " + other.AccessToken) // lacks the scope
	serve("Basic x y")                   // malformed: not ours, no credential
	r := benchRequest()
	r.Header["Authorization"] = []string{"Bearer a", "Bearer b"}
	g.Serve(httptest.NewRecorder(), r)
	want := [metrics.NumOutcomes]int64{metrics.Allowed: 3, metrics.Unauthenticated: 3, metrics.Forbidden: 1, metrics.BadRequest: 1}
	for i := range cs {
		if got := cs[i].n.Load(); got != want[i] {
			t.Errorf("%s = %d, want %d", metrics.OutcomeNames[i], got, want[i])
		}
	}
	// The first sighting of a token is not cached (see cache): misses on the first two
	// uses of resp's token (the second admits it), a hit on the third; one miss for the
	// token lacking the scope. The invalid token fails before it is cached.
	if hit.n.Load() != 1 || miss.n.Load() != 4 {
		t.Errorf("cache hits %d, misses %d; want 1, 4", hit.n.Load(), miss.n.Load())
	}
}

// BenchmarkProtectMetrics: BenchmarkProtectBearerCached with the route's metrics off and on
// (Prometheus counters, pre-resolved as module does): the cost of the counting, which must
// allocate nothing.
func BenchmarkProtectMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			var m *metrics.Route
			if on {
				dec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "d"}, []string{"route", "result"})
				cache := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c"}, []string{"result"})
				m = &metrics.Route{CacheHit: cache.WithLabelValues("hit"), CacheMiss: cache.WithLabelValues("miss")}
				for i, n := range metrics.OutcomeNames {
					m.Decisions[i] = dec.WithLabelValues("bench", n)
				}
			}
			g := e.guardWith(benchRule, m)
			resp, _ := e.login("openid", "email", "read")
			authz := []string{"Bearer " + resp.AccessToken}
			r := benchRequest()
			w := httptest.NewRecorder()
			for range 2 { // the second sighting admits the token to the cache
				r.Header["Authorization"] = authz
				if g.Serve(w, r) == nil {
					b.Fatalf("control request refused: %d %s", w.Code, w.Body)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.Header["Authorization"] = authz
				if g.Serve(w, r) == nil {
					b.Fatal("refused")
				}
			}
		})
	}
}
