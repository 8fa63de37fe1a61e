package journey

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// recorder keeps the audit events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

type fixture struct {
	t     testing.TB
	e     *Engine
	st    store.Store
	now   time.Time
	audit *recorder
	user  store.User
}

// newFixture compiles defs and returns an engine over st (memory if nil) with one user,
// alice@example.com.
func newFixture(t testing.TB, st store.Store, defs ...Definition) *fixture {
	t.Helper()
	if st == nil {
		st = memory.New()
	}
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	js, err := Compile(defs, env)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), audit: &recorder{}}
	now := func() time.Time { return f.now }
	accts := &account.Accounts{Store: st, Now: now, ClientExists: func(_ context.Context, id string) error {
		if id == "app" {
			return nil
		}
		return store.ErrNotFound
	}}
	f.e = &Engine{Journeys: js, Env: env, Store: st, Users: accts, Audit: f.audit, Now: now}
	f.user = store.User{ID: "u-alice", Email: "alice@example.com", ExternalUserID: "ext-alice", CreatedAt: f.now}
	if err := st.CreateUser(context.Background(), f.user); err != nil {
		t.Fatal(err)
	}
	return f
}

const browser = "csrf-cookie-of-browser-one-0123456789abcdef"

func (f *fixture) start(name string, req Request) (string, View) {
	f.t.Helper()
	sec, v, err := f.e.Start(context.Background(), name, browser, req, nil, "", Device{UserAgent: "test"})
	if err != nil {
		f.t.Fatalf("start %s: %v", name, err)
	}
	return sec, v
}

func (f *fixture) post(sec string, v View, form url.Values) (View, error) {
	return f.e.Answer(context.Background(), sec, browser, v.Step, v.Counter, Input{Form: form}, nil, Device{})
}

func (f *fixture) login(sec string, v View, l *Login) (View, error) {
	return f.e.Answer(context.Background(), sec, browser, v.Step, v.Counter, Input{}, l, Device{})
}

// profiling is the e2e journey: identify -> authenticate(password) -> collect ->
// write_user -> complete.
var profiling = Definition{Name: "profile", Steps: []StepConfig{
	{ID: "who", Type: "identify", Identifier: "email"},
	{ID: "login", Type: "authenticate", Methods: []string{"password"}},
	{ID: "more", Type: "collect", Fields: []FieldConfig{{Name: "company", Required: true, MaxLength: 64},
		{Name: "plan", Type: "select", Options: []string{"free", "pro"}}}},
	{ID: "save", Type: "write_user", Set: map[string]string{"organization": "journey.company",
		"custom_data": `{"plan": journey.plan, "via": "journey"}`}},
	{ID: "done", Type: "complete"},
}}

func (f *fixture) aliceLogin(amr ...string) *Login {
	if len(amr) == 0 {
		amr = []string{"pwd"}
	}
	return &Login{SessionID: "s1", UserID: "u-alice", AuthTime: f.now, AMR: amr, ACR: "aal1"}
}

// The happy path of the e2e journey at the engine level: each step in order, the user
// written, the completed state carrying the authentication facts of the authenticate step.
func TestProfilingJourney(t *testing.T) {
	f := newFixture(t, nil, profiling)
	sec, v := f.start("profile", Request{ClientID: "app"})
	if v.Kind != Prompt || v.Step != "who" || v.Page.Form[0].Name != "email" {
		t.Fatalf("first view = %+v", v)
	}
	v, err := f.post(sec, v, url.Values{"email": {" Alice@Example.com "}})
	if err != nil || v.Step != "login" || len(v.Page.Login) != 1 || v.Page.LoginHint != "alice@example.com" {
		t.Fatalf("after identify: %+v, %v", v, err)
	}
	f.now = f.now.Add(time.Minute)
	v, err = f.login(sec, v, f.aliceLogin())
	if err != nil || v.Step != "more" {
		t.Fatalf("after login: %+v, %v", v, err)
	}
	v, err = f.post(sec, v, url.Values{"company": {"Acme"}, "plan": {"pro"}})
	if err != nil || v.Kind != Complete {
		t.Fatalf("after collect: %+v, %v", v, err)
	}
	if v.State.UserID != "u-alice" || v.State.AuthTime != f.now || v.State.AMR[0] != "pwd" || v.State.NewUser {
		t.Fatalf("final state = %+v", v.State)
	}
	u, _ := f.st.GetUser(context.Background(), "u-alice")
	if u.Organization != "Acme" || !strings.Contains(string(u.CustomData), `"plan":"pro"`) {
		t.Fatalf("user not written: org %q data %s", u.Organization, u.CustomData)
	}
	// Each transition is an audit event.
	var n int
	for _, ev := range f.audit.events {
		if ev.Type == audit.JourneyStep && ev.Details["journey"] == "profile" {
			n++
		}
	}
	if n < 6 {
		t.Fatalf("%d journey.step events, want one per transition", n)
	}
}

// THREATS (issue 19): "posting a later step's form first" — the engine refuses an answer
// that does not name the current step and counter.
func TestAttackLaterStepFirst(t *testing.T) {
	f := newFixture(t, nil, profiling)
	sec, v := f.start("profile", Request{ClientID: "app"})
	later := View{Step: "more", Counter: 2}
	if _, err := f.post(sec, later, url.Values{"company": {"Evil"}}); !errors.Is(err, ErrStale) {
		t.Fatalf("later step posted first: err = %v, want ErrStale", err)
	}
	// Naming the current step with a later counter is refused too.
	if _, err := f.post(sec, View{Step: v.Step, Counter: 5}, url.Values{"email": {"a@b.example"}}); !errors.Is(err, ErrStale) {
		t.Fatalf("wrong counter: err = %v", err)
	}
	// The journey still waits at its first step.
	cur, err := f.e.Current(context.Background(), sec, browser)
	if err != nil || cur.Step != "who" {
		t.Fatalf("current = %+v, %v", cur, err)
	}
}

