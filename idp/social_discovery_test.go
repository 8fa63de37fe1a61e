package idp_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// TestSocialHungDiscoveryDoesNotQueueLogins (issue 12; RB-15-style availability, CR-04: a
// lockout of everybody by a provider): when the discovery document is not cached yet (after
// a restart during an outage) and the provider does not answer, concurrent "Log in with …"
// clicks share one fetch bounded by the upstream timeout instead of queueing one timeout
// each behind a lock. Eight parallel starts with a 1 s timeout: one discovery request, and
// all answered well before eight timeouts (the bound is deliberately loose).
func TestSocialHungDiscoveryDoesNotQueueLogins(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) { op.discovery = "hang" })
	const timeout = time.Second
	e, _ := socialEnv(t, op, timeout)

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	begin := time.Now()
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.p.BeginSocialFrom(e.ctx, "192.0.2.10", "up", "", "")
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	for i, err := range errs {
		var down *idp.SocialUnavailableError
		if !errors.As(err, &down) || !errors.Is(err, idp.ErrSocialUnavailable) || down.Callback {
			t.Errorf("start %d behind a hung discovery: %v, want *SocialUnavailableError", i, err)
		}
	}
	if got := op.count(discoveryReq); got != 1 {
		t.Errorf("%d discovery requests for %d concurrent starts, want 1 (single flight)", got, n)
	}
	if elapsed > n*timeout/2 {
		t.Errorf("%d concurrent starts behind a hung discovery took %v, want well under %v (one timeout each, queued)", n, elapsed, n*timeout)
	}
}

// TestSocialDiscoveryBackoff: after a failed discovery the provider is known to be down:
// starts are answered at once with "unavailable" and a Retry-After, without asking the
// provider again, until the back-off (5 s, then doubling) ends; a start after it asks again,
// and a success ends the outage for good (the document is cached). A start that cannot go
// upstream does not count against the client's limit.
func TestSocialDiscoveryBackoff(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) { op.discovery = "fail" })
	e, logs := socialEnv(t, op, 5*time.Second, func(c *idp.Config) {
		c.SocialLimits = idp.SocialLimits{MaxUnfinishedPerIP: 2}
	})
	start := func() (*idp.SocialUnavailableError, error) {
		_, err := e.p.BeginSocialFrom(e.ctx, "192.0.2.11", "up", "", "")
		var down *idp.SocialUnavailableError
		errors.As(err, &down)
		return down, err
	}

	down, err := start()
	if down == nil || down.RetryAfter != 5*time.Second {
		t.Fatalf("first start against a failing discovery: %v (%+v), want unavailable with a 5s back-off", err, down)
	}
	for range 5 {
		if down, err := start(); down == nil || down.RetryAfter <= 0 || down.RetryAfter > 5*time.Second {
			t.Fatalf("start during the back-off: %v (%+v), want unavailable at once", err, down)
		}
	}
	if got := op.count(discoveryReq); got != 1 {
		t.Errorf("%d discovery requests during the back-off, want 1 (answered at once while down)", got)
	}

	// The back-off doubles while it keeps failing.
	e.clk.Advance(5*time.Second + time.Millisecond)
	if down, err := start(); down == nil || down.RetryAfter != 10*time.Second || op.count(discoveryReq) != 2 {
		t.Fatalf("start after the back-off, still failing: %v (%+v), %d requests; want a new try and a 10s back-off", err, down, op.count(discoveryReq))
	}

	// Back up, but still inside the back-off: not asked yet.
	op.set(func(op *fakeOP) { op.discovery = "ok" })
	if down, _ := start(); down == nil || op.count(discoveryReq) != 2 {
		t.Fatalf("start inside the back-off after the provider came back: %+v, %d requests", down, op.count(discoveryReq))
	}
	e.clk.Advance(10*time.Second + time.Millisecond)
	if _, err := start(); err != nil {
		t.Fatalf("start after the back-off with the provider back: %v", err)
	}
	if _, err := start(); err != nil {
		t.Fatalf("next start: %v", err)
	}
	if got := op.count(discoveryReq); got != 3 {
		t.Errorf("%d discovery requests, want 3 (the document is kept once fetched)", got)
	}
	// Eight starts that could not go upstream did not use up the limit of 2: only the two
	// that went upstream count, so a third is refused.
	if _, err := start(); !errors.As(err, new(*idp.SocialLimitError)) {
		t.Errorf("third start that went upstream with a limit of 2: %v, want *SocialLimitError", err)
	}
	if !strings.Contains(logs.String(), `"event":"social_provider_unavailable"`) || !strings.Contains(logs.String(), `"event":"social_provider_available"`) {
		t.Errorf("the outage and its end were not logged:\n%s", logs)
	}
}

// TestSocialRetryAfterBackoffDoesNotQueue: while the one retry after a back-off waits for a
// provider that still does not answer, other starts are answered at once — not queued
// behind it. Deterministic: the hung retry cannot end before the test releases it.
func TestSocialRetryAfterBackoffDoesNotQueue(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) { op.discovery = "fail" })
	e, _ := socialEnv(t, op, 30*time.Second)
	if _, err := e.p.BeginSocial(e.ctx, "up", "", ""); !errors.Is(err, idp.ErrSocialUnavailable) {
		t.Fatalf("first start: %v", err)
	}
	op.set(func(op *fakeOP) { op.discovery = "hang" })
	e.clk.Advance(6 * time.Second)

	retry := make(chan error, 1)
	go func() {
		_, err := e.p.BeginSocial(e.ctx, "up", "", "")
		retry <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for op.count(discoveryReq) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the retry after the back-off never reached the provider")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 3 {
		if _, err := e.p.BeginSocial(e.ctx, "up", "", ""); !errors.Is(err, idp.ErrSocialUnavailable) {
			t.Fatalf("start %d while the retry hangs: %v, want unavailable at once", i, err)
		}
	}
	select {
	case err := <-retry:
		t.Fatalf("the retry ended before the provider answered: %v", err)
	default:
	}
	op.set(func(op *fakeOP) { close(op.release) })
	if err := <-retry; err != nil {
		t.Fatalf("the retry, once the provider answered: %v", err)
	}
	if _, err := e.p.BeginSocial(e.ctx, "up", "", ""); err != nil {
		t.Errorf("start after the provider came back: %v", err)
	}
	if got := op.count(discoveryReq); got != 2 {
		t.Errorf("%d discovery requests, want 2", got)
	}
}
