package protect

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The session cookie is a sealed handle: the access and refresh tokens and the client they
// were issued to, encrypted and authenticated with AES-256-GCM under SessionKey (derived
// from the key ring's shared secret with the label "protect-session-v1"). The browser holds
// an opaque value: the access token's claims cannot be read from it and the refresh token
// cannot be taken out of it and redeemed at /token. The additional data binds the value to
// the cookie's name, and the sealed client ID binds it to the Guard's client: a value moved
// to another cookie name or to a Guard of another client does not open.
//
// Value: base64url(nonce ‖ ciphertext ‖ tag), the nonce 12 random bytes. Plaintext:
//
//	format byte (1: compact access token, 0: access token as sent)
//	uvarint len ‖ client ID
//	format 1: three times uvarint len ‖ the JWS segment, base64url-decoded
//	format 0: uvarint len ‖ access token
//	the refresh token (the rest)
//
// Storing the JWS segments decoded makes the sealed value about as long as the plain
// "<access token>~<refresh token>" it replaces, so it stays well under the 4 KB browsers
// accept.
//
// Cookies of the earlier plain format ("<access token>~<refresh token>") hold "~" and "."
// and never open: their browsers are sent to log in once.

// sessionAAD prefixes the additional data of every sealed session cookie.
const sessionAAD = "gatehouse protect session v1\x00"

// maxSealedCookie bounds the cookie values the Guard tries to open (a sealed cookie is
// about 1.1 KB; browsers keep at most 4 KB).
const maxSealedCookie = 8192

// errSealedTooLarge: the tokens do not fit in a cookie.
var errSealedTooLarge = errors.New("sealed session cookie over 4 KB")

// sealedCookie is the content of a session cookie.
type sealedCookie struct {
	Client       string
	AccessToken  string
	RefreshToken string
}

// sealer seals and opens session cookies.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("session key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func aad(cookieName string) []byte {
	return append([]byte(sessionAAD), cookieName...)
}

// seal returns the cookie value holding c for the cookie name.
func (s *sealer) seal(cookieName string, c sealedCookie) (string, error) {
	ns := s.aead.NonceSize()
	buf := make([]byte, ns, ns+1+len(c.Client)+len(c.AccessToken)+len(c.RefreshToken)+32+s.aead.Overhead())
	_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go ≥ 1.24)
	plain := buf[ns:]
	plain = appendString(append(plain, 0), c.Client)
	parts := strings.Split(c.AccessToken, ".")
	compact := len(parts) == 3
	var segs [3][]byte
	for i := 0; compact && i < 3; i++ {
		b, err := base64.RawURLEncoding.Strict().DecodeString(parts[i])
		compact = err == nil && base64.RawURLEncoding.EncodeToString(b) == parts[i]
		segs[i] = b
	}
	if compact {
		plain[0] = 1
		for _, b := range segs {
			plain = appendString(plain, string(b))
		}
	} else {
		plain = appendString(plain, c.AccessToken)
	}
	plain = append(plain, c.RefreshToken...)
	out := s.aead.Seal(buf[:ns], buf[:ns], plain, aad(cookieName))
	v := base64.RawURLEncoding.EncodeToString(out)
	if len(v) > 4000 {
		return "", errSealedTooLarge
	}
	return v, nil
}

// open returns the content of a cookie value sealed for the cookie name; ok is false for
// anything else (tampered, truncated, sealed for another name or with another key, or a
// cookie of the earlier plain format).
func (s *sealer) open(cookieName, v string) (c sealedCookie, ok bool) {
	ns := s.aead.NonceSize()
	if len(v) > maxSealedCookie || base64.RawURLEncoding.DecodedLen(len(v)) < ns+s.aead.Overhead()+2 {
		return sealedCookie{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil {
		return sealedCookie{}, false
	}
	plain, err := s.aead.Open(raw[ns:ns], raw[:ns], raw[ns:], aad(cookieName))
	if err != nil || len(plain) < 2 {
		return sealedCookie{}, false
	}
	format, rest := plain[0], plain[1:]
	var client []byte
	if client, rest, ok = cutString(rest); !ok {
		return sealedCookie{}, false
	}
	var at string
	switch format {
	case 1:
		buf := make([]byte, 0, base64.RawURLEncoding.EncodedLen(len(rest))+2)
		for i := 0; i < 3; i++ {
			var seg []byte
			if seg, rest, ok = cutString(rest); !ok {
				return sealedCookie{}, false
			}
			if i > 0 {
				buf = append(buf, '.')
			}
			buf = base64.RawURLEncoding.AppendEncode(buf, seg)
		}
		at = string(buf)
	case 0:
		var b []byte
		if b, rest, ok = cutString(rest); !ok {
			return sealedCookie{}, false
		}
		at = string(b)
	default:
		return sealedCookie{}, false
	}
	if at == "" {
		return sealedCookie{}, false
	}
	return sealedCookie{Client: string(client), AccessToken: at, RefreshToken: string(rest)}, true
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func cutString(b []byte) (s, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}
