package passkey_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// TestPasskeyRegistrationRacesSignOut: a passkey whose registration finishes after its
// session was ended (by a claim, a recovery or a logout elsewhere) is not kept.
func TestPasskeyRegistrationRacesSignOut(t *testing.T) {
	e := idptest.New(t)
	s := e.Session(sessions.Meta{})
	c, err := e.P.Passkey.BeginRegistration(e.Ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	resp, _, err := softauthn.New(idptest.Issuer).Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	rs := &idptest.RaceStore{Store: e.Store}
	e.Swap(rs)
	rs.BeforeCreatePasskey = func() {
		if err := e.P.Sessions.End(e.Ctx, s.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := e.P.Passkey.FinishRegistration(e.Ctx, s, c.Secret, "laptop", resp); !errors.Is(err, sessions.ErrReauthenticate) {
		t.Errorf("registration finished by an ended session: %v, want ErrReauthenticate", err)
	}
	if pks, _ := e.Store.ListUserPasskeys(e.Ctx, e.User.ID); len(pks) != 0 {
		t.Errorf("%d passkeys kept from a session that ended during registration", len(pks))
	}
}
