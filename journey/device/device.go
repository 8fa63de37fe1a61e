// Package device issues and checks the known-device cookie of the journeys' known_device
// step: a long-lived value binding a random device ID to a user ID with an expiry,
// authenticated with HMAC-SHA256 under a key derived from the key ring. It answers only
// "was this browser seen for this user before": a forged value, one issued for another user,
// one signed with another key, or an expired one is simply unknown. The cookie carries no
// credential: it never authenticates anyone (the journey still needs an authenticate step),
// it only lets a journey skip or add a step (for example a second factor on a new device).
//
// Value layout (base64url, no padding): version byte 1, expiry (unix seconds, 8 bytes big
// endian), device ID (16 random bytes), the user ID, then a 32-byte MAC over all of it.
package device

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// DefaultLifetime is how long a remembered device stays known (a long-lived cookie).
const DefaultLifetime = 400 * 24 * time.Hour // the longest lifetime browsers honour (RFC 6265bis)

// CookieName is the device cookie's base name (the handler adds the __Host- prefix on https).
const CookieName = "device"

const (
	version  = 1
	idLen    = 16
	macLen   = sha256.Size
	maxUser  = 256
	fixedLen = 1 + 8 + idLen
)

// Keeper issues and verifies device cookie values. Key is required (at least 32 bytes).
type Keeper struct {
	Key []byte
	// Lifetime of a remembered device (default DefaultLifetime).
	Lifetime time.Duration
}

// Issue returns a cookie value remembering this browser for userID until now+Lifetime.
// deviceID keeps the browser's ID when it already has one (hex, from Verify's answer);
// empty makes a new one.
func (k *Keeper) Issue(userID, deviceID string, now time.Time) (string, error) {
	if len(k.Key) < 32 {
		return "", errors.New("device cookie: key too short")
	}
	if userID == "" || len(userID) > maxUser {
		return "", errors.New("device cookie: bad user ID")
	}
	id, err := hex.DecodeString(deviceID)
	if deviceID == "" || err != nil || len(id) != idLen {
		id = make([]byte, idLen)
		if _, err := rand.Read(id); err != nil {
			return "", err
		}
	}
	life := k.Lifetime
	if life <= 0 {
		life = DefaultLifetime
	}
	b := make([]byte, 0, fixedLen+len(userID)+macLen)
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(now.Add(life).Unix()))
	b = append(b, id...)
	b = append(b, userID...)
	b = append(b, k.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Verify reports whether value was issued by this keeper for userID and has not expired,
// and returns the device ID (hex). Every other value is unknown (ok false); the MAC is
// compared in constant time.
func (k *Keeper) Verify(value, userID string, now time.Time) (deviceID string, ok bool) {
	if len(k.Key) < 32 || value == "" || len(value) > 1024 || userID == "" {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < fixedLen+1+macLen || b[0] != version {
		return "", false
	}
	body, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(sum, k.mac(body)) {
		return "", false
	}
	exp := int64(binary.BigEndian.Uint64(body[1:9]))
	id, user := body[9:fixedLen], string(body[fixedLen:])
	if !now.Before(time.Unix(exp, 0)) || !hmac.Equal([]byte(user), []byte(userID)) {
		return "", false
	}
	return hex.EncodeToString(id), true
}

// DeviceID returns the device ID of a value this keeper issued (for any user, unexpired),
// so that a browser keeps its ID when another user is remembered on it.
func (k *Keeper) DeviceID(value string, now time.Time) string {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < fixedLen+1+macLen || b[0] != version {
		return ""
	}
	body := b[:len(b)-macLen]
	if !hmac.Equal(b[len(b)-macLen:], k.mac(body)) || !now.Before(time.Unix(int64(binary.BigEndian.Uint64(body[1:9])), 0)) {
		return ""
	}
	return hex.EncodeToString(body[9:fixedLen])
}

func (k *Keeper) mac(b []byte) []byte {
	m := hmac.New(sha256.New, k.Key)
	m.Write([]byte("gatehouse journey device v1\x00"))
	m.Write(b)
	return m.Sum(nil)
}
