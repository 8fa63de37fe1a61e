package device

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Issue 18: the MFA requirement per method takes "effect on the next request, without a
// reload". A password session started before login.mfa.password was set to required
// approves no device: the approval is refused with 403 second_factor_required for a user
// without a second factor and sent to the second-factor step for one with a passkey, and
// the device gets no tokens. Back to if_enrolled, the same session approves it.
func TestDeviceSecondFactorRequiredSetting(t *testing.T) {
	e, tv := newEnv(t)
	set := e.UseSettings()
	st := start(t, e, tv)
	b := e.Browser()
	b.LogIn()
	decide := url.Values{"user_code": {st.UserCode}, "decision": {"approve"}}

	set.Set(`{"login":{"mfa":{"password":"required"}}}`)
	if r := b.PostForm("/device/decide", decide); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "second_factor_required") {
		t.Fatalf("approval by a password session, second factor now required, none set up: %d\n%s", r.StatusCode, r.Body)
	}
	e.AddPasskey("Laptop")
	if r := b.PostForm("/device/decide", decide); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login/mfa?return_to=") {
		t.Fatalf("approval by a password session of a user with a passkey: %d %q, want the second-factor step", r.StatusCode, r.Location())
	}
	if _, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode); oerr == nil || oerr.Kind != oauth.AuthorizationPending {
		t.Fatalf("poll after the refused approvals: %v, want authorization_pending", oerr)
	}

	set.Set(`{"login":{"mfa":{"password":"if_enrolled"}}}`)
	if r := b.PostForm("/device/decide", decide); r.StatusCode >= 300 && r.StatusCode != http.StatusSeeOther || strings.HasPrefix(r.Location(), "/login") {
		t.Fatalf("approval once back to if_enrolled: %d %q\n%s", r.StatusCode, r.Location(), r.Body)
	}
	if _, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode); oerr != nil {
		t.Fatalf("poll after the approval: %v", oerr)
	}
}
