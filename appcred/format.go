// Package appcred is Gatehouse's app passwords and personal access tokens: credentials a user
// creates for a non-interactive client (a WebDAV or CalDAV client, git, a script), each
// named, scoped, optionally limited to some sites, expiring, listed with its last use and
// revocable.
//
// # Format
//
// A secret is the prefix gh_pat_ (personal access token) or gh_app_ (app password), then
// 30 random base62 characters (crypto/rand, about 178 bits), then the CRC-32 (IEEE) of those
// 30 characters in 6 base62 digits: gh_pat_ + 36 characters, 43 in all. The prefix lets
// secret scanners (and people) recognise a leaked one; the checksum lets them, and
// Gatehouse, tell a real-looking secret from a typo without a database lookup.
//
// # Storage
//
// A secret is stored as its hex SHA-256 (the record's ID), never in clear; it is shown once,
// when created. A fast hash is right here: the secret is 178 random bits, so guessing it
// from its hash is hopeless at any hash speed, and a slow password hash (argon2id) would cost
// tens of milliseconds and megabytes on every cache miss — work an anonymous client could
// make the gateway do at will.
package appcred

import (
	"crypto/rand"
	"hash/crc32"
	"strings"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Prefixes of the two kinds of secret.
const (
	PATPrefix         = "gh_pat_"
	AppPasswordPrefix = "gh_app_"
)

const (
	base62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen  = 30
	checkLen   = 6
	secretLen  = len(PATPrefix) + randomLen + checkLen
	maxAllowed = 248 // 4 × 62: bytes at or above are rejected to keep the draw uniform
)

// prefixOf returns the secret prefix of a credential kind.
func prefixOf(kind string) string {
	if kind == store.CredentialAppPassword {
		return AppPasswordPrefix
	}
	return PATPrefix
}

// Generate returns a new secret of the kind (store.CredentialPAT or
// store.CredentialAppPassword).
func Generate(kind string) string {
	var b strings.Builder
	b.Grow(secretLen)
	b.WriteString(prefixOf(kind))
	random := make([]byte, 0, randomLen)
	buf := make([]byte, 48)
	for len(random) < randomLen {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go ≥ 1.24)
		for _, c := range buf {
			if c < maxAllowed && len(random) < randomLen {
				random = append(random, base62[c%62])
			}
		}
	}
	b.Write(random)
	b.WriteString(checksum(random))
	return b.String()
}

// checksum is the CRC-32 of random in checkLen base62 digits.
func checksum(random []byte) string {
	n := crc32.ChecksumIEEE(random)
	out := make([]byte, checkLen)
	for i := checkLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// Parse returns the kind of a well-formed secret (prefix, length, alphabet and checksum
// right), and false for anything else.
func Parse(s string) (kind string, ok bool) {
	if len(s) != secretLen {
		return "", false
	}
	switch s[:len(PATPrefix)] {
	case PATPrefix:
		kind = store.CredentialPAT
	case AppPasswordPrefix:
		kind = store.CredentialAppPassword
	default:
		return "", false
	}
	body := s[len(PATPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return "", false
		}
	}
	if checksum([]byte(body[:randomLen])) != body[randomLen:] {
		return "", false
	}
	return kind, true
}

// IsPAT reports whether a bearer token looks like a personal access token (by its prefix
// only: Parse checks the rest).
func IsPAT(tok string) bool { return strings.HasPrefix(tok, PATPrefix) }

// Hash is the stored form of a secret (the record's ID).
func Hash(s string) string { return secret.Hash(s) }
