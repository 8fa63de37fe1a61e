package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// DefaultScopes are the scopes every client may request unless its configuration lists
// others.
var DefaultScopes = []string{"openid", "profile", "email", "offline_access"}

// Client is an OAuth client.
type Client struct {
	ID   string
	Name string
	// secretHash is the SHA-256 of secretSalt ‖ secret (secret.ClientDigest); nil for a
	// public client. secretSalt is nil for a plain secret and for clients from the store.
	secretHash             []byte
	secretSalt             []byte
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes the client may request.
	Scopes []string
	// GrantTypes the client may use.
	GrantTypes []string
	// RequirePKCE forces S256 PKCE (always true for public clients).
	RequirePKCE bool
	// Token lifetimes of this client (0: the provider's).
	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration
	RefreshTokenIdle     time.Duration
	// IDTokenAlg signs this client's ID tokens ("": the provider's).
	IDTokenAlg string
	// AccessTokenAlg signs this client's access tokens ("": the provider's).
	AccessTokenAlg string
	// Resources are the resource indicators (RFC 8707) the client may request as the access
	// token's audience.
	Resources []string
	// BackchannelLogoutURI receives a logout token when a session the client took part in
	// ends (OpenID Connect Back-Channel Logout 1.0).
	BackchannelLogoutURI string
	// AllowedOrigins are browser origins, besides its redirect URIs' origins, from which a
	// public client may call the token, revocation and userinfo endpoints (CORS).
	AllowedOrigins []string
	// ConsentRequired marks a third-party client: the user is asked to consent to what it
	// requests (the consent page), and the decision is remembered per scope set.
	ConsentRequired bool
	// Registered marks a client that registered itself (RFC 7591): its name and other
	// metadata are self-asserted (RFC 7591 §5), which the consent page says.
	Registered bool
	// AccessTokenClaims are the user claims its access tokens carry besides the defaults.
	AccessTokenClaims []string
	// RequirePushedRequests: the client may start an authorization request only through a
	// pushed authorization request (RFC 9126 §6).
	RequirePushedRequests bool
	// ApprovalOTP lets the users of this client approve a transaction with an email or SMS
	// code instead of a passkey.
	ApprovalOTP bool
	// DefaultJourney is the journey its authorization requests run when they name none.
	DefaultJourney string
	// SecretRotatedAt is when a stored client's secret was last rotated (zero: never, or a
	// client of the configuration): tokens issued before then no longer administer.
	SecretRotatedAt time.Time
	// origins are the browser origins of a public client (origins.go); nil otherwise.
	origins map[string]bool
}

func (c *Client) lifetime(own, def time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return def
}

// forTokens is what the tokens issued to the client say of it.
func (c *Client) forTokens() issue.Client {
	return issue.Client{ID: c.ID, Name: c.Name, AccessTokenLifetime: c.AccessTokenLifetime,
		IDTokenLifetime: c.IDTokenLifetime, IDTokenAlg: c.IDTokenAlg, AccessTokenAlg: c.AccessTokenAlg,
		AccessTokenClaims: c.AccessTokenClaims}
}

// ClientConfig describes a client from the configuration.
type ClientConfig struct {
	ID   string
	Name string
	// Secret is the client secret in clear; SecretHash a verifier of it made by
	// secret.HashClientSecret (`gatehouse hash-secret`). At most one of them is set; with
	// neither, the client is public.
	Secret                 string
	SecretHash             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	GrantTypes             []string
	// PKCE is "required" or "optional" ("": required for public clients, optional otherwise).
	PKCE                 string
	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration
	RefreshTokenIdle     time.Duration
	IDTokenAlg           string
	AccessTokenAlg       string
	Resources            []string
	BackchannelLogoutURI string
	// AllowedOrigins are origins (https://app.example.com) a public client's pages are served
	// from besides its redirect URIs' origins (ValidateOrigin); not for confidential clients.
	AllowedOrigins []string
	// Consent is "required" for a third-party client whose users must consent to what it
	// asks for, "" or "none" (the default) for a first-party client.
	Consent string
	// AccessTokenClaims are user claims its access tokens carry besides the defaults:
	// "roles", "permissions" (issue.AccessTokenClaimNames).
	AccessTokenClaims []string
	// RequirePushedRequests: authorization requests only through the pushed authorization
	// request endpoint (RFC 9126 §6: require_pushed_authorization_requests).
	RequirePushedRequests bool
	// ApprovalOTP lets this client's users approve a transaction with an email or SMS code.
	ApprovalOTP bool
	// DefaultJourney is the journey its authorization requests run without journey=<name>.
	DefaultJourney string
}

