package audit_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// Issue 18, "Audit trail": "every admin write and every security event — login success and
// failure (with method and reason), lockout, MFA challenge, recovery, password change,
// passkey added/removed, token issued/refreshed/revoked, reuse detected, session ended, user
// disabled — is one structured event [...] kept in the store [...]. Events never contain a
// secret, a code, a token or a password." Each test below runs the action on a provider
// built as the app builds it, on a real (memory) store with the Trail as its recorder, and
// finds the event in the store.

const clientIP = "198.51.100.7"

type env struct {
	*idptest.Env
	m *idptest.Messenger
	s store.Store
	// secrets are every secret value the test used or received; no event may hold one.
	secrets []string
}

func newEnv(t *testing.T) *env {
	s := memory.New()
	m := &idptest.Messenger{}
	e := idptest.NewOn(t, s, nil, func(c *idp.Config) {
		c.Audit = &audit.Trail{Store: s, Retain: audit.DefaultRetain}
		c.Methods = []string{otp.MethodEmailCode, otp.MethodMagicLink, otp.MethodSMSCode}
		c.Messenger, c.EmailEnabled, c.SMSEnabled = m, true, true
	})
	e.Ctx = audit.WithIP(e.Ctx, clientIP)
	return &env{Env: e, m: m, s: s, secrets: []string{idptest.UserPassword, idptest.WebSecret}}
}

