package social

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Identities returns the upstream identities linked to the user.
func (m *Method) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	return m.Store.ListUserIdentities(ctx, userID)
}

// Link links an upstream identity to a user (an administrator's action; the user then logs
// in with it).
func (m *Method) Link(ctx context.Context, userID, provider, subject string) (store.Identity, error) {
	if m.Provider(provider) == nil {
		return store.Identity{}, ErrUnknown
	}
	if subject == "" || len(subject) > 255 {
		return store.Identity{}, &input.Error{Field: "subject", Message: "give the upstream user ID (1 to 255 characters)"}
	}
	if _, err := m.Accounts.Get(ctx, userID); err != nil {
		return store.Identity{}, err
	}
	if err := m.linkIdentity(ctx, provider, upstream.Identity{Subject: subject}, userID); err != nil {
		return store.Identity{}, err
	}
	return m.Store.GetIdentity(ctx, provider, subject)
}

// Remove unlinks an identity of a user (an administrator's action: no fresh login, no
// check of other ways in). An identity not linked to the user is ErrNoIdentity.
func (m *Method) Remove(ctx context.Context, userID, provider, subject string) error {
	id, err := m.Store.GetIdentity(ctx, provider, subject)
	if err != nil || id.UserID != userID {
		return ErrNoIdentity
	}
	return m.Store.DeleteIdentity(ctx, provider, subject)
}

// Unlink removes a linked identity of the session's user, unless it is the last way to log
// in (ErrLastMethod). It needs a login from the last 10 minutes (CR-19). An identity not
// linked to the user is account.ErrUserNotFound.
func (m *Method) Unlink(ctx context.Context, s store.Session, provider, subject string) error {
	if !m.Sessions.Fresh(s) {
		return ErrReauthenticate
	}
	id, err := m.Store.GetIdentity(ctx, provider, subject)
	if err != nil || id.UserID != s.UserID {
		return account.ErrUserNotFound
	}
	if err := m.hasOtherWayIn(ctx, s.UserID, provider, subject); err != nil {
		return err
	}
	return m.Store.DeleteIdentity(ctx, provider, subject)
}

// hasOtherWayIn tells whether the user can still log in without the identity: a password, a
// passkey, another identity, or a code to a verified address.
func (m *Method) hasOtherWayIn(ctx context.Context, userID, provider, subject string) error {
	if _, err := m.Store.GetPassword(ctx, userID); err == nil {
		return nil
	}
	if pks, err := m.Store.ListUserPasskeys(ctx, userID); err == nil && len(pks) > 0 {
		return nil
	}
	ids, err := m.Store.ListUserIdentities(ctx, userID)
	if err != nil {
		return fmt.Errorf("list identities: %w", err)
	}
	for _, o := range ids {
		if o.Provider != provider || o.Subject != subject {
			return nil
		}
	}
	if u, err := m.Store.GetUser(ctx, userID); err == nil && u.EmailVerified &&
		(m.Codes.MethodEnabled(otp.MethodEmailCode) || m.Codes.MethodEnabled(otp.MethodMagicLink)) {
		return nil
	}
	return ErrLastMethod
}
