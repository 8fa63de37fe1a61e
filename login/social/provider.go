package social

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// AMR is the amr value of a login through an upstream identity provider.
const AMR = login.AMRSocial

// Kinds of upstream providers.
const (
	// KindOIDC is any OpenID Connect provider, configured by discovery.
	KindOIDC = upstream.KindOIDC
	// KindGitHub is GitHub's OAuth 2.0 with its REST user API (no OpenID Connect).
	KindGitHub = upstream.KindGitHub
)

// Provider is one upstream identity provider (a "Log in with …" button): what the upstream
// client needs (package upstream) and what Gatehouse allows of its identities.
type Provider struct {
	// Name identifies it in URLs and in linked identities ([a-z0-9_-], at most 32).
	Name string
	// Label is the button's text after "Log in with" (default: Name).
	Label string
	// Kind is KindOIDC or KindGitHub.
	Kind string
	// Issuer is the OpenID issuer (discovery at Issuer/.well-known/openid-configuration).
	Issuer string
	// IssuerTemplate, when set, accepts ID tokens whose iss is this template with
	// "{tenantid}" replaced by the token's tid claim (Microsoft's multi-tenant endpoints).
	IssuerTemplate string
	// AuthURL, TokenURL, APIURL are GitHub's endpoints (defaults: github.com, api.github.com).
	AuthURL, TokenURL, APIURL string
	ClientID                  string
	ClientSecret              string
	// AppleTeamID, AppleKeyID, AppleKey: Sign in with Apple's client secret is a short JWT
	// signed with this key, made for each token request.
	AppleTeamID, AppleKeyID string
	AppleKey                *ecdsa.PrivateKey
	// FormPost asks for response_mode=form_post (Apple, when asking for name or email).
	FormPost bool
	// Scopes requested (default: openid email profile; GitHub: read:user user:email).
	Scopes []string
	// GroupsClaim names the upstream claim holding group names; only those listed in
	// ImportGroups become Gatehouse groups (an allow-list).
	GroupsClaim  string
	ImportGroups []string
	// AllowedDomains limits sign-in to verified email addresses in these domains;
	// RequiredGroups to members of at least one of these upstream groups.
	AllowedDomains []string
	RequiredGroups []string
	// Onboarding creates an account at the first login of an unknown identity (implicit
	// onboarding). Off, unknown identities are refused.
	Onboarding bool
	// VerifiedEmailClaim names a boolean claim that, when the ID token has no
	// email_verified, says the address is verified (Microsoft Entra ID's xms_edov).
	VerifiedEmailClaim string
	// TrustEmailVerified: the provider's email_verified proves control of the address, as a
	// login code would (address.go): it verifies a linked account's matching address, and
	// lets an unknown identity claim an account whose matching address is unverified.
	TrustEmailVerified bool
}

// upstreamConfig is what the upstream client needs of the provider's settings.
func (sp *Provider) upstreamConfig() upstream.Config {
	return upstream.Config{Name: sp.Name, Label: sp.Label, Kind: sp.Kind, Issuer: sp.Issuer,
		IssuerTemplate: sp.IssuerTemplate, AuthURL: sp.AuthURL, TokenURL: sp.TokenURL, APIURL: sp.APIURL,
		ClientID: sp.ClientID, ClientSecret: sp.ClientSecret, AppleTeamID: sp.AppleTeamID, AppleKeyID: sp.AppleKeyID,
		AppleKey: sp.AppleKey, FormPost: sp.FormPost, Scopes: sp.Scopes, GroupsClaim: sp.GroupsClaim,
		VerifiedEmailClaim: sp.VerifiedEmailClaim}
}

