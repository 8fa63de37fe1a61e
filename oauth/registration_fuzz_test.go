package oauth

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClientMetadata: any JSON the registration endpoint decodes either is refused with an
// RFC 7591 §3.2.2 error, or becomes a client that the configured clients' constructor accepts
// (AS-02: every redirect URI passes ValidateRedirectURI; AS-09: PKCE required; AS-12: only the
// code flow) and whose kept metadata is bounded.
func FuzzClientMetadata(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["https://rp.test/cb"]}`,
		`{"redirect_uris":["https://rp.test/cb"],"token_endpoint_auth_method":"none","allowed_origins":["https://cdn.test"]}`,
		`{"grant_types":["client_credentials"],"response_types":[]}`,
		`{"redirect_uris":["javascript:alert(1)"]}`,
		`{"redirect_uris":["com.example.app:/cb"],"scope":"openid offline_access","contacts":["a@b.test"],"logo_uri":"https://rp.test/l.png"}`,
		`{"redirect_uris":["https://rp.test/cb"],"grant_types":["refresh_token","authorization_code"],"id_token_signed_response_alg":"ES256"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var m ClientMetadata
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		if e := m.normalize(); e != nil {
			if e.Kind != InvalidRedirectURI && e.Kind != InvalidClientMetadata {
				t.Fatalf("kind %v", e.Kind)
			}
			return
		}
		sec := ""
		if m.TokenEndpointAuthMethod != AuthMethodNone {
			sec = strings.Repeat("s", 43)
		}
		p := &Server{}
		rec, e := p.registeredRecord("fuzz", m, sec)
		if e != nil {
			if e.Kind != InvalidClientMetadata {
				t.Fatalf("kind %v", e.Kind)
			}
			return
		}
		if !rec.RequirePKCE || (rec.SecretHash == "") != (m.TokenEndpointAuthMethod == AuthMethodNone) {
			t.Fatalf("record %+v for %+v", rec, m)
		}
		for _, u := range append(append([]string{}, rec.RedirectURIs...), rec.PostLogoutRedirectURIs...) {
			if ValidateRedirectURI(u) != nil || len(u) > maxMetadataString {
				t.Fatalf("redirect URI %q kept", u)
			}
		}
		if len(rec.RedirectURIs) > maxMetadataURIs || utf8.RuneCountInString(rec.Name) > maxClientName {
			t.Fatalf("unbounded record %+v", rec)
		}
		for k, v := range rec.Metadata {
			if len(v) > 320*maxContacts+maxContacts || len(k) > 64 {
				t.Fatalf("metadata %q=%q", k, v)
			}
		}
		for _, s := range rec.Scopes {
			if !hasString(RegistrableScopes, s) {
				t.Fatalf("scope %q kept", s)
			}
		}
	})
}
