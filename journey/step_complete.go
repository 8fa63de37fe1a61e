package journey

import (
	"context"
	"errors"
	"strings"
)

// complete ends the journey successfully: back to the OIDC client with a code (the
// handler issues it from the journey's state: amr/acr/auth_time from authenticate steps
// only, new_user from create_user), or to return_to.
type complete struct{ returnTo string }

func init() {
	Register("complete", Factory{New: newComplete, Example: StepConfig{ID: "done", Type: "complete"}})
}

func newComplete(cfg StepConfig, _ *Env) (Step, Traits, error) {
	if rt := cfg.ReturnTo; rt != "" && (!strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") || strings.ContainsAny(rt, "\\ \t\r\n")) {
		return nil, Traits{}, errors.New("complete: return_to must be a local path such as /welcome")
	}
	return complete{returnTo: cfg.ReturnTo}, Traits{TouchesUser: true, Terminal: true}, nil
}

func (s complete) Enter(_ context.Context, rc *Run) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	rc.State.UserID = rc.User.ID
	return Outcome{Kind: Complete, ReturnTo: s.returnTo}, nil
}

func (s complete) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}
