package journey

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/account/input"
)

// collect shows a form and keeps the answers as journey.<field>. Field types: text, email,
// phone, date (YYYY-MM-DD), select (one of Options), checkbox (a boolean).
type collect struct{ fields []collectField }

type collectField struct {
	FieldConfig
	re *regexp.Regexp
}

var fieldNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

func init() {
	Register("collect", Factory{New: newCollect, Example: StepConfig{ID: "more", Type: "collect",
		Fields: []FieldConfig{{Name: "company", Required: true}}}})
}

func newCollect(cfg StepConfig, _ *Env) (Step, Traits, error) {
	if len(cfg.Fields) == 0 || len(cfg.Fields) > 32 {
		return nil, Traits{}, errors.New("collect needs 1 to 32 fields")
	}
	var s collect
	seen := map[string]bool{}
	for _, f := range cfg.Fields {
		if !fieldNameRE.MatchString(f.Name) {
			return nil, Traits{}, fmt.Errorf("field %q: a name is a letter then letters, digits or _", f.Name)
		}
		if seen[f.Name] {
			return nil, Traits{}, fmt.Errorf("field %q appears twice", f.Name)
		}
		seen[f.Name] = true
		if f.Type == "" {
			f.Type = "text"
		}
		switch f.Type {
		case "text", "email", "phone", "date", "checkbox":
			if len(f.Options) > 0 {
				return nil, Traits{}, fmt.Errorf("field %q: options apply to select fields only", f.Name)
			}
		case "select":
			if len(f.Options) == 0 {
				return nil, Traits{}, fmt.Errorf("field %q: a select needs options", f.Name)
			}
		default:
			return nil, Traits{}, fmt.Errorf("field %q: type must be text, email, phone, date, select or checkbox, not %q", f.Name, f.Type)
		}
		if f.MaxLength == 0 {
			f.MaxLength = 256
		}
		if f.MaxLength < 0 || f.MaxLength > 4096 || f.MinLength < 0 || f.MinLength > f.MaxLength {
			return nil, Traits{}, fmt.Errorf("field %q: need 0 <= min_length <= max_length <= 4096", f.Name)
		}
		if f.Label == "" {
			f.Label = f.Name
		}
		cf := collectField{FieldConfig: f}
		if f.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err != nil {
				return nil, Traits{}, fmt.Errorf("field %q: pattern: %v", f.Name, err)
			}
			cf.re = re
		}
		s.fields = append(s.fields, cf)
	}
	return s, Traits{}, nil
}

func (s collect) page(form map[string]string, errs map[string]string) *Page {
	p := &Page{Errors: errs}
	for _, f := range s.fields {
		p.Form = append(p.Form, Field{Name: f.Name, Type: f.Type, Label: f.Label, Required: f.Required,
			Options: f.Options, Value: form[f.Name], MaxLength: f.MaxLength})
	}
	return p
}

func (s collect) Enter(_ context.Context, rc *Run) (Outcome, error) {
	prev := map[string]string{}
	for _, f := range s.fields {
		if v, ok := rc.State.Values[f.Name].(string); ok {
			prev[f.Name] = v
		}
	}
	return Outcome{Kind: Prompt, Page: s.page(prev, nil)}, nil
}

func (s collect) Submit(_ context.Context, rc *Run, in Input) (Outcome, error) {
	raw := map[string]string{}
	errs := map[string]string{}
	vals := map[string]any{}
	for _, f := range s.fields {
		if len(in.Form[f.Name]) > 1 {
			errs[f.Name] = "send one value"
			continue
		}
		v := strings.TrimSpace(in.Form.Get(f.Name))
		raw[f.Name] = v
		val, msg := f.check(v)
		if msg != "" {
			errs[f.Name] = msg
			continue
		}
		vals[f.Name] = val
	}
	if len(errs) > 0 {
		return Outcome{Kind: Prompt, Page: s.page(raw, errs)}, nil
	}
	for k, v := range vals {
		rc.State.Values[k] = v
	}
	return Outcome{Kind: Next}, nil
}

// check validates one value and returns what to store, or the problem.
func (f collectField) check(v string) (any, string) {
	if f.Type == "checkbox" {
		on := v == "on" || v == "true" || v == "1"
		if f.Required && !on {
			return nil, "check this box to continue"
		}
		return on, ""
	}
	if v == "" {
		if f.Required {
			return nil, "this field is required"
		}
		return "", ""
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return nil, "use printable characters only"
	}
	if n := utf8.RuneCountInString(v); n > f.MaxLength || n < f.MinLength {
		return nil, fmt.Sprintf("use %d to %d characters", f.MinLength, f.MaxLength)
	}
	switch f.Type {
	case "email":
		e, err := input.NormalizeEmail(v)
		if err != nil {
			return nil, userMessage(err)
		}
		v = e
	case "phone":
		p, err := input.NormalizePhone(v)
		if err != nil {
			return nil, userMessage(err)
		}
		v = p
	case "date":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return nil, "enter a date as YYYY-MM-DD"
		}
	case "select":
		if !contains(f.Options, v) {
			return nil, "choose one of the options"
		}
	}
	if f.re != nil && !f.re.MatchString(v) {
		return nil, "this value does not have the expected form"
	}
	return v, ""
}
