package passkey

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// BeginRegistration starts adding a passkey to the session's user (a login from the last 10
// minutes is required: CR-19).
func (m *Method) BeginRegistration(ctx context.Context, s store.Session) (*Ceremony, error) {
	if m.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	if !m.Sessions.Fresh(s) {
		return nil, sessions.ErrReauthenticate
	}
	u, err := m.Store.GetUser(ctx, s.UserID)
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if u.WebAuthnID == "" {
		handle := newUserHandle()
		if u, err = m.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
			if u.WebAuthnID == "" {
				u.WebAuthnID = handle
			}
			return u, nil
		}); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
	}
	w, err := m.loadUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(w.keys) >= 20 {
		return nil, &input.Error{Field: "credential", Message: "at most 20 passkeys per account"}
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := m.WebAuthn.BeginRegistration(w, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	sec, err := m.saveCeremony(ctx, ceremonyRegister, u.ID, sd, map[string]string{"session": s.ID})
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: creation}, nil
}

// FinishRegistration verifies and stores the new passkey of the session's user. A passkey
// whose session ended meanwhile is removed again (sessions.ErrReauthenticate).
func (m *Method) FinishRegistration(ctx context.Context, s store.Session, sec, name string, response []byte) (store.Passkey, error) {
	if m.WebAuthn == nil {
		return store.Passkey{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.Passkey{}, err
	}
	rec, sd, err := m.takeCeremony(ctx, ceremonyRegister, sec)
	if err != nil {
		return store.Passkey{}, err
	}
	if rec.Subject != s.UserID || rec.Data["session"] != s.ID {
		return store.Passkey{}, ErrCeremonyExpired // a ceremony of another session (CR-22)
	}
	u, err := m.Store.GetUser(ctx, s.UserID)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("read user: %w", err)
	}
	w, err := m.loadUser(ctx, u)
	if err != nil {
		return store.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Passkey{}, ErrPasskeyMalformed
	}
	if err := checkCredentialKey(parsed, sd.CredParams); err != nil {
		return store.Passkey{}, err
	}
	cred, err := m.WebAuthn.CreateCredential(w, sd, parsed)
	if err != nil {
		m.logger().Info("passkey registration refused", "user", u.ID, "error", err)
		return store.Passkey{}, ErrPasskeyFailed
	}
	pk, err := m.storePasskey(ctx, u, cred, name)
	if err != nil {
		return store.Passkey{}, err
	}
	if err := m.Sessions.KeepIfLive(ctx, s.ID, func() error { return m.Store.DeletePasskey(ctx, pk.ID) }); err != nil {
		// The session ended meanwhile: the passkey is gone again.
		audit.Or(m.Audit).Record(ctx, audit.Event{Type: audit.PasskeyRemoved, Actor: s.UserID, UserID: s.UserID,
			Reason: "session ended during registration", Details: map[string]string{"passkey": pk.ID}})
		return store.Passkey{}, err
	}
	return pk, nil
}

// List lists a user's passkeys.
func (m *Method) List(ctx context.Context, userID string) ([]store.Passkey, error) {
	keys, err := m.Store.ListUserPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return keys, nil
}

// Rename renames one of the user's passkeys.
func (m *Method) Rename(ctx context.Context, userID, id, name string) (store.Passkey, error) {
	name, err := passkeyName(name, nil)
	if err != nil {
		return store.Passkey{}, err
	}
	pk, err := m.Store.UpdatePasskey(ctx, id, func(pk store.Passkey) (store.Passkey, error) {
		if pk.UserID != userID {
			return pk, store.ErrNotFound
		}
		pk.Name = name
		return pk, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Passkey{}, &input.Error{Field: "id", Message: "no such passkey"}
	}
	return pk, err
}

// Remove deletes one passkey of a user: an administrator's action (the Administration API),
// so no fresh login of the user is asked and the last way in may go. A passkey that is not
// the user's is store.ErrNotFound.
func (m *Method) Remove(ctx context.Context, userID, id string) error {
	pk, err := m.Store.GetPasskey(ctx, id)
	if err == nil && pk.UserID != userID {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read passkey: %w", err)
	}
	if err := m.Store.DeletePasskey(ctx, id); err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	return nil
}

// Delete removes one of the session user's passkeys: it needs a login from the last 10
// minutes (CR-19), and the last way to log in cannot be removed.
func (m *Method) Delete(ctx context.Context, s store.Session, id string) error {
	if !m.Sessions.Fresh(s) {
		return sessions.ErrReauthenticate
	}
	pk, err := m.Store.GetPasskey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && pk.UserID != s.UserID) {
		return &input.Error{Field: "id", Message: "no such passkey"}
	} else if err != nil {
		return fmt.Errorf("read passkey: %w", err)
	}
	keys, err := m.Store.ListUserPasskeys(ctx, s.UserID)
	if err != nil {
		return fmt.Errorf("list passkeys: %w", err)
	}
	if len(keys) <= 1 {
		if _, err := m.Store.GetPassword(ctx, s.UserID); errors.Is(err, store.ErrNotFound) {
			return ErrLastCredential
		} else if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
	}
	if err := m.Store.DeletePasskey(ctx, id); err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	audit.Or(m.Audit).Record(ctx, audit.Event{Type: audit.PasskeyRemoved, Actor: s.UserID, UserID: s.UserID,
		Details: map[string]string{"passkey": id}})
	return nil
}
