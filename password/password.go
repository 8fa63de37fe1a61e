// Package password hashes and verifies passwords with argon2id (OWASP parameters: 19 MiB,
// two passes, one lane), stored as PHC strings with a per-password random salt.
//
// Passwords are normalised to Unicode NFKC before hashing (NIST SP 800-63B §5.1.1.2), and
// their length is checked before any hashing so that a huge password costs nothing (CR-30).
// Verification of a user that does not exist runs the same hash against a fixed dummy, so an
// unknown account costs the same time as a wrong password. A semaphore bounds how many hashes
// run at once: each one holds 19 MiB.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id configuration (m=19 MiB, t=2, p=1).
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Length limits, in characters (MinLength) and bytes (MaxBytes).
const (
	MinLength = 8
	MaxBytes  = 1024
)

const (
	saltLen = 16
	keyLen  = 32
)

// Policy errors; their text is shown to users.
var (
	ErrTooShort = fmt.Errorf("password must be at least %d characters", MinLength)
	ErrTooLong  = fmt.Errorf("password must be at most %d bytes", MaxBytes)
	ErrInvalid  = errors.New("password must be valid UTF-8 without control characters")
)

// Hasher hashes and verifies passwords. Its zero value is not usable; use New.
type Hasher struct {
	params Params
	sem    chan struct{}
	rand   io.Reader
	dummy  string

	// After a burst of hashes, the 19 MiB buffers they used are garbage that the Go runtime
	// would keep until its next collection (every two minutes when idle) and return to the
	// operating system only slowly. releaseAfter of quiet returns them at once.
	mu       sync.Mutex
	inflight int
	release  *time.Timer
}

// releaseAfter is how long no hash must run before the hash buffers go back to the OS.
const releaseAfter = 2 * time.Second

// New returns a Hasher with the given parameters that runs at most concurrency hashes at once
// (0 means GOMAXPROCS: hashing is CPU-bound, so more would not be faster, only hold more
// 19 MiB buffers at once).
func New(p Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, concurrency), rand: rand.Reader}
	// The dummy hash has the configured parameters so that verifying against it costs the
	// same as verifying a real one.
	h.dummy = encode(p, make([]byte, saltLen), make([]byte, keyLen))
	return h
}

// Check reports whether pw is acceptable as a new password.
func Check(pw string) error {
	if len(pw) > MaxBytes {
		return ErrTooLong
	}
	if !utf8.ValidString(pw) || strings.ContainsFunc(pw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ErrInvalid
	}
	if utf8.RuneCountInString(norm.NFKC.String(pw)) < MinLength {
		return ErrTooShort
	}
	return nil
}

// Hash returns the PHC string of pw. It does not apply the policy; call Check first.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxBytes {
		return "", ErrTooLong
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key, err := h.derive(ctx, pw, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether pw matches the PHC string phc, and whether the hash should be
// replaced because its parameters differ from the Hasher's. An empty phc (unknown user) is
// verified against a dummy hash and never matches.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok, rehash bool, err error) {
	if len(pw) > MaxBytes {
		return false, false, nil
	}
	known := phc != ""
	if !known {
		phc = h.dummy
	}
	p, salt, want, err := decode(phc)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, pw, salt, p)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1 && known
	return ok, ok && p != h.params, nil
}

func (h *Hasher) derive(ctx context.Context, pw string, salt []byte, p Params) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for password hashing: %w", ctx.Err())
	}
	h.mu.Lock()
	h.inflight++
	h.mu.Unlock()
	defer func() {
		<-h.sem
		h.mu.Lock()
		h.inflight--
		if h.inflight == 0 {
			if h.release == nil {
				h.release = time.AfterFunc(releaseAfter, h.releaseMemory)
			} else {
				h.release.Reset(releaseAfter)
			}
		}
		h.mu.Unlock()
	}()
	return argon2.IDKey([]byte(norm.NFKC.String(pw)), salt, p.Time, p.Memory, p.Threads, keyLen), nil
}

func (h *Hasher) releaseMemory() {
	h.mu.Lock()
	busy := h.inflight > 0
	h.mu.Unlock()
	if !busy {
		debug.FreeOSMemory()
	}
}

var enc = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

func decode(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, errors.New("password hash: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, errors.New("password hash: unsupported argon2 version")
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, fmt.Errorf("password hash: parameters: %w", err)
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<22 || p.Time == 0 || p.Time > 64 || p.Threads == 0 {
		return Params{}, nil, nil, errors.New("password hash: parameters out of range")
	}
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("password hash: salt: %w", err)
	}
	key, err := enc.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return Params{}, nil, nil, errors.New("password hash: key")
	}
	return p, salt, key, nil
}

// ValidHash checks that phc is an argon2id PHC string this package can verify (version,
// parameters in range, salt and key), without a password; `gatehouse store import` uses it
// to refuse hashes no login could ever match.
func ValidHash(phc string) error {
	_, _, _, err := decode(phc)
	return err
}
