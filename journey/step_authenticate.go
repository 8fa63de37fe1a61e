package journey

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/login"
)

// authenticate sends the browser through the existing hosted login (no second
// implementation of any method) and accepts, on return, only a login made after the step
// began, with one of the step's methods (and a second factor if required), of the user the
// journey identified if it did. amr, acr and auth_time of the journey's tokens come from it.
type authenticate struct {
	methods []string // amr values accepted (empty: any)
	names   []string
	mfa     bool
}

// methodAMR maps a configured method name to the amr value its login proves.
var methodAMR = map[string]string{"password": login.AMRPassword, "passkey": login.AMRWebAuthn,
	"email_otp": login.AMREmailCode, "magic_link": login.AMREmailLink, "sms_otp": login.AMRSMS,
	"social": login.AMRSocial}

func init() {
	Register("authenticate", Factory{New: newAuthenticate, Example: StepConfig{ID: "login", Type: "authenticate", Methods: []string{"password"}}})
}

func newAuthenticate(cfg StepConfig, _ *Env) (Step, Traits, error) {
	s := authenticate{mfa: cfg.SecondFactor, names: cfg.Methods}
	for _, m := range cfg.Methods {
		a, ok := methodAMR[m]
		if !ok {
			known := make([]string, 0, len(methodAMR))
			for k := range methodAMR {
				known = append(known, k)
			}
			slices.Sort(known)
			return nil, Traits{}, fmt.Errorf("authenticate: unknown method %q (use %s)", m, strings.Join(known, ", "))
		}
		s.methods = append(s.methods, a)
	}
	return s, Traits{Authenticates: true}, nil
}

func (s authenticate) page(rc *Run) *Page {
	p := &Page{HostedLogin: true, Login: s.names, SecondFactor: s.mfa}
	for _, k := range []string{"email", "phone", "username"} {
		if v, ok := rc.State.Values[k].(string); ok && v != "" {
			p.LoginHint = v
			break
		}
	}
	return p
}

func (s authenticate) Enter(_ context.Context, rc *Run) (Outcome, error) {
	return Outcome{Kind: Prompt, Page: s.page(rc)}, nil
}

func (s authenticate) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	l := rc.Login
	reprompt := func(msg string) (Outcome, error) {
		p := s.page(rc)
		p.Errors = map[string]string{"": msg}
		return Outcome{Kind: Prompt, Page: p}, nil
	}
	switch {
	case l == nil || l.UserID == "":
		return reprompt("Log in to continue.")
	case l.AuthTime.Before(rc.State.StepStartedAt.Truncate(1e9)):
		// A session from before the step is not this step's authentication.
		return reprompt("Log in again to continue.")
	case rc.State.UserID != "" && rc.State.UserID != l.UserID:
		// The journey's user (created or authenticated earlier) must be the one who logs in.
		return reprompt("Log in with the account this journey started with.")
	case len(s.methods) > 0 && !slices.ContainsFunc(l.AMR, func(a string) bool { return slices.Contains(s.methods, a) }):
		return reprompt("Log in with one of the methods this step accepts.")
	case s.mfa && l.ACR != login.ACRMultiFactor:
		return reprompt("This step needs a login with a second factor.")
	}
	if hint := s.page(rc).LoginHint; hint != "" && rc.State.UserID == "" && rc.Engine != nil {
		if ok, err := rc.Engine.matchesIdentifier(ctx, rc, l.UserID); err != nil {
			return Outcome{}, err
		} else if !ok {
			return reprompt("Log in with the account you named at the start of this journey.")
		}
	}
	st := rc.State
	st.UserID, st.Authenticated = l.UserID, true
	st.AuthTime, st.AMR, st.ACR, st.SessionID = l.AuthTime, l.AMR, l.ACR, l.SessionID
	return Outcome{Kind: Next}, nil
}
