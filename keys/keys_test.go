package keys_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func memStore(t *testing.T) store.Store {
	t.Helper()
	s := memory.New()
	return s
}

func load(t *testing.T, s store.Store, clk *clock, algs ...string) *keys.Ring {
	t.Helper()
	r, err := keys.Load(context.Background(), s, algs, clk.Now)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

// jwks decodes the ring's JWK Set as generic maps, to see every member actually published.
func jwks(t *testing.T, r *keys.Ring) []map[string]any {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.JWKS()))
	dec.UseNumber()
	if err := dec.Decode(&set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, r.JWKS())
	}
	return set.Keys
}

func kids(t *testing.T, r *keys.Ring) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, k := range jwks(t, r) {
		out[k["kid"].(string)] = true
	}
	return out
}

// TestJWKSPublicOnly: OC-26 — the JWK Set lists every key once with a distinct kid (its
// RFC 7638 thumbprint), use "sig" and its one algorithm, and never a private member (d, p,
// q, dp, dq, qi) or a symmetric key (k); the shared secret is never published.
func TestJWKSPublicOnly(t *testing.T) {
	clk := newClock()
	s := memStore(t)
	r := load(t, s, clk, keys.RS256, keys.ES256)
	clk.Advance(time.Minute)
	if _, err := r.Generate(context.Background(), keys.ES256); err != nil {
		t.Fatal(err)
	}
	set := jwks(t, r)
	if len(set) != 3 {
		t.Fatalf("JWKS has %d keys, want 3 (RS256, ES256, rotated ES256)", len(set))
	}
	seen := map[string]bool{}
	for _, k := range set {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS publishes private member %q: %v", private, k)
			}
		}
		kid, _ := k["kid"].(string)
		if kid == "" || seen[kid] {
			t.Fatalf("missing or repeated kid %q", kid)
		}
		seen[kid] = true
		if k["use"] != "sig" {
			t.Fatalf("kid %s: use = %v", kid, k["use"])
		}
		key, ok := r.Lookup(kid)
		if !ok {
			t.Fatalf("published kid %s not resolvable", kid)
		}
		if k["alg"] != key.Alg {
			t.Fatalf("kid %s: alg %v, key alg %s", kid, k["alg"], key.Alg)
		}
		tp, err := keys.Thumbprint(key.Public)
		if err != nil || tp != kid {
			t.Fatalf("kid %s is not the key's thumbprint %s (%v)", kid, tp, err)
		}
		switch key.Alg {
		case keys.RS256:
			if k["kty"] != "RSA" || k["n"] == nil || k["e"] != "AQAB" || k["crv"] != nil {
				t.Fatalf("RSA JWK malformed: %v", k)
			}
			n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
			if len(n) != 256 {
				t.Fatalf("RSA modulus is %d bytes, want 256 (2048 bits)", len(n))
			}
		case keys.ES256:
			if k["kty"] != "EC" || k["crv"] != "P-256" || k["n"] != nil {
				t.Fatalf("EC JWK malformed: %v", k)
			}
			for _, c := range []string{"x", "y"} {
				b, err := base64.RawURLEncoding.DecodeString(k[c].(string))
				if err != nil || len(b) != 32 {
					t.Fatalf("EC %s coordinate: %d bytes, %v", c, len(b), err)
				}
			}
		default:
			t.Fatalf("unexpected alg %s", key.Alg)
		}
	}
	if bytes.Contains(r.JWKS(), []byte("secret")) {
		t.Fatal("JWKS mentions the shared secret")
	}
	if len(r.Secret()) != 64 {
		t.Fatalf("secret is %d bytes, want 64", len(r.Secret()))
	}
}

// TestThumbprintRFC7638: the kid is the RFC 7638 thumbprint; the RFC's own example (§3.1)
// gives NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
func TestThumbprintRFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	got, err := keys.Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("Thumbprint = %s, want %s", got, want)
	}
	// Two EC keys never share a thumbprint, and unsupported key types are refused.
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ta, _ := keys.Thumbprint(a.Public())
	tb, _ := keys.Thumbprint(b.Public())
	if ta == tb || len(ta) != 43 {
		t.Fatalf("EC thumbprints %q, %q", ta, tb)
	}
	if _, err := keys.Thumbprint([]byte("k")); err == nil {
		t.Fatal("thumbprint of a symmetric key")
	}
}

