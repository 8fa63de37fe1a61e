package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Claim records that a login code or link proved control of email. When that makes the
// account's address verified for the first time, the account is claimed: whoever typed the
// address at signup may not have owned it (an attacker pre-registering a victim's address
// and waiting for the victim to log in by email, "account pre-hijacking"), so every way in
// set up before the proof stops working — the password, passkeys, linked upstream
// identities, a verified phone number, all sessions and every refresh token — and the
// address is told. The owner sets a new password or passkey from the session that follows.
// Nothing changes when the address was already verified.
func (a *Accounts) Claim(ctx context.Context, u store.User, email string) (store.User, error) {
	if u.EmailVerified || u.Email != email {
		return u, nil
	}
	// Sessions end first, then the ways in go: a credential that a session adds meanwhile is
	// either removed below or, written after its session ended, rolled back by
	// sessions.KeepIfLive. If this fails half way, the address stays unverified and the next
	// login by code or link does it all again.
	if err := a.Sessions.SignOutEverywhere(ctx, u.ID, ""); err != nil {
		return store.User{}, fmt.Errorf("claim account: %w", err)
	}
	removed := false
	if _, err := a.Store.GetPassword(ctx, u.ID); err == nil {
		removed = true
		if err := a.Store.DeletePassword(ctx, u.ID); err != nil {
			return store.User{}, fmt.Errorf("claim account: delete password: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("claim account: read password: %w", err)
	}
	pks, err := a.Store.ListUserPasskeys(ctx, u.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("claim account: list passkeys: %w", err)
	}
	for _, pk := range pks {
		removed = true
		if err := a.Store.DeletePasskey(ctx, pk.ID); err != nil {
			return store.User{}, fmt.Errorf("claim account: delete passkey: %w", err)
		}
	}
	ids, err := a.Store.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("claim account: list identities: %w", err)
	}
	for _, id := range ids {
		removed = true
		if err := a.Store.DeleteIdentity(ctx, id.Provider, id.Subject); err != nil {
			return store.User{}, fmt.Errorf("claim account: unlink identity: %w", err)
		}
	}
	if u.PhoneNumberVerified {
		removed = true
	}
	nu, err := a.Update(ctx, u.ID, func(x store.User) (store.User, error) {
		if x.Email == email {
			x.EmailVerified, x.PhoneNumberVerified = true, false
		}
		return x, nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("claim account: %w", err)
	}
	if removed {
		a.logger().Info("account claimed by its email address: earlier sign-in methods removed", "user", u.ID)
		a.Codes.Notify(email, "Your email address was confirmed for the first time. Sign-in methods set up before that "+
			"(password, passkeys, linked accounts, phone number) were removed and every device was signed out, "+
			"in case someone else created the account with your address. Set a new password or passkey on your account page.", nu.Language)
	}
	return nu, nil
}
