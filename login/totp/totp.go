package totp

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The code parameters: the authenticator apps' defaults (RFC 6238 §4: X = 30 s, T0 = 0;
// RFC 4226 §5.3: 6 digits; HMAC-SHA-1).
const (
	Period = 30
	Digits = 6
	// Skew is the number of steps accepted either side of the current one (RFC 6238 §5.2).
	Skew = 1
	// SecretBytes is the secret's length: 160 bits, RFC 4226 §4 R6's recommendation.
	SecretBytes = 20
	// EnrolTTL is how long a started enrolment waits for its first code.
	EnrolTTL = 10 * time.Minute
)

const purposeEnrol = "totp:enrol"

var (
	// ErrInvalidCode: not the code of the previous, current or next step.
	ErrInvalidCode = errors.New("that code is wrong or expired: enter the 6-digit code your authenticator app shows now")
	// ErrCodeUsed: the code (or a later one) was accepted before (RFC 6238 §5.2).
	ErrCodeUsed = errors.New("that code was already used: wait for the next code in your authenticator app")
	// ErrNotEnrolled: the user has no authenticator app.
	ErrNotEnrolled = errors.New("no authenticator app is set up for this account")
	// ErrAlreadyEnrolled: remove the current app before adding another.
	ErrAlreadyEnrolled = errors.New("an authenticator app is already set up: remove it first to set up another")
	// ErrEnrolmentExpired: the enrolment was not confirmed in time (or never started).
	ErrEnrolmentExpired = errors.New("the setup expired: start again and scan the new QR code")
	// ErrReauthenticate: the change needs a fresh login (CR-19).
	ErrReauthenticate error = reauthenticate("log in again to change your authenticator app (security changes need a login from the last 10 minutes)")
)

// Method is the authenticator app. Every field is required.
type Method struct {
	Store    store.Store
	Limiter  *lockout.Limiter
	Recovery *recoverycode.Codes
	// Key (32 bytes) seals the stored secrets (AES-256-GCM); derived from the key ring's
	// shared secret, so every instance opens what another sealed.
	Key []byte
	// Issuer names the account in the app ("Gatehouse", the brand).
	Issuer string
	// Sessions end the user's other sessions when the app is removed (PX-32).
	Sessions *sessions.Manager
	// Notify, if set, tells the user's address about an added or removed app
	// (*otp.Codes.Notify).
	Notify func(email, notice, lang string)
	Now    func() time.Time

	once sync.Once
	aead cipher.AEAD
	err  error
}

func (m *Method) cipher() (cipher.AEAD, error) {
	m.once.Do(func() { m.aead, m.err = newAEAD(m.Key) })
	return m.aead, m.err
}

// Enrolment is a started enrolment: what the user's app needs, shown once.
type Enrolment struct {
	// Token names the enrolment in the confirmation (a hidden form field).
	Token string
	// Key is the base32 secret grouped by four for typing; URI the otpauth:// URI the QR
	// code holds; QR the PNG image of it.
	Key string
	URI string
	QR  []byte
}

// Enrolled tells whether the user has an authenticator app.
func (m *Method) Enrolled(ctx context.Context, userID string) (bool, error) {
	f, err := m.Store.GetSecondFactor(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read second factors: %w", err)
	}
	return f.TOTPSecret != "", nil
}

// BeginEnrol starts adding an authenticator app for the user of session s (fresh login
// required): a new secret, kept sealed in a pending record for EnrolTTL until ConfirmEnrol.
func (m *Method) BeginEnrol(ctx context.Context, s store.Session, u store.User) (Enrolment, error) {
	if !sessions.Fresh(s, m.Now()) {
		return Enrolment{}, ErrReauthenticate
	}
	if on, err := m.Enrolled(ctx, u.ID); err != nil {
		return Enrolment{}, err
	} else if on {
		return Enrolment{}, ErrAlreadyEnrolled
	}
	aead, err := m.cipher()
	if err != nil {
		return Enrolment{}, err
	}
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{Issuer: m.Issuer, AccountName: accountName(u), Period: Period,
		SecretSize: SecretBytes, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, fmt.Errorf("generate secret: %w", err)
	}
	raw, err := decodeSecret(key.Secret())
	if err != nil {
		return Enrolment{}, err
	}
	tok := secret.Token()
	now := m.Now()
	rec := store.OneTimeCode{ID: secret.Hash(tok), Purpose: purposeEnrol, Subject: u.ID,
		Data: map[string]string{"secret": seal(aead, u.ID, raw)}, CreatedAt: now, ExpiresAt: now.Add(EnrolTTL)}
	if err := m.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return Enrolment{}, fmt.Errorf("store enrolment: %w", err)
	}
	return m.enrolment(tok, u, raw)
}

