package mfa_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/mfa"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// BenchmarkStepUpRequired is what gatehouse_protect adds per request of a single-factor
// identity: the settings snapshot's answer for its amr (memory only, no allocation).
func BenchmarkStepUpRequired(b *testing.B) {
	st := memory.New()
	view := settings.NewView(settings.Base{Values: settings.Defaults(), EmailAvailable: true}, st, nil, nil)
	svc := settings.NewService(st, view, nil, nil)
	if _, err := svc.Update(b.Context(), json.RawMessage(`{"login":{"mfa":{"email_code":"required"}}}`), 0, "admin"); err != nil {
		b.Fatal(err)
	}
	r := &mfa.Rules{Required: func(amr []string) bool { return view.Load().Effective.SecondFactorRequired(amr) }}
	amr := []string{"pwd"}
	b.ReportAllocs()
	for b.Loop() {
		if r.StepUpRequired(amr) {
			b.Fatal("pwd needs no second factor here")
		}
	}
}

// TestStepUpRequired: only a single-factor login whose method the settings set to
// required must be stepped up; a multi-factor one (webauthn, or mfa) never.
func TestStepUpRequired(t *testing.T) {
	req := func(amr []string) bool { return len(amr) > 0 && amr[0] == "pwd" }
	r := &mfa.Rules{Required: req}
	for _, c := range []struct {
		amr  []string
		want bool
	}{{[]string{"pwd"}, true}, {[]string{"pwd", "otp", "mfa"}, false}, {[]string{"webauthn"}, false}, {[]string{"eotp"}, false}, {nil, false}} {
		if got := r.StepUpRequired(c.amr); got != c.want {
			t.Errorf("StepUpRequired(%v) = %v, want %v", c.amr, got, c.want)
		}
	}
	if (&mfa.Rules{}).StepUpRequired([]string{"pwd"}) {
		t.Error("without settings nothing is required")
	}
}
