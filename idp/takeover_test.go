package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Tests of the fixes from the review of the email/SMS and social methods: account
// pre-hijacking, sign-out on password change and recovery, uniform answers when a message
// cannot be sent or an address is taken, and upstream endpoints.

// otPreHijack makes alice's account look pre-registered by someone else: her address is
// not verified, and the account has a password, a passkey, a linked identity, a verified
// phone number, a session, and an offline refresh token whose session already ended.
func otPreHijack(t *testing.T, e *env) (sess store.Session, refresh string) {
	t.Helper()
	if _, err := e.store.UpdateUser(e.ctx, e.user.ID, func(u store.User) (store.User, error) {
		u.EmailVerified, u.PhoneNumber, u.PhoneNumberVerified = false, "+14155550100", true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreatePasskey(e.ctx, store.Passkey{ID: "pk-attacker", UserID: e.user.ID, Credential: json.RawMessage(`{}`),
		Name: "attacker", CreatedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateIdentity(e.ctx, store.Identity{Provider: "corp", Subject: "attacker", UserID: e.user.ID,
		CreatedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	resp, s := e.tokens("openid", "offline_access")
	if err := e.store.DeleteSession(e.ctx, s.ID); err != nil { // the session expired
		t.Fatal(err)
	}
	return e.session(idp.SessionMeta{}), resp.RefreshToken
}

// TestOTPClaimAccount: the first login by email code, magic link or recovery code that
// proves control of an unverified address removes every way in set up before it (the
// account may have been pre-registered by someone else with the victim's address), and
// tells the address. Later logins change nothing.
func TestOTPClaimAccount(t *testing.T) {
	for _, method := range []string{"code", "link", "recovery"} {
		t.Run(method, func(t *testing.T) {
			e, m := otEnv(t)
			sess, refresh := otPreHijack(t, e)
			login := func() store.User {
				t.Helper()
				var u store.User
				var err error
				switch method {
				case "code":
					flow, code := otLoginCode(t, e, m, otAlice, "192.0.2.1")
					u, _, err = e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.1")
				case "link":
					nonce, serr := e.p.StartMagicLink(e.ctx, otAlice, "", "en", "192.0.2.1")
					if serr != nil {
						t.Fatal(serr)
					}
					link := m.last(t, otAlice, idp.MsgMagicLink).Vars.Link
					_, tok, _ := strings.Cut(link, "#")
					u, _, err = e.p.RedeemMagicLink(e.ctx, tok, nonce, false)
				case "recovery":
					flow, serr := e.p.StartRecovery(e.ctx, otAlice, "en", "192.0.2.1")
					if serr != nil {
						t.Fatal(serr)
					}
					u, _, err = e.p.FinishRecovery(e.ctx, flow, m.last(t, otAlice, idp.MsgRecovery).Vars.Code, "192.0.2.1")
				}
				if err != nil {
					t.Fatalf("login by %s: %v", method, err)
				}
				return u
			}
			u := login()
			if !u.EmailVerified || u.PhoneNumberVerified {
				t.Errorf("after the first proof: email verified %v, phone verified %v; want true, false", u.EmailVerified, u.PhoneNumberVerified)
			}
			if _, err := e.store.GetPassword(e.ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the password set before the address was proven still exists (%v)", err)
			}
			if pks, _ := e.store.ListUserPasskeys(e.ctx, u.ID); len(pks) != 0 {
				t.Errorf("passkeys set before the address was proven: %d", len(pks))
			}
			if ids, _ := e.store.ListUserIdentities(e.ctx, u.ID); len(ids) != 0 {
				t.Errorf("identities linked before the address was proven: %v", ids)
			}
			if _, err := e.store.GetSession(e.ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a session from before the proof survived (%v)", err)
			}
			if _, oerr := e.p.RefreshGrant(e.ctx, e.web, refresh, ""); oerr == nil {
				t.Error("an offline refresh token from before the proof still works")
			}
			told := false
			m.mu.Lock()
			for _, msg := range m.msgs {
				told = told || (msg.To == otAlice && msg.Kind == idp.MsgAccountChanged && strings.Contains(msg.Vars.Notice, "removed"))
			}
			m.mu.Unlock()
			if !told {
				t.Error("the address was not told that earlier sign-in methods were removed")
			}

			// Now verified: a new password survives the next login by email.
			_, s2, err := e.p.StartSession(e.ctx, u, []string{"eotp"}, idp.SessionMeta{})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.p.ChangePassword(e.ctx, s2, "a brand new passphrase"); err != nil {
				t.Fatal(err)
			}
			if method == "recovery" {
				return // recovery removes the password by design (TestOTPRecoveryRemovesPassword)
			}
			login()
			if _, err := e.store.GetPassword(e.ctx, u.ID); err != nil {
				t.Errorf("a login by email on a verified address removed the password: %v", err)
			}
		})
	}
}

// TestOTPPasswordChangeRevokesOfflineTokens: changing the password revokes refresh tokens
// that outlived their session (offline_access), not only the other sessions.
func TestOTPPasswordChangeRevokesOfflineTokens(t *testing.T) {
	e, _ := otEnv(t)
	resp, s := e.tokens("openid", "offline_access")
	if err := e.store.DeleteSession(e.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	next, oerr := e.p.RefreshGrant(e.ctx, e.web, resp.RefreshToken, "")
	if oerr != nil {
		t.Fatalf("offline refresh after the session ended: %v", oerr)
	}
	cur := e.session(idp.SessionMeta{})
	if err := e.p.ChangePassword(e.ctx, cur, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, oerr := e.p.RefreshGrant(e.ctx, e.web, next.RefreshToken, ""); oerr == nil {
		t.Error("an offline refresh token still works after the password changed")
	}
	if _, err := e.store.GetSession(e.ctx, cur.ID); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
}

// TestOTPRecoveryRemovesPassword: after a recovery code is used, the old password no longer
// logs in, even before a new one is set.
func TestOTPRecoveryRemovesPassword(t *testing.T) {
	e, m := otEnv(t)
	flow, err := e.p.StartRecovery(e.ctx, otAlice, "en", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.p.FinishRecovery(e.ctx, flow, m.last(t, otAlice, idp.MsgRecovery).Vars.Code, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.GetPassword(e.ctx, e.user.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old password survived recovery (%v)", err)
	}
}

// failingMessenger cannot send anything.
type failingMessenger struct{}

func (failingMessenger) SendEmail(kind, to string, v idp.MessageVars) error {
	return errors.New("queue full")
}
func (failingMessenger) SendSMS(kind, to string, v idp.MessageVars) error {
	return errors.New("queue full")
}

// TestOTPSendFailureLooksLikeUnknown: when a message cannot be sent, the answer for an
// existing account is the one an unknown address gets (CR-06), not an error that tells
// which addresses have accounts.
func TestOTPSendFailureLooksLikeUnknown(t *testing.T) {
	e, _ := otEnv(t, func(c *idp.Config) { c.Messenger = failingMessenger{} })
	for _, email := range []string{otAlice, "nobody@example.com"} {
		if flow, err := e.p.StartEmailCodeLogin(e.ctx, email, "en", "192.0.2.1"); err != nil || flow == "" {
			t.Errorf("email code for %s: flow %q, error %v", email, flow, err)
		}
		if nonce, err := e.p.StartMagicLink(e.ctx, email, "", "en", "192.0.2.1"); err != nil || nonce == "" {
			t.Errorf("magic link for %s: nonce %q, error %v", email, nonce, err)
		}
		if flow, err := e.p.StartRecovery(e.ctx, email, "en", "192.0.2.1"); err != nil || flow == "" {
			t.Errorf("recovery for %s: flow %q, error %v", email, flow, err)
		}
	}
}

// TestOTPVerifyTakenAddress: asking to verify an address or number another account has
// answers like any other (a code is sent there); only who reads the code learns, when
// entering it, that it is taken.
func TestOTPVerifyTakenAddress(t *testing.T) {
	e, m := otEnv(t)
	bob, err := e.p.CreateUser(e.ctx, idp.NewUser{Email: "bob@example.com", Password: userPassword, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateUser(e.ctx, e.user.ID, func(u store.User) (store.User, error) {
		u.PhoneNumber, u.PhoneNumberVerified = "+14155550100", true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	flow, err := e.p.StartEmailVerification(e.ctx, bob, otAlice, "en", "192.0.2.9")
	if err != nil {
		t.Fatalf("start verifying a taken address: %v (want the usual answer)", err)
	}
	code := m.last(t, otAlice, idp.MsgVerifyEmail).Vars.Code
	if _, err := e.p.FinishEmailVerification(e.ctx, bob, flow, code, "192.0.2.9"); !errors.Is(err, idp.ErrEmailTaken) {
		t.Errorf("finish verifying a taken address: %v, want ErrEmailTaken", err)
	}
	flow, err = e.p.StartPhoneVerification(e.ctx, bob, "+14155550100", "en", "192.0.2.9")
	if err != nil {
		t.Fatalf("start verifying a taken number: %v (want the usual answer)", err)
	}
	code = m.last(t, "+14155550100", idp.MsgVerifyPhone).Vars.Code
	if _, err := e.p.FinishPhoneVerification(e.ctx, bob, flow, code, "192.0.2.9"); !errors.Is(err, idp.ErrPhoneTaken) {
		t.Errorf("finish verifying a taken number: %v, want ErrPhoneTaken", err)
	}
	// A free number is set, and the account's address is told.
	flow, _ = e.p.StartPhoneVerification(e.ctx, bob, "+14155550199", "en", "192.0.2.9")
	code = m.last(t, "+14155550199", idp.MsgVerifyPhone).Vars.Code
	nb, err := e.p.FinishPhoneVerification(e.ctx, bob, flow, code, "192.0.2.9")
	if err != nil || nb.PhoneNumber != "+14155550199" || !nb.PhoneNumberVerified {
		t.Fatalf("verify a free number: %+v, %v", nb, err)
	}
	if n := m.last(t, "bob@example.com", idp.MsgAccountChanged).Vars.Notice; !strings.Contains(n, "+14155550199") {
		t.Errorf("phone change notice %q", n)
	}
}

// TestSocialUpstreamEndpoints: a discovery document naming a plain-http endpoint on another
// host, or a discovery URL redirecting to another server, is refused before any secret or
// code is sent.
func TestSocialUpstreamEndpoints(t *testing.T) {
	var good *httptest.Server
	doc := func(w http.ResponseWriter, iss, token string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"jwks_uri":%q,"id_token_signing_alg_values_supported":["RS256"]}`,
			iss, iss+"/auth", token, iss+"/jwks")
	}
	good = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc(w, good.URL, good.URL+"/token")
	}))
	defer good.Close()
	var plain, redirecting *httptest.Server
	plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc(w, plain.URL, "http://token.example.net/token")
	}))
	defer plain.Close()
	// elsewhere answers for the redirecting issuer: a discovery that followed the redirect
	// would succeed.
	var elsewhere *httptest.Server
	redirecting = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()
	elsewhere = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc(w, redirecting.URL, redirecting.URL+"/token")
	}))
	defer elsewhere.Close()

	sp := func(name, iss string) *idp.SocialProvider {
		return &idp.SocialProvider{Name: name, Kind: idp.SocialOIDC, Issuer: iss, ClientID: "c", ClientSecret: "s"}
	}
	e := newEnv(t, func(c *idp.Config) {
		c.SocialProviders = []*idp.SocialProvider{sp("good", good.URL), sp("plain", plain.URL), sp("redirecting", redirecting.URL)}
	})
	if _, err := e.p.BeginSocial(e.ctx, "good", "", ""); err != nil {
		t.Fatalf("a well-formed upstream: %v", err)
	}
	for _, name := range []string{"plain", "redirecting"} {
		if _, err := e.p.BeginSocial(e.ctx, name, "", ""); !errors.Is(err, idp.ErrSocialFailed) {
			t.Errorf("%s upstream: %v, want ErrSocialFailed", name, err)
		}
	}
}

// TestSocialStateCannotConsumeOtherRecords: a callback whose state is the secret of another
// one-time record (here an email-code flow, whose record is keyed by the secret's hash) is
// refused and leaves that record alone.
func TestSocialStateCannotConsumeOtherRecords(t *testing.T) {
	e, m := otEnv(t, func(c *idp.Config) {
		c.SocialProviders = []*idp.SocialProvider{{Name: "corp", Kind: idp.SocialOIDC, Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s"}}
	})
	flow, code := otLoginCode(t, e, m, otAlice, "192.0.2.1")
	if _, err := e.p.FinishSocial(e.ctx, "corp", flow, flow, "x", "", "", store.Session{}); !errors.Is(err, idp.ErrSocialState) {
		t.Fatalf("callback with a code flow's secret as state: %v, want ErrSocialState", err)
	}
	if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.1"); err != nil {
		t.Errorf("the code flow after the forged callback: %v", err)
	}
}

// raceStore runs its hooks just before a password or passkey is written: the moment a
// concurrent claim or recovery could end the writer's session.
type raceStore struct {
	store.Store
	beforeSetPassword, beforeCreatePasskey func()
}

func (r *raceStore) CreatePasskey(ctx context.Context, pk store.Passkey) error {
	if r.beforeCreatePasskey != nil {
		r.beforeCreatePasskey()
	}
	return r.Store.CreatePasskey(ctx, pk)
}

func (r *raceStore) SetPassword(ctx context.Context, c store.PasswordCredential) error {
	if r.beforeSetPassword != nil {
		r.beforeSetPassword()
	}
	return r.Store.SetPassword(ctx, c)
}

// TestOTPClaimRacesPasswordChange: an attacker's session sets a password while the owner's
// first login by email code claims the account (it ends the session after ChangePassword
// checked it, before the write). The password written by the ended session is rolled back,
// and the change is refused.
func TestOTPClaimRacesPasswordChange(t *testing.T) {
	e, m := otEnv(t)
	otPreHijack(t, e)
	attacker := e.session(idp.SessionMeta{})
	rs := &raceStore{Store: e.store}
	e.swap(rs)
	rs.beforeSetPassword = func() {
		rs.beforeSetPassword = nil
		flow, code := otLoginCode(t, e, m, otAlice, "192.0.2.1")
		if _, _, err := e.p.FinishCodeLogin(e.ctx, flow, code, "192.0.2.1"); err != nil {
			t.Errorf("the owner's login during the change: %v", err)
		}
	}
	if err := e.p.ChangePassword(e.ctx, attacker, "the attacker's new password"); !errors.Is(err, idp.ErrReauthenticate) {
		t.Errorf("password change by a session ended meanwhile: %v, want ErrReauthenticate", err)
	}
	if _, err := e.store.GetPassword(e.ctx, e.user.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the password written by the ended session survived (%v)", err)
	}
}

// TestPasskeyRegistrationRacesSignOut: a passkey whose registration finishes after its
// session was ended (by a claim, a recovery or a logout elsewhere) is not kept.
func TestPasskeyRegistrationRacesSignOut(t *testing.T) {
	e := newEnv(t)
	s := e.session(idp.SessionMeta{})
	c, err := e.p.BeginPasskeyRegistration(e.ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	resp, _, err := softauthn.New(issuer).Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	rs := &raceStore{Store: e.store}
	e.swap(rs)
	rs.beforeCreatePasskey = func() {
		if err := e.p.EndSession(e.ctx, s.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := e.p.FinishPasskeyRegistration(e.ctx, s, c.Secret, "laptop", resp); !errors.Is(err, idp.ErrReauthenticate) {
		t.Errorf("registration finished by an ended session: %v, want ErrReauthenticate", err)
	}
	if pks, _ := e.store.ListUserPasskeys(e.ctx, e.user.ID); len(pks) != 0 {
		t.Errorf("%d passkeys kept from a session that ended during registration", len(pks))
	}
}
