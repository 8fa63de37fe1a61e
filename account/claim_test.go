package account_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Tests of the fixes from the review of the email/SMS and social methods: account
// pre-hijacking, sign-out on password change and recovery, uniform answers when a message
// cannot be sent or an address is taken, and upstream endpoints.

// otPreHijack makes alice's account look pre-registered by someone else: her address is
// not verified, and the account has a password, a passkey, a linked identity, a verified
// phone number, a session, and an offline refresh token whose session already ended.
func otPreHijack(t *testing.T, e *idptest.Env) (sess store.Session, refresh string) {
	t.Helper()
	if _, err := e.Store.UpdateUser(e.Ctx, e.User.ID, func(u store.User) (store.User, error) {
		u.EmailVerified, u.PhoneNumber, u.PhoneNumberVerified = false, "+14155550100", true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreatePasskey(e.Ctx, store.Passkey{ID: "pk-attacker", UserID: e.User.ID, Credential: json.RawMessage(`{}`),
		Name: "attacker", CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateIdentity(e.Ctx, store.Identity{Provider: "corp", Subject: "attacker", UserID: e.User.ID,
		CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	resp, s := e.Tokens("openid", "offline_access")
	if err := e.Store.DeleteSession(e.Ctx, s.ID); err != nil { // the session expired
		t.Fatal(err)
	}
	return e.Session(sessions.Meta{}), resp.RefreshToken
}

// TestOTPClaimAccount: the first login by email code, magic link or recovery code that
// proves control of an unverified address removes every way in set up before it (the
// account may have been pre-registered by someone else with the victim's address), and
// tells the address. Later logins change nothing.
func TestOTPClaimAccount(t *testing.T) {
	for _, method := range []string{"code", "link", "recovery"} {
		t.Run(method, func(t *testing.T) {
			e, m := idptest.NewWithMessenger(t)
			sess, refresh := otPreHijack(t, e)
			login := func() store.User {
				t.Helper()
				var r login.Result
				var err error
				switch method {
				case "code":
					flow, code := e.LoginCode(m, idptest.Alice, "192.0.2.1")
					r, err = e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.1")
				case "link":
					nonce, serr := e.P.MagicLink.Begin(e.Ctx, idptest.Alice, "", "en", "192.0.2.1")
					if serr != nil {
						t.Fatal(serr)
					}
					link := m.Last(t, idptest.Alice, otp.MsgMagicLink).Vars.Link
					_, tok, _ := strings.Cut(link, "#")
					r, err = e.P.MagicLink.Finish(e.Ctx, tok, nonce, false)
				case "recovery":
					flow, serr := e.P.Recovery.Begin(e.Ctx, idptest.Alice, "en", "192.0.2.1")
					if serr != nil {
						t.Fatal(serr)
					}
					r, err = e.P.Recovery.Finish(e.Ctx, flow, m.Last(t, idptest.Alice, otp.MsgRecovery).Vars.Code, "192.0.2.1")
				}
				if err != nil {
					t.Fatalf("login by %s: %v", method, err)
				}
				return r.User
			}
			u := login()
			if !u.EmailVerified || u.PhoneNumberVerified {
				t.Errorf("after the first proof: email verified %v, phone verified %v; want true, false", u.EmailVerified, u.PhoneNumberVerified)
			}
			if _, err := e.Store.GetPassword(e.Ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the password set before the address was proven still exists (%v)", err)
			}
			if pks, _ := e.Store.ListUserPasskeys(e.Ctx, u.ID); len(pks) != 0 {
				t.Errorf("passkeys set before the address was proven: %d", len(pks))
			}
			if ids, _ := e.Store.ListUserIdentities(e.Ctx, u.ID); len(ids) != 0 {
				t.Errorf("identities linked before the address was proven: %v", ids)
			}
			if _, err := e.Store.GetSession(e.Ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a session from before the proof survived (%v)", err)
			}
			if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: refresh}); oerr == nil {
				t.Error("an offline refresh token from before the proof still works")
			}
			told := false
			for _, msg := range m.Messages() {
				told = told || (msg.To == idptest.Alice && msg.Kind == otp.MsgAccountChanged && strings.Contains(msg.Vars.Notice, "removed"))
			}
			if !told {
				t.Error("the address was not told that earlier sign-in methods were removed")
			}

			// Now verified: a new password survives the next login by email.
			_, s2, err := e.P.Sessions.Start(e.Ctx, u, []string{"eotp"}, sessions.Meta{})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.P.Accounts.ChangePassword(e.Ctx, s2, "a brand new passphrase"); err != nil {
				t.Fatal(err)
			}
			if method == "recovery" {
				return // recovery removes the password by design (TestOTPRecoveryRemovesPassword)
			}
			login()
			if _, err := e.Store.GetPassword(e.Ctx, u.ID); err != nil {
				t.Errorf("a login by email on a verified address removed the password: %v", err)
			}
		})
	}
}

// TestOTPPasswordChangeRevokesOfflineTokens: changing the password revokes refresh tokens
// that outlived their session (offline_access), not only the other sessions.
func TestOTPPasswordChangeRevokesOfflineTokens(t *testing.T) {
	e, _ := idptest.NewWithMessenger(t)
	resp, s := e.Tokens("openid", "offline_access")
	if err := e.Store.DeleteSession(e.Ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	next, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: resp.RefreshToken})
	if oerr != nil {
		t.Fatalf("offline refresh after the session ended: %v", oerr)
	}
	cur := e.Session(sessions.Meta{})
	if err := e.P.Accounts.ChangePassword(e.Ctx, cur, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: next.RefreshToken}); oerr == nil {
		t.Error("an offline refresh token still works after the password changed")
	}
	if _, err := e.Store.GetSession(e.Ctx, cur.ID); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
}

// TestOTPClaimRacesPasswordChange: an attacker's session sets a password while the owner's
// first login by email code claims the account (it ends the session after ChangePassword
// checked it, before the write). The password written by the ended session is rolled back,
// and the change is refused.
func TestOTPClaimRacesPasswordChange(t *testing.T) {
	e, m := idptest.NewWithMessenger(t)
	otPreHijack(t, e)
	attacker := e.Session(sessions.Meta{})
	rs := &idptest.RaceStore{Store: e.Store}
	e.Swap(rs)
	rs.BeforeSetPassword = func() {
		rs.BeforeSetPassword = nil
		flow, code := e.LoginCode(m, idptest.Alice, "192.0.2.1")
		if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.1"); err != nil {
			t.Errorf("the owner's login during the change: %v", err)
		}
	}
	if err := e.P.Accounts.ChangePassword(e.Ctx, attacker, "the attacker's new password"); !errors.Is(err, sessions.ErrReauthenticate) {
		t.Errorf("password change by a session ended meanwhile: %v, want ErrReauthenticate", err)
	}
	if _, err := e.Store.GetPassword(e.Ctx, e.User.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the password written by the ended session survived (%v)", err)
	}
}
