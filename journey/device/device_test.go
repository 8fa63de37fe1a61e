package device

import (
	"encoding/base64"
	"testing"
	"time"
)

var (
	now  = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	keyA = []byte("0123456789abcdef0123456789abcdef")
	keyB = []byte("fedcba9876543210fedcba9876543210")
)

// Issue #19: known_device — "was this browser seen for this user before — a long-lived
// signed device cookie". The brief: forged, other-user and expired cookies are "unknown".
func TestKnownForTheSameUser(t *testing.T) {
	k := &Keeper{Key: keyA}
	v, err := k.Issue("u-alice", "", now)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := k.Verify(v, "u-alice", now.Add(300*24*time.Hour))
	if !ok || len(id) != 32 {
		t.Fatalf("a device remembered for alice must be known for alice: %q %v", id, ok)
	}
	// Remembering again keeps the browser's device ID.
	v2, _ := k.Issue("u-alice", id, now.Add(time.Hour))
	if id2, ok := k.Verify(v2, "u-alice", now.Add(time.Hour)); !ok || id2 != id {
		t.Fatalf("re-issued: %q %v, want %q", id2, ok, id)
	}
	if k.DeviceID(v, now) != id {
		t.Fatal("DeviceID")
	}
}

func TestOtherUserIsUnknown(t *testing.T) {
	k := &Keeper{Key: keyA}
	v, _ := k.Issue("u-alice", "", now)
	if _, ok := k.Verify(v, "u-bob", now); ok {
		t.Fatal("alice's device cookie must not make the browser known for bob")
	}
	if _, ok := k.Verify(v, "u-alic", now); ok {
		t.Fatal("a prefix of the user ID must not match")
	}
}

func TestExpiredIsUnknown(t *testing.T) {
	k := &Keeper{Key: keyA, Lifetime: 24 * time.Hour}
	v, _ := k.Issue("u-alice", "", now)
	if _, ok := k.Verify(v, "u-alice", now.Add(24*time.Hour)); ok {
		t.Fatal("an expired device cookie must be unknown")
	}
	if k.DeviceID(v, now.Add(25*time.Hour)) != "" {
		t.Fatal("an expired cookie has no device ID")
	}
}

func TestForgedIsUnknown(t *testing.T) {
	k := &Keeper{Key: keyA}
	v, _ := k.Issue("u-alice", "", now)
	if _, ok := (&Keeper{Key: keyB}).Verify(v, "u-alice", now); ok {
		t.Fatal("a cookie signed with another key must be unknown")
	}
	b, _ := base64.RawURLEncoding.DecodeString(v)
	// Rewrite the user ID (and keep the MAC): the MAC no longer matches.
	forged := append([]byte{}, b[:fixedLen]...)
	forged = append(forged, "u-bob0ce"...)
	forged = append(forged, b[len(b)-macLen:]...)
	// Extend the expiry: MAC mismatch too.
	later := append([]byte{}, b...)
	later[1] ^= 0x01
	for name, bad := range map[string]string{
		"other user":    base64.RawURLEncoding.EncodeToString(forged),
		"later expiry":  base64.RawURLEncoding.EncodeToString(later),
		"truncated":     v[:len(v)-4],
		"empty":         "",
		"garbage":       "not base64 !!",
		"bare mac only": base64.RawURLEncoding.EncodeToString(b[len(b)-macLen:]),
	} {
		if _, ok := k.Verify(bad, "u-alice", now); ok {
			t.Errorf("%s: a forged value must be unknown", name)
		}
		if _, ok := k.Verify(bad, "u-bob0ce", now); ok {
			t.Errorf("%s: a forged value must be unknown for the forged user", name)
		}
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := (&Keeper{Key: []byte("short")}).Issue("u", "", now); err == nil {
		t.Fatal("a short key must be refused")
	}
}

func BenchmarkVerify(b *testing.B) {
	k := &Keeper{Key: keyA}
	v, _ := k.Issue("u-alice-0123456789", "", now)
	for b.Loop() {
		if _, ok := k.Verify(v, "u-alice-0123456789", now); !ok {
			b.Fatal("unknown")
		}
	}
}
