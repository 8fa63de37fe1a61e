// Package keys owns Gatehouse's asymmetric signing keys and its shared symmetric secrets.
//
// A Ring loads the keys from the store, generates the missing ones on first start (RS256 is
// always present because OpenID Connect requires it; ES256 and EdDSA too), picks the active key per
// algorithm for signing, and serves the public JWK Set with a distinct RFC 7638 thumbprint as
// each key's kid. Private members never leave the ring. Signing and verification of JWTs is
// the tokens package's job; this package only hands out keys.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Supported JWS algorithms.
const (
	RS256 = "RS256"
	ES256 = "ES256"
	// EdDSA is Ed25519 (RFC 8037): the cheapest to sign and to verify.
	EdDSA = "EdDSA"
)

// Algorithms lists the signing algorithms a Ring can hold, RS256 first.
var Algorithms = []string{RS256, ES256, EdDSA}

// ValidAlg tells whether alg is a supported signing algorithm.
func ValidAlg(alg string) bool { return alg == RS256 || alg == ES256 || alg == EdDSA }

// secretAlg marks the stored record holding the symmetric secret.
const secretAlg = "secret"

// Key is one signing key.
type Key struct {
	// ID is the key's kid: its RFC 7638 JWK thumbprint.
	ID string
	// Alg is the JWS algorithm the key is used with, and the only one accepted for it.
	Alg string
	// Signer is the private key.
	Signer crypto.Signer
	// Public is the public key.
	Public    crypto.PublicKey
	CreatedAt time.Time
	RetiredAt time.Time
}

// Ring holds the signing keys. It is safe for concurrent use.
//
// Rotation without downtime: a new key is published at once but signs only after
// Prepublish (longer than relying parties cache the JWK Set), and the key it replaces stays
// published for Retain after that (as long as any token it signed can be valid); then
// Collect deletes it.
type Ring struct {
	// Prepublish is how long a new key is published before it signs (default 5 minutes,
	// the JWKS cache lifetime).
	Prepublish time.Duration
	// Retain is how long a replaced key stays published (default 24 hours).
	Retain time.Duration

	store store.Keys
	now   func() time.Time
	rand  io.Reader
	// prefix marks the stored records of a dedicated ring (AssertionPrefix); the main ring
	// ("") skips them, and a dedicated ring holds only them.
	prefix string

	mu     sync.RWMutex
	byAlg  map[string][]*Key // by alg, newest first
	byID   map[string]*Key
	jwks   []byte
	secret []byte
	// lastMiss is when an unknown kid last reloaded the ring (see Lookup).
	lastMiss time.Time
	// removals counts the reloads that dropped a key (see Removals).
	removals atomic.Uint64
}

