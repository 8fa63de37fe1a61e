package module

import (
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// Limits of the token and session options.
const (
	maxCodeLifetime        = 10 * time.Minute // RFC 6749 §4.1.2
	maxAccessTokenLifetime = 24 * time.Hour
	longAccessToken        = time.Hour
	maxLeeway              = 5 * time.Minute
	minRotateEvery         = time.Hour
	minClientSecret        = 16
)

var algs = []string{keys.RS256, keys.ES256, keys.EdDSA}

// check records the problems of one client under path (gatehouse.clients[web]).
func (c ClientConfig) check(v *Validator, path string) {
	c.Approval.check(v, path+".approval")
	if !validClientID(c.ID) {
		v.Errorf(path+".id", "must be 1-128 characters among letters, digits and . _ - : @, got %q", c.ID)
	}
	sec, secretOK := c.checkSecret(v, path)
	public := c.Secret == "" && c.SecretHash == ""
	grants := c.GrantTypes
	if len(grants) == 0 {
		grants = []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken}
	}
	for i, g := range c.GrantTypes {
		p := index(path+".grant_types", i)
		switch g {
		case idp.GrantAuthorizationCode, idp.GrantRefreshToken, idp.GrantDeviceCode, idp.GrantDeviceCodeShort:
		case idp.GrantClientCredentials:
			if public {
				v.Errorf(p, "client_credentials must have a confidential client (secret or secret_hash), got a public client")
			}
		default:
			v.Errorf(p, "must be one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (or device_code), got %q", g)
		}
	}
	if len(c.RedirectURIs) == 0 && hasString(grants, idp.GrantAuthorizationCode) {
		v.Errorf(path+".redirect_uris", "must list at least one URI for the authorization_code grant, got none")
	}
	for i, u := range c.RedirectURIs {
		if err := idp.ValidateRedirectURI(u); err != nil {
			v.Errorf(index(path+".redirect_uris", i), "%v, got %q", err, u)
		}
	}
	for i, u := range c.PostLogoutRedirectURIs {
		if err := idp.ValidateRedirectURI(u); err != nil {
			v.Errorf(index(path+".post_logout_redirect_uris", i), "%v, got %q", err, u)
		}
	}
	for i, s := range c.Scopes {
		if !validScopeToken(s) {
			v.Errorf(index(path+".scopes", i), "must be 1-128 printable ASCII characters without spaces, quotes or backslashes (RFC 6749 §3.3), got %q", s)
		}
	}
	switch c.PKCE {
	case "", "required":
	case "optional":
		if public {
			v.Errorf(path+".pkce", "must be required for a public client (no secret), got optional")
		} else {
			v.Warnf(path+".pkce", "is optional: a stolen authorization code can be redeemed without the verifier (RFC 9700 §2.1.1 recommends PKCE for every client)")
		}
	default:
		v.Errorf(path+".pkce", "must be one of required, optional, got %q", c.PKCE)
	}
	v.oneOf(path+".consent", c.Consent, "required", "none")
	v.duration(path+".access_token_lifetime", c.AccessTokenLifetime, 0, maxAccessTokenLifetime, " (use refresh tokens for long sessions)")
	if time.Duration(c.AccessTokenLifetime) > longAccessToken && time.Duration(c.AccessTokenLifetime) <= maxAccessTokenLifetime {
		v.Warnf(path+".access_token_lifetime", "is %s: APIs that verify access tokens themselves accept a stolen one "+
			"that long, whatever a logout revokes; keep it at 1h or less", fmtDuration(c.AccessTokenLifetime))
	}
	v.duration(path+".id_token_lifetime", c.IDTokenLifetime, 0, 0, "")
	v.duration(path+".refresh_token_lifetime", c.RefreshTokenLifetime, 0, 0, "")
	v.duration(path+".refresh_token_idle", c.RefreshTokenIdle, 0, 0, "")
	v.oneOf(path+".id_token_alg", c.IDTokenAlg, algs...)
	v.oneOf(path+".access_token_alg", c.AccessTokenAlg, algs...)
	for i, name := range c.AccessTokenClaims {
		if name == "" {
			v.Errorf(index(path+".access_token_claims", i), "must be one of %s, got \"\"", strings.Join(issue.AccessTokenClaimNames, ", "))
		} else {
			v.oneOf(index(path+".access_token_claims", i), name, issue.AccessTokenClaimNames...)
		}
	}
	for i, r := range c.Resources {
		if err := idp.ValidateResource(r); err != nil {
			v.Errorf(index(path+".resources", i), "%v, got %q", err, r)
		}
	}
	if u := c.BackchannelLogoutURI; u != "" {
		if idp.ValidateRedirectURI(u) != nil || checkHTTPSURL(u) != nil {
			v.Errorf(path+".backchannel_logout_uri", "must be an https URL (http on a loopback host) without fragment, got %q", u)
		}
	}
	for i, o := range c.AllowedOrigins {
		if err := idp.ValidateOrigin(o); err != nil {
			v.Errorf(index(path+".allowed_origins", i), "%v, got %q", err, o)
		}
	}
	if len(c.AllowedOrigins) > 0 && !public {
		v.Errorf(path+".allowed_origins", "must be empty for a confidential client (a page in a browser cannot keep its secret; CORS is for public clients), got %d origins", len(c.AllowedOrigins))
	}
	if !secretOK || v.HasErrors(path) {
		return
	}
	// Whatever the client constructor refuses beyond the checks above is still reported
	// here, with the client's path, rather than when the provider is built.
	if _, err := idp.NewClient(c.IDP(sec)); err != nil {
		v.Errorf(path, "%v", err)
	}
}

