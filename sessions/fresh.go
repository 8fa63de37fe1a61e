package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// FreshLogin is how recent a session's login must be for a sensitive change (CR-19): a
// password change, adding or removing a passkey, linking or unlinking an upstream identity,
// changing the email address or phone number.
const FreshLogin = 10 * time.Minute

// ErrReauthenticate: the change needs a login from the last FreshLogin.
var ErrReauthenticate = errors.New("log in again to change your passkeys (sensitive changes need a login from the last 10 minutes)")

// Fresh reports whether the login of session s, at now, is recent enough for a sensitive
// change. It is the one place the rule is written.
func Fresh(s store.Session, now time.Time) bool { return now.Sub(s.AuthTime) <= FreshLogin }

// Fresh reports whether the login of session s is recent enough for a sensitive change now.
func (m *Manager) Fresh(s store.Session) bool { return Fresh(s, m.Now()) }

// KeepIfLive is called after a session added a way into its account (a password, a
// passkey, a linked identity). If the session ended meanwhile — a recovery or the first
// proof of the address signed everyone out (account claim) between the session check and the
// write — the write is undone and the change refused: an attacker's session racing the
// owner's recovery must not leave a credential behind.
func (m *Manager) KeepIfLive(ctx context.Context, sessionID string, undo func() error) error {
	_, err := m.Store.GetSession(ctx, sessionID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("read session: %w", err)
	} else {
		err = ErrReauthenticate
	}
	if uerr := undo(); uerr != nil {
		return fmt.Errorf("undo a change of an ended session: %w", uerr)
	}
	return err
}
