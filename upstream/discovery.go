package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// Discovery of upstream OpenID providers (OpenID Connect Discovery 1.0).
//
// A provider's discovery document is fetched at its first use and kept. The fetch holds no
// lock: the logins that need it meanwhile share that one fetch (single flight), bounded by
// Timeout, whichever request started it. A failed fetch marks the provider down for a
// back-off — discoveryBackoffMin, doubled at each further failure up to
// discoveryBackoffMax — during which, and while the retry after it runs, logins through the
// provider are answered at once with a *UnavailableError instead of queueing behind a
// provider that does not answer. A successful fetch ends the back-off.

const (
	discoveryBackoffMin = 5 * time.Second
	discoveryBackoffMax = time.Minute
)

// discovered is what Gatehouse keeps of a provider's discovery document.
type discovered struct {
	op       *oidc.Provider
	verifier *oidc.IDTokenVerifier
	// issuer is the document's issuer (the provider's configured issuer, or for a
	// multi-tenant provider its template).
	issuer string
	// issParam: the provider advertises authorization_response_iss_parameter_supported
	// (RFC 9207 §3), so each of its authorization responses must carry iss (§2.4).
	issParam  bool
	authStyle oauth2.AuthStyle
}

// discoveryState is a provider's discovery cache and back-off; its zero value is ready.
type discoveryState struct {
	flight singleflight.Group

	mu        sync.Mutex
	cur       *discovered
	failures  int       // consecutive failed fetches
	downUntil time.Time // no new fetch before this, after a failure
	fetching  bool      // a fetch is running
}

// discover returns the provider's discovery, fetching it if needed; see above.
func (c *Client) discover(ctx context.Context) (*discovered, error) {
	ds := &c.discovery
	ds.mu.Lock()
	if d := ds.cur; d != nil {
		ds.mu.Unlock()
		return d, nil
	}
	if ds.failures > 0 {
		// Known to be down: during the back-off, and while the retry after it runs, answer
		// at once.
		now := c.Now()
		if now.Before(ds.downUntil) || ds.fetching {
			wait := max(ds.downUntil.Sub(now), time.Second)
			ds.mu.Unlock()
			return nil, &UnavailableError{Provider: c.DisplayName(), RetryAfter: wait}
		}
	}
	ds.mu.Unlock()
	ch := ds.flight.DoChan("discovery", func() (any, error) { return c.fetchDiscovery(ctx) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*discovered), nil
	case <-ctx.Done():
		// This request gave up; the fetch goes on for the others.
		return nil, &UnavailableError{Provider: c.DisplayName(), Err: fmt.Errorf("discover %s: %w", c.Name, ctx.Err())}
	}
}

// fetchDiscovery runs one fetch (inside the single flight) and records its outcome.
func (c *Client) fetchDiscovery(ctx context.Context) (*discovered, error) {
	ds := &c.discovery
	ds.mu.Lock()
	ds.fetching = true
	ds.mu.Unlock()
	// Detached from the request that happened to start it: the others wait for it too.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	d, err := c.fetchDiscoveryDoc(fctx)

	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.fetching = false
	if err != nil {
		ds.failures++
		backoff := discoveryBackoffMax
		if ds.failures <= 5 {
			backoff = min(discoveryBackoffMin<<(ds.failures-1), discoveryBackoffMax)
		}
		ds.downUntil = c.Now().Add(backoff)
		c.logger().Warn("social login: provider unavailable", "event", "social_provider_unavailable", "provider", c.Name,
			"failures", ds.failures, "retry_in", backoff.String(), "error", err)
		return nil, &UnavailableError{Provider: c.DisplayName(), RetryAfter: backoff, Err: err}
	}
	if ds.failures > 0 {
		c.logger().Info("social login: provider available again", "event", "social_provider_available", "provider", c.Name,
			"after_failures", ds.failures)
	}
	ds.cur, ds.failures, ds.downUntil = d, 0, time.Time{}
	return d, nil
}

// fetchDiscoveryDoc fetches and checks the discovery document.
func (c *Client) fetchDiscoveryDoc(ctx context.Context) (*discovered, error) {
	dctx := c.clientCtx(ctx)
	if c.IssuerTemplate != "" {
		dctx = oidc.InsecureIssuerURLContext(dctx, c.Issuer)
	}
	op, err := oidc.NewProvider(dctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.Name, err)
	}
	// The client secret, codes and tokens go to these endpoints: https only (or loopback).
	var meta struct {
		Issuer   string   `json:"issuer"`
		Auth     string   `json:"authorization_endpoint"`
		Token    string   `json:"token_endpoint"`
		JWKS     string   `json:"jwks_uri"`
		UserInfo string   `json:"userinfo_endpoint"`
		Algs     []string `json:"id_token_signing_alg_values_supported"`
		IssParam bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.Name, err)
	}
	for _, e := range []struct{ name, url string }{{"authorization_endpoint", meta.Auth}, {"token_endpoint", meta.Token}, {"jwks_uri", meta.JWKS}} {
		if !ValidURL(e.url) {
			return nil, fmt.Errorf("discover %s: %s %q is not an https URL", c.Name, e.name, e.url)
		}
	}
	if meta.UserInfo != "" && !ValidURL(meta.UserInfo) {
		return nil, fmt.Errorf("discover %s: userinfo_endpoint %q is not an https URL", c.Name, meta.UserInfo)
	}
	// The key set is used with a background context: it refetches keys on its own. It is
	// probed so that keys that cannot be fetched (an outage) are told apart from a token
	// that no key verifies (a forgery).
	keys := probedKeySet{oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), c.httpClient()), meta.JWKS)}
	cfg := &oidc.Config{ClientID: c.ClientID, SkipIssuerCheck: c.IssuerTemplate != "", Now: c.Now,
		SupportedSigningAlgs: signingAlgs(meta.Algs)}
	return &discovered{op: op, verifier: oidc.NewVerifier(meta.Issuer, keys, cfg), issuer: meta.Issuer,
		issParam: meta.IssParam, authStyle: tokenAuthStyle(op)}, nil
}

// signingAlgs keeps the advertised ID token algorithms that go-oidc verifies (as its
// Provider.Verifier does); none left means its default, RS256.
func signingAlgs(advertised []string) []string {
	known := []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}
	var out []string
	for _, a := range advertised {
		if slices.Contains(known, a) {
			out = append(out, a)
		}
	}
	return out
}

// keyFetchProbe records, for one ID token verification, that the provider's keys could not
// be fetched. go-oidc reports that, and a token no key verifies, as the same signature
// failure without its cause.
type keyFetchProbe struct{ err error }

type keyFetchProbeKey struct{}

// probedKeySet is the provider's remote key set, reporting fetch failures to the probe in
// the verification's context.
type probedKeySet struct{ ks oidc.KeySet }

func (k probedKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.ks.VerifySignature(ctx, jwt)
	if err != nil && keyFetchFailed(err) {
		if probe, ok := ctx.Value(keyFetchProbeKey{}).(*keyFetchProbe); ok {
			probe.err = err
		}
	}
	return payload, err
}

// keyFetchFailed tells whether go-oidc's remote key set failed to fetch the keys (network
// error, timeout, an error status or a broken document), as opposed to no key verifying.
func keyFetchFailed(err error) bool {
	var ue *url.Error
	return strings.HasPrefix(err.Error(), "fetching keys") || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}