// NewClient validates cfg and builds a client. Each problem is reported with the field name.
func NewClient(cfg ClientConfig) (*Client, error) {
	var errs []error
	if !validClientID(cfg.ID) {
		errs = append(errs, fmt.Errorf("client id %q: use 1-128 characters among letters, digits and . _ - : @", cfg.ID))
	}
	c := &Client{ID: cfg.ID, Name: cfg.Name, Scopes: cfg.Scopes, GrantTypes: cfg.GrantTypes,
		RedirectURIs: cfg.RedirectURIs, PostLogoutRedirectURIs: cfg.PostLogoutRedirectURIs,
		AccessTokenLifetime: cfg.AccessTokenLifetime, IDTokenLifetime: cfg.IDTokenLifetime,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime, RefreshTokenIdle: cfg.RefreshTokenIdle,
		IDTokenAlg: cfg.IDTokenAlg, AccessTokenAlg: cfg.AccessTokenAlg, Resources: cfg.Resources,
		BackchannelLogoutURI: cfg.BackchannelLogoutURI, AllowedOrigins: cfg.AllowedOrigins,
		AccessTokenClaims: cfg.AccessTokenClaims, RequirePushedRequests: cfg.RequirePushedRequests,
		ApprovalOTP: cfg.ApprovalOTP, DefaultJourney: cfg.DefaultJourney}
	for _, name := range cfg.AccessTokenClaims {
		if !slices.Contains(issue.AccessTokenClaimNames, name) {
			errs = append(errs, fmt.Errorf("access_token_claims: %q is not a claim access tokens can carry (%s)", name, strings.Join(issue.AccessTokenClaimNames, ", ")))
		}
	}
	switch cfg.Consent {
	case "required":
		c.ConsentRequired = true
	case "", "none":
	default:
		errs = append(errs, fmt.Errorf("client %q: consent must be required or none, got %q", cfg.ID, cfg.Consent))
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	switch {
	case cfg.Secret != "" && cfg.SecretHash != "":
		errs = append(errs, fmt.Errorf("client %q: set secret or secret_hash, not both", cfg.ID))
	case cfg.Secret != "":
		if len(cfg.Secret) < 16 {
			errs = append(errs, fmt.Errorf("client %q: secret must be at least 16 characters (generate one with `openssl rand -base64 32`)", cfg.ID))
		}
		c.secretHash = secret.ClientDigest(nil, cfg.Secret)
	case cfg.SecretHash != "":
		salt, digest, err := secret.ParseClientSecretHash(cfg.SecretHash)
		if err != nil {
			errs = append(errs, fmt.Errorf("client %q: secret_hash: %w", cfg.ID, err))
			break
		}
		c.secretSalt, c.secretHash = salt, digest
	}
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	for _, s := range c.Scopes {
		if !validScopeToken(s) {
			errs = append(errs, fmt.Errorf("client %q: scope %q: use printable ASCII without spaces, quotes or backslashes", cfg.ID, s))
		}
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	c.GrantTypes = normalizeGrants(c.GrantTypes)
	for _, g := range c.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantDeviceCode:
			// RFC 8628 §1: device clients are usually public; both kinds may use it.
		case GrantClientCredentials:
			if c.Public() {
				errs = append(errs, fmt.Errorf("client %q: client_credentials needs a confidential client (set a secret or secret_hash)", cfg.ID))
			}
		default:
			errs = append(errs, fmt.Errorf("client %q: grant type %q is not supported (use authorization_code, refresh_token, client_credentials, %s)", cfg.ID, g, GrantDeviceCode))
		}
	}
	for name, d := range map[string]time.Duration{"access_token_lifetime": c.AccessTokenLifetime,
		"id_token_lifetime": c.IDTokenLifetime, "refresh_token_lifetime": c.RefreshTokenLifetime,
		"refresh_token_idle": c.RefreshTokenIdle} {
		if d < 0 || (name == "access_token_lifetime" && d > 24*time.Hour) {
			errs = append(errs, fmt.Errorf("client %q: %s must be positive (and an access token lives at most 24h)", cfg.ID, name))
		}
	}
	for _, a := range [...]struct{ name, alg string }{{"id_token_alg", c.IDTokenAlg}, {"access_token_alg", c.AccessTokenAlg}} {
		switch a.alg {
		case "", "RS256", "ES256", "EdDSA":
		default:
			errs = append(errs, fmt.Errorf("client %q: %s %q: use RS256, ES256 or EdDSA", cfg.ID, a.name, a.alg))
		}
	}
	for _, r := range c.Resources {
		if err := ValidateResource(r); err != nil {
			errs = append(errs, fmt.Errorf("client %q: resource %q: %w", cfg.ID, r, err))
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := ValidateRedirectURI(c.BackchannelLogoutURI); err != nil || strings.HasPrefix(c.BackchannelLogoutURI, "com.") {
			errs = append(errs, fmt.Errorf("client %q: backchannel_logout_uri %q: an https URL (http on loopback) without fragment", cfg.ID, c.BackchannelLogoutURI))
		}
	}
	if len(c.RedirectURIs) == 0 && hasString(c.GrantTypes, GrantAuthorizationCode) {
		errs = append(errs, fmt.Errorf("client %q: at least one redirect_uri is required", cfg.ID))
	}
	for _, u := range c.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			errs = append(errs, fmt.Errorf("client %q: redirect_uri %q: %w", cfg.ID, u, err))
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			errs = append(errs, fmt.Errorf("client %q: post_logout_redirect_uri %q: %w", cfg.ID, u, err))
		}
	}
	for _, o := range c.AllowedOrigins {
		if err := ValidateOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("client %q: allowed_origin %q: %w", cfg.ID, o, err))
		}
	}
	if len(c.AllowedOrigins) > 0 && !c.Public() {
		errs = append(errs, fmt.Errorf("client %q: allowed_origins is only for public clients (a page in a browser cannot keep a secret)", cfg.ID))
	}
	c.origins = browserOrigins(c.Public(), c.RedirectURIs, c.AllowedOrigins)
	switch cfg.PKCE {
	case "required":
		c.RequirePKCE = true
	case "", "optional":
		c.RequirePKCE = c.Public()
		if cfg.PKCE == "optional" && c.Public() {
			errs = append(errs, fmt.Errorf("client %q: pkce cannot be optional for a public client (no secret)", cfg.ID))
		}
	default:
		errs = append(errs, fmt.Errorf("client %q: pkce must be required or optional, not %q", cfg.ID, cfg.PKCE))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// ValidateResource checks a resource indicator (RFC 8707 §2): an absolute URI without a
// fragment.
func ValidateResource(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(raw, "#") || strings.ContainsAny(raw, " \t\r\n") {
		return errors.New("must be an absolute URI without fragment, such as https://api.example.com")
	}
	return nil
}

// AllowsResource tells whether the client may request resource as an audience.
func (c *Client) AllowsResource(r string) bool { return hasString(c.Resources, r) }

// Public tells whether the client has no secret.
func (c *Client) Public() bool { return c.secretHash == nil }

// Authenticate compares the presented secret with the client's in constant time: both sides
// are fixed-size digests, so neither the secret's length nor its content shows in the time.
func (c *Client) Authenticate(presented string) bool {
	if c.secretHash == nil {
		return false
	}
	return subtle.ConstantTimeCompare(secret.ClientDigest(c.secretSalt, presented), c.secretHash) == 1
}

// AllowsScope tells whether the client may request scope.
func (c *Client) AllowsScope(scope string) bool { return hasString(c.Scopes, scope) }

// AllowsGrant tells whether the client may use the grant type.
func (c *Client) AllowsGrant(g string) bool { return hasString(c.GrantTypes, g) }

// HasRedirectURI tells whether uri is registered, by exact string comparison (RFC 9700 §4.1.3).
func (c *Client) HasRedirectURI(uri string) bool { return hasString(c.RedirectURIs, uri) }

// HasPostLogoutRedirectURI tells whether uri is registered for logout, exactly.
func (c *Client) HasPostLogoutRedirectURI(uri string) bool {
	return hasString(c.PostLogoutRedirectURIs, uri)
}

// Client returns the client with this ID: from the configuration, else from the store. It
// returns an error wrapping store.ErrNotFound for an unknown client, and ErrClientPending
// (which matches store.ErrNotFound too) for a registered client waiting for approval.
func (p *Server) Client(ctx context.Context, id string) (*Client, error) {
	if c, ok := p.Configured[id]; ok {
		return c, nil
	}
	if !validClientID(id) {
		return nil, fmt.Errorf("client %q: %w", id, store.ErrNotFound)
	}
	rec, err := p.Store.GetClient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("client %q: %w", id, err)
	}
	if rec.Pending {
		return nil, fmt.Errorf("client %q: %w", id, ErrClientPending)
	}
	if rec.Disabled {
		// Unknown to every endpoint (authorize, token, refresh, introspection) while disabled.
		return nil, fmt.Errorf("client %q is disabled: %w", id, store.ErrNotFound)
	}
	c := &Client{ID: rec.ID, Name: rec.Name, RedirectURIs: rec.RedirectURIs,
		PostLogoutRedirectURIs: rec.PostLogoutRedirectURIs, Scopes: rec.Scopes,
		GrantTypes: rec.GrantTypes, RequirePKCE: rec.RequirePKCE, AllowedOrigins: rec.AllowedOrigins,
		// A registered client (it has a registration access token) asks for consent even
		// if its record predates Register setting ConsentRequired.
		ConsentRequired: rec.ConsentRequired || rec.RegistrationTokenHash != "",
		Registered:      rec.RegistrationTokenHash != "",
		IDTokenAlg:      rec.Metadata["id_token_signed_response_alg"]}
	if c.Name == "" {
		c.Name = c.ID
	}
	if rec.SecretHash != "" {
		h, err := hex.DecodeString(rec.SecretHash)
		if err != nil {
			return nil, fmt.Errorf("client %q: stored secret hash: %w", id, err)
		}
		c.secretHash = h
	}
	if c.Public() {
		c.RequirePKCE = true
	}
	c.origins = browserOrigins(c.Public(), c.RedirectURIs, c.AllowedOrigins)
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	// gatehouse:admin comes from the Admin flag an administrator sets on a confidential
	// client, never from the scopes a record lists (a registration, an older record).
	c.Scopes = slices.DeleteFunc(slices.Clone(c.Scopes), func(s string) bool { return s == AdminScope })
	if rec.Admin && !c.Public() {
		c.Scopes = append(c.Scopes, AdminScope)
		c.Resources = []string{p.Issuer + AdminAPIPath}
	}
	c.SecretRotatedAt = rec.SecretRotatedAt
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	c.GrantTypes = normalizeGrants(c.GrantTypes)
	return c, nil
}

