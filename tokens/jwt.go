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
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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
	ErrMalformed    = errors.New("malformed token")
	ErrSignature    = errors.New("invalid token signature")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not yet valid")
	ErrIssuer       = errors.New("token issued by another issuer")
	ErrType         = errors.New("wrong token type")
	ErrRevoked      = errors.New("token revoked")
	ErrUnknownKey   = errors.New("token signed with an unknown key")
	ErrLifetime     = errors.New("token lifetime too long")
	ErrUnavailable  = errors.New("revocation list unavailable")
	errDuplicateKey = errors.New("duplicate or case-variant JSON member")
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
func verifyJWS(ks KeySet, token, typ string) ([]byte, error) {
	if len(token) > MaxTokenSize || len(token) == 0 {
		return nil, ErrMalformed
	}
	// Only the base64url alphabet and the dots: Go's base64 decoder skips CR and LF even in
	// strict mode, which would make "sig\n" an accepted variant of a token (JW-05).
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, ErrMalformed
		}
	}
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 {
		return nil, ErrMalformed
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.')
	if dot2 < 0 {
		return nil, ErrMalformed
	}
	dot2 += dot1 + 1
	if strings.IndexByte(token[dot2+1:], '.') >= 0 {
		return nil, ErrMalformed
	}
	hraw, err := b64.DecodeString(token[:dot1])
	if err != nil {
		return nil, ErrMalformed
	}
	if err := checkMembers(hraw, nil); err != nil {
		return nil, ErrMalformed
	}
	var h struct {
		header
		Crit json.RawMessage `json:"crit"`
		Jku  json.RawMessage `json:"jku"`
		X5u  json.RawMessage `json:"x5u"`
		Jwk  json.RawMessage `json:"jwk"`
		X5c  json.RawMessage `json:"x5c"`
		Zip  json.RawMessage `json:"zip"`
		Enc  json.RawMessage `json:"enc"`
	}
	if err := json.Unmarshal(hraw, &h); err != nil {
		return nil, ErrMalformed
	}
	if h.Crit != nil || h.Jku != nil || h.X5u != nil || h.Jwk != nil || h.X5c != nil || h.Zip != nil || h.Enc != nil {
		return nil, ErrMalformed
	}
	if !typMatches(h.Typ, typ) {
		return nil, ErrType
	}
	key, ok := ks.Lookup(h.Kid)
	if !ok {
		return nil, ErrUnknownKey
	}
	if h.Alg != key.Alg {
		return nil, ErrSignature
	}
	sig, err := b64.DecodeString(token[dot2+1:])
	if err != nil {
		return nil, ErrMalformed
	}
	if err := methodFor(key.Alg).Verify(token[:dot2], sig, key.Public); err != nil {
		return nil, ErrSignature
	}
	payload, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return nil, ErrMalformed
	}
	return payload, nil
}

func typMatches(got, want string) bool {
	if want == TypeIDToken {
		return got == "" || strings.EqualFold(got, "JWT")
	}
	return strings.EqualFold(got, want) || strings.EqualFold(got, "application/"+want)
}

// checkMembers rejects a JSON object with duplicate member names, member names that differ
// from another only by case, invalid UTF-8, or nesting deeper than 16. If known is not nil,
// a member whose name case-folds to a known name must be spelled exactly like it.
func checkMembers(raw []byte, known []string) error {
	if !utf8.Valid(raw) {
		return errDuplicateKey
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return ErrMalformed
	}
	seen := make(map[string]struct{}, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ErrMalformed
		}
		name, ok := tok.(string)
		if !ok {
			return ErrMalformed
		}
		folded := strings.ToLower(name)
		if _, dup := seen[folded]; dup {
			return errDuplicateKey
		}
		seen[folded] = struct{}{}
		for _, k := range known {
			if folded == k && name != k {
				return errDuplicateKey
			}
		}
		if err := skipValue(dec, 0); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return ErrMalformed
	}
	if dec.More() {
		return ErrMalformed
	}
	return nil
}

func skipValue(dec *json.Decoder, depth int) error {
	if depth > 16 {
		return ErrMalformed
	}
	tok, err := dec.Token()
	if err != nil {
		return ErrMalformed
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]struct{}{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return ErrMalformed
			}
			name, _ := t.(string)
			if _, dup := seen[name]; dup {
				return errDuplicateKey
			}
			seen[name] = struct{}{}
			if err := skipValue(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := skipValue(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // closing delimiter
		return ErrMalformed
	}
	return nil
}
