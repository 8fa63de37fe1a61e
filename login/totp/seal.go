package totp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// sealAAD prefixes the additional data of a sealed secret; the user ID follows.
const sealAAD = "gatehouse totp secret v1\x00"

var errSealed = errors.New("the stored authenticator secret does not open (was the key ring replaced?)")

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("totp key: %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	return cipher.NewGCM(b)
}

// seal encrypts the raw secret of userID: base64url(nonce ‖ ciphertext ‖ tag).
func seal(aead cipher.AEAD, userID string, raw []byte) string {
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	out := aead.Seal(nonce, nonce, raw, []byte(sealAAD+userID))
	return base64.RawURLEncoding.EncodeToString(out)
}

// open decrypts a secret sealed for userID.
func open(aead cipher.AEAD, userID, sealed string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize()+aead.Overhead() {
		return nil, errSealed
	}
	raw, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(sealAAD+userID))
	if err != nil {
		return nil, errSealed
	}
	return raw, nil
}
