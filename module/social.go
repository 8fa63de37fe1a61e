package module

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// SocialConfig is one upstream identity provider (a "Log in with …" button).
type SocialConfig struct {
	// Name identifies the provider in URLs (callback: <issuer>/login/social/<name>/callback)
	// and in linked identities: 1 to 32 of [a-z0-9_-]. Renaming it orphans existing links.
	Name string `json:"name"`
	// Preset fills the provider's endpoints: google, microsoft, gitlab, apple, github or
	// oidc (any OpenID provider by discovery). Default: the name if it is a preset, else oidc.
	Preset string `json:"preset,omitempty"`
	// Label is the button's text after "Log in with" (default: the preset's brand name).
	Label string `json:"label,omitempty"`
	// Issuer is the OpenID issuer (required for oidc; gitlab defaults to https://gitlab.com).
	Issuer string `json:"issuer,omitempty"`
	// Tenant is Microsoft's tenant: common (default), organizations, consumers or a tenant ID.
	Tenant string `json:"tenant,omitempty"`
	// ClientID and ClientSecret are the credentials registered at the provider; the secret
	// accepts {env.*} and {file.*} placeholders.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	// TeamID, KeyID and PrivateKey (PEM, usually {file./path/AuthKey.p8}) make Sign in with
	// Apple's client secret.
	TeamID     string `json:"team_id,omitempty"`
	KeyID      string `json:"key_id,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`
	// Scopes requested (default: openid email profile; apple: openid email name; github:
	// read:user user:email).
	Scopes []string `json:"scopes,omitempty"`
	// GroupsClaim is the upstream claim listing the user's groups; ImportGroups the
	// allow-list of those that become Gatehouse groups (kept in sync at each login).
	GroupsClaim  string   `json:"groups_claim,omitempty"`
	ImportGroups []string `json:"import_groups,omitempty"`
	// AllowedDomains limits sign-in to verified addresses in these domains; RequiredGroups
	// to members of one of these upstream groups.
	AllowedDomains []string `json:"allowed_domains,omitempty"`
	RequiredGroups []string `json:"required_groups,omitempty"`
	// Onboarding creates an account at the first login of an unknown identity (default:
	// on when signup is open). Off, unknown identities are refused with a clear page.
	Onboarding *bool `json:"onboarding,omitempty"`
	// TrustEmailVerified: the provider's "verified" on an address proves control of it, as
	// a login code sent there would. A linked identity then verifies the account's matching
	// address, and an unknown identity claims an account whose matching address nobody
	// proved (the earlier password, passkeys and sessions of that account are removed:
	// address squatting). Default on for every preset: the OpenID presets verify the
	// address they mark email_verified, and github reads only the primary address its
	// verified-emails API (/user/emails) marks verified. Turn it off for a provider whose
	// users can set an address without proving it.
	TrustEmailVerified *bool `json:"trust_email_verified,omitempty"`
	// AuthURL, TokenURL and APIURL override GitHub's endpoints (GitHub Enterprise Server).
	AuthURL  string `json:"auth_url,omitempty"`
	TokenURL string `json:"token_url,omitempty"`
	APIURL   string `json:"api_url,omitempty"`
}

// socialPresets are the provider presets, one list for the Caddyfile and the stored
// providers (settings.Presets).
var socialPresets = settings.Presets

// SocialLimitsConfig limits the social logins a client IP may leave unfinished. A start
// counts until its callback brings an answer the provider vouches for; abandoned starts and
// refused callbacks (forged, altered or replayed answers, errors from the provider) keep
// counting until the window ends. Successful logins do not count, so an office behind one
// NAT is not locked out by its own logins.
type SocialLimitsConfig struct {
	// MaxUnfinishedPerIP is how many social logins started from one client IP (for IPv6,
	// its /64) within Window may be unfinished before further starts are answered 429
	// until the window ends (default 60). The client IP is Caddy's, which honours
	// trusted_proxies only.
	MaxUnfinishedPerIP int `json:"max_unfinished_per_ip,omitempty"`
	// Window is the counting window (default 10m; from 1m to 24h).
	Window caddy.Duration `json:"window,omitempty"`
}

// IDP converts the configuration (zero fields take the defaults).
func (c SocialLimitsConfig) IDP() idp.SocialLimits {
	return idp.SocialLimits{MaxUnfinishedPerIP: c.MaxUnfinishedPerIP, Window: time.Duration(c.Window)}
}

