package journey

import (
	"strings"
	"testing"
)

func compileErr(t *testing.T, d Definition) string {
	t.Helper()
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile([]Definition{d}, env)
	if err == nil {
		return ""
	}
	return err.Error()
}

// Issue 19: "validated at load with messages naming the step ... (unknown step types, a goto
// to a missing step, a step needing an authenticated user placed where none can be, an
// expression that does not compile)".
func TestCompileRefuses(t *testing.T) {
	done := StepConfig{ID: "done", Type: "complete"}
	login := StepConfig{ID: "login", Type: "authenticate"}
	for _, tc := range []struct {
		name  string
		steps []StepConfig
		want  string
	}{
		{"unknown type", []StepConfig{{ID: "x", Type: "teleport"}, done}, `step "x": unknown step type "teleport"`},
		{"approve before authentication", []StepConfig{{ID: "pay", Type: "approve"}, login, done}, `step "pay": step type approve reads or writes user data`},
		{"goto missing", []StepConfig{login, {ID: "b", Type: "branch", Branches: []BranchConfig{{If: "true", Goto: "nowhere"}}}, done}, `step "b": goto: there is no step "nowhere"`},
		{"next missing", []StepConfig{{ID: "login", Type: "authenticate", Next: "gone"}, done}, `step "login": next: there is no step "gone"`},
		{"write before auth", []StepConfig{{ID: "w", Type: "write_user", Set: map[string]string{"fname": `"x"`}}, login, done}, `step "w": step type write_user reads or writes user data`},
		{"complete without auth", []StepConfig{{ID: "who", Type: "identify", Identifier: "email"}, done}, `step "done": step type complete reads or writes user data`},
		{"auth skipped on one path", []StepConfig{
			{ID: "b", Type: "branch", Branches: []BranchConfig{{If: `request.query.fast == "1"`, Goto: "w"}}},
			login,
			{ID: "w", Type: "write_user", Set: map[string]string{"fname": `"x"`}}, done}, `step "w": step type write_user`},
		{"branch reading user before auth", []StepConfig{{ID: "b", Type: "branch", Branches: []BranchConfig{{If: `user.email == ""`, Goto: "login"}}}, login, done}, `step "b": step type branch`},
		{"expression does not compile", []StepConfig{login, {ID: "b", Type: "branch", Branches: []BranchConfig{{If: "journey.x ==", Goto: "done"}}}, done}, `step "b": if #1: expression "journey.x ==" does not compile`},
		{"expression wrong type", []StepConfig{login, {ID: "b", Type: "branch", Branches: []BranchConfig{{If: `"yes"`, Goto: "done"}}}, done}, `want bool`},
		{"external id from the query", []StepConfig{{ID: "w", Type: "write_user", AuthState: "unauthenticated", ExternalUserID: "request.query.uid", Set: map[string]string{"fname": `"x"`}}, done}, `external_user_id "request.query.uid" may read only request.pushed`},
		{"external id from collected values", []StepConfig{{ID: "w", Type: "write_user", AuthState: "unauthenticated", ExternalUserID: "journey.uid", Set: map[string]string{"fname": `"x"`}}, done}, `may read only request.pushed`},
		// Account pre-hijacking: a user choosing the app's identifier for their own account.
		{"create_user external id from the query", []StepConfig{{ID: "c", Type: "create_user", SetAuthenticated: true, Set: map[string]string{"external_user_id": "request.query.uid"}}, done}, `set external_user_id may read only request.pushed`},
		{"write_user external id from collected values", []StepConfig{login, {ID: "w", Type: "write_user", Set: map[string]string{"external_user_id": "journey.uid"}}, done}, `set external_user_id may read only request.pushed`},
		{"write_user external account id from the query", []StepConfig{login, {ID: "w", Type: "write_user", Set: map[string]string{"external_account_id": "request.query.acct"}}, done}, `set external_account_id may read only request.pushed`},
		{"unauthenticated without id", []StepConfig{{ID: "w", Type: "write_user", AuthState: "unauthenticated", Set: map[string]string{"fname": `"x"`}}, done}, `needs external_user_id`},
		{"last step open", []StepConfig{login}, `the last step must end the journey`},
		{"duplicate step", []StepConfig{login, login, done}, `step id is used twice`},
		{"bad field type", []StepConfig{login, {ID: "c", Type: "collect", Fields: []FieldConfig{{Name: "x", Type: "color"}}}, done}, `type must be text, email`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compileErr(t, Definition{Name: "j", Steps: tc.steps})
			if !strings.Contains(got, tc.want) || !strings.Contains(got, `journey "j"`) {
				t.Fatalf("error = %q, want it to contain %q and name the journey", got, tc.want)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, d := range []Definition{
		profiling,
		{Name: "signup", Steps: []StepConfig{
			{ID: "who", Type: "identify", Identifier: "email"},
			{ID: "create", Type: "create_user", SetAuthenticated: true},
			{ID: "more", Type: "collect", Fields: []FieldConfig{{Name: "fname"}}},
			{ID: "save", Type: "write_user", Set: map[string]string{"fname": "journey.fname"}},
			{ID: "done", Type: "complete"}}},
		{Name: "trusted", Clients: []string{"backend"}, Steps: []StepConfig{
			{ID: "w", Type: "write_user", AuthState: "unauthenticated", ExternalUserID: `request.pushed.external_user_id`, Set: map[string]string{"organization": `"Acme"`}},
			{ID: "no", Type: "deny"}}},
		{Name: "both-paths", Steps: []StepConfig{
			{ID: "b", Type: "branch", Branches: []BranchConfig{{If: `request.query.x == "1"`, Goto: "l2"}}},
			{ID: "l1", Type: "authenticate", Next: "w"},
			{ID: "l2", Type: "authenticate", Methods: []string{"passkey"}},
			{ID: "w", Type: "write_user", Set: map[string]string{"fname": `user.fname + "!"`}},
			{ID: "done", Type: "complete"}}},
	} {
		if got := compileErr(t, d); got != "" {
			t.Errorf("%s: %s", d.Name, got)
		}
	}
}

// external_user_id may draw only from the pushed request's parameters (issue 19: "never from
// a browser-supplied parameter; the config loader refuses any other source").
func TestExternalUserIDSources(t *testing.T) {
	env, _ := NewEnv()
	for src, ok := range map[string]bool{
		`request.pushed.uid`:                   true,
		`request.pushed["uid"]`:                true,
		`"acme:" + request.pushed.uid`:         true,
		`request.pushed.uid.lowerAscii()`:      false, // no string extension: does not compile
		`request.query.uid`:                    false,
		`request.query["uid"]`:                 false,
		`journey.uid`:                          false,
		`user.external_user_id`:                false,
		`request.pushed.uid + journey.x`:       false,
		`request.client_id`:                    false,
		`string(request)`:                      false,
		`request.pushed.uid + request.query.x`: false,
	} {
		x, err := env.Compile(src, nil)
		got := err == nil && x.ReadsOnlyPushed()
		if got != ok {
			t.Errorf("%s: accepted = %v, want %v (compile error %v)", src, got, ok, err)
		}
	}
}
