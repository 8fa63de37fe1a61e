package journey

import (
	"context"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/badger"
)

// BenchmarkJourneyFiveSteps runs the e2e journey (identify -> authenticate -> collect ->
// write_user -> complete) on a real Badger store, server side: each iteration is one
// whole journey (start, three answers: four browser requests, five steps). It reports
// steps/s, the p50/p99 server time of one engine call (a browser request: load, steps,
// durable store writes) and of one step's own work, and the mean CEL cost per step.
func BenchmarkJourneyFiveSteps(b *testing.B) {
	st, err := badger.Open(badger.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	f := newFixture(b, st, profiling)
	// Badger expires records by their real expiry: the fixture's clock must be now.
	f.now = time.Now()
	var mu sync.Mutex
	var durs []time.Duration
	var cost, evals uint64
	f.e.Observe = func(_ string, d time.Duration, c uint64) {
		mu.Lock()
		durs = append(durs, d)
		cost += c
		evals++
		mu.Unlock()
	}
	ctx := context.Background()
	login := f.aliceLogin()
	login.AuthTime = f.now.Add(time.Second)
	b.ResetTimer()
	began := time.Now()
	var calls []time.Duration
	timed := func(f func()) {
		t0 := time.Now()
		f()
		calls = append(calls, time.Since(t0))
	}
	for i := 0; i < b.N; i++ {
		var sec string
		var v View
		var err error
		timed(func() { sec, v, err = f.e.Start(ctx, "profile", browser, Request{ClientID: "app"}, nil, "", Device{}) })
		if err != nil {
			b.Fatal(err)
		}
		timed(func() {
			v, err = f.e.Answer(ctx, sec, browser, v.Step, v.Counter, Input{Form: url.Values{"email": {"alice@example.com"}}}, nil, Device{})
		})
		if err != nil {
			b.Fatal(err)
		}
		timed(func() { v, err = f.e.Answer(ctx, sec, browser, v.Step, v.Counter, Input{}, login, Device{}) })
		if err != nil {
			b.Fatal(err)
		}
		timed(func() {
			v, err = f.e.Answer(ctx, sec, browser, v.Step, v.Counter, Input{Form: url.Values{"company": {"Acme"}, "plan": {"pro"}}}, nil, Device{})
		})
		if err != nil || v.Kind != Complete {
			b.Fatalf("%+v %v", v, err)
		}
	}
	elapsed := time.Since(began)
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	if len(durs) > 0 {
		b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-step-µs")
		b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-step-µs")
		b.ReportMetric(float64(cost)/float64(evals), "cel-cost/step")
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
	b.ReportMetric(float64(calls[len(calls)/2].Microseconds()), "p50-request-µs")
	b.ReportMetric(float64(calls[len(calls)*99/100].Microseconds()), "p99-request-µs")
	b.ReportMetric(float64(5*b.N)/elapsed.Seconds(), "steps/s")
}

// BenchmarkCELBranch measures one condition's evaluation (the CEL cost per step).
func BenchmarkCELBranch(b *testing.B) {
	env, _ := NewEnv()
	x, err := env.Compile(`user.email.endsWith("@example.com") && "pro" == journey.plan && size(request.scopes) > 1`, nil)
	if err != nil {
		b.Fatal(err)
	}
	rc := &Run{State: &State{Values: map[string]any{"plan": "pro"}}, Request: Request{Scopes: []string{"openid", "email"}}, Now: time.Now()}
	u := storeUser("u", "a@example.com", time.Now())
	vars := rc.vars(&u)
	var cost uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, c, err := env.Eval(context.Background(), x, vars)
		if err != nil {
			b.Fatal(err)
		}
		cost = c
	}
	b.ReportMetric(float64(cost), "cel-cost")
}
