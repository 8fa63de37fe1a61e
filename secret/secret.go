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
	"errors"
	"strings"
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

// ClientHashPrefix starts every hash made by HashClientSecret.
const ClientHashPrefix = "$sha256$"

const clientSaltBytes = 16

var errClientHash = errors.New("not a client secret hash: expected $sha256$<salt>$<digest> as printed by `gatehouse hash-secret`")

// HashClientSecret returns a verifier of an OAuth client secret for the configuration
// (a client's secret_hash): "$sha256$<salt>$<digest>", where salt is 16 random bytes and
// digest is SHA-256(salt ‖ secret), both in unpadded standard base64 (the PHC string
// layout). The configuration, and Caddy's config API that shows it, then holds no usable
// secret.
//
// A fast salted hash suffices because client secrets are high-entropy random strings (at
// least 16 characters; `openssl rand -base64 32` gives 256 bits), for which guessing offline
// is hopeless at any hash speed; the salt makes equal secrets hash differently and rules out
// precomputed tables. A password hash (argon2id) would instead cost tens of milliseconds and
// megabytes on every token request — work any anonymous caller could trigger.
func HashClientSecret(secret string) string {
	salt := make([]byte, clientSaltBytes)
	_, _ = rand.Read(salt)
	return ClientHashPrefix + base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(ClientDigest(salt, secret))
}

// ParseClientSecretHash splits a hash made by HashClientSecret into its salt and digest.
func ParseClientSecretHash(h string) (salt, digest []byte, err error) {
	rest, ok := strings.CutPrefix(h, ClientHashPrefix)
	if !ok {
		return nil, nil, errClientHash
	}
	s, d, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, nil, errClientHash
	}
	salt, err = base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil || len(salt) < clientSaltBytes {
		return nil, nil, errClientHash
	}
	digest, err = base64.RawStdEncoding.Strict().DecodeString(d)
	if err != nil || len(digest) != sha256.Size {
		return nil, nil, errClientHash
	}
	return salt, digest, nil
}

// ClientDigest is the digest HashClientSecret stores for secret with salt (nil salt: the
// unsalted SHA-256 of secret, the form kept for clients registered through the admin API).
// Compare digests with subtle.ConstantTimeCompare.
func ClientDigest(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}
