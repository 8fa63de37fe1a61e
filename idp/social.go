package idp

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// AMRSocial is the amr value of a login through an upstream identity provider.
const AMRSocial = login.AMRSocial

// Kinds of upstream providers.
const (
	// SocialOIDC is any OpenID Connect provider, configured by discovery.
	SocialOIDC = upstream.KindOIDC
	// SocialGitHub is GitHub's OAuth 2.0 with its REST user API (no OpenID Connect).
	SocialGitHub = upstream.KindGitHub
)

// SocialProvider is one upstream identity provider (a "Log in with …" button).
type SocialProvider struct {
	// Name identifies it in URLs and in linked identities ([a-z0-9_-], at most 32).
	Name string
	// Label is the button's text after "Log in with" (default: Name).
	Label string
	// Kind is SocialOIDC or SocialGitHub.
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

	client *upstream.Client
}

// upstreamConfig is what the upstream client needs of the provider's settings.
func (sp *SocialProvider) upstreamConfig() upstream.Config {
	return upstream.Config{Name: sp.Name, Label: sp.Label, Kind: sp.Kind, Issuer: sp.Issuer,
		IssuerTemplate: sp.IssuerTemplate, AuthURL: sp.AuthURL, TokenURL: sp.TokenURL, APIURL: sp.APIURL,
		ClientID: sp.ClientID, ClientSecret: sp.ClientSecret, AppleTeamID: sp.AppleTeamID, AppleKeyID: sp.AppleKeyID,
		AppleKey: sp.AppleKey, FormPost: sp.FormPost, Scopes: sp.Scopes, GroupsClaim: sp.GroupsClaim,
		VerifiedEmailClaim: sp.VerifiedEmailClaim}
}

var socialNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidateSocial checks a provider's configuration.
func ValidateSocial(sp *SocialProvider) error {
	if !socialNameRe.MatchString(sp.Name) {
		return fmt.Errorf("name %q: use 1 to 32 lowercase letters, digits, - or _", sp.Name)
	}
	if sp.ClientID == "" {
		return errors.New("client_id is required")
	}
	if sp.ClientSecret == "" && sp.AppleKey == nil {
		return errors.New("client_secret is required (or, for Apple, team_id, key_id and private_key)")
	}
	switch sp.Kind {
	case SocialOIDC:
		if !upstream.ValidURL(sp.Issuer) {
			return fmt.Errorf("issuer %q must be an https URL", sp.Issuer)
		}
	case SocialGitHub:
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
		if sp.Kind == SocialGitHub {
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

// Errors of social login, shown to users.
var (
	ErrSocialUnknown = errors.New("this login provider is not configured")
	ErrSocialState   = errors.New("this login attempt expired or was started in another browser; start again")
	ErrSocialDenied  = errors.New("the login was cancelled at the provider; start again if you want to log in")
	// ErrSocialFailed matches every failed exchange with a provider: ErrSocialRejected (its
	// answer refused) and *SocialUnavailableError (an outage); see social_errors.go.
	ErrSocialFailed      = upstream.ErrFailed
	ErrSocialNoAccount   = errors.New("there is no account for this identity, and accounts are not created automatically; ask an administrator")
	ErrSocialNotAllowed  = errors.New("this identity is not allowed to log in here (its email domain or groups are not on the list)")
	ErrSocialNoEmail     = errors.New("the provider did not confirm an email address for this identity; verify one there and try again")
	ErrSocialLinkedOther = errors.New("this identity is already linked to another account")
	ErrSocialLastMethod  = errors.New("this is your only way to log in: add a password or a passkey before unlinking it")
	// ErrSocialReauthenticate: linking or unlinking needs a login from the last 10 minutes
	// (CR-19), like adding a passkey. It matches ErrReauthenticate.
	ErrSocialReauthenticate error = socialReauth{}
)

type socialReauth struct{}

func (socialReauth) Error() string {
	return "log in again to link or unlink accounts (sensitive changes need a login from the last 10 minutes)"
}

func (socialReauth) Is(target error) bool { return target == ErrReauthenticate }

// LinkRequiredError: an account with the identity's email address exists. Linking needs
// proof of control of that account (CR: pre-account takeover), so the user logs in to it and
// links the identity from the account page.
type LinkRequiredError struct {
	Email, Provider string
}

func (e *LinkRequiredError) Error() string {
	return "an account with " + e.Email + " already exists: log in to it, then link " + e.Provider + " from your account page"
}

const (
	socialTTL     = 10 * time.Minute
	purposeSocial = "social:state"
)

// Social returns the configured provider name, or nil.
func (p *Provider) Social(name string) *SocialProvider {
	for _, sp := range p.SocialProviders {
		if sp.Name == name {
			return sp
		}
	}
	return nil
}

// SocialStateID is the store key of a login state: hashed with the purpose, so a state value
// can only ever name a social login record (not, say, a code flow's). Exported for tests.
func SocialStateID(state string) string { return secret.Hash(purposeSocial + "\x00" + state) }

// SocialStart is a started upstream login.
type SocialStart struct {
	// URL is where to send the browser; State goes in the browser's cookie (the callback
	// is accepted only with it: login CSRF).
	URL, State string
}

// BeginSocial starts a login (or, with linkUserID, linking to that signed-in user) through
// the named provider: state bound to the browser, nonce and PKCE (S256), exact callback URL.
// It counts against no client IP's limit; the portal uses BeginSocialFrom.
func (p *Provider) BeginSocial(ctx context.Context, name, returnTo, linkUserID string) (SocialStart, error) {
	return p.BeginSocialFrom(ctx, "", name, returnTo, linkUserID)
}

// BeginSocialFrom is BeginSocial for a browser at clientIP, whose unfinished logins are
// limited by SocialLimits: it returns a *SocialLimitError over the limit, and a
// *SocialUnavailableError (at once while the provider is known to be down) when the
// provider cannot be reached.
func (p *Provider) BeginSocialFrom(ctx context.Context, clientIP, name, returnTo, linkUserID string) (SocialStart, error) {
	sp := p.Social(name)
	if sp == nil {
		return SocialStart{}, ErrSocialUnknown
	}
	slot, err := p.takeSocialSlot(ctx, clientIP)
	if err != nil {
		return SocialStart{}, err
	}
	start, err := p.beginSocial(ctx, sp, slot, returnTo, linkUserID)
	if err != nil {
		p.giveBack(ctx, slot) // it never went upstream
	}
	return start, err
}

func (p *Provider) beginSocial(ctx context.Context, sp *SocialProvider, slot socialSlot, returnTo, linkUserID string) (SocialStart, error) {
	state, nonce, verifier, now := secret.Token(), secret.Token(), oauth2.GenerateVerifier(), p.Now()
	authURL, err := sp.client.AuthCodeURL(ctx, state, nonce, verifier)
	if err != nil {
		return SocialStart{}, err
	}
	data := map[string]string{"provider": sp.Name, "nonce": nonce, "verifier": verifier, "return_to": returnTo}
	slot.record(data)
	rec := store.OneTimeCode{ID: SocialStateID(state), Purpose: purposeSocial, Subject: linkUserID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(socialTTL)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return SocialStart{}, fmt.Errorf("store login state: %w", err)
	}
	return SocialStart{URL: authURL, State: state}, nil
}

// BeginSocialLink starts linking an identity of the named provider to the session's user,
// for a browser at clientIP (see BeginSocialFrom). A linked identity is a way into the
// account, so, like adding a passkey, it needs a login from the last 10 minutes (CR-19):
// otherwise a stolen session could add a lasting way in.
func (p *Provider) BeginSocialLink(ctx context.Context, clientIP, name string, s store.Session) (SocialStart, error) {
	if p.Social(name) == nil {
		return SocialStart{}, ErrSocialUnknown
	}
	if !p.fresh(s) {
		return SocialStart{}, ErrSocialReauthenticate
	}
	return p.BeginSocialFrom(ctx, clientIP, name, "", s.UserID)
}

func (sp *SocialProvider) label() string {
	if sp.Label != "" {
		return sp.Label
	}
	return sp.Name
}

// SocialResult is a finished upstream login.
type SocialResult struct {
	User     store.User
	NewUser  bool
	Linked   bool
	ReturnTo string
	Provider string
}

// FinishSocial completes the upstream login at the callback. state is the callback's state
// parameter and cookieState the browser's cookie: they must match and be unused. errCode is
// the callback's error parameter, issParam its iss parameter (RFC 9207), if any. sess is
// the browser's session (zero if none), whose user must be the one that started a link.
//
// A refused answer — iss wrong or missing (RFC 9207), a code the token endpoint refuses, an
// ID token that does not verify, an error from the provider — returns ErrSocialRejected,
// a *SocialProviderError or ErrSocialDenied and is logged as event social_login_refused; a
// provider that fails returns a *SocialUnavailableError (see social_errors.go). An answer the
// provider vouches for gives its start back to the client's limit (SocialLimits).
func (p *Provider) FinishSocial(ctx context.Context, name, state, cookieState, code, errCode, issParam string, sess store.Session) (SocialResult, error) {
	sessionUserID := sess.UserID
	sp := p.Social(name)
	if sp == nil {
		return SocialResult{}, ErrSocialUnknown
	}
	if state == "" || cookieState == "" || len(state) > 128 || !secret.Equal(state, cookieState) {
		return SocialResult{}, ErrSocialState
	}
	rec, err := p.Store.ConsumeOneTimeCode(ctx, SocialStateID(state))
	if errors.Is(err, store.ErrNotFound) {
		return SocialResult{}, ErrSocialState
	} else if err != nil {
		return SocialResult{}, fmt.Errorf("read login state: %w", err)
	}
	if rec.Purpose != purposeSocial || rec.Data["provider"] != name || !p.Now().Before(rec.ExpiresAt) {
		return SocialResult{}, ErrSocialState
	}
	res := SocialResult{ReturnTo: rec.Data["return_to"], Provider: sp.label()}
	// RFC 9207 applies to error responses too: an error must not be taken as the asked
	// provider's unless it names it.
	if err := sp.client.CheckIss(ctx, issParam); err != nil {
		if !upstream.IsRefusal(err) {
			return res, err // discovery unavailable
		}
		p.auditSocialRefused(name, rec, "iss", err)
		return res, ErrSocialRejected
	}
	if errCode != "" {
		if errCode == "access_denied" {
			p.auditSocialRefused(name, rec, "access_denied", errors.New("the provider answered error=access_denied"))
			return res, ErrSocialDenied
		}
		ec := upstream.SafeErrorCode(errCode)
		p.auditSocialRefused(name, rec, "provider_error", errors.New("the provider answered error="+ec))
		return res, &SocialProviderError{Provider: sp.label(), Code: ec}
	}
	if code == "" || len(code) > 2048 {
		p.auditSocialRefused(name, rec, "no_code", nil)
		return res, ErrSocialRejected
	}
	if rec.Subject != "" && rec.Subject != sessionUserID {
		return res, ErrSocialState // a link started by another session
	}
	up, err := sp.client.Exchange(ctx, code, rec.Data["verifier"], rec.Data["nonce"])
	if err != nil {
		return res, p.exchangeError(sp, rec, err)
	}
	// The provider vouched for this answer: the start was no attacker's; it stops counting
	// against the client's network.
	p.giveBack(ctx, slotOf(rec))
	if err := sp.allowed(up); err != nil {
		// A linked account loses the imported groups the upstream no longer lists even
		// though it may not log in now: its other sessions are checked against them.
		if link, lerr := p.Store.GetIdentity(ctx, name, up.Subject); lerr == nil {
			if u, uerr := p.Store.GetUser(ctx, link.UserID); uerr == nil {
				if _, serr := p.syncGroups(ctx, sp, u, up); serr != nil {
					return res, serr
				}
			}
		}
		return res, err
	}
	// A known identity logs in (or, while linking, must already be this user's).
	link, err := p.Store.GetIdentity(ctx, name, up.Subject)
	switch {
	case err == nil:
		if rec.Subject != "" && link.UserID != rec.Subject {
			return res, ErrSocialLinkedOther
		}
		u, err := p.loginUser(ctx, link.UserID)
		if errors.Is(err, ErrCodeExpired) {
			return res, ErrSocialNoAccount
		} else if err != nil {
			return res, err
		}
		_ = p.Store.TouchIdentity(ctx, name, up.Subject, up.Email, p.Now())
		if res.User, err = p.syncGroups(ctx, sp, u, up); err != nil {
			return res, err
		}
		res.Linked = rec.Subject != ""
		return res, nil
	case !errors.Is(err, store.ErrNotFound):
		return res, fmt.Errorf("read identity: %w", err)
	}
	if rec.Subject != "" {
		// Linking: the user proved control of the account by being logged in to it, and
		// the upstream must vouch for an email address.
		if up.Email == "" || !up.EmailVerified {
			return res, ErrSocialNoEmail
		}
		u, err := p.loginUser(ctx, rec.Subject)
		if err != nil {
			return res, err
		}
		if err := p.linkIdentity(ctx, name, up, u.ID); err != nil {
			return res, err
		}
		if err := p.keepIfSessionLive(ctx, sess.ID, func() error { return p.Store.DeleteIdentity(ctx, name, up.Subject) }); err != nil {
			return res, err
		}
		if res.User, err = p.syncGroups(ctx, sp, u, up); err != nil {
			return res, err
		}
		res.Linked = true
		return res, nil
	}
	// Only an address the upstream vouches for is compared with the accounts' (AS-29): an
	// unverified one neither joins nor reveals an account.
	if up.Email != "" && up.EmailVerified {
		if email, err := NormalizeEmail(up.Email); err == nil {
			if _, err := p.Store.GetUserByEmail(ctx, email); err == nil {
				return res, &LinkRequiredError{Email: email, Provider: sp.label()}
			}
		}
	}
	if !sp.Onboarding {
		return res, ErrSocialNoAccount
	}
	if up.Email == "" || !up.EmailVerified {
		return res, ErrSocialNoEmail
	}
	u, err := p.onboard(ctx, sp, up)
	if err != nil {
		return res, err
	}
	res.User, res.NewUser = u, true
	return res, nil
}

func (p *Provider) linkIdentity(ctx context.Context, provider string, up upstream.Identity, userID string) error {
	now := p.Now()
	err := p.Store.CreateIdentity(ctx, store.Identity{Provider: provider, Subject: up.Subject, UserID: userID,
		Email: up.Email, CreatedAt: now, LastUsedAt: now})
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrSocialLinkedOther
	} else if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// onboard creates the account of a new upstream identity (implicit onboarding).
func (p *Provider) onboard(ctx context.Context, sp *SocialProvider, up upstream.Identity) (store.User, error) {
	first, last := up.GivenName, up.FamilyName
	if first == "" && last == "" && up.Name != "" {
		first, last, _ = strings.Cut(up.Name, " ")
	}
	if input.CheckName("fname", first) != nil {
		first = ""
	}
	if input.CheckName("lname", last) != nil {
		last = ""
	}
	u, err := p.Accounts.Build(NewUser{Email: up.Email, FirstName: first, LastName: last, EmailVerified: true})
	if err != nil {
		return store.User{}, err
	}
	if strings.HasPrefix(up.Picture, "https://") && len(up.Picture) <= 2048 {
		u.Picture = up.Picture
	}
	u.Groups = sp.importedGroups(up, nil)
	if err := p.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, &LinkRequiredError{Email: u.Email, Provider: sp.label()}
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := p.linkIdentity(ctx, sp.Name, up, u.ID); err != nil {
		_ = p.Store.DeleteUser(ctx, u.ID)
		return store.User{}, err
	}
	return u, nil
}

// importedGroups returns current with the allow-listed groups set from the upstream: each
// allow-listed group is added when the upstream lists it and removed when it does not;
// other groups are left alone.
func (sp *SocialProvider) importedGroups(up upstream.Identity, current []string) []string {
	out := slices.DeleteFunc(slices.Clone(current), func(g string) bool { return slices.Contains(sp.ImportGroups, g) })
	for _, g := range sp.ImportGroups {
		if slices.Contains(up.Groups, g) {
			out = append(out, g)
		}
	}
	return out
}

// syncGroups sets the user's imported groups from the upstream's answer. A failure fails the
// login: a group the upstream took away must not stay.
func (p *Provider) syncGroups(ctx context.Context, sp *SocialProvider, u store.User, up upstream.Identity) (store.User, error) {
	if len(sp.ImportGroups) == 0 {
		return u, nil
	}
	want := sp.importedGroups(up, u.Groups)
	if slices.Equal(want, u.Groups) {
		return u, nil
	}
	nu, err := p.updateUser(ctx, u.ID, func(x store.User) (store.User, error) {
		x.Groups = sp.importedGroups(up, x.Groups)
		return x, nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("social login: update groups: %w", err)
	}
	return nu, nil
}

// allowed applies the provider's domain and group restrictions.
func (sp *SocialProvider) allowed(up upstream.Identity) error {
	if len(sp.AllowedDomains) > 0 {
		at := strings.LastIndexByte(up.Email, '@')
		if !up.EmailVerified || at < 0 || !slices.ContainsFunc(sp.AllowedDomains, func(d string) bool {
			return strings.EqualFold(up.Email[at+1:], d)
		}) {
			return ErrSocialNotAllowed
		}
	}
	if len(sp.RequiredGroups) > 0 && !slices.ContainsFunc(sp.RequiredGroups, func(g string) bool { return slices.Contains(up.Groups, g) }) {
		return ErrSocialNotAllowed
	}
	return nil
}

// Identities returns the upstream identities linked to the user.
func (p *Provider) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	return p.Store.ListUserIdentities(ctx, userID)
}

// LinkIdentity links an upstream identity to a user (the admin API).
func (p *Provider) LinkIdentity(ctx context.Context, userID, provider, subject string) (store.Identity, error) {
	if p.Social(provider) == nil {
		return store.Identity{}, ErrSocialUnknown
	}
	if subject == "" || len(subject) > 255 {
		return store.Identity{}, &InputError{Field: "subject", Message: "give the upstream user ID (1 to 255 characters)"}
	}
	if _, err := p.GetUser(ctx, userID); err != nil {
		return store.Identity{}, err
	}
	if err := p.linkIdentity(ctx, provider, upstream.Identity{Subject: subject}, userID); err != nil {
		return store.Identity{}, err
	}
	return p.Store.GetIdentity(ctx, provider, subject)
}

// UnlinkIdentity removes a linked identity of the session's user, unless it is the last way
// to log in. It needs a login from the last 10 minutes (CR-19).
func (p *Provider) UnlinkIdentity(ctx context.Context, s store.Session, provider, subject string) error {
	if !p.fresh(s) {
		return ErrSocialReauthenticate
	}
	id, err := p.Store.GetIdentity(ctx, provider, subject)
	if err != nil || id.UserID != s.UserID {
		return ErrUserNotFound
	}
	if err := p.hasOtherWayIn(ctx, s.UserID, provider, subject); err != nil {
		return err
	}
	return p.Store.DeleteIdentity(ctx, provider, subject)
}

// hasOtherWayIn tells whether the user can still log in without the identity: a password, a
// passkey, another identity, or a code to a verified address.
func (p *Provider) hasOtherWayIn(ctx context.Context, userID, provider, subject string) error {
	if _, err := p.Store.GetPassword(ctx, userID); err == nil {
		return nil
	}
	if pks, err := p.Store.ListUserPasskeys(ctx, userID); err == nil && len(pks) > 0 {
		return nil
	}
	ids, err := p.Store.ListUserIdentities(ctx, userID)
	if err != nil {
		return fmt.Errorf("list identities: %w", err)
	}
	for _, o := range ids {
		if o.Provider != provider || o.Subject != subject {
			return nil
		}
	}
	if u, err := p.Store.GetUser(ctx, userID); err == nil && u.EmailVerified &&
		(p.MethodEnabled(MethodEmailCode) || p.MethodEnabled(MethodMagicLink)) {
		return nil
	}
	return ErrSocialLastMethod
}
