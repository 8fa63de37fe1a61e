package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Signup modes.
const (
	SignupOpen   = "open"
	SignupClosed = "closed"
	SignupInvite = "invite"
)

// Sign-up that proves the address first (CR-06, CR-07). The answer to a sign-up must not
// tell whether the address already has an account, so no account is created, and no
// session started, until a code emailed to the address comes back:
//
//   - Start (password) and StartPending (a passkey's, from login/passkey) do the same work
//     for every address — the password hash, the lookup, one stored challenge, one email
//     queued in the background — and answer the same flow secret. A new address gets the
//     code (verify_email); an address that has an account gets a notice instead
//     (signup_existing: "someone tried to sign up with your address; log in or recover
//     your account"), and no code.
//   - Finish creates the account, with its address verified, from the right code. The
//     challenge of a taken address has no subject, so every code fails on it exactly as a
//     wrong code fails on a real one (invalid, then burned after 5, failures counted per
//     address in both cases): entering codes teaches nothing, and nothing of the sign-up
//     (its password, its passkey, its names) ever reaches the existing account.

// PasskeyStore stores the passkey of a sign-up that proved its address (login/passkey):
// credential is the verified WebAuthn credential, as StartPending received it.
type PasskeyStore interface {
	StoreSignupPasskey(ctx context.Context, u store.User, credential []byte, name string) (store.Passkey, error)
}

// Signup is self-service sign-up. Every field but Passkeys is required (without it a
// passkey sign-up cannot finish).
type Signup struct {
	Accounts *Accounts
	Store    store.Store
	Hasher   *password.Hasher
	Codes    *otp.Codes
	// Mode is SignupOpen, SignupClosed or SignupInvite.
	Mode string
	// ModeNow, if set, replaces Mode: the mode in force now (runtime settings), read at
	// each step so that a change needs no reload.
	ModeNow func() string
	// RevealsExisting keeps the sign-up that refuses a taken address with ErrEmailTaken
	// even when email can be sent (see VerifiesFirst).
	RevealsExisting bool
	// InviteLifetime is how long an invitation works.
	InviteLifetime time.Duration
	// Issuer is the portal's URL (the signup_existing notice links to its login page).
	Issuer   string
	Now      func() time.Time
	Passkeys PasskeyStore
}

// signupsPerIP limits sign-up attempts per client IP and hour: each costs a password hash
// (and, with RevealsExisting or without email, answers whether an address is registered).
const signupsPerIP = 30

func (s *Signup) mode() string {
	if s.ModeNow != nil {
		return s.ModeNow()
	}
	return s.Mode
}

// Enabled tells whether anyone may sign up (open or invite mode).
func (s *Signup) Enabled() bool { return s.mode() != SignupClosed }

// InviteRequired tells whether sign-up needs an invitation.
func (s *Signup) InviteRequired() bool { return s.mode() == SignupInvite }

// VerifiesFirst tells whether sign-up proves the address with an emailed code before the
// account exists (Start, StartPending, Finish): whenever email can be sent, unless
// RevealsExisting is set. Otherwise sign-up creates the account at once (Create, and
// login/passkey's FinishSignup) and refuses a taken address with ErrEmailTaken.
func (s *Signup) VerifiesFirst() bool { return s.Codes.CanEmail() && !s.RevealsExisting }

// Check counts a sign-up attempt of clientIP and checks the signup mode (invite is required
// in invite mode).
func (s *Signup) Check(ctx context.Context, invite, clientIP string) error {
	n, reset, err := s.Store.IncrementCounter(ctx, "signup:ip:"+lockout.IPKey(clientIP), 1, time.Hour, s.Now())
	if err != nil {
		return fmt.Errorf("count sign-up: %w", err)
	}
	if n > signupsPerIP {
		return &lockout.LockedError{RetryAfter: reset.Sub(s.Now())}
	}
	switch s.mode() {
	case SignupOpen:
	case SignupInvite:
		if invite == "" {
			return ErrInviteRequired
		}
	default:
		return ErrSignupClosed
	}
	return nil
}

