package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

func registrar(t *testing.T, mode, iat string) (*oauth.Server, store.Store) {
	t.Helper()
	s := memory.New()
	now := func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }
	return &oauth.Server{Issuer: "https://id.test", Store: s, Configured: map[string]*oauth.Client{}, Now: now,
		Limiter: &lockout.Limiter{Store: s, Now: now, Window: time.Minute}, ClientMaxFailures: 5,
		Registration: oauth.Registration{Mode: mode, InitialAccessToken: iat}}, s
}

func wantRegKind(t *testing.T, e *oauth.Error, k oauth.Kind, contains string) {
	t.Helper()
	if e == nil || e.Kind != k || !strings.Contains(e.Description, contains) {
		t.Errorf("error %v, want %v containing %q", e, k, contains)
	}
}

// RFC 7591 §3.2.1: the answer carries client_id, the client_secret of a confidential client
// (none for token_endpoint_auth_method none) and the registered metadata with its defaults
// (§2: grant type authorization_code, response type code, method client_secret_basic). The
// secret and the registration access token are stored hashed only.
func TestRegisterIssuesCredentialsStoredHashed(t *testing.T) {
	p, s := registrar(t, oauth.RegistrationOpen, "")
	ctx := context.Background()
	rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}, ClientName: "RP"}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	m := rc.Metadata()
	if rc.Secret == "" || rc.RegistrationToken == "" || m.TokenEndpointAuthMethod != oauth.AuthMethodBasic ||
		strings.Join(m.GrantTypes, ",") != "authorization_code" || strings.Join(m.ResponseTypes, ",") != "code" {
		t.Fatalf("registered %+v, metadata %+v", rc, m)
	}
	rec, err := s.GetClient(ctx, rc.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rec.SecretHash, rc.Secret) || strings.Contains(rec.RegistrationTokenHash, rc.RegistrationToken) || rec.Pending {
		t.Errorf("stored %+v", rec)
	}
	if _, ae := p.AuthenticateClient(ctx, rc.Client.ID, rc.Secret, true, "192.0.2.1"); ae != nil {
		t.Errorf("the issued secret does not authenticate: %v", ae)
	}
	if _, ae := p.AuthenticateClient(ctx, rc.Client.ID, rc.Secret+"x", true, "192.0.2.1"); ae == nil {
		t.Error("a wrong secret authenticates")
	}
}

// AS-09: RFC 7591 §2 token_endpoint_auth_method "none": a public client (no secret), which must use
// PKCE; its browser origins (CORS) are its redirect URIs' and its allowed_origins.
func TestRegisterPublicClientForcesPKCE(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationOpen, "")
	ctx := context.Background()
	rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://spa.test/cb"}, TokenEndpointAuthMethod: "none",
		GrantTypes: []string{"authorization_code", "refresh_token"}, AllowedOrigins: []string{"https://cdn.test"}}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	if rc.Secret != "" {
		t.Error("a public client got a secret")
	}
	c, err := p.Client(ctx, rc.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Public() || !c.RequirePKCE || !c.AllowsOrigin("https://spa.test") || !c.AllowsOrigin("https://cdn.test") {
		t.Errorf("client %+v origins %q", c, c.Origins())
	}
	if !p.KnownOrigin(ctx, "https://cdn.test") {
		t.Error("a stored client's allowed_origins are not known to the preflight")
	}
}