// Load reads every key from the store and generates what is missing: one key per
// algorithm in algs (RS256 is always added) and the shared secret. Instances racing on first
// start may both generate a key; both are published and the newest is used.
func Load(ctx context.Context, s store.Keys, algs []string, now func() time.Time) (*Ring, error) {
	r := &Ring{store: s, now: now, rand: rand.Reader, Prepublish: 5 * time.Minute, Retain: 24 * time.Hour}
	want := map[string]bool{RS256: true}
	for _, a := range algs {
		if !ValidAlg(a) {
			return nil, fmt.Errorf("unsupported signing algorithm %q (supported: RS256, ES256, EdDSA)", a)
		}
		want[a] = true
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	for alg := range want {
		if r.signer(alg) != nil {
			continue
		}
		// The first key of an algorithm signs at once.
		if _, err := r.generate(ctx, alg, now().Add(-r.Prepublish)); err != nil {
			return nil, err
		}
	}
	if r.Secret() == nil {
		secret := make([]byte, 64)
		if _, err := io.ReadFull(r.rand, secret); err != nil {
			return nil, fmt.Errorf("generate secret: %w", err)
		}
		err := s.CreateKey(ctx, store.SigningKey{ID: "gatehouse-secret-1", Alg: secretAlg, PrivateKey: secret, CreatedAt: now()})
		if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return nil, fmt.Errorf("store secret: %w", err)
		}
		if err := r.Reload(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Generate creates and stores a new key for alg; it signs after Prepublish. The previous key
// of that algorithm signs until then and stays published for verification.
func (r *Ring) Generate(ctx context.Context, alg string) (*Key, error) {
	return r.generate(ctx, alg, r.now())
}

// Rotate replaces the signing key of alg. With immediate, the new key signs at once (after a
// suspected compromise: relying parties that cached the JWK Set refetch it on the unknown
// kid); otherwise after Prepublish.
func (r *Ring) Rotate(ctx context.Context, alg string, immediate bool) (*Key, error) {
	at := r.now()
	if immediate {
		at = at.Add(-r.Prepublish)
	}
	return r.generate(ctx, alg, at)
}

func (r *Ring) generate(ctx context.Context, alg string, createdAt time.Time) (*Key, error) {
	var (
		signer crypto.Signer
		err    error
	)
	switch alg {
	case RS256:
		signer, err = rsa.GenerateKey(r.rand, 2048)
	case ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), r.rand)
	case EdDSA:
		_, signer, err = ed25519.GenerateKey(r.rand)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, fmt.Errorf("encode %s key: %w", alg, err)
	}
	kid, err := Thumbprint(signer.Public())
	if err != nil {
		return nil, err
	}
	rec := store.SigningKey{ID: kid, Alg: r.prefix + alg, PrivateKey: der, CreatedAt: createdAt}
	if err := r.store.CreateKey(ctx, rec); err != nil {
		return nil, fmt.Errorf("store %s key: %w", alg, err)
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	k, _ := r.Lookup(kid)
	return k, nil
}

// Reload replaces the ring's content with the store's.
func (r *Ring) Reload(ctx context.Context) error {
	recs, err := r.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	byAlg := map[string][]*Key{}
	byID := map[string]*Key{}
	var secret []byte
	for _, rec := range recs {
		if strings.HasPrefix(rec.Alg, AssertionPrefix) != (r.prefix != "") {
			continue // another ring's key
		}
		rec.Alg = strings.TrimPrefix(rec.Alg, r.prefix)
		if rec.Alg == secretAlg {
			if secret == nil {
				secret = rec.PrivateKey
			}
			continue
		}
		k, err := parse(rec)
		if err != nil {
			return err
		}
		byID[k.ID] = k
		if k.RetiredAt.IsZero() {
			byAlg[k.Alg] = append(byAlg[k.Alg], k)
		}
	}
	for _, ks := range byAlg {
		sort.Slice(ks, func(i, j int) bool {
			if !ks[i].CreatedAt.Equal(ks[j].CreatedAt) {
				return ks[i].CreatedAt.After(ks[j].CreatedAt)
			}
			return ks[i].ID > ks[j].ID
		})
	}
	jwks, err := marshalJWKS(byID)
	if err != nil {
		return err
	}
	r.mu.Lock()
	dropped := false
	for kid := range r.byID {
		if _, ok := byID[kid]; !ok {
			dropped = true
			break
		}
	}
	r.byAlg, r.byID, r.jwks, r.secret = byAlg, byID, jwks, secret
	if dropped {
		r.removals.Add(1)
	}
	r.mu.Unlock()
	return nil
}

// Removals returns a counter that grows whenever a key leaves the ring (Remove, Collect, or
// a reload after another instance removed one). Caches of verified tokens remember its value
// from before a verification and discard entries made under an older value, so that tokens
// signed by a removed key stop working at once (JW-23).
func (r *Ring) Removals() uint64 { return r.removals.Load() }

func parse(rec store.SigningKey) (*Key, error) {
	priv, err := x509.ParsePKCS8PrivateKey(rec.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("decode signing key %s: %w", rec.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("decode signing key %s: not a signer", rec.ID)
	}
	switch pk := signer.Public().(type) {
	case *rsa.PublicKey:
		if rec.Alg != RS256 {
			return nil, fmt.Errorf("signing key %s: RSA key stored as %s", rec.ID, rec.Alg)
		}
	case *ecdsa.PublicKey:
		if rec.Alg != ES256 || pk.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %s: EC key stored as %s", rec.ID, rec.Alg)
		}
	case ed25519.PublicKey:
		if rec.Alg != EdDSA {
			return nil, fmt.Errorf("signing key %s: Ed25519 key stored as %s", rec.ID, rec.Alg)
		}
	default:
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", rec.ID, pk)
	}
	return &Key{ID: rec.ID, Alg: rec.Alg, Signer: signer, Public: signer.Public(),
		CreatedAt: rec.CreatedAt, RetiredAt: rec.RetiredAt}, nil
}

// signer returns the key that signs for alg now: the newest key published for at least
// Prepublish, or the oldest one if none is (a ring whose keys are all new).
func (r *Ring) signer(alg string) *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ks := r.byAlg[alg]
	if len(ks) == 0 {
		return nil
	}
	ready := r.now().Add(-r.Prepublish)
	for _, k := range ks {
		if !k.CreatedAt.After(ready) {
			return k
		}
	}
	return ks[len(ks)-1]
}

// Signer returns the key that signs for alg.
func (r *Ring) Signer(alg string) (*Key, error) {
	if k := r.signer(alg); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("no active %s signing key", alg)
}

// missReloadEvery limits the reloads unknown kids can trigger.
const missReloadEvery = time.Second

// Lookup returns the published key with this kid. An unknown kid reloads the ring from the
// store once before it is refused (at most once a second, however many unknown kids
// arrive, and independently of the periodic reloads), so that a token signed by a key
// another instance has just created verifies here too.
func (r *Ring) Lookup(kid string) (*Key, bool) {
	r.mu.RLock()
	k, ok := r.byID[kid]
	last := r.lastMiss
	r.mu.RUnlock()
	if ok || kid == "" || len(kid) > 128 || r.now().Sub(last) < missReloadEvery {
		return k, ok
	}
	r.mu.Lock()
	if r.now().Sub(r.lastMiss) < missReloadEvery {
		r.mu.Unlock()
		return nil, false
	}
	r.lastMiss = r.now() // claim the reload; failures wait too
	r.mu.Unlock()
	if err := r.Reload(context.Background()); err != nil {
		return nil, false
	}
	r.mu.RLock()
	k, ok = r.byID[kid]
	r.mu.RUnlock()
	return k, ok
}

// KeyInfo describes a key for administrators.
type KeyInfo struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	CreatedAt time.Time `json:"created_at"`
	// Signing tells whether the key signs new tokens now.
	Signing bool `json:"signing"`
}

