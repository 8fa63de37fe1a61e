package social_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/upstream"
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
			_, errs[i] = e.P.Social.Begin(e.Ctx, "192.0.2.10", "up", "")
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	for i, err := range errs {
		var down *upstream.UnavailableError
		if !errors.As(err, &down) || !errors.Is(err, upstream.ErrUnavailable) || down.Callback {
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
		c.SocialLimits = social.Limits{MaxUnfinishedPerIP: 2}
	})
	start := func() (*upstream.UnavailableError, error) {
		_, err := e.P.Social.Begin(e.Ctx, "192.0.2.11", "up", "")
		var down *upstream.UnavailableError
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
	e.Clock.Advance(5*time.Second + time.Millisecond)
	if down, err := start(); down == nil || down.RetryAfter != 10*time.Second || op.count(discoveryReq) != 2 {
		t.Fatalf("start after the back-off, still failing: %v (%+v), %d requests; want a new try and a 10s back-off", err, down, op.count(discoveryReq))
	}

	// Back up, but still inside the back-off: not asked yet.
	op.set(func(op *fakeOP) { op.discovery = "ok" })
	if down, _ := start(); down == nil || op.count(discoveryReq) != 2 {
		t.Fatalf("start inside the back-off after the provider came back: %+v, %d requests", down, op.count(discoveryReq))
	}
	e.Clock.Advance(10*time.Second + time.Millisecond)
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
	if _, err := start(); !errors.As(err, new(*social.LimitError)) {
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
	if _, err := e.P.Social.Begin(e.Ctx, "", "up", ""); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("first start: %v", err)
	}
	op.set(func(op *fakeOP) { op.discovery = "hang" })
	e.Clock.Advance(6 * time.Second)

	retry := make(chan error, 1)
	go func() {
		_, err := e.P.Social.Begin(e.Ctx, "", "up", "")
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
		if _, err := e.P.Social.Begin(e.Ctx, "", "up", ""); !errors.Is(err, upstream.ErrUnavailable) {
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
	if _, err := e.P.Social.Begin(e.Ctx, "", "up", ""); err != nil {
		t.Errorf("start after the provider came back: %v", err)
	}
	if got := op.count(discoveryReq); got != 2 {
		t.Errorf("%d discovery requests, want 2", got)
	}
}

// TestSocialUpstreamEndpoints: a discovery document naming a plain-http endpoint on another
// host, or a discovery URL redirecting to another server, is refused before any secret or
// code is sent.
func TestSocialUpstreamEndpoints(t *testing.T) {
	var good *httptest.Server
	doc := func(w http.ResponseWriter, iss, token string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"jwks_uri":%q,"id_token_signing_alg_values_supported":["RS256"]}`,
			iss, iss+"/auth", token, iss+"/jwks")
	}
	good = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc(w, good.URL, good.URL+"/token")
	}))
	defer good.Close()
	var plain, redirecting *httptest.Server
	plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc(w, plain.URL, "http://token.example.net/token")
	}))
	defer plain.Close()
	// elsewhere answers for the redirecting issuer: a discovery that followed the redirect
	// would succeed.
	var elsewhere *httptest.Server
	redirecting = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()
	elsewhere = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc(w, redirecting.URL, redirecting.URL+"/token")
	}))
	defer elsewhere.Close()

	sp := func(name, iss string) *social.Provider {
		return &social.Provider{Name: name, Kind: social.KindOIDC, Issuer: iss, ClientID: "c", ClientSecret: "s"}
	}
	e := idptest.New(t, func(c *idp.Config) {
		c.SocialProviders = []*social.Provider{sp("good", good.URL), sp("plain", plain.URL), sp("redirecting", redirecting.URL)}
	})
	if _, err := e.P.Social.Begin(e.Ctx, "", "good", ""); err != nil {
		t.Fatalf("a well-formed upstream: %v", err)
	}
	for _, name := range []string{"plain", "redirecting"} {
		if _, err := e.P.Social.Begin(e.Ctx, "", name, ""); !errors.Is(err, upstream.ErrFailed) {
			t.Errorf("%s upstream: %v, want ErrSocialFailed", name, err)
		}
	}
}