// Create creates an account at once from the sign-up page under the configured signup mode
// and refuses an address that has an account with ErrEmailTaken: the sign-up of servers
// that cannot send email, or that set RevealsExisting (see VerifiesFirst; the others use
// Start). invite is the invitation code (required in invite mode, ignored otherwise).
// Attempts are limited per client IP. The result's amr is the password's: the caller starts
// the new account's session.
func (s *Signup) Create(ctx context.Context, in NewUser, invite, clientIP string) (login.Result, error) {
	if err := s.Check(ctx, invite, clientIP); err != nil {
		return login.Result{}, err
	}
	in.Groups, in.ExternalUserID, in.EmailVerified = nil, "", false
	u, err := s.Accounts.Build(in)
	if err != nil {
		return login.Result{}, err
	}
	if err := password.Check(in.Password); err != nil {
		return login.Result{}, &input.Error{Field: "password", Message: err.Error()}
	}
	var inv store.OneTimeCode
	if s.mode() == SignupInvite {
		if inv, err = s.ConsumeInvite(ctx, invite, u.Email); err != nil {
			return login.Result{}, err
		}
		u.Groups = InviteGroups(inv)
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return login.Result{}, fmt.Errorf("hash password: %w", err)
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if s.mode() == SignupInvite {
			// Give the invitation back: it was not used.
			s.RestoreInvite(ctx, inv)
		}
		if errors.Is(err, store.ErrAlreadyExists) {
			return login.Result{}, ErrEmailTaken
		}
		return login.Result{}, fmt.Errorf("create user: %w", err)
	}
	if err := s.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: u.CreatedAt}); err != nil {
		return login.Result{}, fmt.Errorf("store password: %w", err)
	}
	return login.Result{User: u, AMR: []string{login.AMRPassword}, NewUser: true}, nil
}

// Start begins a password sign-up under the signup mode (invite: the invitation code,
// checked now and used at Finish): it emails the code that Finish needs and returns the
// flow secret for the browser's cookie. The answer, its timing and the limits are the same
// whether or not the address has an account (see the comment above).
func (s *Signup) Start(ctx context.Context, in NewUser, invite, lang, clientIP string) (string, error) {
	if !s.VerifiesFirst() {
		return "", otp.ErrMethodDisabled
	}
	if err := s.Check(ctx, invite, clientIP); err != nil {
		return "", err
	}
	in.Groups, in.ExternalUserID, in.EmailVerified = nil, "", false
	u, err := s.Accounts.Build(in)
	if err != nil {
		return "", err
	}
	if err := password.Check(in.Password); err != nil {
		return "", &input.Error{Field: "password", Message: err.Error()}
	}
	inviteID, err := s.checkInvite(ctx, invite, u.Email)
	if err != nil {
		return "", err
	}
	// Hashed for every address, taken or not: the answer takes the same time.
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s.startPending(ctx, u, map[string]string{"password": hash}, inviteID, lang, clientIP)
}

// StartPending is Start for a sign-up whose credential is a passkey already verified by
// login/passkey (credential: the WebAuthn credential as JSON, name its validated name):
// instead of creating the account, it emails the code that Finish needs and returns the flow
// secret. invite is the invitation code the sign-up ceremony began with.
func (s *Signup) StartPending(ctx context.Context, u store.User, credential []byte, name, invite, lang, clientIP string) (string, error) {
	if !s.VerifiesFirst() {
		return "", otp.ErrMethodDisabled
	}
	inviteID, err := s.checkInvite(ctx, invite, u.Email)
	if err != nil {
		return "", err
	}
	return s.startPending(ctx, u, map[string]string{"passkey": string(credential), "passkey_name": name}, inviteID, lang, clientIP)
}

