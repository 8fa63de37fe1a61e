package social

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/login/social"
)

// Issue 18: social providers managed at runtime "take effect on the next request, without
// a reload". A stored provider that is deleted is turned off at once: a login through it
// neither starts nor finishes — not even one begun before the deletion, whose callback
// comes back afterwards — and no session starts; stored again, it logs in.
func TestStoredProviderDeleted(t *testing.T) {
	e, _ := newEnv(t, "octo@example.com")
	gh := e.P.Social.Provider("gh")
	rt := *gh
	rt.Name, rt.Label = "rt", "Runtime GitHub"
	var stored atomic.Pointer[[]*social.Provider]
	on := []*social.Provider{&rt}
	stored.Store(&on)
	e.P.Social.Stored = func() []*social.Provider { return *stored.Load() }
	b := e.Browser()

	state := start(t, b, "/login/social/rt")
	stored.Store(&[]*social.Provider{})
	r := b.Get("/login/social/rt/callback?code=abc&state=" + url.QueryEscape(state))
	if r.StatusCode < 400 || r.Cookie("session") != nil {
		t.Fatalf("callback of a login begun before the provider was deleted: %d %q, want a refusal and no session\n%s", r.StatusCode, r.Location(), r.Body)
	}
	if r := b.Get("/login/social/rt"); r.StatusCode != http.StatusNotFound || r.Cookie("social") != nil {
		t.Fatalf("start through a deleted provider: %d %q, want 404", r.StatusCode, r.Location())
	}

	stored.Store(&on)
	state = start(t, b, "/login/social/rt")
	r = b.Get("/login/social/rt/callback?code=abc&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusSeeOther || r.Cookie("session") == nil {
		t.Fatalf("login through the provider stored again: %d %q, want 303 and a session\n%s", r.StatusCode, r.Location(), r.Body)
	}
}
