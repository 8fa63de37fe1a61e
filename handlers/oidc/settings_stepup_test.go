package oidc

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Issue 18: the MFA requirement per method takes "effect on the next request, without a
// reload". A password session started before login.mfa.password was set to required gets
// no authorization code afterwards: a user without a second factor is shown how to set one
// up, with no way on without it (whatever gh_mfa_skip says); prompt=none answers
// interaction_required; a user with a passkey is sent to the second-factor step. A session
// confirmed with a second factor gets its code, and so does the old session once the
// method is back to if_enrolled.
func TestSecondFactorRequiredSettingOldSession(t *testing.T) {
	e := newEnv(t)
	set := idptest.UseSettings(t, e.P, e.Store, settings.Base{Values: settings.Defaults(), PasskeysAvailable: true}).Set
	old, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	target := PathAuthorize + "?" + q.Encode()
	if code := redirectParams(t, e.do(e.withSession(old, target))).Get("code"); code == "" {
		t.Fatal("no code for the password session before the change")
	}

	set(`{"login":{"mfa":{"password":"required"}}}`)
	for _, tgt := range []string{target, target + "&" + paramMFASkip + "=1"} {
		w := e.do(e.withSession(old, tgt))
		body := w.Body.String()
		if w.Code != http.StatusOK || w.Header().Get("Location") != "" || !strings.Contains(body, "Set up a second factor") ||
			strings.Contains(body, "data-continue") {
			t.Fatalf("old password session, second factor now required, none set up (%s): %d %q, want the set-up page without a way on\n%s",
				tgt, w.Code, w.Header().Get("Location"), body)
		}
	}
	qn := url.Values{}
	for k, v := range q {
		qn[k] = v
	}
	qn.Set("prompt", "none")
	if got := redirectParams(t, e.do(e.withSession(old, PathAuthorize+"?"+qn.Encode()))); got.Get("error") != codeInteractionRequired || got.Get("code") != "" {
		t.Fatalf("prompt=none: %v, want interaction_required", got)
	}
	if err := e.Store.CreatePasskey(e.Ctx, store.Passkey{ID: "pk-1", UserID: e.User.ID, Name: "Laptop",
		Credential: json.RawMessage(`{}`), CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	w := e.do(e.withSession(old, target))
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || !strings.HasPrefix(loc, "/login/mfa?return_to=") {
		t.Fatalf("old password session of a user with a passkey: %d %q, want the second-factor step", w.Code, loc)
	}
	mfa, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd", "webauthn", "mfa"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if code := redirectParams(t, e.do(e.withSession(mfa, target))).Get("code"); code == "" {
		t.Fatal("no code for the session confirmed with a second factor")
	}

	set(`{"login":{"mfa":{"password":"if_enrolled"}}}`)
	if code := redirectParams(t, e.do(e.withSession(old, target))).Get("code"); code == "" {
		t.Fatal("no code for the old password session once the method is back to if_enrolled")
	}
}