// TestKeysPersistAcrossLoad: keys are generated on first start only; a restart (a second
// Load on the same store) reuses them — same kids, same active keys, same shared secret
// and derived keys — so tokens and cookies survive restarts and instances agree.
func TestKeysPersistAcrossLoad(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	r1 := load(t, s, clk, keys.RS256, keys.ES256)
	before, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 3 { // RS256, ES256, secret
		t.Fatalf("first Load stored %d records, want 3", len(before))
	}
	clk.Advance(time.Hour)
	r2 := load(t, s, clk, keys.ES256, keys.RS256)
	after, _ := s.ListKeys(ctx)
	if len(after) != len(before) {
		t.Fatalf("second Load stored %d records, want %d (no new keys)", len(after), len(before))
	}
	for _, alg := range []string{keys.RS256, keys.ES256} {
		k1, err1 := r1.Signer(alg)
		k2, err2 := r2.Signer(alg)
		if err1 != nil || err2 != nil || k1.ID != k2.ID {
			t.Fatalf("%s: active key changed across Load: %v %v", alg, k1, k2)
		}
	}
	if !bytes.Equal(r1.Secret(), r2.Secret()) {
		t.Fatal("shared secret changed across Load")
	}
	if !bytes.Equal(r1.DeriveKey("csrf"), r2.DeriveKey("csrf")) {
		t.Fatal("derived key changed across Load")
	}
	if !bytes.Equal(r1.JWKS(), r2.JWKS()) {
		t.Fatalf("JWKS changed across Load:\n%s\n%s", r1.JWKS(), r2.JWKS())
	}
	// A ring asked for RS256 only on an empty store still gets RS256, and ES256 is not
	// invented; asking for ES256 later adds it.
	s2 := memStore(t)
	r3 := load(t, s2, clk)
	if got := r3.Algs(); len(got) != 1 || got[0] != keys.RS256 {
		t.Fatalf("Algs = %v, want [RS256]", got)
	}
	if _, err := r3.Signer(keys.ES256); err == nil {
		t.Fatal("ES256 signer without an ES256 key")
	}
	r4 := load(t, s2, clk, keys.ES256)
	if got := r4.Algs(); len(got) != 2 || got[0] != keys.RS256 || got[1] != keys.ES256 {
		t.Fatalf("Algs = %v, want [RS256 ES256]", got)
	}
}

// TestLoadRefusesUnsupportedAlgorithms: only RS256 and ES256 can be configured (JW-01,
// JW-02: no none, no HMAC signing keys).
func TestLoadRefusesUnsupportedAlgorithms(t *testing.T) {
	clk := newClock()
	for _, alg := range []string{"none", "HS256", "RS512", "PS256", "ES384", "rs256", ""} {
		if _, err := keys.Load(context.Background(), memStore(t), []string{alg}, clk.Now); err == nil {
			t.Fatalf("Load accepted algorithm %q", alg)
		}
	}
	r := load(t, memStore(t), clk)
	if _, err := r.Generate(context.Background(), "HS256"); err == nil {
		t.Fatal("Generate accepted HS256")
	}
}