// Pending returns a started enrolment of u again (to show it with an error), or
// ErrEnrolmentExpired.
func (m *Method) Pending(ctx context.Context, u store.User, token string) (Enrolment, error) {
	raw, err := m.pending(ctx, u, token)
	if err != nil {
		return Enrolment{}, err
	}
	return m.enrolment(token, u, raw)
}

func (m *Method) pending(ctx context.Context, u store.User, token string) ([]byte, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrEnrolmentExpired
	}
	rec, err := m.Store.GetOneTimeCode(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrEnrolmentExpired
	} else if err != nil {
		return nil, fmt.Errorf("read enrolment: %w", err)
	}
	if rec.Purpose != purposeEnrol || rec.Subject != u.ID || !m.Now().Before(rec.ExpiresAt) {
		return nil, ErrEnrolmentExpired
	}
	aead, err := m.cipher()
	if err != nil {
		return nil, err
	}
	return open(aead, u.ID, rec.Data["secret"])
}

func (m *Method) enrolment(tok string, u store.User, raw []byte) (Enrolment, error) {
	b32 := encodeSecret(raw)
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{Issuer: m.Issuer, AccountName: accountName(u), Period: Period,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, fmt.Errorf("authenticator key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, fmt.Errorf("QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("QR code: %w", err)
	}
	return Enrolment{Token: tok, Key: group(b32), URI: key.URL(), QR: buf.Bytes()}, nil
}

// ConfirmEnrol activates a started enrolment once code is valid for its secret, and
// returns a new set of recovery codes when the user had none (shown once; nil otherwise).
// The confirming code's step counts as used. Fresh login required.
func (m *Method) ConfirmEnrol(ctx context.Context, s store.Session, u store.User, token, code string) ([]string, error) {
	if !sessions.Fresh(s, m.Now()) {
		return nil, ErrReauthenticate
	}
	release, err := m.Limiter.Attempt(ctx, []string{recoverycode.LimitKey(u.ID)}, []int{recoverycode.MaxFailures})
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { release(ok) }()
	raw, err := m.pending(ctx, u, token)
	if err != nil {
		ok = errors.Is(err, ErrEnrolmentExpired) // not a guess
		return nil, err
	}
	step, err := match(raw, code, m.Now())
	if err != nil {
		return nil, err
	}
	aead, err := m.cipher()
	if err != nil {
		return nil, err
	}
	if _, err := m.Store.ConsumeOneTimeCode(ctx, secret.Hash(token)); err != nil {
		ok = true
		return nil, ErrEnrolmentExpired // confirmed meanwhile by a concurrent request
	}
	now := m.Now()
	fresh := false
	err = recoverycode.Upsert(ctx, m.Store, u.ID, func(f store.SecondFactor) (store.SecondFactor, error) {
		if f.TOTPSecret != "" {
			return f, ErrAlreadyEnrolled
		}
		f.TOTPSecret, f.TOTPAddedAt, f.TOTPLastStep, f.UpdatedAt = seal(aead, u.ID, raw), now, step, now
		fresh = len(f.RecoveryCodes) == 0
		return f, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store authenticator: %w", err)
	}
	ok = true
	m.notify(u, "An authenticator app was added to your account: logins now ask for its code after your password.")
	if !fresh {
		return nil, nil
	}
	return m.Recovery.Replace(ctx, u.ID)
}

// Verify checks an authenticator code of u and uses up its step: a code of the previous,
// current or next step that is later than the last accepted one. Wrong and replayed codes
// count against the account's second-factor limit. It returns ErrInvalidCode, ErrCodeUsed,
// ErrNotEnrolled, *lockout.LockedError or an internal error.
func (m *Method) Verify(ctx context.Context, u store.User, code string) error {
	release, err := m.Limiter.Attempt(ctx, []string{recoverycode.LimitKey(u.ID)}, []int{recoverycode.MaxFailures})
	if err != nil {
		return err
	}
	ok := false
	defer func() { release(ok) }()
	f, err := m.Store.GetSecondFactor(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && f.TOTPSecret == "" {
		return ErrNotEnrolled
	} else if err != nil {
		return fmt.Errorf("read authenticator: %w", err)
	}
	aead, err := m.cipher()
	if err != nil {
		return err
	}
	raw, err := open(aead, u.ID, f.TOTPSecret)
	if err != nil {
		return err
	}
	step, err := match(raw, code, m.Now())
	if err != nil {
		return err
	}
	// The step is taken in a compare-and-swap update: of two requests (on any instance)
	// with the same code, one stores the step and the other finds it taken.
	_, err = m.Store.UpdateSecondFactor(ctx, u.ID, func(f store.SecondFactor) (store.SecondFactor, error) {
		if f.TOTPSecret == "" {
			return f, ErrNotEnrolled
		}
		if step <= f.TOTPLastStep {
			return f, ErrCodeUsed
		}
		f.TOTPLastStep, f.UpdatedAt = step, m.Now()
		return f, nil
	})
	switch {
	case errors.Is(err, ErrCodeUsed), errors.Is(err, ErrNotEnrolled):
		return err
	case errors.Is(err, store.ErrNotFound):
		return ErrNotEnrolled
	case err != nil:
		return fmt.Errorf("use authenticator code: %w", err)
	}
	ok = true
	return nil
}

// Remove deletes the user's authenticator app (fresh login required). The recovery codes
// go too when no passkey remains for them to stand in for. Like a password change, it ends
// the user's other sessions and revokes their refresh tokens (PX-32): a session that
// stole the first factor must not outlive the second's removal.
func (m *Method) Remove(ctx context.Context, s store.Session) error {
	if !sessions.Fresh(s, m.Now()) {
		return ErrReauthenticate
	}
	keys, err := m.Store.ListUserPasskeys(ctx, s.UserID)
	if err != nil {
		return fmt.Errorf("list passkeys: %w", err)
	}
	now := m.Now()
	f, err := m.Store.UpdateSecondFactor(ctx, s.UserID, func(f store.SecondFactor) (store.SecondFactor, error) {
		if f.TOTPSecret == "" {
			return f, ErrNotEnrolled
		}
		f.TOTPSecret, f.TOTPAddedAt, f.UpdatedAt = "", time.Time{}, now
		if len(keys) == 0 {
			f.RecoveryCodes, f.RecoveryCreatedAt = nil, time.Time{}
		}
		return f, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotEnrolled
	case err != nil:
		return fmt.Errorf("remove authenticator: %w", err)
	}
	if len(f.RecoveryCodes) == 0 {
		// Nothing left but the last step, which matters only with a secret.
		if err := m.Store.DeleteSecondFactor(ctx, s.UserID); err != nil {
			return fmt.Errorf("remove authenticator: %w", err)
		}
	}
	if err := m.Sessions.SignOutEverywhere(ctx, s.UserID, s.ID); err != nil {
		return fmt.Errorf("remove authenticator: end other sessions: %w", err)
	}
	if u, err := m.Store.GetUser(ctx, s.UserID); err == nil {
		m.notify(u, "The authenticator app of your account was removed, and every other device was signed out.")
	}
	return nil
}

func (m *Method) notify(u store.User, notice string) {
	if m.Notify != nil && u.Email != "" {
		m.Notify(u.Email, notice, u.Language)
	}
}

// match returns the step of the previous, current or next step whose code is code, or
// ErrInvalidCode. Every candidate is computed and compared in constant time.
func match(raw []byte, code string, now time.Time) (int64, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != Digits {
		return 0, ErrInvalidCode
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' { // ASCII digits only: no full-width forms (CR-13)
			return 0, ErrInvalidCode
		}
	}
	cur := now.Unix() / Period
	var found int64 = -1
	for step := cur - Skew; step <= cur+Skew; step++ {
		want, err := Code(raw, step)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step
		}
	}
	if found < 0 {
		return 0, ErrInvalidCode
	}
	return found, nil
}

// Code returns the 6-digit code of a raw secret at a time step (RFC 6238 §4.2:
// HOTP(K, T), T = floor(unix time / 30)).
func Code(raw []byte, step int64) (string, error) {
	c, err := pqtotp.GenerateCodeCustom(encodeSecret(raw), time.Unix(step*Period, 0), pqtotp.ValidateOpts{
		Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("authenticator code: %w", err)
	}
	return c, nil
}

func encodeSecret(raw []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
}

func decodeSecret(b32 string) ([]byte, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(b32, "=")))
	if err != nil {
		return nil, fmt.Errorf("authenticator secret: %w", err)
	}
	return raw, nil
}

// group splits a base32 key in groups of four for reading aloud and typing.
func group(b32 string) string {
	var b strings.Builder
	for i, r := range b32 {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func accountName(u store.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.ID
}

// reauthenticate is a sessions.ErrReauthenticate with this change's message.
type reauthenticate string

func (e reauthenticate) Error() string        { return string(e) }
func (e reauthenticate) Is(target error) bool { return target == sessions.ErrReauthenticate }