// AS-02, OC-18: RFC 7591 §3.2.2 invalid_redirect_uri: the redirect URIs follow exactly the rules of
// configured clients (oauth.ValidateRedirectURI; RFC 9700 §2.6, OIDC Core §3.1.2.1, RFC 8252
// §7.1), and the error names the field.
func TestRegisterRefusesBadRedirectURIs(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationOpen, "")
	for _, u := range []string{"javascript:alert(1)", "https://rp.test/cb#frag", "http://rp.test/cb", "/cb",
		"data:text/html,x", "https://user@rp.test/cb", "myapp:/cb", "https://rp.test/c b"} {
		_, e := p.Register(context.Background(), oauth.ClientMetadata{RedirectURIs: []string{"https://ok.test/cb", u}}, "192.0.2.1")
		wantRegKind(t, e, oauth.InvalidRedirectURI, "redirect_uris[1]")
	}
	_, e := p.Register(context.Background(), oauth.ClientMetadata{}, "192.0.2.1")
	wantRegKind(t, e, oauth.InvalidRedirectURI, "redirect_uris")
	_, e = p.Register(context.Background(), oauth.ClientMetadata{RedirectURIs: []string{"https://ok.test/cb"},
		PostLogoutRedirectURIs: []string{"javascript:x"}}, "192.0.2.1")
	wantRegKind(t, e, oauth.InvalidRedirectURI, "post_logout_redirect_uris[0]")
	many := make([]string, 21)
	for i := range many {
		many[i] = "https://ok.test/cb"
	}
	_, e = p.Register(context.Background(), oauth.ClientMetadata{RedirectURIs: many}, "192.0.2.1")
	wantRegKind(t, e, oauth.InvalidRedirectURI, "at most")
}

// AS-12, OC-03: RFC 7591 §3.2.2 invalid_client_metadata, naming the field: grant and response types must
// agree (§2.1), only the code flow exists, public clients cannot use client_credentials, a
// registered client may ask only for the standard scopes, allowed_origins are for public
// clients, values are bounded.
func TestRegisterRefusesBadMetadata(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationOpen, "")
	cb := []string{"https://rp.test/cb"}
	for _, tc := range []struct {
		m    oauth.ClientMetadata
		want string
	}{
		{oauth.ClientMetadata{RedirectURIs: cb, ResponseTypes: []string{"token"}}, "response_types"},
		{oauth.ClientMetadata{RedirectURIs: cb, GrantTypes: []string{"implicit"}}, "grant_types"},
		{oauth.ClientMetadata{RedirectURIs: cb, GrantTypes: []string{"refresh_token"}}, "disagree"},
		{oauth.ClientMetadata{RedirectURIs: cb, GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{"code"}}, "disagree"},
		{oauth.ClientMetadata{RedirectURIs: cb, TokenEndpointAuthMethod: "private_key_jwt"}, "token_endpoint_auth_method"},
		{oauth.ClientMetadata{TokenEndpointAuthMethod: "none", GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{}}, "client_credentials"},
		{oauth.ClientMetadata{RedirectURIs: cb, Scope: "openid admin"}, `scope "admin"`},
		// gatehouse:admin is never registered (RFC 7591 §3.2.2: "invalid_client_metadata
		// [...] The value of one of the client metadata fields is invalid"), even by a
		// confidential client_credentials client: only an administrator's Admin mark gives it.
		{oauth.ClientMetadata{RedirectURIs: cb, Scope: "openid " + oauth.AdminScope}, `scope "gatehouse:admin"`},
		{oauth.ClientMetadata{GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{}, Scope: oauth.AdminScope}, `scope "gatehouse:admin"`},
		{oauth.ClientMetadata{RedirectURIs: cb, AllowedOrigins: []string{"https://rp.test"}}, "allowed_origins is only for public"},
		{oauth.ClientMetadata{RedirectURIs: cb, TokenEndpointAuthMethod: "none", AllowedOrigins: []string{"https://rp.test/"}}, "allowed_origins[0]"},
		{oauth.ClientMetadata{RedirectURIs: cb, ClientName: strings.Repeat("n", 201)}, "client_name"},
		{oauth.ClientMetadata{RedirectURIs: cb, LogoURI: "javascript:x"}, "logo_uri"},
		{oauth.ClientMetadata{RedirectURIs: cb, Contacts: make([]string, 11)}, "contacts"},
		// OC-03: a registration asking for unsigned ID tokens is refused.
		{oauth.ClientMetadata{RedirectURIs: cb, IDTokenSignedResponseAlg: "none"}, "id_token_signed_response_alg"},
		{oauth.ClientMetadata{RedirectURIs: cb, IDTokenSignedResponseAlg: "HS256"}, "id_token_signed_response_alg"},
	} {
		_, e := p.Register(context.Background(), tc.m, "192.0.2.1")
		wantRegKind(t, e, oauth.InvalidClientMetadata, tc.want)
	}
	// A client_credentials-only confidential client (response_types []) needs no redirect URI.
	if _, e := p.Register(context.Background(), oauth.ClientMetadata{GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{}}, "192.0.2.1"); e != nil {
		t.Errorf("client_credentials only: %v", e)
	}
}