// startPending stores the pending account u with its credential data and sends the address
// its code — or, when the address has an account, the signup_existing notice and no code.
// Both branches do the same store work.
func (s *Signup) startPending(ctx context.Context, u store.User, data map[string]string, inviteID, lang, clientIP string) (string, error) {
	owner, err := s.Store.GetUserByEmail(ctx, u.Email)
	taken := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read user: %w", err)
	}
	pending, err := json.Marshal(u)
	if err != nil {
		return "", fmt.Errorf("encode sign-up: %w", err)
	}
	data["user"], data["invite"] = string(pending), inviteID
	req := otp.Request{Purpose: otp.PurposeSignup + otp.ChannelEmail, Channel: otp.ChannelEmail, Dest: u.Email,
		Kind: otp.MsgVerifyEmail, Vars: otp.MessageVars{Email: u.Email, Language: lang}, Data: data}
	if taken {
		// The owner is told; whoever typed the address gets nothing to enter.
		req.Notice = otp.MsgSignupExisting
		req.Vars.Link = s.Issuer + "/login"
		if owner.Language != "" {
			req.Vars.Language = owner.Language
		}
	} else {
		req.Subject = u.ID
	}
	return s.Codes.Start(ctx, req, clientIP)
}

// Finish checks the code of a sign-up started with Start or StartPending (in the browser
// holding flow) and creates the account, its address verified, with the sign-up's password
// or passkey; the result's amr is pwd or webauthn, its Passkey the sign-up's passkey, and
// NewUser is set. Wrong codes are limited like every code (otp.Codes.Check). ErrEmailTaken
// is returned only when an account got the address after the code was sent: only who read
// the code learns it.
func (s *Signup) Finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	rec, err := s.Codes.Check(ctx, otp.PurposeSignup, flow, code, clientIP)
	if err != nil {
		return login.Result{}, err
	}
	var u store.User
	if err := json.Unmarshal([]byte(rec.Data["user"]), &u); err != nil || u.ID != rec.Subject || u.Email != rec.Data["dest"] ||
		(rec.Data["password"] == "") == (rec.Data["passkey"] == "") {
		return login.Result{}, otp.ErrCodeExpired
	}
	if s.mode() != SignupOpen && s.mode() != SignupInvite {
		return login.Result{}, ErrSignupClosed // closed since the code was sent
	}
	var inv store.OneTimeCode
	if s.mode() == SignupInvite {
		if rec.Data["invite"] == "" {
			return login.Result{}, ErrInviteRequired
		}
		if inv, err = s.useInvite(ctx, rec.Data["invite"], u.Email); err != nil {
			return login.Result{}, err
		}
		u.Groups = InviteGroups(inv)
	}
	now := s.Now()
	u.EmailVerified, u.CreatedAt, u.UpdatedAt = true, now, now
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if s.mode() == SignupInvite {
			s.RestoreInvite(ctx, inv) // not used: give it back
		}
		if errors.Is(err, store.ErrAlreadyExists) {
			return login.Result{}, ErrEmailTaken
		}
		return login.Result{}, fmt.Errorf("create user: %w", err)
	}
	out := login.Result{User: u, AMR: []string{login.AMRPassword}, NewUser: true}
	if raw := rec.Data["passkey"]; raw != "" {
		if s.Passkeys == nil {
			err = errors.New("passkeys are not available")
		} else {
			var pk store.Passkey
			if pk, err = s.Passkeys.StoreSignupPasskey(ctx, u, []byte(raw), rec.Data["passkey_name"]); err == nil {
				out.AMR, out.Passkey = []string{login.AMRWebAuthn}, pk.ID
			}
		}
	} else {
		err = s.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: rec.Data["password"], UpdatedAt: now})
	}
	if err != nil {
		// An account without its way in is no use: the sign-up starts again.
		_ = s.Store.DeleteUser(ctx, u.ID)
		return login.Result{}, fmt.Errorf("store credential: %w", err)
	}
	return out, nil
}
