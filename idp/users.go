package idp

import (
	"context"

	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/store"
)

// User-facing errors of account operations. Their text is shown as is.
var (
	ErrInvalidCredentials = pwlogin.ErrInvalidCredentials
	ErrEmailTaken         = account.ErrEmailTaken
	ErrSignupClosed       = account.ErrSignupClosed
	ErrInviteRequired     = account.ErrInviteRequired
	ErrInviteInvalid      = account.ErrInviteInvalid
	ErrUserDisabled       = account.ErrUserDisabled
	ErrUserNotFound       = account.ErrUserNotFound
)

// InputError is a user-facing validation error naming the field.
type InputError = input.Error

// NormalizeEmail returns the canonical form of an email address (input.NormalizeEmail).
func NormalizeEmail(s string) (string, error) { return input.NormalizeEmail(s) }

// ValidateGroups checks group names (input.ValidateGroups).
func ValidateGroups(groups []string) error { return input.ValidateGroups(groups) }

// NewUser describes a user to create.
type NewUser = account.NewUser

// Invite is a created invitation; Code is shown once.
type Invite = account.Invite

// CreateUser creates a user (an administrator's action).
func (p *Provider) CreateUser(ctx context.Context, in NewUser) (store.User, error) {
	return p.Accounts.Create(ctx, in)
}

// Signup creates an account at once from the sign-up page (account.Signup.Create).
func (p *Provider) Signup(ctx context.Context, in NewUser, invite, clientIP string) (store.User, error) {
	r, err := p.Signups.Create(ctx, in, invite, clientIP)
	return r.User, err
}

// CreateInvite creates an invitation code.
func (p *Provider) CreateInvite(ctx context.Context, email string, groups []string) (Invite, error) {
	return p.Signups.CreateInvite(ctx, email, groups)
}

// GetUser returns a user by ID or by email.
func (p *Provider) GetUser(ctx context.Context, idOrEmail string) (store.User, error) {
	return p.Accounts.Get(ctx, idOrEmail)
}

// SetPassword replaces a user's password and revokes all of the user's sessions and tokens.
func (p *Provider) SetPassword(ctx context.Context, userID, pw string) error {
	return p.Accounts.SetPassword(ctx, userID, pw)
}

// SetDisabled disables or enables a user.
func (p *Provider) SetDisabled(ctx context.Context, userID string, disabled bool) (store.User, error) {
	return p.Accounts.SetDisabled(ctx, userID, disabled)
}

// SetGroups replaces a user's groups.
func (p *Provider) SetGroups(ctx context.Context, userID string, groups []string) (store.User, error) {
	return p.Accounts.SetGroups(ctx, userID, groups)
}

func (p *Provider) updateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	return p.Accounts.Update(ctx, id, fn)
}

// ListUsers pages through users ordered by ID.
func (p *Provider) ListUsers(ctx context.Context, after string, limit int) ([]store.User, error) {
	return p.Accounts.List(ctx, after, limit)
}