// AS-03: approval mode: a registered client exists but /authorize and /token refuse it until an
// administrator approves it; its origins are not allowed meanwhile.
func TestRegisteredClientWaitsForApproval(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationApproval, "")
	ctx := context.Background()
	rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://spa.test/cb"}, TokenEndpointAuthMethod: "none"}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	id := rc.Client.ID
	if !rc.Client.Pending {
		t.Fatal("not pending")
	}
	if _, err := p.Client(ctx, id); !errors.Is(err, oauth.ErrClientPending) || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Client: %v", err)
	}
	_, redirect, ae := p.Authorize(ctx, oauth.AuthParams{ClientID: id, RedirectURI: "https://spa.test/cb", ResponseType: "code"})
	if redirect {
		t.Error("redirected for a pending client")
	}
	wantRegKind(t, ae, oauth.UnauthorizedClient, "approval")
	if _, ae := p.AuthenticateClient(ctx, id, "", false, "192.0.2.1"); ae == nil || ae.Kind != oauth.InvalidClient {
		t.Errorf("token endpoint accepted a pending client: %v", ae)
	}
	if p.KnownOrigin(ctx, "https://spa.test") {
		t.Error("a pending client's origin is allowed")
	}
	pending, err := p.StoredClients(ctx, true, "", 0)
	if err != nil || len(pending) != 1 || pending[0].ID != id {
		t.Fatalf("pending %v %v", pending, err)
	}
	if _, err := p.ApproveClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client(ctx, id); err != nil {
		t.Errorf("approved client: %v", err)
	}
	if _, err := p.ApproveClient(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("approve unknown: %v", err)
	}
}

// CR-05: RFC 7591 §3: the endpoint may require an initial access token; a missing or wrong one is
// refused (RFC 6750 invalid_token), and failures are limited per client IP.
func TestInitialAccessToken(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationOpen, "the-initial-access-token")
	ctx := context.Background()
	if e := p.CheckInitialAccessToken(ctx, "the-initial-access-token", "192.0.2.1"); e != nil {
		t.Errorf("right token: %v", e)
	}
	wantRegKind(t, p.CheckInitialAccessToken(ctx, "", "192.0.2.1"), oauth.InvalidToken, "initial access token")
	for range 5 {
		wantRegKind(t, p.CheckInitialAccessToken(ctx, "guess", "192.0.2.9"), oauth.InvalidToken, "initial access token")
	}
	wantRegKind(t, p.CheckInitialAccessToken(ctx, "the-initial-access-token", "192.0.2.9"), oauth.InvalidToken, "too many")
	open, _ := registrar(t, oauth.RegistrationOpen, "")
	if e := open.CheckInitialAccessToken(ctx, "", "192.0.2.1"); e != nil {
		t.Errorf("no token configured: %v", e)
	}
}

// Registrations per client IP are limited, so an open endpoint cannot fill the store.
func TestRegistrationsPerIPLimited(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationApproval, "")
	p.Registration.PerIPPerHour = 2
	m := oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}}
	for i := range 3 {
		_, e := p.Register(context.Background(), m, "192.0.2.1")
		if i < 2 && e != nil || i == 2 && (e == nil || e.Kind != oauth.TooManyRequests) {
			t.Errorf("registration %d: %v", i, e)
		}
	}
	if _, e := p.Register(context.Background(), m, "192.0.2.2"); e != nil {
		t.Errorf("another IP: %v", e)
	}
}

