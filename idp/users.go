package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// User-facing errors of account operations. Their text is shown as is.
var (
	ErrInvalidCredentials = errors.New("the email or password is incorrect")
	ErrEmailTaken         = errors.New("an account with this email already exists; log in instead")
	ErrSignupClosed       = errors.New("sign-up is closed; ask an administrator for an account")
	ErrInviteRequired     = errors.New("sign-up is by invitation only; use the link from your invitation")
	ErrInviteInvalid      = errors.New("this invitation is invalid, expired or already used")
	ErrUserDisabled       = errors.New("this account is disabled")
	ErrUserNotFound       = errors.New("no such user")
)

// InputError is a user-facing validation error naming the field.
type InputError = input.Error

// NormalizeEmail returns the canonical form of an email address (input.NormalizeEmail).
func NormalizeEmail(s string) (string, error) { return input.NormalizeEmail(s) }

// ValidateGroups checks group names (input.ValidateGroups).
func ValidateGroups(groups []string) error { return input.ValidateGroups(groups) }

// NewUser describes a user to create.
type NewUser struct {
	Email          string
	Password       string
	FirstName      string
	MiddleName     string
	LastName       string
	ExternalUserID string
	Groups         []string
	EmailVerified  bool
}

func (p *Provider) buildUser(in NewUser) (store.User, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, err
	}
	for _, f := range []struct{ name, v string }{{"fname", in.FirstName}, {"mname", in.MiddleName}, {"lname", in.LastName}} {
		if err := input.CheckName(f.name, f.v); err != nil {
			return store.User{}, err
		}
	}
	if len(in.ExternalUserID) > 256 || strings.ContainsFunc(in.ExternalUserID, unicode.IsControl) {
		return store.User{}, &InputError{Field: "external_user_id", Message: "use at most 256 characters, no control characters"}
	}
	if err := ValidateGroups(in.Groups); err != nil {
		return store.User{}, err
	}
	now := p.Now()
	return store.User{ID: secret.ID(), Email: email, EmailVerified: in.EmailVerified,
		FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName,
		ExternalUserID: in.ExternalUserID, Groups: in.Groups, CreatedAt: now, UpdatedAt: now}, nil
}

// CreateUser creates a user (an administrator's action). The password is optional.
func (p *Provider) CreateUser(ctx context.Context, in NewUser) (store.User, error) {
	u, err := p.buildUser(in)
	if err != nil {
		return store.User{}, err
	}
	var hash string
	if in.Password != "" {
		if err := password.Check(in.Password); err != nil {
			return store.User{}, &InputError{Field: "password", Message: err.Error()}
		}
		if hash, err = p.Hasher.Hash(ctx, in.Password); err != nil {
			return store.User{}, fmt.Errorf("hash password: %w", err)
		}
	}
	if err := p.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, ErrEmailTaken
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if hash != "" {
		if err := p.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: u.CreatedAt}); err != nil {
			return store.User{}, fmt.Errorf("store password: %w", err)
		}
	}
	return u, nil
}

// signupsPerIP limits sign-up attempts per client IP and hour: each costs a password hash
// (and, with SignupRevealsExisting or without email, answers whether an address is
// registered).
const signupsPerIP = 30

// checkSignup counts a sign-up attempt of clientIP and checks the signup mode (invite is
// required in invite mode).
func (p *Provider) checkSignup(ctx context.Context, invite, clientIP string) error {
	n, reset, err := p.Store.IncrementCounter(ctx, "signup:ip:"+ipKey(clientIP), 1, time.Hour, p.Now())
	if err != nil {
		return fmt.Errorf("count sign-up: %w", err)
	}
	if n > signupsPerIP {
		return &LockedError{RetryAfter: reset.Sub(p.Now())}
	}
	switch p.SignupMode {
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

// Signup creates an account at once from the sign-up page under the configured signup mode
// and refuses an address that has an account with ErrEmailTaken: the sign-up of servers
// that cannot send email, or that set SignupRevealsExisting (see SignupVerifiesFirst; the
// others use StartSignup). invite is the invitation code (required in invite mode, ignored
// otherwise). Attempts are limited per client IP.
func (p *Provider) Signup(ctx context.Context, in NewUser, invite, clientIP string) (store.User, error) {
	if err := p.checkSignup(ctx, invite, clientIP); err != nil {
		return store.User{}, err
	}
	in.Groups, in.ExternalUserID, in.EmailVerified = nil, "", false
	u, err := p.buildUser(in)
	if err != nil {
		return store.User{}, err
	}
	if err := password.Check(in.Password); err != nil {
		return store.User{}, &InputError{Field: "password", Message: err.Error()}
	}
	var inv store.OneTimeCode
	if p.SignupMode == SignupInvite {
		if inv, err = p.consumeInvite(ctx, invite, u.Email); err != nil {
			return store.User{}, err
		}
		u.Groups = splitGroups(inv.Data["groups"])
	}
	hash, err := p.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return store.User{}, fmt.Errorf("hash password: %w", err)
	}
	if err := p.Store.CreateUser(ctx, u); err != nil {
		if p.SignupMode == SignupInvite {
			// Give the invitation back: it was not used.
			_ = p.Store.CreateOneTimeCode(ctx, inv)
		}
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, ErrEmailTaken
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := p.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: u.CreatedAt}); err != nil {
		return store.User{}, fmt.Errorf("store password: %w", err)
	}
	return u, nil
}

