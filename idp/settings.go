package idp

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
)

// UseSettings points the identity core at the runtime settings (issue 18: "take effect on
// the next request, without a reload"): which login methods are on (the code and link
// methods, passkey login and sign-up; refused at every step when off), the sign-up mode,
// the second factor required per login method (at the login, and for sessions and tokens
// of an earlier login: mfa.Rules.StepUpRequired, which also refuses their codes and refresh
// tokens: oauth.Server.StepUpRequired), the session lifetimes (also of existing
// sessions: sessions.Manager.ExpiresAt) and the roles in tokens. Each reads the view's
// snapshot, never the store. The social providers stored at runtime and the brand are
// the module's to wire (they build upstream clients and pages).
func (p *Provider) UseSettings(view *settings.View) {
	p.Codes.On = func(m string) bool { return view.Load().Effective.Enabled(m) }
	p.Passkey.LoginOn = func() bool { return view.Load().Effective.Enabled(settings.MethodPasskey) }
	p.Signup.ModeNow = func() string { return view.Load().Effective.Signup }
	p.MFA.Required = func(amr []string) bool { return view.Load().Effective.SecondFactorRequired(amr) }
	p.Sessions.Lifetimes = func() (time.Duration, time.Duration) {
		e := view.Load().Effective
		return e.SessionIdle, e.SessionLifetime
	}
	p.Tokens.ExpandUser = func(u store.User) store.User { return view.Load().ExpandUser(u) }
}
