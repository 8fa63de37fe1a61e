package keys

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// The assertion ring shares the store with the main ring but neither sees the other's keys:
// an OIDC key never signs an assertion, an assertion key is never in the OIDC JWK Set.
func TestAssertionRingIsSeparate(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now
	main, err := Load(ctx, s, []string{EdDSA}, now)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := LoadAssertion(ctx, s, now)
	if err != nil {
		t.Fatal(err)
	}
	ak, err := ar.Signer(EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := main.Lookup(ak.ID); ok || strings.Contains(string(main.JWKS()), ak.ID) {
		t.Fatal("the assertion key is in the main ring")
	}
	if err := main.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := main.Lookup(ak.ID); ok {
		t.Fatal("the main ring loaded the assertion key")
	}
	mk, _ := main.Signer(EdDSA)
	if _, ok := ar.Lookup(mk.ID); ok {
		t.Fatal("the assertion ring holds an OIDC key")
	}
	if _, err := ar.Signer(RS256); err == nil {
		t.Fatal("the assertion ring has an RS256 key")
	}
	var set struct{ Keys []JWK }
	if err := json.Unmarshal(ar.JWKS(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Alg != EdDSA || set.Keys[0].Crv != "Ed25519" {
		t.Fatalf("assertion JWKS = %s (%v)", ar.JWKS(), err)
	}
	// Loading again keeps the key.
	ar2, err := LoadAssertion(ctx, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := ar2.Signer(EdDSA); k2.ID != ak.ID {
		t.Fatal("a second load generated another key")
	}
	// Rotation keeps the previous key published until Collect, after Retain.
	nk, err := ar.Rotate(ctx, EdDSA, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ar.Lookup(ak.ID); !ok || !strings.Contains(string(ar.JWKS()), ak.ID) {
		t.Fatal("the replaced key is no longer published")
	}
	if s, _ := ar.Signer(EdDSA); s.ID != nk.ID {
		t.Fatal("the new key does not sign")
	}
}
