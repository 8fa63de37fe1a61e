package caddyfile_test

import (
	"strconv"
	"strings"
	"testing"
)

// Issue 19: "a journey whose config is invalid (load fails with the line)": the adapter
// compiles each journey and reports the problem at the step's line of the Caddyfile.
func TestJourneyInvalidConfigFailsWithTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, steps, want string
		line              int
	}{
		{"unknown step type", "step who identify email\n\t\t\tstep x teleport\n\t\t\tstep done complete", `unknown step type "teleport"`, 6},
		{"goto to a missing step", "step login authenticate\n\t\t\tstep b branch {\n\t\t\t\tif true goto nowhere\n\t\t\t}\n\t\t\tstep done complete", `goto: there is no step "nowhere"`, 6},
		{"write before authentication", "step w write_user {\n\t\t\t\tset fname `\"x\"`\n\t\t\t}\n\t\t\tstep login authenticate\n\t\t\tstep done complete", "reads or writes user data", 5},
		{"expression that does not compile", "step login authenticate\n\t\t\tstep b branch {\n\t\t\t\tif `journey.x ==` goto done\n\t\t\t}\n\t\t\tstep done complete", "does not compile", 6},
		{"external_user_id from the browser", "step w write_user {\n\t\t\t\tauth_state unauthenticated {\n\t\t\t\t\texternal_user_id request.query.uid\n\t\t\t\t}\n\t\t\t\tset fname `\"x\"`\n\t\t\t}\n\t\t\tstep bye deny", "may read only request.pushed", 5},
		{"approve before authentication", "step pay approve\n\t\t\tstep login authenticate\n\t\t\tstep done complete", "reads or writes user data", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n\t\tjourney j {\n\t\t\t" + tc.steps + "\n\t\t}\n\t}\n}\n"
			_, _, err := adapt(t, src)
			if err == nil {
				t.Fatalf("adapted:\n%s", src)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, `journey "j"`) {
				t.Fatalf("error %q does not say %q naming the journey", msg, tc.want)
			}
			if want := "Caddyfile:" + strconv.Itoa(tc.line); !strings.Contains(msg, want) {
				t.Fatalf("error %q does not point at %s", msg, want)
			}
		})
	}
}
