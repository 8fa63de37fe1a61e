package module_test

import (
	"strings"
	"testing"
)

// A JSON configuration gets the journey checks of the Caddyfile adapter at load, each
// naming the journey and the step, and a client's default_journey must name a journey.
func TestValidateJourneys(t *testing.T) {
	errs, _ := checkApp(t, `{"issuer":"https://login.example.com",
		"clients":[{"id":"web","redirect_uris":["https://app.example.com/cb"],"default_journey":"missing"}],
		"journeys":[{"name":"j","steps":[
			{"id":"w","type":"write_user","set":{"fname":"\"x\""}},
			{"id":"t","type":"teleport"},
			{"id":"b","type":"branch","branches":[{"if":"journey.x ==","goto":"nowhere"}]},
			{"id":"done","type":"complete"}]}]}`)
	all := strings.Join(errs, "\n")
	for _, want := range []string{
		`gatehouse.journeys: journey "j" step "t": unknown step type "teleport"`,
		`journey "j" step "b": if #1: expression "journey.x ==" does not compile`,
		`journey "j" step "b": goto: there is no step "nowhere"`,
		`gatehouse.clients[web].default_journey: names no journey: "missing"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	errs, _ = checkApp(t, `{"issuer":"https://login.example.com","journeys":[{"name":"j","steps":[
			{"id":"w","type":"write_user","set":{"fname":"\"x\""}},
			{"id":"done","type":"complete"}]}]}`)
	if all := strings.Join(errs, "\n"); !strings.Contains(all, `journey "j" step "w": step type write_user reads or writes user data`) {
		t.Errorf("write_user before any authentication accepted: %s", all)
	}
}