// events returns the stored events of type typ, checking that none holds a secret.
func (e *env) events(t *testing.T, typ string) []store.AuditEvent {
	t.Helper()
	all, err := e.s.ListAuditEvents(e.Ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEvent
	for _, ev := range all {
		raw, _ := json.Marshal(ev)
		for _, sec := range e.secrets {
			if sec != "" && strings.Contains(string(raw), sec) {
				t.Errorf("event %s holds a secret %q: %s", ev.Type, sec, raw)
			}
		}
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// one returns the only event of type typ (fatal if there is not exactly one).
func (e *env) one(t *testing.T, typ string) store.AuditEvent {
	t.Helper()
	evs := e.events(t, typ)
	if len(evs) != 1 {
		t.Fatalf("%d %s events, want 1: %+v", len(evs), typ, evs)
	}
	ev := evs[0]
	if ev.ID == "" || ev.Time.IsZero() || ev.ExpiresAt.Sub(ev.Time) != audit.DefaultRetain {
		t.Errorf("%s: id %q, time %v, expiry %v: want an ID and the retention", typ, ev.ID, ev.Time, ev.ExpiresAt)
	}
	return ev
}

func TestLoginSucceeded(t *testing.T) {
	e := newEnv(t)
	if _, err := e.P.Password.Login(e.Ctx, idptest.Alice, idptest.UserPassword, clientIP); err != nil {
		t.Fatal(err)
	}
	ev := e.one(t, audit.LoginSucceeded)
	if ev.UserID != e.User.ID || ev.Actor != e.User.ID || ev.Method != "password" || ev.IP != clientIP || ev.Details["amr"] != "pwd" {
		t.Errorf("login event %+v", ev)
	}
}

func TestLoginFailedWithMethodAndReason(t *testing.T) {
	e := newEnv(t)
	e.secrets = append(e.secrets, "wrong horse battery")
	if _, err := e.P.Password.Login(e.Ctx, idptest.Alice, "wrong horse battery", clientIP); err == nil {
		t.Fatal("a wrong password logged in")
	}
	// The address typed is not recorded (a password typed into it would be).
	e.secrets = append(e.secrets, "nobody@example.com")
	if _, err := e.P.Password.Login(e.Ctx, "nobody@example.com", "wrong horse battery", clientIP); err == nil {
		t.Fatal("an unknown address logged in")
	}
	evs := e.events(t, audit.LoginFailed)
	if len(evs) != 2 {
		t.Fatalf("%d failure events, want 2", len(evs))
	}
	if evs[0].UserID != e.User.ID || evs[0].Method != "password" || evs[0].Reason != "the email or password is incorrect" || evs[0].Actor != "" {
		t.Errorf("wrong password: %+v", evs[0])
	}
	if evs[1].UserID != "" || evs[1].Reason != "the email or password is incorrect" || evs[1].IP != clientIP {
		t.Errorf("unknown address: %+v", evs[1])
	}
	// A wrong email code: the code is not recorded either.
	flow, code := e.LoginCode(e.m, idptest.Alice, clientIP)
	wrong := idptest.WrongCode(code, 1)
	e.secrets = append(e.secrets, code, wrong, flow)
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, wrong, clientIP); err == nil {
		t.Fatal("a wrong code logged in")
	}
	evs = e.events(t, audit.LoginFailed)
	if len(evs) != 3 || evs[2].Method != "email_otp" || evs[2].UserID != e.User.ID || evs[2].Reason == "" {
		t.Errorf("wrong email code: %+v", evs)
	}
}

func TestLockedOut(t *testing.T) {
	e := newEnv(t) // AccountMaxFailures 5
	for range 5 {
		e.P.Password.Login(e.Ctx, idptest.Alice, "wrong horse battery", clientIP)
	}
	_, err := e.P.Password.Login(e.Ctx, idptest.Alice, idptest.UserPassword, clientIP)
	var locked *lockout.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("sixth attempt: %v, want locked", err)
	}
	ev := e.one(t, audit.LockedOut)
	if ev.UserID != e.User.ID || ev.Method != "password" || ev.IP != clientIP || ev.Details["retry_after"] == "" {
		t.Errorf("lockout event %+v", ev)
	}
}

func TestMFAChallenged(t *testing.T) {
	e := newEnv(t)
	sec, err := e.P.MFA.StartPending(e.Ctx, e.User, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, sec)
	ev := e.one(t, audit.MFAChallenged)
	if ev.UserID != e.User.ID || ev.Details["amr"] != "pwd" {
		t.Errorf("MFA event %+v", ev)
	}
}

func TestRecovered(t *testing.T) {
	e := newEnv(t)
	flow, err := e.P.Recovery.Begin(e.Ctx, idptest.Alice, "en", clientIP)
	if err != nil {
		t.Fatal(err)
	}
	code := e.m.Last(t, idptest.Alice, otp.MsgRecovery).Vars.Code
	e.secrets = append(e.secrets, flow, code)
	if _, err := e.P.Recovery.Finish(e.Ctx, flow, code, clientIP); err != nil {
		t.Fatal(err)
	}
	ev := e.one(t, audit.Recovered)
	if ev.UserID != e.User.ID || ev.Method != "eotp" || ev.IP != clientIP {
		t.Errorf("recovery event %+v", ev)
	}
}

func TestPasswordChanged(t *testing.T) {
	e := newEnv(t)
	s := e.Session(sessions.Meta{})
	const pw = "a brand new passphrase"
	e.secrets = append(e.secrets, pw)
	if err := e.P.Accounts.ChangePassword(e.Ctx, s, pw); err != nil {
		t.Fatal(err)
	}
	ev := e.one(t, audit.PasswordChanged)
	if ev.UserID != e.User.ID || ev.Actor != e.User.ID {
		t.Errorf("password event %+v", ev)
	}
	// An administrator's reset names the administrator (from the context).
	const pw2 = "an admin chosen passphrase"
	e.secrets = append(e.secrets, pw2)
	if err := e.P.Accounts.SetPassword(audit.WithActor(e.Ctx, "caddy-admin"), e.User.ID, pw2); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, audit.PasswordChanged)
	if len(evs) != 2 || evs[1].Actor != "caddy-admin" || evs[1].UserID != e.User.ID {
		t.Errorf("admin reset: %+v", evs)
	}
}

func TestPasskeyAddedAndRemoved(t *testing.T) {
	e := newEnv(t)
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
	e.secrets = append(e.secrets, c.Secret)
	pk, err := e.P.Passkey.FinishRegistration(e.Ctx, s, c.Secret, "laptop", resp)
	if err != nil {
		t.Fatal(err)
	}
	ev := e.one(t, audit.PasskeyAdded)
	if ev.UserID != e.User.ID || ev.Details["passkey"] != pk.ID {
		t.Errorf("passkey added %+v", ev)
	}
	if err := e.P.Passkey.Delete(e.Ctx, s, pk.ID); err != nil {
		t.Fatal(err)
	}
	ev = e.one(t, audit.PasskeyRemoved)
	if ev.UserID != e.User.ID || ev.Details["passkey"] != pk.ID {
		t.Errorf("passkey removed %+v", ev)
	}
}

