package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// SetPassword replaces a user's password and revokes all of the user's sessions and tokens
// (an administrator's action).
func (a *Accounts) SetPassword(ctx context.Context, userID, pw string) error {
	if err := password.Check(pw); err != nil {
		return &input.Error{Field: "password", Message: err.Error()}
	}
	if _, err := a.Get(ctx, userID); err != nil {
		return err
	}
	hash, err := a.Hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := a.Store.SetPassword(ctx, store.PasswordCredential{UserID: userID, Hash: hash, UpdatedAt: a.Now()}); err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	// The actor (an administrator) comes from ctx.
	audit.Or(a.Audit).Record(ctx, audit.Event{Type: audit.PasswordChanged, UserID: userID, Reason: "set by an administrator"})
	return a.Sessions.RevokeUser(ctx, userID)
}

// HasPassword tells whether the user has a password (the account page offers to add one
// otherwise).
func (a *Accounts) HasPassword(ctx context.Context, userID string) (bool, error) {
	_, err := a.Store.GetPassword(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read password: %w", err)
	}
	return true, nil
}

// ChangePassword sets (or, for a passkey-only account, adds) the password of the session's
// user and ends the user's other sessions and every refresh token (offline ones too). It
// needs a login from the last 10 minutes (CR-19): a recovery session is fresh.
func (a *Accounts) ChangePassword(ctx context.Context, s store.Session, pw string) error {
	if !a.Sessions.Fresh(s) {
		return sessions.ErrReauthenticate
	}
	if err := password.Check(pw); err != nil {
		return &input.Error{Field: "password", Message: err.Error()}
	}
	u, err := a.Get(ctx, s.UserID)
	if err != nil {
		return err
	}
	hash, err := a.Hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := a.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: a.Now()}); err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	// Undone by deleting, not by restoring the previous hash: in the race that matters the
	// previous password is the one a claim just removed. A session that ended for another
	// reason meanwhile leaves the account without a password; recovery sets one.
	if err := a.Sessions.KeepIfLive(ctx, s.ID, func() error { return a.Store.DeletePassword(ctx, u.ID) }); err != nil {
		return err
	}
	// A recovery code asked for before the change no longer works (CR-31).
	if err := a.RevokeRecoveryCodes(ctx, u); err != nil {
		return err
	}
	// Every other session ends with its tokens, and every refresh token of the user is
	// revoked (offline ones outlive their session); this browser session stays.
	if err := a.Sessions.SignOutEverywhere(ctx, u.ID, s.ID); err != nil {
		return err
	}
	audit.Or(a.Audit).Record(ctx, audit.Event{Type: audit.PasswordChanged, Actor: u.ID, UserID: u.ID,
		Reason: "changed by the user", Details: map[string]string{"session": s.ID}})
	if u.Email != "" {
		a.Codes.Notify(u.Email, "The password of your account was changed, and every other device was signed out.", u.Language)
	}
	return nil
}

// RevokeRecoveryCodes makes the pending recovery codes of u's address and phone number stop
// working (CR-31): a code asked for before a password change or before another recovery
// finished is refused as superseded.
func (a *Accounts) RevokeRecoveryCodes(ctx context.Context, u store.User) error {
	for _, c := range []struct{ purpose, dest string }{
		{otp.PurposeRecover + otp.ChannelEmail, u.Email}, {otp.PurposeRecover + otp.ChannelSMS, u.PhoneNumber}} {
		if c.dest == "" {
			continue
		}
		if err := a.Codes.Supersede(ctx, c.purpose, c.dest); err != nil {
			return fmt.Errorf("revoke recovery codes: %w", err)
		}
	}
	return nil
}
