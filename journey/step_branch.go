package journey

import (
	"context"
	"errors"
	"fmt"

	"cel.dev/cel-go/cel"
)

// branch goes to the first step whose condition holds (`if <expr> goto <step>`), else on.
// A branch whose conditions read `user` touches user data (auth_state applies).
type branch struct {
	conds []*Expr
	gotos []string
}

func init() {
	Register("branch", Factory{New: newBranch, Example: StepConfig{ID: "check", Type: "branch",
		Branches: []BranchConfig{{If: `user.email.endsWith("@example.com")`, Goto: "check"}}}})
}

func newBranch(cfg StepConfig, env *Env) (Step, Traits, error) {
	if len(cfg.Branches) == 0 {
		return nil, Traits{}, errors.New("branch needs at least one `if <expression> goto <step>`")
	}
	var s branch
	var tr Traits
	for i, b := range cfg.Branches {
		x, err := env.Compile(b.If, cel.BoolType)
		if err != nil {
			return nil, Traits{}, fmt.Errorf("if #%d: %w", i+1, err)
		}
		if x.References("user") {
			tr.TouchesUser = true
		}
		s.conds = append(s.conds, x)
		s.gotos = append(s.gotos, b.Goto)
	}
	return s, tr, nil
}

func (s branch) Enter(ctx context.Context, rc *Run) (Outcome, error) {
	for i, x := range s.conds {
		v, err := rc.Eval(ctx, x)
		if err != nil {
			return Outcome{}, err
		}
		b, ok := v.(bool)
		if !ok {
			return Outcome{}, fmt.Errorf("%w: %q is not a boolean", ErrExpression, x.Source)
		}
		if b {
			return Outcome{Kind: Next, Goto: s.gotos[i]}, nil
		}
	}
	return Outcome{Kind: Next}, nil
}

func (s branch) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}
