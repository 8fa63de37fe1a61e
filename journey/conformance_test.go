package journey

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Issue 19, "Conformance-style tests that auth_state is enforced for every step type that
// touches user data": for each registered type whose example touches user data, a journey
// whose state holds no authenticated user (as if the static analysis had been bypassed)
// must refuse to run the step, and an external_user_id that names nobody must too.
func TestAuthStateConformance(t *testing.T) {
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	var covered int
	for typ, f := range registry {
		if f.Unavailable != "" {
			continue
		}
		_, tr, err := f.New(f.Example, env)
		if err != nil {
			t.Fatalf("%s: example does not compile: %v", typ, err)
		}
		if !tr.TouchesUser {
			continue
		}
		covered++
		for _, mode := range []string{"no authentication", "unknown external user"} {
			t.Run(typ+"/"+mode, func(t *testing.T) {
				fx := newFixture(t, nil)
				cfg := f.Example
				if mode == "unknown external user" {
					cfg.AuthState, cfg.ExternalUserID = AuthUnauthenticated, "request.pushed.uid"
				}
				j := forceJourney(t, env, cfg)
				fx.e.Journeys = map[string]*Journey{"forced": j}
				sec, _, err := fx.e.Start(context.Background(), "forced", browser,
					Request{Pushed: map[string]string{"uid": "nobody"}, Query: map[string]string{"uid": "ext-alice"}}, nil, "", Device{})
				if !errors.Is(err, ErrNotAuthenticated) {
					t.Fatalf("step ran without its auth state: err = %v", err)
				}
				if _, err := fx.e.Current(context.Background(), sec, browser); !errors.Is(err, ErrNoJourney) {
					t.Fatalf("the refused journey must end: %v", err)
				}
				u, _ := fx.st.GetUser(context.Background(), "u-alice")
				if u.Organization != "" || len(u.CustomData) > 0 {
					t.Fatalf("user data written: %+v", u)
				}
			})
		}
	}
	if covered < 3 {
		t.Fatalf("only %d step types touch user data; expected write_user, branch, complete at least", covered)
	}
}

// With the declared external_user_id (from the pushed request) the step acts on that user.
func TestAuthStateUnauthenticatedActsOnExternalUser(t *testing.T) {
	fx := newFixture(t, nil, Definition{Name: "trusted", Clients: []string{"backend"}, Steps: []StepConfig{
		{ID: "w", Type: "write_user", AuthState: AuthUnauthenticated, ExternalUserID: "request.pushed.uid",
			Set: map[string]string{"organization": `"Pushed Inc"`}},
		{ID: "no", Type: "deny", Message: "bye"}}})
	_, v, err := fx.e.Start(context.Background(), "trusted", browser, Request{ClientID: "backend", Pushed: map[string]string{"uid": "ext-alice"}}, nil, "", Device{})
	if err != nil || v.Kind != Deny {
		t.Fatalf("%+v %v", v, err)
	}
	u, _ := fx.st.GetUser(context.Background(), "u-alice")
	if u.Organization != "Pushed Inc" {
		t.Fatalf("organization = %q", u.Organization)
	}
}

// forceJourney builds a one-step journey (then deny) without the static analysis.
func forceJourney(t *testing.T, env *Env, cfg StepConfig) *Journey {
	t.Helper()
	f := registry[cfg.Type]
	st, tr, err := f.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	c := compiled{cfg: cfg, step: st, traits: tr, next: 1}
	if tr.Terminal {
		c.next = -1
	}
	if cfg.ExternalUserID != "" {
		if c.external, err = env.Compile(cfg.ExternalUserID, nil); err != nil {
			t.Fatal(err)
		}
	}
	d, _, _ := newDeny(StepConfig{ID: "end", Type: "deny"}, env)
	j := &Journey{Name: "forced", index: map[string]int{cfg.ID: 0, "end": 1},
		steps: []compiled{c, {cfg: StepConfig{ID: "end", Type: "deny"}, step: d, traits: Traits{Terminal: true}, next: -1}}}
	// A branch example jumps to its own ID: keep it in the index.
	for _, b := range cfg.Branches {
		if _, ok := j.index[b.Goto]; !ok {
			j.index[b.Goto] = 1
		}
	}
	return j
}

// A disabled account is acted on by no step, whether the journey authenticated it or a
// pushed external_user_id names it (security review).
func TestAuthStateUnauthenticatedSkipsDisabledUser(t *testing.T) {
	fx := newFixture(t, nil, Definition{Name: "trusted", Clients: []string{"backend"}, Steps: []StepConfig{
		{ID: "w", Type: "write_user", AuthState: AuthUnauthenticated, ExternalUserID: "request.pushed.uid",
			Set: map[string]string{"organization": `"Pushed Inc"`}},
		{ID: "no", Type: "deny", Message: "bye"}}})
	ctx := context.Background()
	if _, err := fx.st.UpdateUser(ctx, "u-alice", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
		t.Fatal(err)
	}
	_, v, err := fx.e.Start(ctx, "trusted", browser, Request{ClientID: "backend", Pushed: map[string]string{"uid": "ext-alice"}}, nil, "", Device{})
	if err == nil && v.Kind != Deny {
		t.Fatalf("the journey went on: %+v", v)
	}
	if err != nil && !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("error = %v, want ErrNotAuthenticated", err)
	}
	if u, _ := fx.st.GetUser(ctx, "u-alice"); u.Organization == "Pushed Inc" {
		t.Fatal("write_user changed a disabled account")
	}
}

// A journey acting on a pushed external_user_id runs only for the clients it lists: another
// first-party client pushing the same parameter, or the portal's self-service start, gets
// nothing done (security review: any client could otherwise act on any user).
func TestAuthStateUnauthenticatedOnlyForListedClients(t *testing.T) {
	fx := newFixture(t, nil, Definition{Name: "trusted", Clients: []string{"backend"}, Steps: []StepConfig{
		{ID: "w", Type: "write_user", AuthState: AuthUnauthenticated, ExternalUserID: "request.pushed.uid",
			Set: map[string]string{"organization": `"Pushed Inc"`}},
		{ID: "no", Type: "deny", Message: "bye"}}})
	ctx := context.Background()
	for _, client := range []string{"web", ""} {
		if _, _, err := fx.e.Start(ctx, "trusted", browser, Request{ClientID: client, Pushed: map[string]string{"uid": "ext-alice"}}, nil, "", Device{}); !errors.Is(err, ErrNoJourney) {
			t.Errorf("client %q: %v, want ErrNoJourney", client, err)
		}
	}
	if u, _ := fx.st.GetUser(ctx, "u-alice"); u.Organization == "Pushed Inc" {
		t.Fatal("a client not listed acted on the user")
	}
	env, _ := NewEnv()
	_, err := Compile([]Definition{{Name: "open", Steps: []StepConfig{
		{ID: "w", Type: "write_user", AuthState: AuthUnauthenticated, ExternalUserID: "request.pushed.uid", Set: map[string]string{"organization": `"x"`}},
		{ID: "no", Type: "deny"}}}}, env)
	if err == nil || !strings.Contains(err.Error(), "list the clients allowed") {
		t.Fatalf("a journey acting on a pushed external_user_id without a client list: %v", err)
	}
}