// "replaying a step": the answer to a step already answered is refused, and a completed
// journey cannot be answered at all.
func TestAttackReplayStep(t *testing.T) {
	f := newFixture(t, nil, profiling)
	sec, v0 := f.start("profile", Request{ClientID: "app"})
	v1, err := f.post(sec, v0, url.Values{"email": {"alice@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.post(sec, v0, url.Values{"email": {"mallory@example.com"}}); !errors.Is(err, ErrStale) {
		t.Fatalf("replayed identify: err = %v, want ErrStale", err)
	}
	f.now = f.now.Add(time.Second)
	v2, err := f.login(sec, v1, f.aliceLogin())
	if err != nil {
		t.Fatal(err)
	}
	done, err := f.post(sec, v2, url.Values{"company": {"Acme"}})
	if err != nil || done.Kind != Complete {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if _, err := f.post(sec, v2, url.Values{"company": {"Again"}}); !errors.Is(err, ErrNoJourney) {
		t.Fatalf("answer to a completed journey: err = %v, want ErrNoJourney", err)
	}
}

// "reusing a journey cookie in another browser": the state is bound to the browser's CSRF
// cookie; the journey cookie alone does not continue it.
func TestAttackCookieInOtherBrowser(t *testing.T) {
	f := newFixture(t, nil, profiling)
	sec, v := f.start("profile", Request{ClientID: "app"})
	other := "csrf-cookie-of-another-browser-0123456789ab"
	if _, err := f.e.Answer(context.Background(), sec, other, v.Step, v.Counter, Input{Form: url.Values{"email": {"x@y.example"}}}, nil, Device{}); !errors.Is(err, ErrNoJourney) {
		t.Fatalf("other browser: err = %v, want ErrNoJourney", err)
	}
	if _, err := f.e.Current(context.Background(), sec, ""); !errors.Is(err, ErrNoJourney) {
		t.Fatalf("no CSRF cookie: err = %v", err)
	}
}

// An expired journey is gone.
func TestJourneyExpires(t *testing.T) {
	f := newFixture(t, nil, profiling)
	sec, v := f.start("profile", Request{})
	f.now = f.now.Add(DefaultLifetime + time.Second)
	if _, err := f.post(sec, v, url.Values{"email": {"alice@example.com"}}); !errors.Is(err, ErrNoJourney) {
		t.Fatalf("expired journey: err = %v", err)
	}
}

// "an expression that loops or allocates without bound": the cost limit ends the journey
// with ErrExpression, promptly, instead of hanging it.
func TestAttackExpressionCostLimit(t *testing.T) {
	heavy := `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20].all(a, [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20].all(b, [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20].all(c, [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20].all(d, a+b+c+d > 0))))`
	f := newFixture(t, nil, Definition{Name: "loop", Steps: []StepConfig{
		{ID: "who", Type: "identify", Identifier: "email"},
		{ID: "spin", Type: "branch", Branches: []BranchConfig{{If: heavy, Goto: "no"}}},
		{ID: "no", Type: "deny"},
	}})
	sec, v := f.start("loop", Request{})
	_, err := f.post(sec, v, url.Values{"email": {"a@b.example"}})
	if !errors.Is(err, ErrExpression) || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("err = %v, want the cost limit", err)
	}
	if _, err := f.e.Current(context.Background(), sec, browser); !errors.Is(err, ErrNoJourney) {
		t.Fatalf("the failed journey must end: %v", err)
	}
}

// A branch looping back to itself without input ends after maxTransitions.
func TestBranchLoopEnds(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "spin", Steps: []StepConfig{
		{ID: "a", Type: "branch", Branches: []BranchConfig{{If: "true", Goto: "a"}}},
		{ID: "no", Type: "deny"},
	}})
	_, _, err := f.e.Start(context.Background(), "spin", browser, Request{}, nil, "", Device{})
	if !errors.Is(err, ErrTooManySteps) {
		t.Fatalf("err = %v", err)
	}
}

func storeUser(id, email string, now time.Time) store.User {
	return store.User{ID: id, Email: email, CreatedAt: now, UpdatedAt: now}
}

// A double submit (two concurrent answers to the same step) runs the following steps once:
// one answer wins, the other is refused as stale, and create_user creates one account.
func TestConcurrentAnswersRunOnce(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "signup", Steps: []StepConfig{
		{ID: "who", Type: "identify", Identifier: "email"},
		{ID: "create", Type: "create_user", SetAuthenticated: true},
		{ID: "done", Type: "complete"}}})
	for i := 0; i < 20; i++ {
		sec, v := f.start("signup", Request{})
		email := "race" + strings.Repeat("x", i) + "@example.com"
		type res struct {
			v   View
			err error
		}
		out := make(chan res, 2)
		for range 2 {
			go func() {
				v2, err := f.post(sec, v, url.Values{"email": {email}})
				out <- res{v2, err}
			}()
		}
		a, b := <-out, <-out
		completed := 0
		for _, r := range []res{a, b} {
			switch {
			case r.err == nil && r.v.Kind == Complete:
				completed++
			case errors.Is(r.err, ErrStale), errors.Is(r.err, ErrNoJourney):
			default:
				t.Fatalf("round %d: unexpected answer %+v %v", i, r.v, r.err)
			}
		}
		if completed != 1 {
			t.Fatalf("round %d: %d answers completed the journey, want exactly 1", i, completed)
		}
	}
}
