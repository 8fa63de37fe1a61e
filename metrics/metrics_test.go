package metrics

import "testing"

// TestNilSafe: a nil Recorder (through Or) and a nil Counter (through Inc) do nothing, and
// neither allocates.
func TestNilSafe(t *testing.T) {
	var r Recorder
	var c Counter
	allocs := testing.AllocsPerRun(100, func() {
		Or(r).LoginResult("password", Success)
		Or(r).MFAChallenge("passkey")
		Or(r).TokenIssued("authorization_code")
		Or(r).RefreshReuse()
		Inc(c)
		Inc(Route{}.Decisions[Allowed])
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
	if len(OutcomeNames) != NumOutcomes {
		t.Fatal("an outcome without a name")
	}
	for i, n := range OutcomeNames {
		if n == "" {
			t.Errorf("outcome %d has no name", i)
		}
	}
}
