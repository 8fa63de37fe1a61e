package journey

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account/input"
)

// identify asks for an identifier (email, phone or username) and keeps it as
// journey.<identifier>. It does not look the user up (no enumeration): a later
// authenticate step logs in, with the identifier as login hint, and must log in that user.
type identify struct{ what string }

func init() {
	Register("identify", Factory{New: newIdentify, Example: StepConfig{ID: "who", Type: "identify", Identifier: "email"}})
}

func newIdentify(cfg StepConfig, _ *Env) (Step, Traits, error) {
	switch cfg.Identifier {
	case "email", "phone", "username":
	case "":
		return nil, Traits{}, errors.New("identify needs what to ask for: email, phone or username")
	default:
		return nil, Traits{}, fmt.Errorf("identify asks for email, phone or username, not %q", cfg.Identifier)
	}
	return identify{what: cfg.Identifier}, Traits{}, nil
}

func (s identify) field(value string) Field {
	typ := map[string]string{"email": "email", "phone": "tel", "username": "text"}[s.what]
	label := map[string]string{"email": "Email", "phone": "Phone number", "username": "Username"}[s.what]
	return Field{Name: s.what, Type: typ, Label: label, Required: true, Value: value, MaxLength: 254}
}

func (s identify) Enter(_ context.Context, rc *Run) (Outcome, error) {
	return Outcome{Kind: Prompt, Page: &Page{Form: []Field{s.field("")}}}, nil
}

func (s identify) Submit(_ context.Context, rc *Run, in Input) (Outcome, error) {
	raw := in.Form.Get(s.what)
	var v string
	var err error
	switch s.what {
	case "email":
		v, err = input.NormalizeEmail(raw)
	case "phone":
		v, err = input.NormalizePhone(raw)
	case "username":
		v = strings.TrimSpace(raw)
		if !input.IsUsername(v) {
			err = errors.New("enter a valid username")
		}
	}
	if err != nil {
		return Outcome{Kind: Prompt, Page: &Page{Form: []Field{s.field(raw)}, Errors: map[string]string{s.what: userMessage(err)}}}, nil
	}
	rc.State.Values[s.what] = v
	return Outcome{Kind: Next}, nil
}

// userMessage is the text of an input error for the page.
func userMessage(err error) string {
	var ie *input.Error
	if errors.As(err, &ie) {
		return ie.Message
	}
	return err.Error()
}
