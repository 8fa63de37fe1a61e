package journey

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/account"
)

// createUser creates a user from collected values (account.Accounts.Create: the same
// validation and uniqueness as every other way of creating one). The email defaults to
// journey.email; Set may compute email, fname, mname, lname and external_user_id.
// set_authenticated makes the new user the journey's authenticated user (the seed: "Set as
// authenticated"); new_user becomes true either way.
type createUser struct {
	set     map[string]*Expr
	setAuth bool
}

func init() {
	Register("create_user", Factory{New: newCreateUser, Example: StepConfig{ID: "create", Type: "create_user", SetAuthenticated: true}})
}

var createFields = []string{"email", "fname", "mname", "lname", "external_user_id"}

func newCreateUser(cfg StepConfig, env *Env) (Step, Traits, error) {
	s := createUser{set: map[string]*Expr{}, setAuth: cfg.SetAuthenticated}
	for k, src := range cfg.Set {
		if !contains(createFields, k) {
			return nil, Traits{}, fmt.Errorf("create_user sets %v, not %q", createFields, k)
		}
		x, err := env.Compile(src, nil)
		if err != nil {
			return nil, Traits{}, fmt.Errorf("set %s: %w", k, err)
		}
		if err := checkTrustedSource(k, x); err != nil {
			return nil, Traits{}, err
		}
		s.set[k] = x
	}
	return s, Traits{Authenticates: cfg.SetAuthenticated}, nil
}

func (s createUser) Enter(ctx context.Context, rc *Run) (Outcome, error) {
	vals := map[string]string{}
	if v, ok := rc.State.Values["email"].(string); ok {
		vals["email"] = v
	}
	for k, x := range s.set {
		v, err := rc.Eval(ctx, x)
		if err != nil {
			return Outcome{}, err
		}
		str, ok := v.(string)
		if !ok {
			return Outcome{}, fmt.Errorf("%w: set %s: want a string, got %T", ErrExpression, k, v)
		}
		vals[k] = str
	}
	u, err := rc.Engine.Users.Create(ctx, account.NewUser{Email: vals["email"], FirstName: vals["fname"],
		MiddleName: vals["mname"], LastName: vals["lname"], ExternalUserID: vals["external_user_id"]})
	if errors.Is(err, account.ErrEmailTaken) {
		return Outcome{Kind: Deny, Message: "An account with this email already exists. Log in instead."}, nil
	} else if err != nil {
		return Outcome{}, fmt.Errorf("create user: %w", err)
	}
	st := rc.State
	st.UserID, st.NewUser = u.ID, true
	if s.setAuth {
		st.Authenticated = true
	}
	return Outcome{Kind: Next}, nil
}

func (s createUser) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkTrustedSource refuses an external_user_id or external_account_id computed from
// anything but request.pushed.<name>: these identifiers are the app's (its backend pushes
// them), and one a browser could choose would let a user claim another's identifier before
// its owner signs up (account pre-hijacking), as auth_state's external_user_id is refused.
func checkTrustedSource(field string, x *Expr) error {
	if (field == "external_user_id" || field == "external_account_id") && !x.ReadsOnlyPushed() {
		return fmt.Errorf("set %s may read only request.pushed.<name> (parameters of a pushed authorization request, which the client authenticated), never browser input", field)
	}
	return nil
}