const purposeInvite = "invite"

// Invite is a created invitation; Code is shown once.
type Invite struct {
	Code      string    `json:"code"`
	Email     string    `json:"email,omitempty"`
	Groups    []string  `json:"groups,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateInvite creates an invitation code, optionally bound to an email address and carrying
// the groups the new user gets.
func (p *Provider) CreateInvite(ctx context.Context, email string, groups []string) (Invite, error) {
	if email != "" {
		var err error
		if email, err = NormalizeEmail(email); err != nil {
			return Invite{}, err
		}
	}
	if err := ValidateGroups(groups); err != nil {
		return Invite{}, err
	}
	code := secret.Token()
	now := p.Now()
	rec := store.OneTimeCode{ID: secret.Hash(code), Purpose: purposeInvite, Subject: email,
		Data: map[string]string{"groups": strings.Join(groups, ",")}, CreatedAt: now,
		ExpiresAt: now.Add(p.InviteLifetime)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return Invite{}, fmt.Errorf("store invitation: %w", err)
	}
	return Invite{Code: code, Email: email, Groups: groups, ExpiresAt: rec.ExpiresAt}, nil
}

func (p *Provider) consumeInvite(ctx context.Context, code, email string) (store.OneTimeCode, error) {
	if len(code) > 128 {
		return store.OneTimeCode{}, ErrInviteInvalid
	}
	return p.useInvite(ctx, secret.Hash(code), email)
}

// findInvite returns the usable invitation stored under id (the hash of its code) for
// email, without using it.
func (p *Provider) findInvite(ctx context.Context, id, email string) (store.OneTimeCode, error) {
	rec, err := p.Store.GetOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrInviteInvalid
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("read invitation: %w", err)
	}
	if rec.Purpose != purposeInvite || !p.Now().Before(rec.ExpiresAt) || (rec.Subject != "" && rec.Subject != email) {
		return store.OneTimeCode{}, ErrInviteInvalid
	}
	return rec, nil
}

// useInvite consumes the invitation stored under id for email, once.
func (p *Provider) useInvite(ctx context.Context, id, email string) (store.OneTimeCode, error) {
	if _, err := p.findInvite(ctx, id, email); err != nil {
		return store.OneTimeCode{}, err
	}
	rec, err := p.Store.ConsumeOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrInviteInvalid
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("use invitation: %w", err)
	}
	return rec, nil
}

func splitGroups(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// GetUser returns a user by ID or by email.
func (p *Provider) GetUser(ctx context.Context, idOrEmail string) (store.User, error) {
	var (
		u   store.User
		err error
	)
	if strings.Contains(idOrEmail, "@") {
		email, nerr := NormalizeEmail(idOrEmail)
		if nerr != nil {
			return store.User{}, nerr
		}
		u, err = p.Store.GetUserByEmail(ctx, email)
	} else {
		u, err = p.Store.GetUser(ctx, idOrEmail)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// SetPassword replaces a user's password and revokes all of the user's sessions and tokens.
func (p *Provider) SetPassword(ctx context.Context, userID, pw string) error {
	if err := password.Check(pw); err != nil {
		return &InputError{Field: "password", Message: err.Error()}
	}
	if _, err := p.GetUser(ctx, userID); err != nil {
		return err
	}
	hash, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := p.Store.SetPassword(ctx, store.PasswordCredential{UserID: userID, Hash: hash, UpdatedAt: p.Now()}); err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	return p.RevokeUser(ctx, userID)
}

// SetDisabled disables or enables a user; disabling revokes the user's sessions and tokens.
func (p *Provider) SetDisabled(ctx context.Context, userID string, disabled bool) (store.User, error) {
	u, err := p.updateUser(ctx, userID, func(u store.User) (store.User, error) {
		u.Disabled = disabled
		return u, nil
	})
	if err != nil {
		return u, err
	}
	if disabled {
		return u, p.RevokeUser(ctx, userID)
	}
	return u, nil
}

// SetGroups replaces a user's groups. Tokens issued before carry the old groups until they
// expire or are refreshed.
func (p *Provider) SetGroups(ctx context.Context, userID string, groups []string) (store.User, error) {
	if err := ValidateGroups(groups); err != nil {
		return store.User{}, err
	}
	return p.updateUser(ctx, userID, func(u store.User) (store.User, error) {
		u.Groups = groups
		return u, nil
	})
}

func (p *Provider) updateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	u, err := p.Store.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
		u, err := fn(u)
		u.UpdatedAt = p.Now()
		return u, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// ListUsers pages through users ordered by ID.
func (p *Provider) ListUsers(ctx context.Context, after string, limit int) ([]store.User, error) {
	us, err := p.Store.ListUsers(ctx, store.ListOptions{After: after, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}