// TestGenerateRotates: OC-26 — Generate publishes a new key at once and makes it the signer
// for its algorithm after Prepublish (relying parties that cached the JWK Set meanwhile
// refetch it), while the previous key stays published and resolvable (tokens it signed keep
// verifying until they expire); other rings on the store see the rotation after Reload.
func TestGenerateRotates(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	r := load(t, s, clk, keys.RS256, keys.ES256)
	other := load(t, s, clk, keys.RS256, keys.ES256)
	old, _ := r.Signer(keys.ES256)
	oldRS, _ := r.Signer(keys.RS256)
	clk.Advance(time.Minute)
	nk, err := r.Generate(ctx, keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if nk.ID == old.ID {
		t.Fatal("Generate returned the old key")
	}
	if !kids(t, r)[nk.ID] {
		t.Fatal("the new key is not published at once")
	}
	if k, _ := r.Signer(keys.ES256); k.ID != old.ID {
		t.Fatal("the new key signs before relying parties could have fetched it")
	}
	clk.Advance(r.Prepublish)
	active, _ := r.Signer(keys.ES256)
	if active.ID != nk.ID {
		t.Fatalf("active ES256 key is %s, want the new %s", active.ID, nk.ID)
	}
	if rs, _ := r.Signer(keys.RS256); rs.ID != oldRS.ID {
		t.Fatal("rotating ES256 changed the RS256 key")
	}
	if _, ok := r.Lookup(old.ID); !ok {
		t.Fatal("old key no longer resolvable")
	}
	published := kids(t, r)
	if !published[old.ID] || !published[nk.ID] || len(published) != 3 {
		t.Fatalf("JWKS kids = %v, want old, new and RS256", published)
	}
	// The other instance still signs with the old key until it reloads.
	if k, _ := other.Signer(keys.ES256); k.ID != old.ID {
		t.Fatal("other ring changed without Reload")
	}
	if err := other.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _ := other.Signer(keys.ES256); k.ID != nk.ID {
		t.Fatal("other ring did not pick up the rotation")
	}
	// A restart also picks the newest key.
	if k, _ := load(t, s, clk, keys.ES256).Signer(keys.ES256); k.ID != nk.ID {
		t.Fatal("restart did not pick the newest key")
	}
}

// TestRetiredKeyStillPublished: a retired key stops signing but is still published for
// verification until it is deleted; once deleted it no longer resolves (JW-23).
func TestRetiredKeyStillPublished(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	r := load(t, s, clk, keys.RS256, keys.ES256)
	old, _ := r.Signer(keys.ES256)
	clk.Advance(time.Minute)
	nk, err := r.Generate(ctx, keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	// Retire the new key: the older, unretired one becomes active again.
	if _, err := s.UpdateKey(ctx, nk.ID, func(k store.SigningKey) (store.SigningKey, error) {
		k.RetiredAt = clk.Now()
		return k, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _ := r.Signer(keys.ES256); k.ID != old.ID {
		t.Fatalf("a retired key is still the signer")
	}
	if _, ok := r.Lookup(nk.ID); !ok || !kids(t, r)[nk.ID] {
		t.Fatal("retired key not published")
	}
	if err := s.DeleteKey(ctx, nk.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup(nk.ID); ok || kids(t, r)[nk.ID] {
		t.Fatal("deleted key still resolvable")
	}
}

// TestReloadRejectsMislabelledKey: a stored key whose type does not match its alg (an RSA
// key stored as ES256, say) makes Load fail instead of being used with the wrong algorithm
// (JW-03).
func TestReloadRejectsMislabelledKey(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	r := load(t, s, clk, keys.RS256)
	rs, _ := r.Signer(keys.RS256)
	recs, _ := s.ListKeys(ctx)
	var der []byte
	for _, rec := range recs {
		if rec.ID == rs.ID {
			der = rec.PrivateKey
		}
	}
	if err := s.CreateKey(ctx, store.SigningKey{ID: "mislabelled", Alg: keys.ES256, PrivateKey: der, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Load(ctx, s, nil, clk.Now); err == nil {
		t.Fatal("Load accepted an RSA key labelled ES256")
	}
}

// TestDeriveKey: derived keys are 32 bytes, independent per purpose, and depend on the
// shared secret (another store, another key).
func TestDeriveKey(t *testing.T) {
	clk := newClock()
	r := load(t, memStore(t), clk)
	a, b := r.DeriveKey("session-cookie-hmac"), r.DeriveKey("session-cookie-aes")
	if len(a) != 32 || len(b) != 32 || bytes.Equal(a, b) {
		t.Fatalf("derived keys: %x %x", a, b)
	}
	if bytes.Equal(a, r.DeriveKey("session-cookie-hmac\x00")) {
		t.Fatal("purposes differing by a NUL derive the same key")
	}
	r2 := load(t, memStore(t), clk)
	if bytes.Equal(a, r2.DeriveKey("session-cookie-hmac")) {
		t.Fatal("two deployments derive the same key")
	}
}

// TestConcurrentFirstStart: instances racing on first start may both generate keys; each
// ends up with a usable active key that the store publishes and with the same shared
// secret, and the store refuses a duplicate kid.
func TestConcurrentFirstStart(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := memStore(t)
	var wg sync.WaitGroup
	rings := make([]*keys.Ring, 3)
	errs := make([]error, 3)
	for i := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rings[i], errs[i] = keys.Load(ctx, s, []string{keys.ES256}, clk.Now)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ring %d: %v", i, err)
		}
	}
	final := load(t, s, clk, keys.ES256)
	for i, r := range rings {
		k, err := r.Signer(keys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := final.Lookup(k.ID); !ok {
			t.Fatalf("ring %d signs with kid %s, which is not published", i, k.ID)
		}
		if !bytes.Equal(r.Secret(), final.Secret()) {
			t.Fatalf("ring %d has another shared secret: cookies set by one instance would not open on another", i)
		}
	}
	k, _ := final.Signer(keys.ES256)
	recs, _ := s.ListKeys(ctx)
	for _, rec := range recs {
		if rec.ID == k.ID {
			err := s.CreateKey(ctx, rec)
			if !errors.Is(err, store.ErrAlreadyExists) {
				t.Fatalf("duplicate kid: %v", err)
			}
		}
	}
}

// TestRotateImmediateCollectRemove: an immediate rotation signs at once; the replaced key
// stays published for Retain after its successor started signing, then Collect deletes it;
// Remove deletes a key at once but never the signing or the only key.
func TestRotateImmediateCollectRemove(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := load(t, memStore(t), clk, keys.RS256)
	old, _ := r.Signer(keys.RS256)
	clk.Advance(time.Second)
	nk, err := r.Rotate(ctx, keys.RS256, true)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := r.Signer(keys.RS256); k.ID != nk.ID {
		t.Fatal("immediate rotation: the new key does not sign")
	}
	if err := r.Remove(ctx, nk.ID); err == nil {
		t.Fatal("removed the signing key")
	}
	if err := r.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if !kids(t, r)[old.ID] {
		t.Fatal("Collect deleted the replaced key before Retain")
	}
	clk.Advance(r.Retain + time.Minute)
	if err := r.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if kids(t, r)[old.ID] || !kids(t, r)[nk.ID] {
		t.Fatalf("after Retain: JWKS %v, want only the new key", kids(t, r))
	}
	if err := r.Remove(ctx, nk.ID); err == nil {
		t.Fatal("removed the only key")
	}
	third, _ := r.Rotate(ctx, keys.RS256, false)
	if err := r.Remove(ctx, third.ID); err != nil {
		t.Fatalf("remove a pre-published key: %v", err)
	}
	if _, ok := r.Lookup(third.ID); ok {
		t.Fatal("removed key still resolves")
	}
}
