package module

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

type notifierStore struct{ store.Store }

func (notifierStore) Listen(ctx context.Context, changed func(string)) error { return nil }

type lockerStore struct{ store.Store }

func (lockerStore) TryLock(ctx context.Context, name string) (func(), bool, error) {
	return func() {}, true, nil
}

type bothStore struct{ store.Store }

func (bothStore) Listen(ctx context.Context, changed func(string)) error { return nil }

func (bothStore) TryLock(ctx context.Context, name string) (func(), bool, error) {
	return func() {}, true, nil
}

type failingStore struct{ store.Store }

func (failingStore) GetUser(context.Context, string) (store.User, error) {
	return store.User{}, errors.New("disk on fire")
}

// TestTimedStorePassesOptionalInterfaces: the timing wrapper implements store.Notifier and
// store.Locker exactly when the wrapped store does, and times the operations.
func TestTimedStorePassesOptionalInterfaces(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := newAppMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	for _, tc := range []struct {
		name           string
		s              store.Store
		notify, locker bool
	}{
		{"plain", mem, false, false},
		{"notifier", notifierStore{mem}, true, false},
		{"locker", lockerStore{mem}, false, true},
		{"both", bothStore{mem}, true, true},
	} {
		w := m.timeStore(tc.s)
		_, isN := w.(store.Notifier)
		_, isL := w.(store.Locker)
		if isN != tc.notify || isL != tc.locker {
			t.Errorf("%s: Notifier %v Locker %v, want %v %v", tc.name, isN, isL, tc.notify, tc.locker)
		}
		if _, err := w.GetUser(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetUser: %v", tc.name, err)
		}
	}
	if got := gathered(t, reg, "gatehouse_store_operation_duration_seconds", "GetUser"); got != 4 {
		t.Errorf("GetUser timed %v times, want 4", got)
	}
}

// gathered returns the value (a histogram's count) of the series of the metric name whose
// first label has the value label.
func gathered(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestMetricsReRegister: registering the collectors again on the same registry (a reload
// that keeps the registry) reuses the registered ones instead of failing.
func TestMetricsReRegister(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m1, err := newAppMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := newAppMetrics(reg, func() int { return 3 })
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	m2.TokenIssued("refresh_token")
	m1.TokenIssued("refresh_token")
	if got := gathered(t, reg, "gatehouse_tokens_issued_total", "refresh_token"); got != 2 {
		t.Errorf("gathered %v refresh_token responses, want 2: the registrations count apart", got)
	}
}

// TestReadiness: ping passes for a store that answers (not found is an answer) and fails
// for one that does not.
func TestReadiness(t *testing.T) {
	ctx := context.Background()
	if err := ping(ctx, memory.New()); err != nil {
		t.Errorf("memory store: %v", err)
	}
	if err := ping(ctx, failingStore{memory.New()}); err == nil {
		t.Error("failing store is ready")
	}
}