// IDP builds the provider from the configuration; secrets are resolved with repl.
func (c SocialConfig) IDP(repl *caddy.Replacer, signupOpen bool) (*idp.SocialProvider, error) {
	preset := c.Preset
	if preset == "" {
		preset = "oidc"
		if slices.Contains(socialPresets, c.Name) {
			preset = c.Name
		}
	}
	sp := &idp.SocialProvider{Name: c.Name, Label: c.Label, Kind: idp.SocialOIDC, Issuer: c.Issuer,
		ClientID: repl.ReplaceKnown(c.ClientID, ""), ClientSecret: repl.ReplaceKnown(c.ClientSecret, ""),
		Scopes: c.Scopes, GroupsClaim: c.GroupsClaim, ImportGroups: c.ImportGroups,
		AllowedDomains: c.AllowedDomains, RequiredGroups: c.RequiredGroups, Onboarding: signupOpen}
	for _, f := range []struct{ name, raw, got string }{{"client_id", c.ClientID, sp.ClientID}, {"client_secret", c.ClientSecret, sp.ClientSecret}} {
		if f.raw != "" && f.got == "" {
			return nil, fmt.Errorf("%s %s is empty: set the variable or file it names", f.name, f.raw)
		}
	}
	if c.Onboarding != nil {
		sp.Onboarding = *c.Onboarding
	}
	sp.TrustEmailVerified = c.TrustEmailVerified == nil || *c.TrustEmailVerified
	label := func(l string) {
		if sp.Label == "" {
			sp.Label = l
		}
	}
	switch preset {
	case "google":
		label("Google")
		if sp.Issuer == "" {
			sp.Issuer = "https://accounts.google.com"
		}
	case "microsoft":
		label("Microsoft")
		tenant := c.Tenant
		if tenant == "" {
			tenant = "common"
		}
		if sp.Issuer == "" {
			sp.Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
			if tenant == "common" || tenant == "organizations" || tenant == "consumers" {
				// Tokens name the user's own tenant as issuer.
				sp.IssuerTemplate = "https://login.microsoftonline.com/{tenantid}/v2.0"
			}
		}
		// Entra ID sends no email_verified; its optional claim xms_edov (email domain
		// owner verified) says the same, once added to the app registration's token.
		sp.VerifiedEmailClaim = "xms_edov"
	case "gitlab":
		label("GitLab")
		if sp.Issuer == "" {
			sp.Issuer = "https://gitlab.com"
		}
		if sp.GroupsClaim == "" && len(sp.ImportGroups)+len(sp.RequiredGroups) > 0 {
			sp.GroupsClaim = "groups"
		}
	case "apple":
		label("Apple")
		if sp.Issuer == "" {
			sp.Issuer = "https://appleid.apple.com"
		}
		if len(sp.Scopes) == 0 {
			sp.Scopes = []string{"openid", "email", "name"}
		}
		// Apple returns to the callback with a POST when name or email is asked for.
		sp.FormPost = slices.Contains(sp.Scopes, "email") || slices.Contains(sp.Scopes, "name")
		if c.PrivateKey != "" {
			key, err := parseAppleKey(repl.ReplaceKnown(c.PrivateKey, ""))
			if err != nil {
				return nil, err
			}
			sp.AppleKey, sp.AppleTeamID, sp.AppleKeyID = key, c.TeamID, c.KeyID
			if c.TeamID == "" || c.KeyID == "" {
				return nil, errors.New("apple needs team_id and key_id with private_key")
			}
		}
	case "github":
		label("GitHub")
		sp.Kind = idp.SocialGitHub
		sp.AuthURL, sp.TokenURL, sp.APIURL = c.AuthURL, c.TokenURL, c.APIURL
		if sp.AuthURL == "" {
			sp.AuthURL = "https://github.com/login/oauth/authorize"
		}
		if sp.TokenURL == "" {
			sp.TokenURL = "https://github.com/login/oauth/access_token"
		}
		if sp.APIURL == "" {
			sp.APIURL = "https://api.github.com"
		}
	case "oidc":
		if sp.Issuer == "" {
			return nil, errors.New("issuer is required (the provider's OpenID issuer URL)")
		}
	default:
		return nil, fmt.Errorf("preset %q is not available (available: google, microsoft, gitlab, apple, github, oidc)", preset)
	}
	if err := idp.ValidateGroups(c.ImportGroups); err != nil {
		return nil, fmt.Errorf("import_groups: %w", err)
	}
	if err := idp.ValidateSocial(sp); err != nil {
		return nil, err
	}
	return sp, nil
}

// parseAppleKey reads Apple's .p8 key (PKCS #8 PEM, P-256).
func parseAppleKey(s string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("private_key: not a PEM key (use {file./path/AuthKey_XXXX.p8})")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private_key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("private_key: Apple keys are P-256 EC keys")
	}
	return ec, nil
}
