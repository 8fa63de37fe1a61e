package protect

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/tokens"
)

// RevocationPoll is how often a watched request checks the revocation list (close_on_revoke).
// With the app's one-second sync, a revoked session's socket closes within about a second of
// the revocation reaching this instance, at once on the instance that revoked it.
var RevocationPoll = 200 * time.Millisecond

// WatchRevocation returns r with a context that is cancelled as soon as the credential of id
// is revoked (its session logged out, its grant or token revoked, its user logged out
// everywhere or disabled, its app credential deleted), and a stop function to call when the
// request ends. Caddy's reverse_proxy closes an upgraded connection (WebSocket) or a streamed
// response when the request's context ends. A short request costs one timer: the first check
// runs after RevocationPoll. A stale list (sync failing) does not close anything: it is not a
// revocation.
func (g *Guard) WatchRevocation(r *http.Request, id *Identity) (*http.Request, func()) {
	ctx, cancel := context.WithCancel(r.Context())
	var (
		mu      sync.Mutex
		stopped bool
		timer   *time.Timer
	)
	var tick func()
	tick = func() {
		if g.revoked(id) {
			g.Logger.Info("protect: closing a connection whose credential was revoked", "sub", id.Claims.Subject)
			cancel()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			timer = time.AfterFunc(RevocationPoll, tick)
		}
	}
	mu.Lock()
	timer = time.AfterFunc(RevocationPoll, tick)
	mu.Unlock()
	stop := func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		mu.Unlock()
		cancel()
	}
	return r.WithContext(ctx), stop
}

// revoked reports whether id's credential has been revoked since it was checked.
func (g *Guard) revoked(id *Identity) bool {
	rl := g.Provider.Revocations
	var err error
	if id.cred != nil {
		err = rl.CheckCredential(id.cred.ID, id.Claims.Subject, id.cred.verifiedAt)
		return errors.Is(err, tokens.ErrRevoked) || errors.Is(err, tokens.ErrUserChanged)
	}
	err = rl.CheckClaims(id.Claims)
	return errors.Is(err, tokens.ErrRevoked)
}