// Keys lists the published keys, newest first.
func (r *Ring) Keys() []KeyInfo {
	var out []KeyInfo
	for _, alg := range Algorithms {
		s := r.signer(alg)
		r.mu.RLock()
		for _, k := range r.byAlg[alg] {
			out = append(out, KeyInfo{ID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt, Signing: s != nil && s.ID == k.ID})
		}
		r.mu.RUnlock()
	}
	return out
}

// Collect deletes the keys that no token can need any more: for each algorithm, the keys
// older than the signing key once the signing key has been signing for Retain.
func (r *Ring) Collect(ctx context.Context) error {
	now := r.now()
	var doomed []string
	for _, alg := range Algorithms {
		s := r.signer(alg)
		if s == nil {
			continue
		}
		signingSince := s.CreatedAt.Add(r.Prepublish)
		if now.Sub(signingSince) < r.Retain {
			continue
		}
		r.mu.RLock()
		for _, k := range r.byAlg[alg] {
			if k.CreatedAt.Before(s.CreatedAt) {
				doomed = append(doomed, k.ID)
			}
		}
		r.mu.RUnlock()
	}
	for _, kid := range doomed {
		if err := r.store.DeleteKey(ctx, kid); err != nil {
			return fmt.Errorf("delete retired key %s: %w", kid, err)
		}
	}
	if len(doomed) == 0 {
		return nil
	}
	return r.Reload(ctx)
}

