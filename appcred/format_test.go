package appcred

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// TestFormat: a secret is the kind's prefix, 30 base62 characters from crypto/rand and a
// 6-character base62 CRC-32 of them; Parse accepts exactly the well-formed ones, so a
// scanner (or the gateway, before any lookup) can tell a typo from a credential.
func TestFormat(t *testing.T) {
	seen := map[string]bool{}
	for _, kind := range []string{store.CredentialPAT, store.CredentialAppPassword} {
		for range 200 {
			s := Generate(kind)
			if len(s) != 43 || !strings.HasPrefix(s, prefixOf(kind)) {
				t.Fatalf("%s secret %q", kind, s)
			}
			if k, ok := Parse(s); !ok || k != kind {
				t.Fatalf("Parse(%q) = %q, %v", s, k, ok)
			}
			if seen[s] {
				t.Fatalf("secret repeated: %q", s)
			}
			seen[s] = true
		}
	}
	s := Generate(store.CredentialPAT)
	flip := func(i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"one random character changed": flip(10), "checksum changed": flip(42), "truncated": s[:42], "extended": s + "a",
		"other prefix": "gh_xyz_" + s[7:], "not base62": s[:20] + "-" + s[21:], "empty": "",
		"app prefix on a PAT body": AppPasswordPrefix + s[7:] + "",
	} {
		if _, ok := Parse(bad); ok && name != "app prefix on a PAT body" {
			t.Errorf("%s: Parse(%q) accepted", name, bad)
		}
	}
	// The checksum covers the random part only: the same body under the other prefix is
	// well-formed, but of the other kind (and hashes to another record).
	if k, ok := Parse(AppPasswordPrefix + s[7:]); !ok || k != store.CredentialAppPassword || Hash(AppPasswordPrefix+s[7:]) == Hash(s) {
		t.Fatalf("prefix swap: %q %v", k, ok)
	}
}

// TestValidate: the create request says what to change.
func TestValidate(t *testing.T) {
	ok := CreateRequest{Kind: "pat", Name: " ci ", Scopes: []string{"read", "read"}, Sites: []string{" Files.Example.com "}, ExpiresInDays: 30}
	if err := ok.Validate(); err != nil || ok.Name != "ci" || len(ok.Scopes) != 1 || ok.Sites[0] != "files.example.com" {
		t.Fatalf("valid request: %v %+v", err, ok)
	}
	for name, r := range map[string]CreateRequest{
		"kind":        {Kind: "password", Name: "x", ExpiresInDays: 1},
		"no name":     {Kind: "pat", ExpiresInDays: 1},
		"no expiry":   {Kind: "pat", Name: "x"},
		"too long":    {Kind: "pat", Name: "x", ExpiresInDays: MaxLifetimeDays + 1},
		"scope space": {Kind: "pat", Name: "x", ExpiresInDays: 1, Scopes: []string{"a b"}},
		"site url":    {Kind: "pat", Name: "x", ExpiresInDays: 1, Sites: []string{"https://files.example.com/"}},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
