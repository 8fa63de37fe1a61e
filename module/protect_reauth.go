package module

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// checkReauth records the problems of max_age and acr (re-authentication age and the
// required authentication context class).
func (p *Protect) checkReauth(v *Validator, path string) {
	if p.MaxAge < 0 || (p.MaxAge > 0 && time.Duration(p.MaxAge) < time.Second) {
		v.Errorf(path+".max_age", "must be at least 1s (the age is sent to clients in whole seconds), got %s", time.Duration(p.MaxAge))
	}
	if p.ACR != "" && p.ACR != idp.ACRMultiFactor {
		v.Errorf(path+".acr", "must be %q (a multi-factor login), got %q", idp.ACRMultiFactor, p.ACR)
	}
	if p.MFAAllowsAppCredentials && p.MaxAge > 0 {
		v.Errorf(path+".mfa_allows_app_credentials", "cannot apply with max_age: app passwords and access tokens record no login, so a route with max_age refuses them")
	}
}
