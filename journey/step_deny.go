package journey

import (
	"context"
	"errors"
)

// deny ends the journey with a message (an OIDC client gets access_denied).
type deny struct{ msg string }

func init() {
	Register("deny", Factory{New: newDeny, Example: StepConfig{ID: "no", Type: "deny", Message: "Not allowed."}})
}

func newDeny(cfg StepConfig, _ *Env) (Step, Traits, error) {
	if len(cfg.Message) > 1024 {
		return nil, Traits{}, errors.New("deny: the message is longer than 1024 characters")
	}
	msg := cfg.Message
	if msg == "" {
		msg = "You cannot continue."
	}
	return deny{msg: msg}, Traits{Terminal: true}, nil
}

func (s deny) Enter(context.Context, *Run) (Outcome, error) {
	return Outcome{Kind: Deny, Message: s.msg}, nil
}

func (s deny) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) { return s.Enter(ctx, rc) }
