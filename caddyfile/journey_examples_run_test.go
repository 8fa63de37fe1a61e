package caddyfile_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/journey"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

const exBrowser = "csrf-cookie-of-the-example-browser-0123456789"

// exampleEngine adapts examples/journeys/<name>.Caddyfile and returns an engine running its
// journeys over a whole identity provider (idptest: alice, client "web").
func exampleEngine(t *testing.T, name string) (*journey.Engine, *idptest.Env, *idptest.Messenger) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "examples", "journeys", name+".Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := adapt(t, string(src))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			Gatehouse struct {
				Journeys []journey.Definition `json:"journeys"`
			} `json:"gatehouse"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	env, m := idptest.NewWithMessenger(t)
	ev, err := journey.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	js, err := journey.Compile(cfg.Apps.Gatehouse.Journeys, ev)
	if err != nil {
		t.Fatal(err)
	}
	return &journey.Engine{Journeys: js, Env: ev, Store: env.Store, Users: env.P.Accounts, Verify: env.P.Verification,
		Now: env.Clock.Now}, env, m
}

// "Add a passkey after the third password login" (issue 19), as the example writes it: the
// first and second password logins complete at once, the third stops at register_passkey,
// the fourth completes again; the counter is in the client's custom_app_data.
func TestExamplePasskeyAfterThirdLogin(t *testing.T) {
	e, env, _ := exampleEngine(t, "passkey-after-third-login")
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		sec, v, err := e.Start(ctx, "nudge", exBrowser, journey.Request{ClientID: "web"}, nil, "", journey.Device{})
		if err != nil || v.Step != "login" {
			t.Fatalf("login %d: start %+v %v", i, v, err)
		}
		env.Clock.Advance(time.Second)
		v, err = e.Answer(ctx, sec, exBrowser, v.Step, v.Counter, journey.Input{},
			&journey.Login{SessionID: "s", UserID: env.User.ID, AuthTime: env.Clock.Now(), AMR: []string{"pwd"}, ACR: "aal1"}, journey.Device{})
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		wantOffer := i == 3
		if gotOffer := v.Kind == journey.Prompt && v.Step == "offer"; gotOffer != wantOffer {
			t.Fatalf("login %d: passkey offered = %v, want %v (%+v)", i, gotOffer, wantOffer, v)
		}
		if !wantOffer && v.Kind != journey.Complete {
			t.Fatalf("login %d: %+v", i, v)
		}
	}
	u, _ := env.Store.GetUser(ctx, env.User.ID)
	var data map[string]any
	if err := json.Unmarshal(u.CustomAppData["web"], &data); err != nil || data["password_logins"] != float64(4) {
		t.Fatalf("counter in custom_app_data: %s %v", u.CustomAppData["web"], err)
	}
}

// The sign-up example: the address, the account, the code sent there, the names, then the
// passkey page.
func TestExampleSignupVerified(t *testing.T) {
	e, env, m := exampleEngine(t, "signup-verified")
	ctx := context.Background()
	sec, v, err := e.Start(ctx, "signup", exBrowser, journey.Request{}, nil, "", journey.Device{})
	if err != nil || v.Step != "who" {
		t.Fatalf("%+v %v", v, err)
	}
	answer := func(form url.Values) {
		t.Helper()
		v, err = e.Answer(ctx, sec, exBrowser, v.Step, v.Counter, journey.Input{Form: form}, nil, journey.Device{ClientIP: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
	}
	answer(url.Values{"email": {"carol@example.com"}})
	if v.Step != "mail" {
		t.Fatalf("after the address: %+v", v)
	}
	answer(url.Values{"code": {m.Last(t, "carol@example.com", otp.MsgVerifyEmail).Vars.Code}})
	if v.Step != "names" {
		t.Fatalf("after the code: %+v", v)
	}
	answer(url.Values{"fname": {"Carol"}, "lname": {"Jones"}})
	if v.Step != "passkey" || v.Page.Redirect == "" {
		t.Fatalf("after the names: %+v", v)
	}
	u, err := env.Store.GetUserByEmail(ctx, "carol@example.com")
	if err != nil || !u.EmailVerified || u.FirstName != "Carol" {
		t.Fatalf("user %+v %v", u, err)
	}
	if err := env.Store.CreatePasskey(ctx, store.Passkey{ID: "pk-carol", UserID: u.ID, Credential: []byte(`{}`), CreatedAt: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	answer(url.Values{})
	if v.Kind != journey.Complete || !v.State.NewUser {
		t.Fatalf("end: %+v", v)
	}
}
