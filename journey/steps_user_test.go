package journey

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/journey/device"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// idpFixture is an engine over a whole identity provider (idptest): the real account,
// verification and code machinery, with a capturing messenger. Alice's email is verified,
// her phone is not set.
type idpFixture struct {
	e   *Engine
	env *idptest.Env
	m   *idptest.Messenger
}

func newIDPFixture(t *testing.T, defs ...Definition) *idpFixture { return newIDPFixtureTB(t, defs...) }

func newIDPFixtureTB(t testing.TB, defs ...Definition) *idpFixture {
	t.Helper()
	env, m := idptest.NewWithMessenger(t)
	ev, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	js, err := Compile(defs, ev)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Journeys: js, Env: ev, Store: env.Store, Users: env.P.Accounts, Verify: env.P.Verification,
		Devices: &device.Keeper{Key: env.Ring.DeriveKey("journey-device-cookie")}, Now: env.Clock.Now}
	return &idpFixture{e: e, env: env, m: m}
}

func (f *idpFixture) login() *Login {
	return &Login{SessionID: "s1", UserID: f.env.User.ID, AuthTime: f.env.Clock.Now(), AMR: []string{"pwd"}, ACR: "aal1"}
}

// start runs the journey up to its authenticate step and logs alice in.
func (f *idpFixture) start(t *testing.T, name string, req Request, dev Device) (string, View) {
	t.Helper()
	sec, v, err := f.e.Start(context.Background(), name, browser, req, nil, "", dev)
	if err != nil {
		t.Fatal(err)
	}
	if v.Step == "login" {
		f.env.Clock.Advance(time.Second)
		v, err = f.e.Answer(context.Background(), sec, browser, v.Step, v.Counter, Input{}, f.login(), dev)
		if err != nil {
			t.Fatal(err)
		}
	}
	return sec, v
}

func (f *idpFixture) post(sec string, v View, form url.Values) (View, error) {
	return f.e.Answer(context.Background(), sec, browser, v.Step, v.Counter, Input{Form: form}, nil, Device{ClientIP: "192.0.2.7"})
}

func loginThen(name string, steps ...StepConfig) Definition {
	return Definition{Name: name, Steps: append([]StepConfig{{ID: "login", Type: "authenticate"}}, steps...)}
}

