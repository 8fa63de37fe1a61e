package journey

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/login"
)

func TestIdentifyValidates(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "j", Steps: []StepConfig{
		{ID: "who", Type: "identify", Identifier: "phone"}, {ID: "no", Type: "deny"}}})
	sec, v := f.start("j", Request{})
	v2, err := f.post(sec, v, url.Values{"phone": {"0123"}})
	if err != nil || v2.Kind != Prompt || v2.Page.Errors["phone"] == "" || v2.Step != v.Step || v2.Counter <= v.Counter {
		t.Fatalf("a bad phone number must re-ask the same step (with a new counter): %+v %v", v2, err)
	}
	// The old form is used up.
	if _, err := f.post(sec, v, url.Values{"phone": {"+14155550100"}}); !errors.Is(err, ErrStale) {
		t.Fatalf("the first form posted again: %v", err)
	}
	v3, err := f.post(sec, v2, url.Values{"phone": {"+1 (415) 555-0100"}})
	if err != nil || v3.Kind != Deny {
		t.Fatalf("%+v %v", v3, err)
	}
}

func TestCollectValidation(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "j", Steps: []StepConfig{
		{ID: "c", Type: "collect", Fields: []FieldConfig{
			{Name: "code", Pattern: "[A-Z]{3}", Required: true},
			{Name: "born", Type: "date"},
			{Name: "mail", Type: "email"},
			{Name: "tier", Type: "select", Options: []string{"a", "b"}},
			{Name: "terms", Type: "checkbox", Required: true}}},
		{ID: "b", Type: "branch", Branches: []BranchConfig{{If: `journey.terms && journey.code == "ABC" && journey.tier == "b"`, Goto: "yes"}}},
		{ID: "no", Type: "deny", Message: "no"},
		{ID: "yes", Type: "deny", Message: "yes"}}})
	sec, v := f.start("j", Request{})
	bad, err := f.post(sec, v, url.Values{"code": {"abc"}, "born": {"31.12.1999"}, "mail": {"nope"}, "tier": {"c"}})
	if err != nil || bad.Kind != Prompt {
		t.Fatalf("%+v %v", bad, err)
	}
	for _, k := range []string{"code", "born", "mail", "tier", "terms"} {
		if bad.Page.Errors[k] == "" {
			t.Errorf("field %s: no error", k)
		}
	}
	ok, err := f.post(sec, bad, url.Values{"code": {"ABC"}, "born": {"1999-12-31"}, "mail": {"A@B.example"}, "tier": {"b"}, "terms": {"on"}})
	if err != nil || ok.Kind != Deny || ok.Message != "yes" {
		t.Fatalf("%+v %v", ok, err)
	}
}

func TestCreateUserSetAuthenticated(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "signup", Steps: []StepConfig{
		{ID: "who", Type: "identify", Identifier: "email"},
		{ID: "create", Type: "create_user", SetAuthenticated: true, Set: map[string]string{"fname": `"New"`}},
		{ID: "done", Type: "complete"}}})
	sec, v := f.start("signup", Request{})
	done, err := f.post(sec, v, url.Values{"email": {"bob@example.com"}})
	if err != nil || done.Kind != Complete {
		t.Fatalf("%+v %v", done, err)
	}
	st := done.State
	// new_user from create_user; no amr/acr/auth_time: nothing authenticated the user.
	if !st.NewUser || !st.Authenticated || len(st.AMR) != 0 || !st.AuthTime.IsZero() {
		t.Fatalf("state = %+v", st)
	}
	u, err := f.st.GetUserByEmail(context.Background(), "bob@example.com")
	if err != nil || u.ID != st.UserID || u.FirstName != "New" {
		t.Fatalf("user %+v %v", u, err)
	}
	// The same email again: denied, not a second account.
	sec2, v2 := f.start("signup", Request{})
	again, err := f.post(sec2, v2, url.Values{"email": {"bob@example.com"}})
	if err != nil || again.Kind != Deny {
		t.Fatalf("%+v %v", again, err)
	}
	_ = sec
}

