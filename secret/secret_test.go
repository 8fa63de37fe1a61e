package secret_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/secret"
)

// TestTokenShape: codes, refresh tokens and session secrets are 256-bit, base64url without
// padding (RFC 6749 App. A charset: safe in URLs, forms and cookies), and never repeat.
func TestTokenShape(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := secret.Token()
		if len(tok) != 43 {
			t.Fatalf("Token %q has %d characters, want 43", tok, len(tok))
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(b) != 32 {
			t.Fatalf("Token %q: %d bytes, %v", tok, len(b), err)
		}
		if seen[tok] {
			t.Fatalf("Token repeated: %s", tok)
		}
		seen[tok] = true
	}
	for _, n := range []int{16, 24, 48} {
		b, err := base64.RawURLEncoding.DecodeString(secret.New(n))
		if err != nil || len(b) != n {
			t.Fatalf("New(%d): %d bytes, %v", n, len(b), err)
		}
	}
}

// TestIDShape: user IDs are 21 characters of [a-z0-9] (about 108 bits), unique, and every
// character of the alphabet occurs at a roughly uniform rate (no modulo bias).
func TestIDShape(t *testing.T) {
	const n = 4000
	counts := map[rune]int{}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		id := secret.ID()
		if len(id) != 21 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("ID %q is not 21 characters of [a-z0-9]", id)
		}
		if seen[id] {
			t.Fatalf("ID repeated: %s", id)
		}
		seen[id] = true
		for _, r := range id {
			counts[r]++
		}
	}
	if len(counts) != 36 {
		t.Fatalf("%d distinct characters, want 36", len(counts))
	}
	mean := float64(n*21) / 36
	for r, c := range counts {
		if float64(c) < mean*0.8 || float64(c) > mean*1.2 {
			t.Fatalf("character %q occurs %d times, mean %.0f: biased", r, c, mean)
		}
	}
}

// TestHashAndEqual: stored records are keyed by the hex SHA-256 of the secret (a database
// copy holds no usable credential); Equal compares exactly.
func TestHashAndEqual(t *testing.T) {
	// SHA-256("abc") from FIPS 180-2.
	if got, want := secret.Hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("Hash(abc) = %s, want %s", got, want)
	}
	tok := secret.Token()
	if secret.Hash(tok) == tok || len(secret.Hash(tok)) != 64 {
		t.Fatal("Hash does not hash")
	}
	if !secret.Equal("same", "same") || secret.Equal("same", "Same") || secret.Equal("same", "same ") || secret.Equal("", "x") {
		t.Fatal("Equal is not an exact comparison")
	}
	if !secret.Equal("", "") {
		t.Fatal("Equal of two empty strings")
	}
}

// TestClientSecretHash: a client's secret_hash verifies its secret and no other (AS-24: the
// comparison is of fixed-size digests, in constant time, by the caller); each hash has its
// own salt, so two clients with the same secret do not show it; malformed hashes are refused
// rather than read as "no secret" (a confidential client must never become public).
func TestClientSecretHash(t *testing.T) {
	const sec = "b8Jc5mW0pZ1n3Qx7Lr2Tt9Vy4Hk6Fa8Ds0Ge1Ji3Ko="
	h := secret.HashClientSecret(sec)
	if !strings.HasPrefix(h, secret.ClientHashPrefix) || strings.Contains(h, sec) {
		t.Fatalf("hash %q", h)
	}
	if h2 := secret.HashClientSecret(sec); h2 == h {
		t.Fatal("two hashes of one secret are equal: no salt")
	}
	salt, digest, err := secret.ParseClientSecretHash(h)
	if err != nil {
		t.Fatalf("parse own hash: %v", err)
	}
	if !secret.Equal(string(secret.ClientDigest(salt, sec)), string(digest)) {
		t.Error("the secret does not verify against its hash")
	}
	for _, wrong := range []string{"", sec[:len(sec)-1], sec + "x", strings.ToUpper(sec)} {
		if secret.Equal(string(secret.ClientDigest(salt, wrong)), string(digest)) {
			t.Errorf("%q verifies against the hash of another secret", wrong)
		}
	}
	for _, bad := range []string{"", sec, "$sha256$", "$sha256$abc", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		"$sha256$" + strings.Repeat("A", 22) + "$short", "$sha256$!!$" + strings.Repeat("A", 43),
		"$sha256$QUJD$" + strings.Repeat("A", 43), h + "=", h + "$extra"} {
		if _, _, err := secret.ParseClientSecretHash(bad); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}