// known_device: "was this browser seen for this user before — a long-lived signed device
// cookie" (issue 19). Unknown at first; remembered at the end of a journey that
// authenticated; then known for the same user only.
func TestKnownDeviceRememberedAfterAuthentication(t *testing.T) {
	f := newIDPFixture(t, loginThen("d",
		StepConfig{ID: "device", Type: "known_device"},
		StepConfig{ID: "b", Type: "branch", Branches: []BranchConfig{{If: "device.known", Goto: "known"}}},
		StepConfig{ID: "unknown", Type: "complete"},
		StepConfig{ID: "known", Type: "deny", Message: "known"}))
	_, v := f.start(t, "d", Request{}, Device{})
	if v.Kind != Complete || v.State.DeviceKnown {
		t.Fatalf("a browser without a device cookie must be unknown: %+v", v)
	}
	uid, ok := v.State.DeviceToRemember()
	if !ok || uid != f.env.User.ID {
		t.Fatalf("the device must be remembered after an authentication: %q %v", uid, ok)
	}
	cookie, err := f.e.Devices.Issue(uid, "", f.env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, v = f.start(t, "d", Request{}, Device{Cookie: cookie})
	if v.Kind != Deny || v.Message != "known" {
		t.Fatalf("the remembered browser must be known (device.known): %+v", v)
	}
	// Bob's cookie on this browser says nothing about alice.
	bobs, _ := f.e.Devices.Issue("u-bob", "", f.env.Clock.Now())
	if _, v = f.start(t, "d", Request{}, Device{Cookie: bobs}); v.Kind != Complete {
		t.Fatalf("another user's device cookie must be unknown: %+v", v)
	}
	// A cookie from another key (a forgery) is unknown.
	forged, _ := (&device.Keeper{Key: []byte("another key of thirty-two bytes!")}).Issue(f.env.User.ID, "", f.env.Clock.Now())
	if _, v = f.start(t, "d", Request{}, Device{Cookie: forged}); v.Kind != Complete {
		t.Fatalf("a forged device cookie must be unknown: %+v", v)
	}
}

// A journey that only created the user (no authentication) does not remember the device.
func TestKnownDeviceNotRememberedWithoutAuthentication(t *testing.T) {
	f := newIDPFixture(t, Definition{Name: "signup", Steps: []StepConfig{
		{ID: "who", Type: "identify", Identifier: "email"},
		{ID: "create", Type: "create_user", SetAuthenticated: true},
		{ID: "device", Type: "known_device"},
		{ID: "done", Type: "complete"}}})
	sec, v, err := f.e.Start(context.Background(), "signup", browser, Request{}, nil, "", Device{})
	if err != nil {
		t.Fatal(err)
	}
	v, err = f.post(sec, v, url.Values{"email": {"new@example.com"}})
	if err != nil || v.Kind != Complete {
		t.Fatalf("%+v %v", v, err)
	}
	if _, ok := v.State.DeviceToRemember(); ok {
		t.Fatal("creating a user is not an authentication: the device must not be remembered")
	}
}

// verify_email: "send a code through the existing code machinery ... check it with the
// existing attempt limits, and set email_verified on success" (brief).
func TestVerifyEmailWithTheCodeSent(t *testing.T) {
	f := newIDPFixture(t, loginThen("v", StepConfig{ID: "mail", Type: "verify_email"}, StepConfig{ID: "done", Type: "complete"}))
	ctx := context.Background()
	if _, err := f.env.P.Accounts.Update(ctx, f.env.User.ID, func(u store.User) (store.User, error) {
		u.EmailVerified = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	sec, v := f.start(t, "v", Request{}, Device{})
	if v.Kind != Prompt || v.Step != "mail" || len(v.Page.Form) != 1 || v.Page.Form[0].Name != "code" {
		t.Fatalf("verify_email must ask for the code: %+v", v)
	}
	code := f.m.Last(t, idptest.Alice, otp.MsgVerifyEmail).Vars.Code
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	v2, err := f.post(sec, v, url.Values{"code": {wrong}})
	if err != nil || v2.Kind != Prompt || v2.Page.Errors["code"] == "" {
		t.Fatalf("a wrong code must re-ask: %+v %v", v2, err)
	}
	if u, _ := f.env.Store.GetUser(ctx, f.env.User.ID); u.EmailVerified {
		t.Fatal("a wrong code verified the address")
	}
	v3, err := f.post(sec, v2, url.Values{"code": {code}})
	if err != nil || v3.Kind != Complete {
		t.Fatalf("the right code must pass: %+v %v", v3, err)
	}
	if u, _ := f.env.Store.GetUser(ctx, f.env.User.ID); !u.EmailVerified {
		t.Fatal("email_verified not set")
	}
}

// The existing attempt limits apply: after too many wrong codes even the right one fails.
func TestVerifyEmailAttemptLimit(t *testing.T) {
	f := newIDPFixture(t, loginThen("v", StepConfig{ID: "mail", Type: "verify_email"}, StepConfig{ID: "done", Type: "complete"}))
	ctx := context.Background()
	f.env.P.Accounts.Update(ctx, f.env.User.ID, func(u store.User) (store.User, error) { u.EmailVerified = false; return u, nil })
	sec, v := f.start(t, "v", Request{}, Device{})
	code := f.m.Last(t, idptest.Alice, otp.MsgVerifyEmail).Vars.Code
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	var err error
	for i := 0; i < 10; i++ {
		if v, err = f.post(sec, v, url.Values{"code": {wrong}}); err != nil || v.Kind != Prompt {
			t.Fatalf("try %d: %+v %v", i, v, err)
		}
	}
	v, err = f.post(sec, v, url.Values{"code": {code}})
	if err == nil && v.Kind == Complete {
		t.Fatal("the code worked after 10 wrong tries: the attempt limit was not applied")
	}
	if u, _ := f.env.Store.GetUser(ctx, f.env.User.ID); u.EmailVerified {
		t.Fatal("verified after the attempt limit")
	}
	// Continue (no code) sends a new code; the spent one stays spent.
	before := f.m.Count(idptest.Alice)
	if v, err = f.post(sec, v, url.Values{}); err != nil || v.Kind != Prompt || f.m.Count(idptest.Alice) != before+1 {
		t.Fatalf("continue after a spent code must send a new one: %+v %v (messages %d -> %d)", v, err, before, f.m.Count(idptest.Alice))
	}
	if v, err = f.post(sec, v, url.Values{"code": {code}}); err == nil && v.Kind == Complete {
		t.Fatal("the spent code worked")
	}
}

// verify_phone sets phone_number_verified; an address already verified passes at once.
func TestVerifyPhone(t *testing.T) {
	f := newIDPFixture(t, loginThen("v", StepConfig{ID: "mail", Type: "verify_email"},
		StepConfig{ID: "phone", Type: "verify_phone"}, StepConfig{ID: "done", Type: "complete"}))
	ctx := context.Background()
	f.env.P.Accounts.Update(ctx, f.env.User.ID, func(u store.User) (store.User, error) { u.PhoneNumber = "+14155550100"; return u, nil })
	sec, v := f.start(t, "v", Request{}, Device{})
	if v.Step != "phone" {
		t.Fatalf("a verified email must pass verify_email at once: %+v", v)
	}
	code := f.m.Last(t, "+14155550100", otp.MsgVerifyPhone).Vars.Code
	v, err := f.post(sec, v, url.Values{"code": {code}})
	if err != nil || v.Kind != Complete {
		t.Fatalf("%+v %v", v, err)
	}
	if u, _ := f.env.Store.GetUser(ctx, f.env.User.ID); !u.PhoneNumberVerified {
		t.Fatal("phone_number_verified not set")
	}
}

// A user without a phone number cannot verify one: denied, not an error.
func TestVerifyPhoneWithoutNumberDenies(t *testing.T) {
	f := newIDPFixture(t, loginThen("v", StepConfig{ID: "phone", Type: "verify_phone"}, StepConfig{ID: "done", Type: "complete"}))
	_, v := f.start(t, "v", Request{}, Device{})
	if v.Kind != Deny {
		t.Fatalf("%+v", v)
	}
}

// register_passkey goes on only once the step's user has a passkey added since the step
// began; an older passkey, or a passkey of another user, does not count.
func TestRegisterPasskeyNeedsANewPasskey(t *testing.T) {
	f := newIDPFixture(t, loginThen("p", StepConfig{ID: "pk", Type: "register_passkey"}, StepConfig{ID: "done", Type: "complete"}))
	ctx := context.Background()
	old := f.env.Clock.Now()
	if err := f.env.Store.CreatePasskey(ctx, store.Passkey{ID: "old", UserID: f.env.User.ID, Credential: []byte(`{}`), CreatedAt: old}); err != nil {
		t.Fatal(err)
	}
	f.env.Clock.Advance(time.Minute)
	sec, v := f.start(t, "p", Request{}, Device{})
	if v.Kind != Prompt || v.Page.Redirect != PasskeyPage {
		t.Fatalf("register_passkey must send the user to the passkey page: %+v", v)
	}
	v, err := f.post(sec, v, url.Values{})
	if err != nil || v.Kind != Prompt || v.Page.Errors[""] == "" {
		t.Fatalf("continuing without a new passkey must re-ask: %+v %v", v, err)
	}
	f.env.Clock.Advance(time.Second)
	if err := f.env.Store.CreateUser(ctx, store.User{ID: "u-bob", Email: "bob@example.com", CreatedAt: old}); err != nil {
		t.Fatal(err)
	}
	f.env.Store.CreatePasskey(ctx, store.Passkey{ID: "bobs", UserID: "u-bob", Credential: []byte(`{}`), CreatedAt: f.env.Clock.Now()})
	if v, err = f.post(sec, v, url.Values{}); err != nil || v.Kind != Prompt {
		t.Fatalf("another user's new passkey must not count: %+v %v", v, err)
	}
	f.env.Store.CreatePasskey(ctx, store.Passkey{ID: "new", UserID: f.env.User.ID, Credential: []byte(`{}`), CreatedAt: f.env.Clock.Now()})
	if v, err = f.post(sec, v, url.Values{}); err != nil || v.Kind != Complete {
		t.Fatalf("a new passkey must let the journey go on: %+v %v", v, err)
	}
}
