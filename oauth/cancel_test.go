package oauth_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// leaveAfterCount is the store as a token request sees it when its client closes the
// connection right after the failed-attempt counter of the client was read (the attempt is
// being reserved): the request's context is canceled at that moment, and every later store
// call made with it fails with context.Canceled (Badger checks the context before each
// transaction).
type leaveAfterCount struct {
	store.Store
	prefix string
	cancel context.CancelFunc
}

func (s *leaveAfterCount) GetCounter(ctx context.Context, key string, now time.Time) (int64, time.Time, error) {
	n, reset, err := s.Store.GetCounter(ctx, key, now)
	if strings.HasPrefix(key, s.prefix) {
		s.cancel()
	}
	return n, reset, err
}

// levels records the level of every log record.
type levels struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *levels) Enabled(context.Context, slog.Level) bool { return true }

func (l *levels) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}

func (l *levels) WithAttrs([]slog.Attr) slog.Handler { return l }

func (l *levels) WithGroup(string) slog.Handler { return l }

func (l *levels) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level >= slog.LevelError {
			out = append(out, r.Message)
		}
	}
	return out
}

// TestTokenRequestCanceledMidway: a client that closes its connection in the middle of a
// token request (here: right after its client authentication attempt was reserved) is not
// an internal error — nothing is logged at error level, the answer is 499-style — and the
// attempt is settled whatever the cancellation: the right secret counts nothing, a wrong one
// is counted durably, so repeated cancellations cannot lock a client out, count successes
// as failures or hide a guess (CR-03, CR-05, AS-24: the client-authentication
// limiter counts exactly the failures). The code was not redeemed, so a retry works.
func TestTokenRequestCanceledMidway(t *testing.T) {
	logs := &levels{}
	e := idptest.NewLogged(t, slog.New(logs))
	v, ch := idptest.PKCE()
	code, _ := e.Code(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	const ip = "192.0.2.77"
	counter := "client:web:" + ip

	ctx, cancel := context.WithCancel(e.Ctx)
	defer cancel()
	e.Swap(&leaveAfterCount{Store: e.Store, prefix: "client:", cancel: cancel})

	// The token endpoint's two steps (handlers/oidc/token.go): client authentication, then
	// the grant.
	c, oerr := e.P.OAuth.AuthenticateClient(ctx, "web", idptest.WebSecret, true, ip)
	if oerr != nil {
		t.Fatalf("client authentication with the right secret: %v", oerr)
	}
	if ctx.Err() == nil {
		t.Fatal("the request was not canceled midway: the test does not test anything")
	}
	_, oerr = e.P.OAuth.ExchangeCode(ctx, c, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v})
	if oerr == nil || !oerr.Canceled() || !errors.Is(oerr, context.Canceled) {
		t.Fatalf("exchange after the client went away: %v, want an Internal error wrapping context.Canceled", oerr)
	}
	if errs := logs.errors(); len(errs) > 0 {
		t.Errorf("a client going away was logged at error level: %q", errs)
	}
	if n, _, err := e.Store.GetCounter(e.Ctx, counter, e.Clock.Now()); err != nil || n != 0 {
		t.Errorf("failed-attempt counter after a successful but canceled authentication = %d (%v), want 0", n, err)
	}

	// A wrong secret canceled midway stays counted: exactly one failure.
	ctx2, cancel2 := context.WithCancel(e.Ctx)
	defer cancel2()
	e.Swap(&leaveAfterCount{Store: e.Store, prefix: "client:", cancel: cancel2})
	if _, oerr := e.P.OAuth.AuthenticateClient(ctx2, "web", "wrong-secret-of-16-chars", true, ip); oerr == nil || oerr.Kind != oauth.InvalidClient {
		t.Fatalf("wrong secret: %v", oerr)
	}
	if n, _, err := e.Store.GetCounter(e.Ctx, counter, e.Clock.Now()); err != nil || n != 1 {
		t.Errorf("failed-attempt counter after one canceled wrong secret = %d (%v), want 1", n, err)
	}

	// A request canceled before it started counts nothing and logs nothing at error level.
	e.Swap(e.Store)
	gone, stop := context.WithCancel(e.Ctx)
	stop()
	if _, oerr := e.P.OAuth.AuthenticateClient(gone, "web", idptest.WebSecret, true, ip); oerr == nil || !oerr.Canceled() {
		t.Fatalf("authentication of a canceled request: %v, want an Internal error wrapping context.Canceled", oerr)
	}
	if n, _, _ := e.Store.GetCounter(e.Ctx, counter, e.Clock.Now()); n != 1 {
		t.Errorf("a canceled request was counted: counter = %d, want 1", n)
	}
	if errs := logs.errors(); len(errs) > 0 {
		t.Errorf("a client going away was logged at error level: %q", errs)
	}

	// The code was never redeemed: the client's retry gets its tokens.
	if _, oerr := e.P.OAuth.ExchangeCode(e.Ctx, c, oauth.CodeGrant{Code: code, RedirectURI: idptest.WebCB, Verifier: v}); oerr != nil {
		t.Fatalf("retry after the canceled request: %v", oerr)
	}
}
