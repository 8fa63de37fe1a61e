// Package tokens signs and verifies the JWTs Gatehouse issues (ID tokens and RFC 9068 access
// tokens) and keeps the in-memory revocation list consulted on every verification.
//
// Signing uses golang-jwt's signing methods with the keys of the keys package. Verification
// follows go-oidc's verifier and RFC 8725: the algorithm comes from the key, never from the
// token; a token must be compact, strictly base64url, at most MaxTokenSize bytes, carry no
// `crit`, `jku`, `x5u`, `jwk` or `x5c` header, have the expected `typ`, and its claims must be
// of the expected JSON types with no duplicate or case-variant names (Go's encoding/json is
// last-wins and case-insensitive, which RFC 8725 §3 warns about).
package tokens

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/keys"
)

// MaxTokenSize is the largest token accepted for verification (RFC 8725 §3, CVE-2025-30204).
const MaxTokenSize = 16 << 10

// Token types (the JOSE typ header).
const (
	TypeAccessToken = "at+jwt"
	TypeIDToken     = "JWT"
)

// Verification errors. Every one of them means "invalid token" to a client.
var (
	ErrMalformed   = errors.New("malformed token")
	ErrSignature   = errors.New("invalid token signature")
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not yet valid")
	ErrIssuer      = errors.New("token issued by another issuer")
	ErrType        = errors.New("wrong token type")
	ErrRevoked     = errors.New("token revoked")
	ErrUnknownKey  = errors.New("token signed with an unknown key")
	ErrLifetime    = errors.New("token lifetime too long")
	ErrUnavailable = errors.New("revocation list unavailable")
	// ErrUserChanged (RevocationList.CheckCredential) means the user was revoked after an
	// app credential was verified: verify it again.
	ErrUserChanged = errors.New("user revoked since the credential was verified")
)

var b64 = base64.RawURLEncoding.Strict()

func methodFor(alg string) jwt.SigningMethod {
	switch alg {
	case keys.RS256:
		return jwt.SigningMethodRS256
	case keys.ES256:
		return jwt.SigningMethodES256
	case keys.EdDSA:
		return jwt.SigningMethodEdDSA
	}
	return nil
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Sign serialises claims as a compact JWS signed with key, with the typ header given.
func Sign(key *keys.Key, typ string, claims any) (string, error) {
	m := methodFor(key.Alg)
	if m == nil {
		return "", fmt.Errorf("sign: unsupported algorithm %q", key.Alg)
	}
	h, err := json.Marshal(header{Alg: key.Alg, Kid: key.ID, Typ: typ})
	if err != nil {
		return "", fmt.Errorf("sign: encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign: encode claims: %w", err)
	}
	var sb strings.Builder
	sb.Grow(b64.EncodedLen(len(h)) + b64.EncodedLen(len(p)) + 400)
	sb.WriteString(b64.EncodeToString(h))
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(p))
	signing := sb.String()
	sig, err := m.Sign(signing, key.Signer)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(sig))
	return sb.String(), nil
}

// KeySet resolves a kid to a verification key.
type KeySet interface {
	Lookup(kid string) (*keys.Key, bool)
}

// verifyJWS checks the compact serialisation, the header and the signature of token and
// returns the decoded payload. The key's algorithm must equal the header's.
func verifyJWS(ks KeySet, token, typ string) (string, error) {
	if len(token) > MaxTokenSize || len(token) == 0 {
		return "", ErrMalformed
	}
	// Only the base64url alphabet and the dots: Go's base64 decoder skips CR and LF even in
	// strict mode, which would make "sig\n" an accepted variant of a token (JW-05).
	dot1, dot2 := -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return "", ErrMalformed
			}
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", ErrMalformed
		}
	}
	if dot2 < 0 {
		return "", ErrMalformed
	}
	header, ok := decodeString(token[:dot1], maxHeaderSize)
	if !ok {
		return "", ErrMalformed
	}
	alg, kid, htyp, ok := parseHeader(header)
	if !ok {
		return "", ErrMalformed
	}
	if !typMatches(htyp, typ) {
		return "", ErrType
	}
	key, ok := ks.Lookup(kid)
	if !ok {
		return "", ErrUnknownKey
	}
	if alg != key.Alg {
		return "", ErrSignature
	}
	var sbuf [maxSignatureSize]byte
	sig, ok := decodeInto(sbuf[:], token[dot2+1:])
	if !ok {
		return "", ErrMalformed
	}
	if !verifySignature(key, token[:dot2], sig) {
		return "", ErrSignature
	}
	// The payload is decoded into a string of its own, so that the claims read from it can
	// be substrings of it without a copy each.
	payload, ok := decodeString(token[dot1+1:dot2], MaxTokenSize)
	if !ok {
		return "", ErrMalformed
	}
	return payload, nil
}

// Limits on the decoded parts of a token, below MaxTokenSize: a JOSE header of ours is under
// 100 bytes, and the largest signature (RS256 with a 4096-bit key) is 512 bytes.
const (
	maxHeaderSize    = 512
	maxSignatureSize = 512
)

// decodeChunk is how many base64url characters are decoded at a time: a multiple of 4, so
// that every chunk but the last is whole quanta and the strict decoder checks the padding
// bits of the last one only, exactly as when decoding the whole segment at once.
const decodeChunk = 256

// decodeInto base64url-decodes s (strictly, no padding) into buf, which must be large
// enough, without allocating: the encoding/base64 decoder reads bytes, so s is copied through
// a buffer on the stack chunk by chunk instead of being viewed as bytes.
func decodeInto(buf []byte, s string) ([]byte, bool) {
	if b64.DecodedLen(len(s)) > len(buf) {
		return nil, false
	}
	var src [decodeChunk]byte
	n := 0
	for len(s) > 0 {
		k := copy(src[:], s)
		m, err := b64.Decode(buf[n:], src[:k])
		if err != nil {
			return nil, false
		}
		n += m
		s = s[k:]
	}
	return buf[:n], true
}

// decodeString base64url-decodes s (strictly, no padding) into a new string of at most max
// bytes, with one allocation: the exact size of the result.
func decodeString(s string, max int) (string, bool) {
	size := b64.DecodedLen(len(s))
	if size > max {
		return "", false
	}
	var b strings.Builder
	b.Grow(size)
	var dst [decodeChunk / 4 * 3]byte
	for len(s) > 0 {
		k := min(len(s), decodeChunk)
		out, ok := decodeInto(dst[:], s[:k])
		if !ok {
			return "", false
		}
		b.Write(out)
		s = s[k:]
	}
	return b.String(), true
}

// verifySignature checks sig over signing (header.payload) with the key's one algorithm.
// RS256 and EdDSA call the standard library directly (as golang-jwt does); ES256 goes through
// golang-jwt, which converts the raw r||s signature.
func verifySignature(key *keys.Key, signing string, sig []byte) bool {
	switch key.Alg {
	case keys.EdDSA:
		pub, ok := key.Public.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(signing), sig)
	case keys.RS256:
		pub, ok := key.Public.(*rsa.PublicKey)
		if !ok {
			return false
		}
		sum := sha256.Sum256([]byte(signing))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	default:
		m := methodFor(key.Alg)
		return m != nil && m.Verify(signing, sig, key.Public) == nil
	}
}

func typMatches(got, want string) bool {
	if want == TypeIDToken {
		return got == "" || strings.EqualFold(got, "JWT")
	}
	return strings.EqualFold(got, want) || strings.EqualFold(got, "application/"+want)
}