// RFC 7592 §2: the registration access token reads, replaces and deletes the registration;
// a wrong token, or an unknown client, is 401 (invalid_token). §2.2: client_id must match, a
// client_secret sent must be the current one. In approval mode, a client that changes its
// redirect URIs waits for approval again.
func TestRegistrationManagement(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationApproval, "")
	ctx := context.Background()
	rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}, ClientName: "RP"}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	id, tok := rc.Client.ID, rc.RegistrationToken
	if _, err := p.ApproveClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, e := p.ReadRegistration(ctx, id, tok, "192.0.2.1")
	if e != nil || got.Metadata().ClientName != "RP" || got.Secret != "" || got.RegistrationToken != "" {
		t.Fatalf("read %+v %v", got, e)
	}
	for _, c := range []struct{ id, tok string }{{id, tok + "x"}, {id, ""}, {"unknown", tok}, {"", tok}} {
		_, e := p.ReadRegistration(ctx, c.id, c.tok, "192.0.2.1")
		wantRegKind(t, e, oauth.InvalidToken, "registration access token")
	}
	m := got.Metadata()
	m.ClientName = "Renamed"
	up, e := p.UpdateRegistration(ctx, id, tok, "192.0.2.1", m)
	if e != nil || up.Client.Name != "Renamed" || up.Client.Pending || up.Client.SecretHash != rc.Client.SecretHash {
		t.Fatalf("rename: %+v %v", up, e)
	}
	bad := m
	bad.ClientID = "other"
	_, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", bad)
	wantRegKind(t, e, oauth.InvalidClientMetadata, "client_id")
	bad = m
	bad.ClientSecret = "not-the-secret-at-all"
	_, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", bad)
	wantRegKind(t, e, oauth.InvalidClientMetadata, "client_secret")
	bad = m
	bad.TokenEndpointAuthMethod = "none"
	_, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", bad)
	wantRegKind(t, e, oauth.InvalidClientMetadata, "cannot change")
	bad = m
	bad.RedirectURIs = []string{"http://evil.test/cb"}
	_, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", bad)
	wantRegKind(t, e, oauth.InvalidRedirectURI, "redirect_uris[0]")

	m.ClientSecret = rc.Secret
	m.RedirectURIs = []string{"https://rp.test/new"}
	up, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", m)
	if e != nil || !up.Client.Pending {
		t.Fatalf("a new redirect URI in approval mode: pending %v, %v", up != nil && up.Client.Pending, e)
	}
	wantRegKind(t, p.DeleteRegistration(ctx, id, tok+"x", "192.0.2.1"), oauth.InvalidToken, "")
	if e := p.DeleteRegistration(ctx, id, tok, "192.0.2.1"); e != nil {
		t.Fatal(e)
	}
	_, e = p.ReadRegistration(ctx, id, tok, "192.0.2.1")
	wantRegKind(t, e, oauth.InvalidToken, "")
}

// OC-03: a registered client's id_token_signed_response_alg signs its ID tokens.
func TestRegisteredIDTokenAlg(t *testing.T) {
	p, _ := registrar(t, oauth.RegistrationOpen, "")
	rc, e := p.Register(context.Background(), oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}, IDTokenSignedResponseAlg: "ES256"}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	c, err := p.Client(context.Background(), rc.Client.ID)
	if err != nil || c.IDTokenAlg != "ES256" || rc.Metadata().IDTokenSignedResponseAlg != "ES256" {
		t.Fatalf("client %+v %v", c, err)
	}
}

