package e2e

import (
	"bytes"
	"net/http"
	"testing"
)

// TestPortalUnknownPathIs404: an address under the portal that nothing serves answers the
// portal's "Page not found" page with 404 (it was an empty 200: Caddy's answer when no
// handler writes one). A route sharing the portal's site still answers its own paths.
func TestPortalUnknownPathIs404(t *testing.T) {
	e := Start(t, Config{Sites: `
{{.App}} {
	bind 127.0.0.1
	gatehouse_portal
	respond /hello "hi from the app"
}`})
	for _, u := range []string{e.Issuer + "/no-such-page", e.Issuer + "/account/nothing-here", e.App + "/nothing"} {
		r := Get(t, u, "")
		if r.Status != http.StatusNotFound || !bytes.Contains(r.Body, []byte("Page not found")) || !bytes.Contains(r.Body, []byte("</html>")) {
			t.Errorf("GET %s: %s, want the portal's 404 page", u, r)
		}
	}
	if r := Get(t, e.App+"/hello", ""); r.Status != http.StatusOK || string(r.Body) != "hi from the app" {
		t.Errorf("GET /hello on a site shared with the portal: %s", r)
	}
	// A portal address with the wrong method is 405, not 404 (nor an empty 200).
	if r := Do(t, API, NewRequest(t, http.MethodPost, e.Issuer+"/jwks", nil)); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
		t.Errorf("POST /jwks: %s, want 405 with Allow", r)
	}
	if r := Get(t, e.Issuer+"/.well-known/openid-configuration", ""); r.Status != http.StatusOK {
		t.Errorf("discovery: %s", r)
	}
}