// checkSecret checks secret and secret_hash and returns the secret resolved.
func (c ClientConfig) checkSecret(v *Validator, path string) (string, bool) {
	if c.Secret != "" && c.SecretHash != "" {
		v.Errorf(path, "must have secret or secret_hash, not both, got both")
		return "", false
	}
	if c.SecretHash != "" {
		if _, _, err := secret.ParseClientSecretHash(c.SecretHash); err != nil {
			v.Errorf(path+".secret_hash", "%v, got a value of %d characters", err, len(c.SecretHash))
			return "", false
		}
	}
	if c.Secret == "" {
		return "", true
	}
	sec, ok := v.resolve(path+".secret", c.Secret)
	if !ok {
		return "", false
	}
	if len(sec) < minClientSecret {
		v.Errorf(path+".secret", "must be at least %d characters (generate one with `openssl rand -base64 32`), got %d", minClientSecret, len(sec))
		return "", false
	}
	if !isPlaceholder(c.Secret) {
		v.Warnf(path+".secret", "is written in the configuration, which Caddy's config API and autosave.json show: "+
			"give it as {env.NAME} or {file.path}, or use secret_hash")
	}
	return sec, true
}

// validClientID: 1-128 characters among letters, digits and . _ - : @.
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
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (t TokenConfig) check(v *Validator, path string) {
	v.duration(path+".access_token_lifetime", t.AccessTokenLifetime, 0, maxAccessTokenLifetime, " (use refresh tokens for long sessions)")
	if d := time.Duration(t.AccessTokenLifetime); d > longAccessToken && d <= maxAccessTokenLifetime {
		v.Warnf(path+".access_token_lifetime", "is %s: APIs that verify access tokens themselves accept a stolen one "+
			"that long, whatever a logout revokes; keep it at 1h or less", fmtDuration(t.AccessTokenLifetime))
	}
	v.duration(path+".id_token_lifetime", t.IDTokenLifetime, 0, 0, "")
	v.duration(path+".refresh_token_lifetime", t.RefreshTokenLifetime, 0, 0, "")
	v.duration(path+".refresh_token_idle", t.RefreshTokenIdle, 0, 0, "")
	if t.RefreshTokenIdle > 0 && t.RefreshTokenLifetime > 0 && t.RefreshTokenIdle > t.RefreshTokenLifetime {
		v.Warnf(path+".refresh_token_idle", "is longer than refresh_token_lifetime (%s), so it never applies, got %s",
			fmtDuration(t.RefreshTokenLifetime), fmtDuration(t.RefreshTokenIdle))
	}
	v.duration(path+".code_lifetime", t.CodeLifetime, 0, maxCodeLifetime, " (RFC 6749 §4.1.2)")
	v.oneOf(path+".access_token_alg", t.AccessTokenAlg, algs...)
	v.oneOf(path+".id_token_alg", t.IDTokenAlg, algs...)
	v.duration(path+".leeway", t.Leeway, 0, maxLeeway, "")
}

func (s SessionConfig) check(v *Validator, path string) {
	v.duration(path+".idle", s.Idle, 0, 0, "")
	v.duration(path+".lifetime", s.Lifetime, 0, 0, "")
	if s.Idle > 0 && s.Lifetime > 0 && s.Idle > s.Lifetime {
		v.Warnf(path+".idle", "is longer than lifetime (%s), so it never applies, got %s", fmtDuration(s.Lifetime), fmtDuration(s.Idle))
	}
}

func (l LockoutConfig) check(v *Validator, path string) {
	v.nonNegative(path+".account_max_failures", l.AccountMaxFailures)
	v.nonNegative(path+".ip_max_failures", l.IPMaxFailures)
	v.duration(path+".window", l.Window, 0, 0, "")
}

func (k KeysConfig) check(v *Validator, path string) {
	v.duration(path+".rotate_every", k.RotateEvery, minRotateEvery, 0, "")
}