// Attack: an administrator disables a dynamically registered client; its registrant sends
// an RFC 7592 PUT with its registration access token to get a fresh record without the
// Disabled mark, and the client works again. RFC 7592 §2.1: "If the client does not have
// permission to read its record, the server MUST return an HTTP 403 Forbidden": while
// disabled, the registration can be neither read, changed nor deleted (403,
// insufficient_scope), and the client stays unknown to every endpoint. What only an
// administrator sets (Admin, SecretRotatedAt) survives an update of an enabled client.
func TestRegistrationCannotUndoDisable(t *testing.T) {
	p, s := registrar(t, oauth.RegistrationOpen, "")
	ctx := context.Background()
	rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}, ClientName: "RP"}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	id, tok := rc.Client.ID, rc.RegistrationToken
	m := rc.Metadata()
	if _, err := p.SetClientDisabled(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	m.ClientName = "Back again"
	_, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", m)
	wantRegKind(t, e, oauth.InsufficientScope, "disabled")
	if _, err := p.Client(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Client after the PUT: %v; want still disabled (not found)", err)
	}
	if _, ae := p.AuthenticateClient(ctx, id, rc.Secret, true, "192.0.2.1"); ae == nil {
		t.Error("the disabled client authenticates after the PUT")
	}
	_, e = p.ReadRegistration(ctx, id, tok, "192.0.2.1")
	wantRegKind(t, e, oauth.InsufficientScope, "disabled")
	wantRegKind(t, p.DeleteRegistration(ctx, id, tok, "192.0.2.1"), oauth.InsufficientScope, "disabled")
	// A wrong token still learns nothing: the same 401 as an unknown client.
	_, e = p.ReadRegistration(ctx, id, tok+"x", "192.0.2.1")
	wantRegKind(t, e, oauth.InvalidToken, "registration access token")
	if rec, err := s.GetClient(ctx, id); err != nil || !rec.Disabled || rec.Name != "RP" {
		t.Fatalf("stored %+v %v; want disabled, unchanged", rec, err)
	}

	// Enabled again, with the administrator's marks: an update keeps them.
	if _, err := p.SetClientDisabled(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		c.Admin = true
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	rot, _, err := p.RotateClientSecret(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	up, e := p.UpdateRegistration(ctx, id, tok, "192.0.2.1", m)
	if e != nil {
		t.Fatal(e)
	}
	if up.Client.Name != "Back again" || !up.Client.Admin || !up.Client.SecretRotatedAt.Equal(rot.SecretRotatedAt) ||
		rot.SecretRotatedAt.IsZero() || up.Client.Disabled {
		t.Errorf("after the update %+v; want renamed, Admin and SecretRotatedAt %v kept", up.Client, rot.SecretRotatedAt)
	}
}

// A record listing gatehouse:admin (an older registration, a restored dump) reads back
// without it (it grants nothing: Client strips it), and an update cannot add it:
// invalid_client_metadata naming scope (RFC 7591 §3.2.2).
func TestRegistrationNeverListsAdminScope(t *testing.T) {
	p, s := registrar(t, oauth.RegistrationOpen, "")
	ctx := context.Background()
	rc, e := p.Register(ctx, oauth.ClientMetadata{RedirectURIs: []string{"https://rp.test/cb"}, Scope: "openid"}, "192.0.2.1")
	if e != nil {
		t.Fatal(e)
	}
	id, tok := rc.Client.ID, rc.RegistrationToken
	m := rc.Metadata()
	m.Scope = "openid " + oauth.AdminScope
	_, e = p.UpdateRegistration(ctx, id, tok, "192.0.2.1", m)
	wantRegKind(t, e, oauth.InvalidClientMetadata, `scope "gatehouse:admin"`)
	if _, err := s.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		c.Scopes = []string{"openid", oauth.AdminScope}
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, e := p.ReadRegistration(ctx, id, tok, "192.0.2.1")
	if e != nil || got.Metadata().Scope != "openid" {
		t.Fatalf("read %v %v; want scope openid", got, e)
	}
	if _, e := p.UpdateRegistration(ctx, id, tok, "192.0.2.1", got.Metadata()); e != nil {
		t.Errorf("PUT of the registration as read: %v", e)
	}
}