// tokens runs a code flow with offline_access and returns the response.
func (e *env) tokens(t *testing.T) *idp.TokenResponse {
	resp, _ := e.Tokens("openid", "offline_access")
	e.secrets = append(e.secrets, resp.AccessToken, resp.RefreshToken, resp.IDToken)
	return resp
}

func TestTokenIssued(t *testing.T) {
	e := newEnv(t)
	resp := e.tokens(t)
	ev := e.one(t, audit.TokenIssued)
	if ev.UserID != e.User.ID || ev.ClientID != "web" || ev.Method != oauth.GrantAuthorizationCode || ev.Details["jti"] != resp.Claims.ID {
		t.Errorf("token event %+v", ev)
	}
}

func TestTokenRefreshed(t *testing.T) {
	e := newEnv(t)
	resp := e.tokens(t)
	next, oerr := e.P.RefreshGrant(e.Ctx, e.Web, resp.RefreshToken, "")
	if oerr != nil {
		t.Fatal(oerr)
	}
	e.secrets = append(e.secrets, next.AccessToken, next.RefreshToken, next.IDToken)
	ev := e.one(t, audit.TokenRefreshed)
	if ev.UserID != e.User.ID || ev.ClientID != "web" || ev.Method != oauth.GrantRefreshToken {
		t.Errorf("refresh event %+v", ev)
	}
}

func TestTokenRevoked(t *testing.T) {
	e := newEnv(t)
	resp := e.tokens(t)
	// The access token first: revoking the grant revokes its access tokens too.
	if oerr := e.P.OAuth.Revoke(e.Ctx, e.Web, resp.AccessToken, oauth.AccessTokenHint); oerr != nil {
		t.Fatal(oerr)
	}
	if oerr := e.P.OAuth.Revoke(e.Ctx, e.Web, resp.RefreshToken, oauth.NoHint); oerr != nil {
		t.Fatal(oerr)
	}
	evs := e.events(t, audit.TokenRevoked)
	if len(evs) != 2 || evs[0].Details["jti"] != resp.Claims.ID || evs[1].Details["grant"] == "" {
		t.Fatalf("revocation events %+v", evs)
	}
	for _, ev := range evs {
		if ev.UserID != e.User.ID || ev.ClientID != "web" || ev.Actor != "client:web" {
			t.Errorf("revocation event %+v", ev)
		}
	}
}

func TestRefreshReuseDetected(t *testing.T) {
	e := newEnv(t)
	resp := e.tokens(t)
	next, oerr := e.P.RefreshGrant(e.Ctx, e.Web, resp.RefreshToken, "")
	if oerr != nil {
		t.Fatal(oerr)
	}
	e.secrets = append(e.secrets, next.AccessToken, next.RefreshToken, next.IDToken)
	if _, oerr := e.P.RefreshGrant(e.Ctx, e.Web, resp.RefreshToken, ""); oerr == nil {
		t.Fatal("a rotated refresh token was accepted again")
	}
	ev := e.one(t, audit.RefreshReuse)
	if ev.UserID != e.User.ID || ev.ClientID != "web" || ev.Details["grant"] == "" {
		t.Errorf("reuse event %+v", ev)
	}
}

func TestSessionEnded(t *testing.T) {
	e := newEnv(t)
	s := e.Session(sessions.Meta{})
	if err := e.P.Sessions.End(e.Ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	ev := e.one(t, audit.SessionEnded)
	if ev.UserID != e.User.ID || ev.Actor != e.User.ID || ev.Details["session"] != s.ID {
		t.Errorf("session event %+v", ev)
	}
}

func TestUserDisabledAndEnabled(t *testing.T) {
	e := newEnv(t)
	ctx := audit.WithActor(e.Ctx, "caddy-admin")
	if _, err := e.P.Accounts.SetDisabled(ctx, e.User.ID, true); err != nil {
		t.Fatal(err)
	}
	if ev := e.one(t, audit.UserDisabled); ev.UserID != e.User.ID || ev.Actor != "caddy-admin" {
		t.Errorf("disabled event %+v", ev)
	}
	if _, err := e.P.Accounts.SetDisabled(ctx, e.User.ID, false); err != nil {
		t.Fatal(err)
	}
	if ev := e.one(t, audit.UserEnabled); ev.UserID != e.User.ID || ev.Actor != "caddy-admin" {
		t.Errorf("enabled event %+v", ev)
	}
}
