package journey

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/i18n"
)

// registerPasskey has the journey's user add a passkey with the existing registration (the
// account page's passkey button: login/passkey's ceremony and the static JS; no second
// implementation). The page links there; the user adds a passkey and continues, and the
// step goes on only if the user — the step's user, not whoever is signed in on the
// account page — has a passkey created since the step began.
type registerPasskey struct{}

// PasskeyPage is the portal page with the passkey registration: the account page, at the
// portal's root (handlers/account; there is no /account page).
const PasskeyPage = "/"

func init() {
	Register("register_passkey", Factory{New: func(StepConfig, *Env) (Step, Traits, error) {
		return registerPasskey{}, Traits{TouchesUser: true}, nil
	}, Example: StepConfig{ID: "passkey", Type: "register_passkey"}})
}

func (registerPasskey) page(errMsg string) *Page {
	p := &Page{Redirect: PasskeyPage, Message: i18n.N("Add a passkey on your account page, then come back and continue.")}
	if errMsg != "" {
		p.Errors = map[string]string{"": errMsg}
	}
	return p
}

func (s registerPasskey) Enter(_ context.Context, rc *Run) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	return Outcome{Kind: Prompt, Page: s.page("")}, nil
}

func (s registerPasskey) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	pks, err := rc.Engine.Store.ListUserPasskeys(ctx, rc.User.ID)
	if err != nil {
		return Outcome{}, fmt.Errorf("list passkeys: %w", err)
	}
	since := rc.State.StepStartedAt.Truncate(1e9)
	for _, p := range pks {
		if !p.CreatedAt.Before(since) {
			return Outcome{Kind: Next}, nil
		}
	}
	return Outcome{Kind: Prompt, Page: s.page(i18n.N("No new passkey was added to your account yet. Add one, then continue."))}, nil
}