func TestWriteUserCustomDataCap(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "big", Steps: []StepConfig{
		{ID: "login", Type: "authenticate"},
		{ID: "c", Type: "collect", Fields: []FieldConfig{{Name: "blob", MaxLength: 4096}}},
		{ID: "w", Type: "write_user", Set: map[string]string{"custom_app_data": `{"a": journey.blob, "b": journey.blob}`}},
		{ID: "w2", Type: "write_user", Set: map[string]string{"custom_data": `{"x": [` + strings.Repeat("journey.blob,", 30) + `journey.blob]}`}},
		{ID: "done", Type: "complete"}}})
	sec, v := f.start("big", Request{ClientID: "app"})
	f.now = f.now.Add(time.Second)
	v, err := f.login(sec, v, f.aliceLogin())
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.post(sec, v, url.Values{"blob": {strings.Repeat("x", 4000)}})
	if !errors.Is(err, ErrExpression) || !strings.Contains(err.Error(), "100 KB") {
		t.Fatalf("err = %v, want the 100 KB cap", err)
	}
	u, _ := f.st.GetUser(context.Background(), "u-alice")
	if !strings.Contains(string(u.CustomAppData["app"]), `"a"`) || len(u.CustomData) != 0 {
		t.Fatalf("custom_app_data %s custom_data %s", u.CustomAppData["app"], u.CustomData)
	}
}

func TestAuthenticateChecksTheLogin(t *testing.T) {
	def := Definition{Name: "j", Steps: []StepConfig{
		{ID: "who", Type: "identify", Identifier: "email"},
		{ID: "login", Type: "authenticate", Methods: []string{"passkey", "password"}, SecondFactor: true},
		{ID: "done", Type: "complete"}}}
	f := newFixture(t, nil, def)
	sec, v := f.start("j", Request{})
	v, _ = f.post(sec, v, url.Values{"email": {"alice@example.com"}})
	started := f.now
	if err := f.st.CreateUser(context.Background(), storeUser("u-mallory", "mallory@example.com", f.now)); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	for name, l := range map[string]*Login{
		"no login":      nil,
		"old login":     {UserID: "u-alice", AuthTime: started.Add(-time.Hour), AMR: []string{"webauthn"}, ACR: login.ACRMultiFactor},
		"other user":    {UserID: "u-mallory", AuthTime: f.now, AMR: []string{"webauthn"}, ACR: login.ACRMultiFactor},
		"wrong method":  {UserID: "u-alice", AuthTime: f.now, AMR: []string{"eotp"}, ACR: login.ACRSingleFactor},
		"single factor": {UserID: "u-alice", AuthTime: f.now, AMR: []string{"pwd"}, ACR: login.ACRSingleFactor},
	} {
		got, err := f.login(sec, v, l)
		if err != nil || got.Kind != Prompt || got.Step != "login" || got.Page.Errors[""] == "" {
			t.Fatalf("%s: %+v %v, want the login step again with an error", name, got, err)
		}
		v = got
	}
	done, err := f.login(sec, v, &Login{SessionID: "s", UserID: "u-alice", AuthTime: f.now, AMR: []string{"webauthn"}, ACR: login.ACRMultiFactor})
	if err != nil || done.Kind != Complete || done.State.ACR != login.ACRMultiFactor || done.State.SessionID != "s" {
		t.Fatalf("%+v %v", done, err)
	}
}

func TestBranchAndDeny(t *testing.T) {
	f := newFixture(t, nil, Definition{Name: "j", Steps: []StepConfig{
		{ID: "b", Type: "branch", Branches: []BranchConfig{
			{If: `has(request.query.lang) && request.query.lang == "de"`, Goto: "de"},
			{If: `"admin" in request.scopes`, Goto: "admin"}}},
		{ID: "other", Type: "deny", Message: "other"},
		{ID: "de", Type: "deny", Message: "de"},
		{ID: "admin", Type: "deny", Message: "admin"}}})
	for want, req := range map[string]Request{
		"de":    {Query: map[string]string{"lang": "de"}},
		"admin": {Scopes: []string{"openid", "admin"}},
		"other": {},
	} {
		_, v, err := f.e.Start(context.Background(), "j", browser, req, nil, "", Device{})
		if err != nil || v.Kind != Deny || v.Message != want {
			t.Fatalf("%s: %+v %v", want, v, err)
		}
	}
}