// Remove deletes a key at once: tokens it signed stop verifying (after a compromise). The
// last key of an algorithm cannot be removed; rotate first.
func (r *Ring) Remove(ctx context.Context, kid string) error {
	k, ok := r.Lookup(kid)
	if !ok {
		return fmt.Errorf("no key %q", kid)
	}
	r.mu.RLock()
	n := len(r.byAlg[k.Alg])
	r.mu.RUnlock()
	if n < 2 {
		return fmt.Errorf("key %s is the only %s key: rotate first", kid, k.Alg)
	}
	if s := r.signer(k.Alg); s != nil && s.ID == kid {
		return fmt.Errorf("key %s signs now: rotate with immediate first", kid)
	}
	if err := r.store.DeleteKey(ctx, kid); err != nil {
		return fmt.Errorf("delete key %s: %w", kid, err)
	}
	return r.Reload(ctx)
}

// Algs returns the algorithms that have an active key, RS256 first.
func (r *Ring) Algs() []string {
	var out []string
	for _, a := range Algorithms {
		if r.signer(a) != nil {
			out = append(out, a)
		}
	}
	return out
}

// JWKS returns the JSON JWK Set of every published key, public members only.
func (r *Ring) JWKS() []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.jwks
}

// Secret returns the 64-byte secret shared by every instance (cookie and CSRF keys are
// derived from it with DeriveKey).
func (r *Ring) Secret() []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.secret
}

// DeriveKey derives an independent 32-byte key for purpose from the shared secret.
func (r *Ring) DeriveKey(purpose string) []byte {
	h := sha256.New()
	h.Write(r.Secret())
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	return h.Sum(nil)
}

// JWK is the public JSON Web Key of a signing key.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"` // EC and OKP
	Y   string `json:"y,omitempty"`
}

// PublicJWK returns the public JWK of pub.
func PublicJWK(pub crypto.PublicKey, kid, alg string) (JWK, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", Kid: kid, Use: "sig", Alg: alg, N: b64(pk.N.Bytes()),
			E: b64(big.NewInt(int64(pk.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		ecdh, err := pk.ECDH()
		if err != nil {
			return JWK{}, fmt.Errorf("encode EC key: %w", err)
		}
		raw := ecdh.Bytes() // 0x04 || X || Y
		size := (len(raw) - 1) / 2
		return JWK{Kty: "EC", Kid: kid, Use: "sig", Alg: alg, Crv: "P-256",
			X: b64(raw[1 : 1+size]), Y: b64(raw[1+size:])}, nil
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Kid: kid, Use: "sig", Alg: alg, Crv: "Ed25519", X: b64(pk)}, nil
	default:
		return JWK{}, fmt.Errorf("unsupported public key type %T", pub)
	}
}

// Thumbprint returns the RFC 7638 SHA-256 JWK thumbprint of pub, base64url-encoded.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := PublicJWK(pub, "", "")
	if err != nil {
		return "", err
	}
	var canonical string
	switch j.Kty {
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, j.E, j.N)
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, j.Crv, j.X, j.Y)
	case "OKP":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, j.Crv, j.X)
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func marshalJWKS(byID map[string]*Key) ([]byte, error) {
	ks := make([]*Key, 0, len(byID))
	for _, k := range byID {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if !ks[i].CreatedAt.Equal(ks[j].CreatedAt) {
			return ks[i].CreatedAt.After(ks[j].CreatedAt)
		}
		return ks[i].ID < ks[j].ID
	})
	set := struct {
		Keys []JWK `json:"keys"`
	}{Keys: []JWK{}}
	for _, k := range ks {
		j, err := PublicJWK(k.Public, k.ID, k.Alg)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, j)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return b, nil
}
