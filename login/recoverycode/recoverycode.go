package recoverycode

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Count is the number of codes in a set.
const Count = 10

// MaxFailures is how many wrong second-factor codes (authenticator or recovery) an account
// may enter within the lockout window.
const MaxFailures = 5

// alphabet leaves out look-alikes (0/o, 1/l/i): 31 characters, drawn without bias by
// rejection, about 4.95 bits each.
const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"

const codeLen = 16

var (
	// ErrInvalidCode: the code is not one of the user's unused recovery codes.
	ErrInvalidCode = errors.New("that recovery code is wrong or already used: each code works once")
	// ErrNoSecondFactor: recovery codes stand in for a second factor the user does not have.
	ErrNoSecondFactor = errors.New("set up a passkey or an authenticator app first; recovery codes stand in for them")
	// ErrReauthenticate: making a new set needs a fresh login.
	ErrReauthenticate error = reauthenticate("log in again to make new recovery codes (security changes need a login from the last 10 minutes)")
)

// Codes makes and checks recovery codes. Every field is required.
type Codes struct {
	Store   store.Store
	Limiter *lockout.Limiter
	Now     func() time.Time
}

// LimitKey is the lockout counter of the user's second-factor attempts (recovery and
// authenticator codes share it).
func LimitKey(userID string) string { return "mfa:account:" + userID }

// Hash returns the stored form of a code (normalised first).
func Hash(code string) string {
	sum := sha256.Sum256([]byte(normalize(code)))
	return hex.EncodeToString(sum[:])
}

func normalize(code string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		if r != '-' && r != ' ' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func newCode() string {
	// Draw 5 bits and redraw the one value past the alphabet (no modulo bias).
	out := make([]byte, 0, codeLen+3)
	b := make([]byte, 1)
	for n := 0; n < codeLen; {
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
		v := int(b[0] & 31)
		if v >= len(alphabet) {
			continue
		}
		if n > 0 && n%4 == 0 {
			out = append(out, '-')
		}
		out = append(out, alphabet[v])
		n++
	}
	return string(out)
}

// HasSecondFactor tells whether the user has a passkey or an authenticator app.
func (c *Codes) HasSecondFactor(ctx context.Context, userID string) (bool, error) {
	f, err := c.Store.GetSecondFactor(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("read second factors: %w", err)
	}
	if f.TOTPSecret != "" {
		return true, nil
	}
	keys, err := c.Store.ListUserPasskeys(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("list passkeys: %w", err)
	}
	return len(keys) > 0, nil
}

// Remaining returns how many unused codes the user has.
func (c *Codes) Remaining(ctx context.Context, userID string) (int, error) {
	f, err := c.Store.GetSecondFactor(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("read recovery codes: %w", err)
	}
	return len(f.RecoveryCodes), nil
}

// Regenerate replaces the user's set of codes with a new one and returns the codes (shown
// once). It needs a fresh login and a second factor to stand in for.
func (c *Codes) Regenerate(ctx context.Context, s store.Session) ([]string, error) {
	if !sessions.Fresh(s, c.Now()) {
		return nil, ErrReauthenticate
	}
	has, err := c.HasSecondFactor(ctx, s.UserID)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, ErrNoSecondFactor
	}
	return c.Replace(ctx, s.UserID)
}

// Replace stores a new set of codes for the user (the old set stops working) and returns
// them. Callers check the rules (Regenerate; enrolling a second factor).
func (c *Codes) Replace(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, Count)
	hashes := make([]string, Count)
	for i := range codes {
		codes[i] = newCode()
		hashes[i] = Hash(codes[i])
	}
	now := c.Now()
	err := Upsert(ctx, c.Store, userID, func(f store.SecondFactor) (store.SecondFactor, error) {
		f.RecoveryCodes, f.RecoveryCreatedAt, f.UpdatedAt = hashes, now, now
		return f, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store recovery codes: %w", err)
	}
	return codes, nil
}

// Use checks a recovery code of u and uses it up. Wrong codes count against the account's
// second-factor limit. It returns ErrInvalidCode, *lockout.LockedError or an internal error.
func (c *Codes) Use(ctx context.Context, u store.User, code string) error {
	release, err := c.Limiter.Attempt(ctx, []string{LimitKey(u.ID)}, []int{MaxFailures})
	if err != nil {
		return err
	}
	ok := false
	defer func() { release(ok) }()
	if len(code) > 64 {
		return ErrInvalidCode
	}
	h := Hash(code)
	_, err = c.Store.UpdateSecondFactor(ctx, u.ID, func(f store.SecondFactor) (store.SecondFactor, error) {
		found := -1
		for i, x := range f.RecoveryCodes {
			if subtle.ConstantTimeCompare([]byte(x), []byte(h)) == 1 {
				found = i
			}
		}
		if found < 0 {
			return f, ErrInvalidCode
		}
		f.RecoveryCodes = append(f.RecoveryCodes[:found:found], f.RecoveryCodes[found+1:]...)
		f.UpdatedAt = c.Now()
		return f, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrInvalidCode):
		return ErrInvalidCode
	case err != nil:
		return fmt.Errorf("use recovery code: %w", err)
	}
	ok = true
	return nil
}

// Upsert applies update to the user's second-factor record, creating it (from a record
// holding only the user ID) when the user has none.
func Upsert(ctx context.Context, s store.Store, userID string, update func(store.SecondFactor) (store.SecondFactor, error)) error {
	for range 3 {
		_, err := s.UpdateSecondFactor(ctx, userID, update)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		f, err := update(store.SecondFactor{UserID: userID})
		if err != nil {
			return err
		}
		err = s.CreateSecondFactor(ctx, f)
		if !errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
	}
	return fmt.Errorf("second factor of user %q: %w", userID, store.ErrConflict)
}

// reauthenticate is a sessions.ErrReauthenticate with this change's message.
type reauthenticate string

func (e reauthenticate) Error() string        { return string(e) }
func (e reauthenticate) Is(target error) bool { return target == sessions.ErrReauthenticate }