// DisplayName is the provider's name for users: its Label, else its Name.
func (sp *Provider) DisplayName() string {
	if sp.Label != "" {
		return sp.Label
	}
	return sp.Name
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks a provider's configuration.
func Validate(sp *Provider) error {
	if !nameRe.MatchString(sp.Name) {
		return fmt.Errorf("name %q: use 1 to 32 lowercase letters, digits, - or _", sp.Name)
	}
	if sp.ClientID == "" {
		return errors.New("client_id is required")
	}
	if sp.ClientSecret == "" && sp.AppleKey == nil {
		return errors.New("client_secret is required (or, for Apple, team_id, key_id and private_key)")
	}
	switch sp.Kind {
	case KindOIDC:
		if !upstream.ValidURL(sp.Issuer) {
			return fmt.Errorf("issuer %q must be an https URL", sp.Issuer)
		}
	case KindGitHub:
		// The client secret and the user's access token travel to these: never in clear.
		for _, f := range []struct{ name, url string }{{"auth_url", sp.AuthURL}, {"token_url", sp.TokenURL}, {"api_url", sp.APIURL}} {
			if !upstream.ValidURL(f.url) {
				return fmt.Errorf("%s %q must be an https URL", f.name, f.url)
			}
		}
	default:
		return fmt.Errorf("kind %q: use oidc or github", sp.Kind)
	}
	if len(sp.ImportGroups)+len(sp.RequiredGroups) > 0 {
		if sp.Kind == KindGitHub {
			return errors.New("import_groups and required_groups need an OpenID provider with a groups claim; GitHub sends none")
		}
		if sp.GroupsClaim == "" {
			return errors.New("import_groups and required_groups need groups_claim (the upstream claim listing the user's groups, often groups)")
		}
	}
	for _, d := range sp.AllowedDomains {
		if d == "" || strings.ContainsAny(d, "@/ ") {
			return fmt.Errorf("allowed domain %q: write a bare domain such as example.com", d)
		}
	}
	return nil
}

// Errors of social login, shown to users. The failures of the exchange with the provider
// are package upstream's (upstream.ErrFailed, ErrRejected, *UnavailableError,
// *ProviderError).
var (
	ErrUnknown     = errors.New("this login provider is not configured")
	ErrState       = errors.New("this login attempt expired or was started in another browser; start again")
	ErrDenied      = errors.New("the login was cancelled at the provider; start again if you want to log in")
	ErrNoAccount   = errors.New("there is no account for this identity, and accounts are not created automatically; ask an administrator")
	ErrNotAllowed  = errors.New("this identity is not allowed to log in here (its email domain or groups are not on the list)")
	ErrNoEmail     = errors.New("the provider did not confirm an email address for this identity; verify one there and try again")
	ErrLinkedOther = errors.New("this identity is already linked to another account")
	ErrLastMethod  = errors.New("this is your only way to log in: add a password or a passkey before unlinking it")
	// ErrNoIdentity: no such identity is linked to the account.
	ErrNoIdentity = errors.New("no such linked identity")
	// ErrReauthenticate: linking or unlinking needs a login from the last 10 minutes
	// (CR-19), like adding a passkey. It matches sessions.ErrReauthenticate.
	ErrReauthenticate error = reauth{}
)

// ErrStateUsed: the answer's state is not (or no longer) this browser's: its cookie is gone
// or its record was used — an answer submitted twice, the back button, or another browser.
// It matches ErrState; a browser that is logged in may simply go on (handlers/login/social).
var ErrStateUsed error = stateUsed{}

type stateUsed struct{}

func (stateUsed) Error() string        { return ErrState.Error() }
func (stateUsed) Is(target error) bool { return target == ErrState }

type reauth struct{}

func (reauth) Error() string {
	return "log in again to link or unlink accounts (sensitive changes need a login from the last 10 minutes)"
}

func (reauth) Is(target error) bool { return target == sessions.ErrReauthenticate }

// LinkRequiredError: an account with the identity's email address exists. Linking needs
// proof of control of that account (CR: pre-account takeover), so the user logs in to it and
// links the identity from the account page.
type LinkRequiredError struct {
	Email, Provider string
}

func (e *LinkRequiredError) Error() string {
	return "an account with " + e.Email + " already exists: log in to it, then link " + e.Provider + " from your account page"
}

const purposeState = "social:state"

// StateID is the store key of a login state: hashed with the purpose, so a state value can
// only ever name a social login record (not, say, a code flow's). Exported for tests.
func StateID(state string) string { return secret.Hash(purposeState + "\x00" + state) }

// importedGroups returns current with the allow-listed groups set from the upstream: each
// allow-listed group is added when the upstream lists it and removed when it does not;
// other groups are left alone.
func (sp *Provider) importedGroups(up upstream.Identity, current []string) []string {
	out := slices.DeleteFunc(slices.Clone(current), func(g string) bool { return slices.Contains(sp.ImportGroups, g) })
	for _, g := range sp.ImportGroups {
		if slices.Contains(up.Groups, g) {
			out = append(out, g)
		}
	}
	return out
}

// allowed applies the provider's domain and group restrictions.
func (sp *Provider) allowed(up upstream.Identity) error {
	if len(sp.AllowedDomains) > 0 {
		at := strings.LastIndexByte(up.Email, '@')
		if !up.EmailVerified || at < 0 || !slices.ContainsFunc(sp.AllowedDomains, func(d string) bool {
			return strings.EqualFold(up.Email[at+1:], d)
		}) {
			return ErrNotAllowed
		}
	}
	if len(sp.RequiredGroups) > 0 && !slices.ContainsFunc(sp.RequiredGroups, func(g string) bool { return slices.Contains(up.Groups, g) }) {
		return ErrNotAllowed
	}
	return nil
}
