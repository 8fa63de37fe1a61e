package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

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
func (s *Signup) CreateInvite(ctx context.Context, email string, groups []string) (Invite, error) {
	if email != "" {
		var err error
		if email, err = input.NormalizeEmail(email); err != nil {
			return Invite{}, err
		}
	}
	if err := input.ValidateGroups(groups); err != nil {
		return Invite{}, err
	}
	code := secret.Token()
	now := s.Now()
	rec := store.OneTimeCode{ID: secret.Hash(code), Purpose: purposeInvite, Subject: email,
		Data: map[string]string{"groups": strings.Join(groups, ",")}, CreatedAt: now,
		ExpiresAt: now.Add(s.InviteLifetime)}
	if err := s.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return Invite{}, fmt.Errorf("store invitation: %w", err)
	}
	return Invite{Code: code, Email: email, Groups: groups, ExpiresAt: rec.ExpiresAt}, nil
}

// ConsumeInvite uses the invitation code for email, once. Its groups (InviteGroups) become
// the new account's; RestoreInvite gives it back when the account cannot be created.
func (s *Signup) ConsumeInvite(ctx context.Context, code, email string) (store.OneTimeCode, error) {
	if len(code) > 128 {
		return store.OneTimeCode{}, ErrInviteInvalid
	}
	return s.useInvite(ctx, secret.Hash(code), email)
}

// RestoreInvite gives back an invitation ConsumeInvite used for an account that could not be
// created.
func (s *Signup) RestoreInvite(ctx context.Context, inv store.OneTimeCode) {
	_ = s.Store.CreateOneTimeCode(ctx, inv)
}

// InviteGroups returns the groups an invitation gives.
func InviteGroups(inv store.OneTimeCode) []string {
	if inv.Data["groups"] == "" {
		return nil
	}
	return strings.Split(inv.Data["groups"], ",")
}

// checkInvite checks the invitation code of a sign-up in invite mode and returns its store
// ID, to be used at Finish ("" in the other modes).
func (s *Signup) checkInvite(ctx context.Context, code, email string) (string, error) {
	if s.mode() != SignupInvite {
		return "", nil
	}
	if code == "" {
		return "", ErrInviteRequired
	}
	if len(code) > 128 {
		return "", ErrInviteInvalid
	}
	rec, err := s.findInvite(ctx, secret.Hash(code), email)
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// findInvite returns the usable invitation stored under id (the hash of its code) for
// email, without using it.
func (s *Signup) findInvite(ctx context.Context, id, email string) (store.OneTimeCode, error) {
	rec, err := s.Store.GetOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrInviteInvalid
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("read invitation: %w", err)
	}
	if rec.Purpose != purposeInvite || !s.Now().Before(rec.ExpiresAt) || (rec.Subject != "" && rec.Subject != email) {
		return store.OneTimeCode{}, ErrInviteInvalid
	}
	return rec, nil
}

// useInvite consumes the invitation stored under id for email, once.
func (s *Signup) useInvite(ctx context.Context, id, email string) (store.OneTimeCode, error) {
	if _, err := s.findInvite(ctx, id, email); err != nil {
		return store.OneTimeCode{}, err
	}
	rec, err := s.Store.ConsumeOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrInviteInvalid
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("use invitation: %w", err)
	}
	return rec, nil
}
