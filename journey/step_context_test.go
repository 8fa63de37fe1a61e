package journey

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The seed's "Restore User Context": a journey saves the user context; "restore_context in
// another journey restores the full user context (the journey becomes authenticated) only
// for the same client, once, before expiry" (brief). Each refusal is its own test.
var (
	saveJ = loginThen("first", StepConfig{ID: "more", Type: "collect", Fields: []FieldConfig{{Name: "plan"}}},
		StepConfig{ID: "save", Type: "save_context"}, StepConfig{ID: "done", Type: "complete"})
	restoreJ = Definition{Name: "second", Steps: []StepConfig{
		{ID: "restore", Type: "restore_context"},
		{ID: "stamp", Type: "write_user", Set: map[string]string{"organization": `"Restored " + journey.plan`}},
		{ID: "done", Type: "complete"}}}
)

// saved runs the first journey (alice logs in, plan collected as a value) and returns the
// handle it hands back.
func saved(t *testing.T, f *idpFixture, client string) string { return savedTB(t, f, client) }

func savedTB(t testing.TB, f *idpFixture, client string) string {
	t.Helper()
	sec, v, err := f.e.Start(context.Background(), "first", browser, Request{ClientID: client}, nil, "", Device{})
	if err != nil {
		t.Fatal(err)
	}
	f.env.Clock.Advance(time.Second)
	v, err = f.e.Answer(context.Background(), sec, browser, v.Step, v.Counter, Input{}, f.login(), Device{})
	if err != nil || v.Step != "more" {
		t.Fatalf("login: %+v %v", v, err)
	}
	v, err = f.post(sec, v, url.Values{"plan": {"pro"}})
	if err != nil || v.Kind != Complete || v.State.ContextHandle == "" {
		t.Fatalf("save_context: %+v %v", v, err)
	}
	return v.State.ContextHandle
}

func (f *idpFixture) restore(t *testing.T, client, handle string) View {
	t.Helper()
	_, v, err := f.e.Start(context.Background(), "second", browser,
		Request{ClientID: client, Pushed: map[string]string{"journey_context": handle}}, nil, "", Device{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRestoreContext(t *testing.T) {
	f := newIDPFixture(t, saveJ, restoreJ)
	h := saved(t, f, "web")
	v := f.restore(t, "web", h)
	if v.Kind != Complete {
		t.Fatalf("restore: %+v", v)
	}
	st := v.State
	if st.UserID != f.env.User.ID || !st.Authenticated || st.AMR[0] != "pwd" || st.AuthTime.IsZero() || st.SessionID != "s1" {
		t.Fatalf("the full user context must be restored: %+v", st)
	}
	// The journey acted on the restored user (a step needing authentication ran).
	if u, _ := f.env.Store.GetUser(context.Background(), f.env.User.ID); u.Organization != "Restored pro" {
		t.Fatalf("write_user after restore_context, with the restored journey values: organization %q", u.Organization)
	}
}

func TestRestoreContextTwiceRefused(t *testing.T) {
	f := newIDPFixture(t, saveJ, restoreJ)
	h := saved(t, f, "web")
	if v := f.restore(t, "web", h); v.Kind != Complete {
		t.Fatalf("first restore: %+v", v)
	}
	if v := f.restore(t, "web", h); v.Kind != Deny || v.State.Authenticated {
		t.Fatalf("a handle is single-use: the second restore must be denied: %+v", v)
	}
}

func TestRestoreContextFromAnotherClientRefused(t *testing.T) {
	f := newIDPFixture(t, saveJ, restoreJ)
	h := saved(t, f, "web")
	if v := f.restore(t, "partner", h); v.Kind != Deny || v.State.Authenticated {
		t.Fatalf("a handle is bound to its client: %+v", v)
	}
	// Tried from the wrong client, the handle is burnt: the right client cannot use it after.
	if v := f.restore(t, "web", h); v.Kind != Deny {
		t.Fatalf("a handle tried from another client must be spent: %+v", v)
	}
}

func TestRestoreContextAfterExpiryRefused(t *testing.T) {
	f := newIDPFixture(t, saveJ, restoreJ)
	h := saved(t, f, "web")
	f.env.Clock.Advance(DefaultContextLifetime)
	if v := f.restore(t, "web", h); v.Kind != Deny || v.State.Authenticated {
		t.Fatalf("an expired handle must be refused: %+v", v)
	}
}

func TestRestoreContextForgedHandleRefused(t *testing.T) {
	f := newIDPFixture(t, saveJ, restoreJ)
	saved(t, f, "web")
	for _, h := range []string{"", "not-a-handle", string(make([]byte, 200))} {
		if v := f.restore(t, "web", h); v.Kind != Deny {
			t.Fatalf("handle %q: %+v", h, v)
		}
	}
}

// The handle may come only from the client's pushed request, never from the browser
// (a handle injected through the query would log the victim's browser into another
// account): the loader refuses any other source.
func TestRestoreContextHandleFromBrowserRefusedAtLoad(t *testing.T) {
	env, _ := NewEnv()
	for _, src := range []string{"request.query.journey_context", "journey.handle", `request.pushed.a + request.query.b`} {
		_, err := Compile([]Definition{{Name: "x", Steps: []StepConfig{{ID: "r", Type: "restore_context", Handle: src},
			{ID: "done", Type: "complete"}}}}, env)
		if err == nil {
			t.Errorf("handle %s: the config must be refused", src)
		}
	}
}

// save_context saves an authentication: a step acting on an external_user_id (no
// authentication) must not save one.
func TestSaveContextNeedsAnAuthentication(t *testing.T) {
	f := newIDPFixture(t, Definition{Name: "ext", Clients: []string{"web"}, Steps: []StepConfig{
		{ID: "save", Type: "save_context", AuthState: AuthUnauthenticated, ExternalUserID: "request.pushed.uid"},
		{ID: "end", Type: "deny"}}})
	ctx := context.Background()
	f.env.P.Accounts.Update(ctx, f.env.User.ID, func(u store.User) (store.User, error) { u.ExternalUserID = "ext-a"; return u, nil })
	_, _, err := f.e.Start(ctx, "ext", browser, Request{ClientID: "web", Pushed: map[string]string{"uid": "ext-a"}}, nil, "", Device{})
	if err == nil {
		t.Fatal("save_context without an authentication must fail")
	}
}

// BenchmarkRestoreContext: one restore journey (restore_context -> write_user -> complete,
// one engine call) from a fresh handle, on the memory store.
func BenchmarkRestoreContext(b *testing.B) {
	f := newIDPFixtureTB(b, saveJ, restoreJ)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		h := savedTB(b, f, "web")
		b.StartTimer()
		_, v, err := f.e.Start(ctx, "second", browser, Request{ClientID: "web", Pushed: map[string]string{"journey_context": h}}, nil, "", Device{})
		if err != nil || v.Kind != Complete {
			b.Fatalf("%+v %v", v, err)
		}
	}
}
