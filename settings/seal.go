package settings

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// sealAAD prefixes the additional data of a sealed provider secret; the provider's name
// follows, so that a sealed secret cannot be moved to another provider.
const sealAAD = "gatehouse settings secret v1\x00"

// ErrSealed means a stored secret does not open (the key ring was replaced).
var ErrSealed = errors.New("the stored secret does not open (was the key ring replaced?)")

// Sealer encrypts the secrets of stored settings (AES-256-GCM, as the authenticator-app
// secrets are sealed), with a key derived from the signing-key ring.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("settings key: %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("settings key: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("settings key: %w", err)
	}
	return &Sealer{aead: g}, nil
}

// Seal encrypts plain for owner: base64url(nonce ‖ ciphertext ‖ tag).
func (s *Sealer) Seal(owner, plain string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte(sealAAD+owner)))
}

// Open decrypts a secret sealed for owner.
func (s *Sealer) Open(owner, sealed string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n+s.aead.Overhead() {
		return "", ErrSealed
	}
	raw, err := s.aead.Open(nil, b[:n], b[n:], []byte(sealAAD+owner))
	if err != nil {
		return "", ErrSealed
	}
	return string(raw), nil
}
