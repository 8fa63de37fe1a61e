package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"cel.dev/cel-go/cel"

	"github.com/gatehouse-dev/gatehouse/account"
)

// writeUser writes profile fields, custom_data and custom_app_data (of the journey's
// client) computed by expressions, through account.Accounts (the same validation as the
// admin API; custom data at most 100 KB).
type writeUser struct{ set map[string]*Expr }

// writeFields are the fields write_user may set.
var writeFields = []string{"fname", "mname", "lname", "username", "phone_number", "birthday", "picture",
	"organization", "external_user_id", "external_account_id", "custom_data", "custom_app_data"}

// maxCustomData caps custom_data and custom_app_data (as the claims are capped).
const maxCustomData = 100 << 10

func init() {
	Register("write_user", Factory{New: newWriteUser, Example: StepConfig{ID: "save", Type: "write_user",
		Set: map[string]string{"organization": `"Example"`}}})
}

func newWriteUser(cfg StepConfig, env *Env) (Step, Traits, error) {
	if len(cfg.Set) == 0 {
		return nil, Traits{}, errors.New("write_user needs at least one `set <field> <expression>`")
	}
	s := writeUser{set: map[string]*Expr{}}
	for k, src := range cfg.Set {
		if !contains(writeFields, k) {
			return nil, Traits{}, fmt.Errorf("write_user cannot set %q (fields: %v)", k, writeFields)
		}
		var want *cel.Type
		if k != "custom_data" && k != "custom_app_data" {
			want = cel.StringType
		}
		x, err := env.Compile(src, want)
		if err != nil {
			return nil, Traits{}, fmt.Errorf("set %s: %w", k, err)
		}
		if err := checkTrustedSource(k, x); err != nil {
			return nil, Traits{}, err
		}
		s.set[k] = x
	}
	return s, Traits{TouchesUser: true}, nil
}

func (s writeUser) Enter(ctx context.Context, rc *Run) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	var pp account.ProfilePatch
	var appData json.RawMessage
	for k, x := range s.set {
		v, err := rc.Eval(ctx, x)
		if err != nil {
			return Outcome{}, err
		}
		if k == "custom_data" || k == "custom_app_data" {
			b, err := json.Marshal(v)
			if err != nil {
				return Outcome{}, fmt.Errorf("%w: set %s: %v", ErrExpression, k, err)
			}
			if _, ok := v.(map[string]any); !ok {
				return Outcome{}, fmt.Errorf("%w: set %s: want an object", ErrExpression, k)
			}
			if len(b) > maxCustomData {
				return Outcome{}, fmt.Errorf("%w: set %s: larger than 100 KB", ErrExpression, k)
			}
			if k == "custom_data" {
				pp.CustomData = b
			} else {
				appData = b
			}
			continue
		}
		str, ok := v.(string)
		if !ok {
			return Outcome{}, fmt.Errorf("%w: set %s: want a string, got %T", ErrExpression, k, v)
		}
		p := &str
		switch k {
		case "fname":
			pp.FirstName = p
		case "mname":
			pp.MiddleName = p
		case "lname":
			pp.LastName = p
		case "username":
			pp.Username = p
		case "phone_number":
			pp.PhoneNumber = p
		case "birthday":
			pp.Birthday = p
		case "picture":
			pp.Picture = p
		case "organization":
			pp.Organization = p
		case "external_user_id":
			pp.ExternalUserID = p
		case "external_account_id":
			pp.ExternalAccountID = p
		}
	}
	id := rc.User.ID
	if _, err := rc.Engine.Users.UpdateProfile(ctx, id, pp); err != nil {
		return Outcome{}, fmt.Errorf("write user: %w", err)
	}
	if appData != nil {
		if rc.State.ClientID == "" {
			return Outcome{}, errors.New("write user: custom_app_data needs a journey started by a client")
		}
		if _, err := rc.Engine.Users.SetCustomAppData(ctx, id, rc.State.ClientID, appData); err != nil {
			return Outcome{}, fmt.Errorf("write user: %w", err)
		}
	}
	return Outcome{Kind: Next}, nil
}

func (s writeUser) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}
