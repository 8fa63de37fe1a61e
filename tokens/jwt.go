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
	"unsafe"

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
	var hbuf [512]byte
	hraw, ok := decodeInto(hbuf[:], token[:dot1])
	if !ok {
		return "", ErrMalformed
	}
	alg, kid, htyp, ok := parseHeader(unsafe.String(unsafe.SliceData(hraw), len(hraw)))
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
	var sbuf [512]byte
	sig, ok := decodeInto(sbuf[:], token[dot2+1:])
	if !ok {
		return "", ErrMalformed
	}
	if !verifySignature(key, token[:dot2], sig) {
		return "", ErrSignature
	}
	enc := token[dot1+1 : dot2]
	payload := make([]byte, b64.DecodedLen(len(enc)))
	n, err := b64.Decode(payload, unsafeBytes(enc))
	if err != nil {
		return "", ErrMalformed
	}
	// payload is never written again: share it as a string, so that claims can be
	// substrings of it.
	return unsafe.String(unsafe.SliceData(payload), n), nil
}

// decodeInto base64url-decodes s into buf (which must be large enough), without allocating.
func decodeInto(buf []byte, s string) ([]byte, bool) {
	if b64.DecodedLen(len(s)) > len(buf) {
		return nil, false
	}
	n, err := b64.Decode(buf, unsafeBytes(s))
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}

// unsafeBytes views s as a byte slice without copying; callers only read it.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// verifySignature checks sig over signing (header.payload) with the key's one algorithm.
// RS256 and EdDSA call the standard library directly (as golang-jwt does, minus copying the
// signing input); ES256 goes through golang-jwt, which converts the raw r||s signature.
func verifySignature(key *keys.Key, signing string, sig []byte) bool {
	switch key.Alg {
	case keys.EdDSA:
		pub, ok := key.Public.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, unsafeBytes(signing), sig)
	case keys.RS256:
		pub, ok := key.Public.(*rsa.PublicKey)
		if !ok {
			return false
		}
		sum := sha256.Sum256(unsafeBytes(signing))
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
