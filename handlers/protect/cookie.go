package protect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The session cookie on the request path. A cookie is verified once (opened, its access
// token's signature checked) and then served from the credential cache until its access
// token expires. Then its refresh token is exchanged once, in-process, and the successor
// recorded:
//
//   - parallel requests with the same cookie share the one exchange (singleflight);
//   - a client that keeps sending the superseded cookie (a tab that raced the Set-Cookie, a
//     client that ignores Set-Cookie) is served from the cache with the successor's identity,
//     with no store access, and told the successor again (a precomputed Set-Cookie line) at
//     most once a second, until the successor's access token expires too; then the
//     successor's refresh token is exchanged, once — one refresh per access-token lifetime,
//     not one per request, and never a reuse of a rotated refresh token (which would revoke
//     the whole family, AS-18);
//   - a superseded cookie is followed to its newest successor for at most staleCookieTTL
//     after its first successor's access token expired (the deadline does not move with the
//     chain), and at most Guard.CacheSize successors are kept: a superseded cookie that comes
//     back later — a stolen one among them — is refreshed with its own, rotated, refresh
//     token, which the store treats as a reuse and answers by revoking the family (AS-15);
//   - the refreshes in flight and the successors are shared by the Guards of a configuration
//     (Refreshes), so that two routes protected with one client and cookie exchange a cookie
//     once. Instances behind a load balancer do not share them: see the README on running
//     several instances.
//
// Revocation is checked on every request, hit, miss or remembered successor: a logout stops
// the cookie and all its successors at once.

// staleCookieTTL is how long after its first successor's access token expired a superseded
// cookie is still followed to the newest successor.
const staleCookieTTL = 10 * time.Minute

// Refreshes are the session-cookie refreshes in flight and the successors remembered. One is
// shared by the Guards of a configuration (module sets it); a Guard without one makes its own.
type Refreshes struct {
	flights singleflight.Group
	mu      sync.Mutex
	recent  map[string]*successor // cookie name + hash of a refresh token -> its successor
	size    int
}

// NewRefreshes returns an empty set that remembers at most size successors (default 10000).
func NewRefreshes(size int) *Refreshes {
	if size <= 0 {
		size = 10000
	}
	return &Refreshes{recent: map[string]*successor{}, size: size}
}

// successor is the newest credential a refresh token led to.
type successor struct {
	res   refreshed
	rt    string    // the successor's refresh token (held here; the client has it sealed)
	until time.Time // forgotten after
}

// refreshed is the outcome of one refresh: the successor's cookie value and identity.
type refreshed struct {
	cookie string
	id     *Identity
}

func (g *Guard) setAuthCookie(w http.ResponseWriter, r *http.Request, name string, c sealedCookie) error {
	if !isGatehouseCookie(name) {
		name = g.cookieName(r)
	}
	v, err := g.sealer.seal(name, c)
	if err != nil {
		return fmt.Errorf("seal session cookie: %w", err)
	}
	g.setCookie(w, r, name, v, int(g.Provider.RefreshTokenLifetime/time.Second))
	return nil
}

// addSetCookie adds a precomputed Set-Cookie line (see successor): one slice per response,
// no formatting.
func addSetCookie(w http.ResponseWriter, line string) {
	h := w.Header()
	h["Set-Cookie"] = append(h["Set-Cookie"], line)
}

// verifyCookie verifies the session cookie, through the cache, refreshing an expired access
// token in-process (once per token: see successor).
func (g *Guard) verifyCookie(w http.ResponseWriter, r *http.Request, value string, now time.Time) (*Identity, error) {
	gen := g.cache.generation()
	if id := g.cache.get(value, now); id != nil && id.cred == nil {
		if err := g.Provider.Revocations.CheckClaims(id.Claims); err != nil {
			return nil, err
		}
		if id.setCookie != "" {
			// A superseded cookie: tell its successor again, at most once a second (a
			// client ignoring Set-Cookie must not cost a 1.1 KB header on every response).
			if t := now.Unix(); id.setCookieAt.Load() != t && id.setCookieAt.Swap(t) != t {
				addSetCookie(w, id.setCookie)
			}
		}
		return id, nil
	}
	name := g.cookieName(r)
	sc, ok := g.sealer.open(name, value)
	if !ok {
		return nil, errBadCookie
	}
	if sc.Client != g.ClientID {
		return nil, errOtherClient
	}
	c, err := g.Provider.Verifier.VerifyAccessToken(sc.AccessToken)
	if err == nil && (now.Unix() < c.ExpiresAt || sc.RefreshToken == "") {
		id := newIdentity(c, g.Headers)
		id.keyGen = gen
		if now.Unix() >= c.ExpiresAt {
			id.until = c.ExpiresAt + int64(g.Provider.Verifier.Leeway/time.Second)
		}
		g.cache.put(value, id, now)
		return id, nil
	}
	if err != nil && !errors.Is(err, tokens.ErrExpired) || sc.RefreshToken == "" {
		return nil, err
	}
	// Expired (or within the leeway after exp, err == nil): refresh once.
	id, rerr := g.refreshCookie(r, name, value, sc.RefreshToken, now)
	if rerr != nil {
		if err == nil && errors.Is(rerr, errUnavailable) {
			// The store is down and the token is still valid within the leeway: serve it.
			id := newIdentity(c, g.Headers)
			id.keyGen = gen
			return id, nil
		}
		return nil, rerr
	}
	// A remembered successor was not read from the store: check it is not revoked.
	if err := g.Provider.Revocations.CheckClaims(id.Claims); err != nil {
		g.cache.remove(value)
		return nil, err
	}
	addSetCookie(w, id.setCookie)
	return id, nil
}

// refreshCookie exchanges the cookie's refresh token (or the newest successor's) and caches
// the superseded cookie value with the successor's identity and Set-Cookie line.
func (g *Guard) refreshCookie(r *http.Request, name, value, rt string, now time.Time) (*Identity, error) {
	gen := g.cache.generation()
	s, err := g.refresh(r, name, rt, now)
	if err != nil {
		return nil, err
	}
	// The identity served for the superseded cookie: the successor's, plus its Set-Cookie.
	line := (&http.Cookie{Name: name, Value: s.res.cookie, Path: "/", MaxAge: int(g.Provider.RefreshTokenLifetime / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}).String()
	id := newIdentity(s.res.id.Claims, g.Headers)
	id.keyGen = gen
	id.setCookie = line
	id.setCookieAt.Store(now.Unix()) // this response carries it
	g.cache.add(value, id, now)
	return id, nil
}

// refresh returns the successor of the refresh token rt: the one recorded while its access
// token is valid, else the outcome of a refresh of the newest refresh token of the chain —
// rt itself the first time — until the first successor's deadline. Parallel calls for one
// rt share one exchange.
func (g *Guard) refresh(r *http.Request, name, rt string, now time.Time) (*successor, error) {
	rs := g.refreshes
	key := name + "\x00" + secret.Hash(rt)
	v, err, _ := rs.flights.Do(key, func() (any, error) {
		rs.mu.Lock()
		s := rs.recent[key]
		rs.mu.Unlock()
		if s != nil && !now.Before(s.until) {
			// Past the deadline: rt is exchanged as it is — rotated long ago, a reuse.
			rs.forget(key)
			s = nil
		}
		if s != nil && now.Unix() < s.res.id.until {
			return s, nil
		}
		if s != nil {
			// The successor expired as well and the client still sends the old cookie:
			// follow the chain (the newer refresh token's own flight collapses this with a
			// client that sends the newer cookie), keeping the first successor's deadline so
			// that an old cookie cannot follow the session for ever.
			next, err := g.refresh(r, name, s.rt, now)
			if err != nil {
				if !errors.Is(err, errUnavailable) {
					rs.forget(key) // the session ended: nothing to follow any more
				}
				return nil, err
			}
			followed := &successor{res: next.res, rt: next.rt, until: s.until}
			rs.remember(key, followed, now)
			return followed, nil
		}
		s, err := g.exchange(r, rt, now)
		if err != nil {
			return nil, err
		}
		rs.remember(key, s, now)
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*successor), nil
}

// exchange runs the refresh grant for rt and seals the successor cookie.
func (g *Guard) exchange(r *http.Request, rt string, now time.Time) (*successor, error) {
	gen := g.cache.generation()
	// Not cancelled with the request that leads the flight: once the store rotates the
	// token, its successor must be recorded, or the next request would replay a rotated one.
	ctx := context.WithoutCancel(r.Context())
	client, err := g.Provider.Client(ctx, g.ClientID)
	if err != nil {
		return nil, fmt.Errorf("%w: load client %s: %w", errUnavailable, g.ClientID, err)
	}
	resp, oerr := g.Provider.RefreshGrant(ctx, client, rt, "")
	if oerr != nil {
		if oerr.Kind == idp.ErrInternal {
			return nil, fmt.Errorf("%w: refresh: %s", errUnavailable, oerr.Description)
		}
		return nil, oerr
	}
	enc, err := g.sealer.seal(g.cookieName(r), sealedCookie{Client: g.ClientID, AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken})
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	id := newIdentity(resp.Claims, g.Headers)
	id.keyGen = gen
	g.cache.add(enc, id, now) // the browser will send it, parallel requests at once: admit it
	return &successor{res: refreshed{cookie: enc, id: id}, rt: resp.RefreshToken,
		until: time.Unix(id.until, 0).Add(staleCookieTTL)}, nil
}

// remember records that the refresh token keyed by key led to s, evicting forgotten
// successors, and arbitrary ones when size are kept.
func (rs *Refreshes) remember(key string, s *successor, now time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.recent) >= rs.size {
		for k, old := range rs.recent {
			if !now.Before(old.until) {
				delete(rs.recent, k)
			}
		}
		for k := range rs.recent {
			if len(rs.recent) < rs.size-rs.size/8 {
				break
			}
			delete(rs.recent, k) // random order: a random eviction
		}
	}
	rs.recent[key] = s
}

func (rs *Refreshes) forget(key string) {
	rs.mu.Lock()
	delete(rs.recent, key)
	rs.mu.Unlock()
}
