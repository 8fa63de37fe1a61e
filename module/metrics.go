package module

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/store"
)

// appMetrics are the gatehouse app's Prometheus collectors, registered on the metrics
// registry Caddy gives the configuration (served at the admin endpoint's /metrics, and by a
// `metrics` handler). It implements metrics.Recorder for the identity core; the protect
// handlers get their route's counters pre-resolved (route), the store is wrapped to time
// its operations (timeStore).
type appMetrics struct {
	logins        *prometheus.CounterVec
	mfa           *prometheus.CounterVec
	tokens        *prometheus.CounterVec
	reuse         prometheus.Counter
	auditFailures prometheus.Counter
	decisions     *prometheus.CounterVec
	cache         *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
}

// newAppMetrics registers the collectors on reg. Caddy gives each configuration a new
// registry; should a reload hand over one that already has them (the same registry), the
// registered collectors are used. queued reports the outbound messages waiting for a
// sender (nil: none).
func newAppMetrics(reg prometheus.Registerer, queued func() int) (*appMetrics, error) {
	m := &appMetrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gatehouse", Name: "logins_total",
			Help: "Finished login attempts by method and result (success, failure, locked, error)."}, []string{"method", "result"}),
		mfa: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gatehouse", Name: "mfa_challenges_total",
			Help: "Second-factor challenges started, by method."}, []string{"method"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gatehouse", Name: "tokens_issued_total",
			Help: "Token responses by grant type."}, []string{"grant"}),
		reuse: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gatehouse", Name: "refresh_token_reuse_total",
			Help: "Rotated refresh tokens presented again (their grant is revoked)."}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gatehouse", Name: "audit_store_failures_total",
			Help: "Audit events the store could not keep (each is still on the gatehouse.audit log)."}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gatehouse", Name: "protect_decisions_total",
			Help: "gatehouse_protect answers by route and result."}, []string{"route", "result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gatehouse", Name: "protect_cache_lookups_total",
			Help: "Verified-credential cache lookups of gatehouse_protect by route and result (hit, miss)."}, []string{"route", "result"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "gatehouse", Name: "store_operation_duration_seconds",
			Help:    "Latency of the store's operations.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"operation"}),
	}
	var err error
	register := func(c prometheus.Collector) prometheus.Collector {
		if e := reg.Register(c); e != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(e, &are) {
				return are.ExistingCollector
			}
			err = errors.Join(err, e)
		}
		return c
	}
	m.logins = register(m.logins).(*prometheus.CounterVec)
	m.mfa = register(m.mfa).(*prometheus.CounterVec)
	m.tokens = register(m.tokens).(*prometheus.CounterVec)
	m.reuse = register(m.reuse).(prometheus.Counter)
	m.auditFailures = register(m.auditFailures).(prometheus.Counter)
	m.decisions = register(m.decisions).(*prometheus.CounterVec)
	m.cache = register(m.cache).(*prometheus.CounterVec)
	m.storeDuration = register(m.storeDuration).(*prometheus.HistogramVec)
	// The queue's gauge reads the current configuration's queue; a replaced one stays
	// registered on its registry (a new configuration has a new registry).
	register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "gatehouse", Name: "outbound_messages_queued",
		Help: "Emails and text messages waiting in the send queue for a sender."}, func() float64 {
		if queued == nil {
			return 0
		}
		return float64(queued())
	}))
	return m, err
}

// LoginResult implements metrics.Recorder.
func (m *appMetrics) LoginResult(method, result string) {
	m.logins.WithLabelValues(method, result).Inc()
}

// MFAChallenge implements metrics.Recorder.
func (m *appMetrics) MFAChallenge(method string) { m.mfa.WithLabelValues(method).Inc() }

// TokenIssued implements metrics.Recorder.
func (m *appMetrics) TokenIssued(grant string) { m.tokens.WithLabelValues(grant).Inc() }

// RefreshReuse implements metrics.Recorder.
func (m *appMetrics) RefreshReuse() { m.reuse.Inc() }

// route returns the pre-resolved counters of a protected route (nil when m is nil).
func (m *appMetrics) route(name string) *metrics.Route {
	if m == nil {
		return nil
	}
	r := &metrics.Route{CacheHit: m.cache.WithLabelValues(name, "hit"), CacheMiss: m.cache.WithLabelValues(name, "miss")}
	for i, n := range metrics.OutcomeNames {
		r.Decisions[i] = m.decisions.WithLabelValues(name, n)
	}
	return r
}

//go:generate go run gen_timedstore.go ../store

// timedStore times every operation of a store into the operation's histogram
// (metrics_store_gen.go has the methods, written by gen_timedstore.go).
type timedStore struct {
	s   store.Store
	ops [numStoreOps]prometheus.Observer
}

func (s *timedStore) since(op int, start time.Time) { s.ops[op].Observe(time.Since(start).Seconds()) }

// Unwrap returns the timed store (tests reach the implementation through it).
func (s *timedStore) Unwrap() store.Store { return s.s }

// Ping passes the readiness check on (see ping).
func (s *timedStore) Ping(ctx context.Context) error { return ping(ctx, s.s) }

// timeStore wraps s to time its operations. The optional interfaces store.Notifier and
// store.Locker that s implements, the wrapper implements too, passing them through.
func (m *appMetrics) timeStore(s store.Store) store.Store {
	t := &timedStore{s: s}
	for i, op := range storeOps {
		t.ops[i] = m.storeDuration.WithLabelValues(op)
	}
	n, isN := s.(store.Notifier)
	l, isL := s.(store.Locker)
	switch {
	case isN && isL:
		return &struct {
			*timedStore
			store.Notifier
			store.Locker
		}{t, n, l}
	case isN:
		return &struct {
			*timedStore
			store.Notifier
		}{t, n}
	case isL:
		return &struct {
			*timedStore
			store.Locker
		}{t, l}
	}
	return t
}

var _ store.Store = (*timedStore)(nil)

// ping checks that the store answers: its Ping (store.Pinger) or, for a store without one,
// a cheap read of a user that does not exist.
func ping(ctx context.Context, s store.Store) error {
	if p, ok := s.(store.Pinger); ok {
		return p.Ping(ctx)
	}
	if _, err := s.GetUser(ctx, "\x00readyz"); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
