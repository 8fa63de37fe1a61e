package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Browser origins of public clients (CORS on the token, revocation and userinfo endpoints).
//
// A public client running in a browser (a single-page app) calls the token endpoint from its
// own page with fetch, which the browser lets it read only if the answer names the page's
// origin in Access-Control-Allow-Origin. The origins a public client may call from are the
// origins of its http(s) redirect URIs — the page the authorization response returns to —
// and those listed in its allowed_origins. Confidential clients have none: a browser cannot
// keep their secret.

// storeOriginsTTL bounds how often a miss rebuilds the origins of the stored clients.
const storeOriginsTTL = time.Minute

// ValidateOrigin checks an allowed origin: a serialized origin as browsers send it in the
// Origin header (RFC 6454 §6.2) — scheme, host and port only, lower case, without a default
// port — with https, or http on a loopback host as for redirect URIs.
func ValidateOrigin(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an origin such as https://app.example.com (scheme://host[:port])")
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return errors.New("must be an origin such as https://app.example.com: no path (not even /), query, fragment or user information")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return errors.New("plain http is only allowed for loopback hosts (127.0.0.1, [::1], localhost); use https")
		}
	default:
		return errors.New("must be an http(s) origin such as https://app.example.com")
	}
	if o, ok := originOf(raw); !ok || o != raw {
		return errors.New("must be written as browsers send it: lower case, without the default port (:443 for https, :80 for http)")
	}
	return nil
}

// originOf returns the serialized origin of an http(s) URL (lower-case scheme and host, no
// default port); ok is false for other URLs (a native app's private-use scheme has no origin).
func originOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme != "http" && scheme != "https" || host == "" {
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return scheme + "://" + host, true
	}
	return scheme + "://" + host + ":" + port, true
}

// browserOrigins returns the origins a public client may call from: its redirect URIs'
// and its allowed origins; nil for a confidential client.
func browserOrigins(public bool, redirectURIs, allowed []string) map[string]bool {
	if !public {
		return nil
	}
	m := map[string]bool{}
	for _, u := range redirectURIs {
		if o, ok := originOf(u); ok {
			m[o] = true
		}
	}
	for _, o := range allowed {
		m[o] = true
	}
	return m
}

// Origins returns the browser origins the client may call the token, revocation and userinfo
// endpoints from (none for a confidential client), sorted.
func (c *Client) Origins() []string {
	out := make([]string, 0, len(c.origins))
	for o := range c.origins {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// AllowsOrigin tells whether a page of origin (the request's Origin header) may read the
// answers of the token, revocation and userinfo endpoints to this client.
func (c *Client) AllowsOrigin(origin string) bool { return origin != "" && c.origins[origin] }

// originIndex is the union of the public clients' origins: the configured clients' computed
// once, the stored clients' rebuilt on a miss at most once per storeOriginsTTL.
type originIndex struct {
	once       sync.Once
	configured map[string]bool

	mu       sync.Mutex
	stored   map[string]bool
	storedAt time.Time
}

// KnownOrigin tells whether origin is an origin of some public client (a CORS preflight,
// which carries no client_id, is answered for these). The configured clients' origins are
// computed once; the stored clients' are read from the store only when origin is not among
// them, at most once a minute, so preflights do not read the store each time.
func (p *Server) KnownOrigin(ctx context.Context, origin string) bool {
	if origin == "" {
		return false
	}
	x := &p.origins
	x.once.Do(func() {
		x.configured = map[string]bool{}
		for _, c := range p.Configured {
			for o := range c.origins {
				x.configured[o] = true
			}
		}
	})
	if x.configured[origin] {
		return true
	}
	if p.Store == nil {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stored[origin] {
		return true
	}
	now := time.Now()
	if !x.storedAt.IsZero() && now.Sub(x.storedAt) < storeOriginsTTL {
		return false
	}
	m, err := p.storedOrigins(ctx)
	if err != nil {
		p.logger().Warn("list the stored clients for CORS", "error", err)
		return false
	}
	x.stored, x.storedAt = m, now
	return m[origin]
}

// storedOrigins reads every stored public client's origins.
func (p *Server) storedOrigins(ctx context.Context) (map[string]bool, error) {
	m := map[string]bool{}
	opts := store.ListOptions{Limit: 1000}
	for {
		page, err := p.Store.ListClients(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, rec := range page {
			if rec.Pending {
				continue
			}
			for o := range browserOrigins(rec.SecretHash == "", rec.RedirectURIs, rec.AllowedOrigins) {
				m[o] = true
			}
		}
		if len(page) < opts.Limit {
			return m, nil
		}
		opts.After = page[len(page)-1].ID
	}
}
