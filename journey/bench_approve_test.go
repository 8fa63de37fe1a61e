package journey

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store/badger"
)

// BenchmarkJourneyFiveStepsApprove runs a five-step payment journey (authenticate -> branch
// (CEL) -> write_user (CEL) -> approve (passkey) -> complete) on a real Badger store and the
// real identity core (idptest: passkey.Method, approval.Approver, accounts), server side:
// each iteration is one whole journey — Start, the return from the login, the approval's
// BeginApproval and the answer with the assertion (WebAuthn verification against the
// transaction's hash). The software authenticator's signing (the browser's work) is not
// counted in server-steps/s; steps/s counts everything.
func BenchmarkJourneyFiveStepsApprove(b *testing.B) {
	st, err := badger.Open(badger.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	env := idptest.NewOn(b, st, slog.New(slog.DiscardHandler))
	ev, err := NewEnv()
	if err != nil {
		b.Fatal(err)
	}
	js, err := Compile([]Definition{{Name: "pay", Steps: []StepConfig{
		{ID: "login", Type: "authenticate", Methods: []string{"password"}},
		{ID: "b", Type: "branch", Branches: []BranchConfig{{If: `request.client_id == "other"`, Goto: "done"}}},
		{ID: "mark", Type: "write_user", Set: map[string]string{"custom_data": `{"last_payment": string(now)}`}},
		{ID: "approve", Type: "approve"},
		{ID: "done", Type: "complete"}}}}, ev)
	if err != nil {
		b.Fatal(err)
	}
	e := &Engine{Journeys: js, Env: ev, Store: st, Users: env.P.Accounts, Approver: env.P.Approval, Now: env.Clock.Now}
	// Alice's passkey on a software authenticator.
	ctx := context.Background()
	s := env.Session(sessions.Meta{})
	c, err := env.P.Passkey.BeginRegistration(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	auth := softauthn.New(idptest.Issuer)
	resp, _, err := auth.Create(opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.P.Passkey.FinishRegistration(ctx, s, c.Secret, "laptop", resp); err != nil {
		b.Fatal(err)
	}
	tx := json.RawMessage(`{"type":"payment","amount":"125.50","currency":"EUR","payee":"ACME GmbH"}`)
	req := Request{ClientID: "web", Scopes: []string{"openid"}, Transaction: tx}
	login := &Login{SessionID: s.ID, UserID: env.User.ID, AuthTime: env.Clock.Now(), AMR: []string{"pwd"}, ACR: "aal1"}

	var calls, begins, finishes []time.Duration
	var server time.Duration
	timed := func(f func()) {
		t0 := time.Now()
		f()
		d := time.Since(t0)
		calls = append(calls, d)
		server += d
	}
	b.ResetTimer()
	began := time.Now()
	for i := 0; i < b.N; i++ {
		var sec string
		var v View
		var err error
		timed(func() { sec, v, err = e.Start(ctx, "pay", browser, req, nil, "", Device{}) })
		if err != nil {
			b.Fatal(err)
		}
		timed(func() { v, err = e.Answer(ctx, sec, browser, v.Step, v.Counter, Input{}, login, Device{}) })
		if err != nil || v.Step != "approve" {
			b.Fatalf("%+v %v", v, err)
		}
		var opts []byte
		var ceremony string
		t0 := time.Now()
		timed(func() {
			c, err := e.BeginApproval(ctx, sec, browser, v.Step, v.Counter)
			if err != nil {
				b.Fatal(err)
			}
			opts, _ = json.Marshal(c.Options)
			ceremony = c.Secret
		})
		begins = append(begins, time.Since(t0))
		assertion, err := auth.Get(opts)
		if err != nil {
			b.Fatal(err)
		}
		f := url.Values{"decision": {DecisionPasskey}, "ceremony": {ceremony}, "credential": {string(assertion)}}
		t1 := time.Now()
		timed(func() { v, err = e.Answer(ctx, sec, browser, v.Step, v.Counter, Input{Form: f}, nil, Device{}) })
		finishes = append(finishes, time.Since(t1))
		if err != nil || v.Kind != Complete || v.State.ApprovedBy != "webauthn" {
			b.Fatalf("%+v %v", v, err)
		}
	}
	elapsed := time.Since(began)
	b.StopTimer()
	sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
	b.ReportMetric(float64(calls[len(calls)/2].Microseconds()), "p50-request-µs")
	b.ReportMetric(float64(calls[len(calls)*99/100].Microseconds()), "p99-request-µs")
	p50 := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Microseconds())
	}
	b.ReportMetric(p50(begins), "p50-approve-begin-µs")
	b.ReportMetric(p50(finishes), "p50-approve-answer-µs")
	b.ReportMetric(float64(5*b.N)/elapsed.Seconds(), "steps/s")
	b.ReportMetric(float64(5*b.N)/server.Seconds(), "server-steps/s")
}
