package oauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// A dynamically registered client is a third party whose redirect URIs were chosen by
// whoever could register, so a logged-in user must be asked before it gets a code. RFC 7591
// §5: "the authorization server MUST treat all client metadata as self-asserted"; RFC 6819
// §4.2.2 (malicious client obtains existing authorization by fraud): "Authorization servers
// should not automatically process repeat authorizations where the client is not
// authenticated"; OIDC Core §3.1.2.4: "the Authorization Server obtains an authorization
// decision" from the End-User. Register marks it consent required, in both modes; an RFC
// 7592 update keeps it; a stored registered client whose record lacks the mark (registered
// before it existed, or restored from an old dump) asks all the same.
func TestRegisteredClientRequiresConsent(t *testing.T) {
	for _, mode := range []string{oauth.RegistrationOpen, oauth.RegistrationApproval} {
		t.Run(mode, func(t *testing.T) {
			p, s := registrar(t, mode, "")
			ctx := context.Background()
			rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://attacker.test/cb"}, ClientName: "Totally Gatehouse"}, "192.0.2.1")
			if e != nil {
				t.Fatal(e)
			}
			id, tok := rc.Client.ID, rc.RegistrationToken
			if !rc.Client.ConsentRequired {
				t.Fatal("Register: the record is not consent required")
			}
			if mode == oauth.RegistrationApproval {
				if _, err := p.ApproveClient(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			needs := func(step string) {
				t.Helper()
				rec, err := s.GetClient(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !rec.ConsentRequired {
					t.Errorf("%s: stored record not consent required", step)
				}
				req, redirect, ae := p.Authorize(ctx, oauth.AuthParams{ClientID: id, RedirectURI: "https://attacker.test/cb",
					ResponseType: "code", Scopes: []string{"openid", "email"}, CodeChallenge: strings.Repeat("A", 43),
					CodeChallengeMethod: "S256", MaxAge: -1})
				if ae != nil {
					t.Fatalf("%s: authorize: %v (redirect %v)", step, ae, redirect)
				}
				need, err := p.NeedsConsent(ctx, "user-1", req)
				if err != nil || !need {
					t.Errorf("%s: NeedsConsent = %v, %v; want the consent page", step, need, err)
				}
			}
			needs("registered")
			if c, err := p.Client(ctx, id); err != nil || !c.Registered {
				t.Errorf("Client: %+v %v; want marked registered (the consent page warns)", c, err)
			}

			// RFC 7592 §2.2: the client replaces its metadata; it cannot drop the consent.
			got, e := p.ReadRegistration(ctx, id, tok, "192.0.2.1")
			if e != nil {
				t.Fatal(e)
			}
			m := got.Metadata()
			m.ClientName = "Renamed"
			up, e := p.UpdateRegistration(ctx, id, tok, "192.0.2.1", m)
			if e != nil || !up.Client.ConsentRequired {
				t.Fatalf("update: %+v %v; want still consent required", up, e)
			}
			needs("updated")

			// A record without the mark (an older registration) is still asked for.
			if _, err := s.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
				c.ConsentRequired = false
				return c, nil
			}); err != nil {
				t.Fatal(err)
			}
			c, err := p.Client(ctx, id)
			if err != nil || !c.ConsentRequired {
				t.Errorf("registered client without the stored mark: %+v %v; want consent required", c, err)
			}
		})
	}
}