// normalizeGrants spells the short form device_code of the device grant in full
// (urn:ietf:params:oauth:grant-type:device_code), in a copy.
func normalizeGrants(in []string) []string {
	out := make([]string, 0, len(in))
	for _, g := range in {
		if g == GrantDeviceCodeShort {
			g = GrantDeviceCode
		}
		if !hasString(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// ConfiguredClients returns the clients of the configuration.
func (p *Server) ConfiguredClients() []*Client {
	out := make([]*Client, 0, len(p.Configured))
	for _, c := range p.Configured {
		out = append(out, c)
	}
	return out
}

// ValidateRedirectURI checks a redirect URI at registration (RFC 9700 §2.6, OIDC Core
// §3.1.2.1): absolute, no fragment, no user information, https — or http only on a loopback
// host (127.0.0.1, [::1], localhost) — or a private-use scheme containing a dot (RFC 8252
// §7.1). javascript:, data:, file: and similar schemes are refused.
func ValidateRedirectURI(raw string) error {
	if raw == "" || strings.TrimSpace(raw) != raw || strings.ContainsAny(raw, "\x00\r\n\t\\ ") {
		return uriErr(URIInvalid, "must be a URL without spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return &URIError{Code: URIInvalid, Message: fmt.Sprintf("not a valid URL: %v", err), err: err}
	}
	if !u.IsAbs() {
		return uriErr(URIInvalid, "must be an absolute URL")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return uriErr(URIFragment, "must not contain a fragment (#...)")
	}
	if u.User != nil {
		return uriErr(URIInvalid, "must not contain user information (user@host)")
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "https":
		if u.Host == "" {
			return uriErr(URIInvalid, "must have a host")
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return uriErr(URIHTTPS, "plain http is only allowed for loopback hosts (127.0.0.1, [::1], localhost); use https")
		}
	case "javascript", "data", "file", "vbscript", "blob", "about", "ftp", "ws", "wss":
		return uriErr(URIScheme, fmt.Sprintf("scheme %q is not allowed", u.Scheme))
	default:
		if !strings.Contains(scheme, ".") {
			return uriErr(URIScheme, fmt.Sprintf("scheme %q is not allowed; native apps use a reverse-domain scheme such as com.example.app", u.Scheme))
		}
	}
	return nil
}

// The kinds of a refused redirect URI (URIError.Code), stable names that the Administration
// API passes on as its problem's code.
const (
	// URIInvalid: not an absolute URL with a host, or with spaces or user information.
	URIInvalid = "invalid"
	// URIFragment: the URI has a fragment (#...).
	URIFragment = "fragment"
	// URIScheme: a scheme that is not allowed (javascript:, data:, a bare custom scheme).
	URIScheme = "scheme"
	// URIHTTPS: plain http on a host that is not a loopback one.
	URIHTTPS = "https"
)

// URIError is a redirect URI that ValidateRedirectURI refuses: Message says what to change,
// Code is its kind (URIInvalid, URIFragment, URIScheme, URIHTTPS).
type URIError struct {
	Code, Message string
	err           error
}

func (e *URIError) Error() string { return e.Message }

// Unwrap returns the URL parser's error, if any.
func (e *URIError) Unwrap() error { return e.err }

func uriErr(code, msg string) error { return &URIError{Code: code, Message: msg} }

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func validClientID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:@", r)) {
			return false
		}
	}
	return true
}

// validScopeToken follows RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E.
func validScopeToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func hasString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
