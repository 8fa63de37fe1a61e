// Package secret generates the random values Gatehouse hands out (session secrets,
// authorization codes, refresh tokens, invitation codes, identifiers) from crypto/rand, and
// hashes secrets for storage. Stored records are keyed by Hash(secret), so a copy of the
// database does not contain a usable credential.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// New returns a base64url secret of n random bytes (n ≥ 16 gives ≥ 128 bits).
func New(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Token returns a 256-bit base64url secret, the size used for codes and tokens.
func Token() string { return New(32) }

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// ID returns a 21-character lowercase alphanumeric identifier (about 108 bits), the shape of
// a user ID.
func ID() string {
	const n = 21
	b := make([]byte, n)
	out := make([]byte, n)
	for i := 0; i < n; {
		_, _ = rand.Read(b)
		for _, c := range b {
			if c >= 252 { // 252 = 7 × 36: reject to keep the distribution uniform
				continue
			}
			out[i] = idAlphabet[int(c)%len(idAlphabet)]
			i++
			if i == n {
				break
			}
		}
	}
	return string(out)
}

// Hash returns the hex SHA-256 of s. Secrets are high-entropy, so a fast hash suffices.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Equal compares two strings in constant time (for equal lengths).
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
