package password_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/password"
)

// fast parameters for tests where the cost is not the point.
var fast = password.Params{Memory: 64, Time: 1, Threads: 1}

// TestHashOWASPParameters: CR-28 (password storage) — hashes are argon2id PHC strings with the
// OWASP parameters (m=19456 KiB, t=2, p=1), a 16-byte salt and a 32-byte key.
func TestHashOWASPParameters(t *testing.T) {
	h := password.New(password.OWASP, 0)
	phc, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(phc, prefix) {
		t.Fatalf("PHC string %q does not start with %q", phc, prefix)
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 {
		t.Fatalf("PHC string has %d fields", len(parts))
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) != 16 {
		t.Fatalf("salt: %d bytes, %v", len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) != 32 {
		t.Fatalf("key: %d bytes, %v", len(key), err)
	}
	if password.OWASP != (password.Params{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("OWASP = %+v", password.OWASP)
	}
}

// TestHashRandomSalt: the same password hashes differently each time (a per-hash random
// salt defeats precomputed tables and reveals no shared passwords), and each hash verifies.
func TestHashRandomSalt(t *testing.T) {
	ctx := context.Background()
	h := password.New(fast, 0)
	seen := map[string]bool{}
	salts := map[string]bool{}
	for i := 0; i < 20; i++ {
		phc, err := h.Hash(ctx, "same password")
		if err != nil {
			t.Fatal(err)
		}
		if seen[phc] {
			t.Fatalf("hash repeated: %s", phc)
		}
		seen[phc] = true
		salts[strings.Split(phc, "$")[4]] = true
		if ok, _, err := h.Verify(ctx, "same password", phc); !ok || err != nil {
			t.Fatalf("hash %d does not verify: %v", i, err)
		}
	}
	if len(salts) != 20 {
		t.Fatalf("%d distinct salts in 20 hashes", len(salts))
	}
}

// TestVerifyWrongPassword: a wrong password — including case changes, a trailing space, a
// prefix and the empty string — does not match.
func TestVerifyWrongPassword(t *testing.T) {
	ctx := context.Background()
	h := password.New(fast, 0)
	phc, err := h.Hash(ctx, "Secret-Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"secret-passw0rd", "Secret-Passw0rd ", " Secret-Passw0rd", "Secret-Passw0r", "", "Secret-Passw0rd\x00"} {
		ok, rehash, err := h.Verify(ctx, pw, phc)
		if ok || rehash || err != nil {
			t.Fatalf("Verify(%q) = %v, %v, %v; want no match", pw, ok, rehash, err)
		}
	}
	if ok, _, _ := h.Verify(ctx, "Secret-Passw0rd", phc); !ok {
		t.Fatal("control: the right password does not match")
	}
}

// TestVerifyUnknownUser: CR (user enumeration) — an unknown account (empty hash) never
// matches, whatever the password (even the one the dummy was derived from), and costs a
// full hash like a wrong password does, so timing does not tell which accounts exist.
func TestVerifyUnknownUser(t *testing.T) {
	ctx := context.Background()
	for _, pw := range []string{"", "password", "\x00", strings.Repeat("a", 1024)} {
		ok, rehash, err := password.New(fast, 0).Verify(ctx, pw, "")
		if ok || rehash || err != nil {
			t.Fatalf("unknown user with %q: %v %v %v", pw, ok, rehash, err)
		}
	}
	h := password.New(password.OWASP, 0)
	phc, err := h.Hash(ctx, "a real password")
	if err != nil {
		t.Fatal(err)
	}
	timeIt := func(stored string) time.Duration {
		best := time.Hour
		for i := 0; i < 3; i++ {
			start := time.Now()
			if ok, _, err := h.Verify(ctx, "a wrong password", stored); ok || err != nil {
				t.Fatalf("Verify: %v %v", ok, err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := timeIt(phc), timeIt("")
	if unknown < known/2 {
		t.Fatalf("unknown user verified in %v, known user in %v: the difference reveals which accounts exist", unknown, known)
	}
}

// TestVerifyNeedsRehash: CR-28 — a hash made with other parameters still verifies and reports
// that it should be replaced (so parameters can be raised over time); a matching hash does not.
func TestVerifyNeedsRehash(t *testing.T) {
	ctx := context.Background()
	weak := password.New(fast, 0)
	old, err := weak.Hash(ctx, "upgrade me please")
	if err != nil {
		t.Fatal(err)
	}
	strong := password.New(password.Params{Memory: 128, Time: 2, Threads: 1}, 0)
	ok, rehash, err := strong.Verify(ctx, "upgrade me please", old)
	if !ok || !rehash || err != nil {
		t.Fatalf("old-parameter hash: ok=%v rehash=%v err=%v; want match and rehash", ok, rehash, err)
	}
	// A wrong password never asks for a rehash (that would let a guess overwrite the hash).
	if ok, rehash, _ := strong.Verify(ctx, "wrong", old); ok || rehash {
		t.Fatalf("wrong password: ok=%v rehash=%v", ok, rehash)
	}
	current, _ := strong.Hash(ctx, "upgrade me please")
	if ok, rehash, _ := strong.Verify(ctx, "upgrade me please", current); !ok || rehash {
		t.Fatalf("current hash: ok=%v rehash=%v; want match without rehash", ok, rehash)
	}
}

// TestNFKCNormalisation: NIST SP 800-63B §5.1.1.2 — passwords are NFKC-normalised, so a
// full-width or composed/decomposed spelling typed on another keyboard matches.
func TestNFKCNormalisation(t *testing.T) {
	ctx := context.Background()
	h := password.New(fast, 0)
	for _, tc := range []struct{ stored, typed string }{
		{"ｐａｓｓｗｏｒｄ１２３", "password123"},
		{"password123", "ｐａｓｓｗｏｒｄ１２３"},
		{"caf\u00e9-latte-42", "cafe\u0301-latte-42"}, // é precomposed vs e + combining acute
		{"ﬁnal-answer-7", "final-answer-7"},           // ligature ﬁ
	} {
		phc, err := h.Hash(ctx, tc.stored)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, _ := h.Verify(ctx, tc.typed, phc); !ok {
			t.Fatalf("%q does not match stored %q", tc.typed, tc.stored)
		}
	}
	// Normalisation does not merge genuinely different passwords.
	phc, _ := h.Hash(ctx, "password123")
	if ok, _, _ := h.Verify(ctx, "PASSWORD123", phc); ok {
		t.Fatal("case folded")
	}
}

// TestCheck: CR-30 — the policy refuses short passwords (counted in characters after
// NFKC), passwords over 1024 bytes (before any hashing) and control characters or invalid
// UTF-8.
func TestCheck(t *testing.T) {
	tests := []struct {
		pw   string
		want error
	}{
		{"", password.ErrTooShort},
		{"1234567", password.ErrTooShort},
		{"12345678", nil},
		{"ｐａｓｓ", password.ErrTooShort}, // 4 characters, 12 bytes
		{"пароль12", nil},              // 8 characters, 14 bytes
		{"emoji🔒🔒🔒", nil},
		{strings.Repeat("a", 1024), nil},
		{strings.Repeat("a", 1025), password.ErrTooLong},
		{strings.Repeat("é", 513), password.ErrTooLong}, // 1026 bytes
		{strings.Repeat("a", 1<<20), password.ErrTooLong},
		{"password\x00x", password.ErrInvalid},
		{"password\nx", password.ErrInvalid},
		{"password\tx", password.ErrInvalid},
		{"password\x7fx", password.ErrInvalid},
		{"password\x1bx", password.ErrInvalid},
		{"password\xffx", password.ErrInvalid},
		{"pass word with spaces", nil},
	}
	for _, tt := range tests {
		if err := password.Check(tt.pw); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("Check(%.30q) = %v, want %v", tt.pw, err, tt.want)
		}
	}
}

// TestHugePasswordCostsNothing: CR-30 — Hash and Verify refuse a password over 1024 bytes
// before deriving anything, so a megabyte password cannot burn CPU or memory.
func TestHugePasswordCostsNothing(t *testing.T) {
	ctx := context.Background()
	h := password.New(password.OWASP, 0)
	huge := strings.Repeat("x", 1<<20)
	start := time.Now()
	if _, err := h.Hash(ctx, huge); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("Hash(1 MB) = %v, want ErrTooLong", err)
	}
	phc := "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if ok, _, err := h.Verify(ctx, huge, phc); ok || err != nil {
		t.Fatalf("Verify(1 MB) = %v, %v", ok, err)
	}
	if d := time.Since(start); d > 5*time.Millisecond {
		t.Fatalf("refusing a 1 MB password took %v (hashing happened?)", d)
	}
}

// TestVerifyMalformedHash: a stored hash that is not a well-formed argon2id PHC string, or
// whose parameters are out of range (which could make one verification allocate gigabytes),
// is an error, never a match.
func TestVerifyMalformedHash(t *testing.T) {
	ctx := context.Background()
	h := password.New(fast, 0)
	salt := "AAAAAAAAAAAAAAAAAAAAAA"
	key := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, phc := range []string{
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8388608,t=1,p=1$" + salt + "$" + key, // 8 GiB
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	} {
		ok, rehash, err := h.Verify(ctx, "password", phc)
		if ok || rehash || err == nil {
			t.Errorf("Verify against %q = %v, %v, %v; want an error", phc, ok, rehash, err)
		}
	}
}

// TestConcurrencyLimitHonoursContext: hashes beyond the concurrency limit wait for a slot
// and give up when the request's context ends (each hash holds 19 MiB; the limit bounds
// memory under a login flood).
func TestConcurrencyLimitHonoursContext(t *testing.T) {
	slow := password.Params{Memory: 19 * 1024, Time: 12, Threads: 1}
	h := password.New(slow, 1)
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		close(started)
		_, _ = h.Hash(context.Background(), "occupies the only slot")
		close(done)
	}()
	<-started
	time.Sleep(30 * time.Millisecond)
	select {
	case <-done:
		t.Skip("the slow hash finished before the test could queue behind it")
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "waits for the slot"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash while the slot is taken = %v, want context.DeadlineExceeded", err)
	}
	if _, _, err := h.Verify(ctx, "x", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with an ended context = %v, want context.DeadlineExceeded", err)
	}
	<-done
}

// BenchmarkHash: one argon2id hash with the OWASP parameters (the cost of a sign-up).
func BenchmarkHash(b *testing.B) {
	h := password.New(password.OWASP, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: one verification with the OWASP parameters (the cost of a login).
func BenchmarkVerify(b *testing.B) {
	h := password.New(password.OWASP, 0)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", phc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
