package keys

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// AssertionPrefix marks the stored algorithm of the keys that sign the identity assertions
// gatehouse_protect sends upstream ("assertion:EdDSA"). They are a ring of their own, never
// used for OpenID Connect tokens and published at their own JWK Set
// (/.well-known/gatehouse-assertion-keys), so that an upstream that trusts assertions cannot
// be handed an ID or access token instead, nor the other way round.
const AssertionPrefix = "assertion:"

// LoadAssertion reads the assertion keys from the store and generates the first one if
// there is none: an Ed25519 key (EdDSA), the cheapest to sign with. It has no shared secret.
// Rotation, Collect and Remove work as on the main ring.
func LoadAssertion(ctx context.Context, s store.Keys, now func() time.Time) (*Ring, error) {
	r := &Ring{store: s, now: now, rand: rand.Reader, Prepublish: 5 * time.Minute, Retain: time.Hour, prefix: AssertionPrefix}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	if r.signer(EdDSA) == nil {
		// The first key signs at once.
		if _, err := r.generate(ctx, EdDSA, now().Add(-r.Prepublish)); err != nil {
			return nil, err
		}
	}
	return r, nil
}
