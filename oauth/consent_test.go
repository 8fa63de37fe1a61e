package oauth_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Issue 14 (consent): only a client marked consent required asks — configured or kept in
// the store (store.Client.ConsentRequired); a consent covers the scope set given and its
// subsets, not a superset; prompt=consent always asks; GiveConsent adds to what was given.
func TestNeedsConsent(t *testing.T) {
	e := idptest.New(t)
	if err := e.Store.CreateClient(e.Ctx, store.Client{ID: "stored", Name: "Stored", RedirectURIs: []string{"https://stored.test/cb"},
		ConsentRequired: true, CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	need := func(client, scope string, prompt ...string) bool {
		t.Helper()
		_, ch := idptest.PKCE()
		q := idptest.AuthQuery(client, "", ch, scope)
		q.Del("redirect_uri")
		if len(prompt) > 0 {
			q.Set("prompt", prompt[0])
		}
		req, _, oerr := e.P.ParseAuthRequest(e.Ctx, q)
		if oerr != nil {
			t.Fatalf("%s %s: %v", client, scope, oerr)
		}
		n, err := e.P.OAuth.NeedsConsent(e.Ctx, e.User.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		if n && len(prompt) == 0 {
			if err := e.P.OAuth.GiveConsent(e.Ctx, e.User.ID, req); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	if need("rp", "openid email", "consent") {
		t.Error("a first-party client asks for consent")
	}
	for _, client := range []string{"partner", "stored"} {
		if !need(client, "openid email") {
			t.Errorf("%s: no consent asked the first time", client)
		}
		if need(client, "openid") || need(client, "email openid") {
			t.Errorf("%s: asked again for a subset", client)
		}
		if !need(client, "openid", "consent") {
			t.Errorf("%s: prompt=consent did not ask", client)
		}
	}
	if !need("partner", "openid profile") {
		t.Error("partner: a superset did not ask")
	}
	if need("partner", "openid email profile") {
		t.Error("partner: the union of both consents asked again")
	}
}
