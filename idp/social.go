package idp

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AMRSocial is the amr value of a login through an upstream identity provider.
const AMRSocial = "social"

// Kinds of upstream providers.
const (
	// SocialOIDC is any OpenID Connect provider, configured by discovery.
	SocialOIDC = "oidc"
	// SocialGitHub is GitHub's OAuth 2.0 with its REST user API (no OpenID Connect).
	SocialGitHub = "github"
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

	mu       sync.Mutex
	oidc     *oidc.Provider
	verifier *oidc.IDTokenVerifier
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
		if !upstreamURL(sp.Issuer) {
			return fmt.Errorf("issuer %q must be an https URL", sp.Issuer)
		}
	case SocialGitHub:
		// The client secret and the user's access token travel to these: never in clear.
		for _, f := range []struct{ name, url string }{{"auth_url", sp.AuthURL}, {"token_url", sp.TokenURL}, {"api_url", sp.APIURL}} {
			if !upstreamURL(f.url) {
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

// upstreamURL tells whether raw is an https URL, or http to a loopback host (tests, local
// development).
func upstreamURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && loopbackHost(u.Hostname())))
}

func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// Errors of social login, shown to users.
var (
	ErrSocialUnknown     = errors.New("this login provider is not configured")
	ErrSocialState       = errors.New("this login attempt expired or was started in another browser; start again")
	ErrSocialDenied      = errors.New("the login was cancelled at the provider; start again if you want to log in")
	ErrSocialFailed      = errors.New("the provider's answer could not be verified; try again")
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

// upstreamTimeout bounds every request to an upstream provider; upstreamMaxBody bounds what
// Gatehouse reads from it (discovery, keys, tokens, user API).
const (
	upstreamTimeout = 10 * time.Second
	upstreamMaxBody = 1 << 20
	socialTTL       = 10 * time.Minute
	purposeSocial   = "social:state"
)

// limitedBody caps response bodies from upstream providers.
type limitedBody struct {
	rt http.RoundTripper
}

func (l limitedBody) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(res.Body, upstreamMaxBody), res.Body}
	return res, nil
}

// upstreamClient is the HTTP client for upstream providers. It follows a redirect only to
// the same host over https (or loopback http): a provider's answer must not send Gatehouse,
// with a client secret or a user's token, to another server.
func (p *Provider) upstreamClient() *http.Client {
	if p.SocialHTTPClient != nil {
		return p.SocialHTTPClient
	}
	return &http.Client{Timeout: upstreamTimeout, Transport: limitedBody{http.DefaultTransport}, CheckRedirect: upstreamRedirect}
}

// upstreamRedirect allows at most 3 redirects, each to the host of the original request
// over https (or http on loopback).
func upstreamRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects from the upstream provider")
	}
	if req.URL.Host != via[0].URL.Host || !upstreamURL(req.URL.String()) {
		return fmt.Errorf("the upstream provider redirected to %s://%s, another server", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// Social returns the configured provider name, or nil.
func (p *Provider) Social(name string) *SocialProvider {
	for _, sp := range p.SocialProviders {
		if sp.Name == name {
			return sp
		}
	}
	return nil
}

func (p *Provider) upstreamCtx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.upstreamClient())
}

// discover returns the provider's OpenID configuration, fetched once (retried after a
// failure).
func (p *Provider) discover(ctx context.Context, sp *SocialProvider) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.oidc != nil {
		return sp.oidc, sp.verifier, nil
	}
	dctx := p.upstreamCtx(ctx)
	if sp.IssuerTemplate != "" {
		dctx = oidc.InsecureIssuerURLContext(dctx, sp.Issuer)
	}
	op, err := oidc.NewProvider(dctx, sp.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", sp.Name, err)
	}
	// The client secret, codes and tokens go to these endpoints: https only (or loopback).
	var ep struct {
		Auth     string `json:"authorization_endpoint"`
		Token    string `json:"token_endpoint"`
		JWKS     string `json:"jwks_uri"`
		UserInfo string `json:"userinfo_endpoint"`
	}
	if err := op.Claims(&ep); err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", sp.Name, err)
	}
	for _, e := range []struct{ name, url string }{{"authorization_endpoint", ep.Auth}, {"token_endpoint", ep.Token}, {"jwks_uri", ep.JWKS}} {
		if !upstreamURL(e.url) {
			return nil, nil, fmt.Errorf("discover %s: %s %q is not an https URL", sp.Name, e.name, e.url)
		}
	}
	if ep.UserInfo != "" && !upstreamURL(ep.UserInfo) {
		return nil, nil, fmt.Errorf("discover %s: userinfo_endpoint %q is not an https URL", sp.Name, ep.UserInfo)
	}
	// The key set is used with a background context: it refetches keys on its own.
	cfg := &oidc.Config{ClientID: sp.ClientID, SkipIssuerCheck: sp.IssuerTemplate != "", Now: p.Now}
	sp.oidc, sp.verifier = op, op.VerifierContext(oidc.ClientContext(context.Background(), p.upstreamClient()), cfg)
	return sp.oidc, sp.verifier, nil
}

func (p *Provider) oauthConfig(ctx context.Context, sp *SocialProvider) (*oauth2.Config, error) {
	cfg := &oauth2.Config{ClientID: sp.ClientID, ClientSecret: sp.ClientSecret, Scopes: sp.Scopes,
		RedirectURL: p.Issuer + "/login/social/" + sp.Name + "/callback"}
	switch sp.Kind {
	case SocialGitHub:
		cfg.Endpoint = oauth2.Endpoint{AuthURL: sp.AuthURL, TokenURL: sp.TokenURL, AuthStyle: oauth2.AuthStyleInParams}
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"read:user", "user:email"}
		}
	default:
		op, _, err := p.discover(ctx, sp)
		if err != nil {
			return nil, err
		}
		cfg.Endpoint = op.Endpoint()
		cfg.Endpoint.AuthStyle = tokenAuthStyle(op)
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		}
		if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
			cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
		}
	}
	if sp.AppleKey != nil {
		s, err := appleClientSecret(sp, p.Now())
		if err != nil {
			return nil, err
		}
		cfg.ClientSecret = s
	}
	return cfg, nil
}

// tokenAuthStyle picks how the client authenticates at the token endpoint from the
// provider's discovery document: client_secret_basic when listed (or when nothing is
// listed, its default in OpenID Connect Discovery §3), else client_secret_post (Apple).
// oauth2's auto-detection would instead send every failed token request twice, the second
// time with the secret in the body: a refused code is redeemed twice and the upstream sees
// a failed client authentication.
func tokenAuthStyle(op *oidc.Provider) oauth2.AuthStyle {
	var meta struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = op.Claims(&meta)
	if len(meta.Methods) > 0 && !slices.Contains(meta.Methods, "client_secret_basic") && slices.Contains(meta.Methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// appleClientSecret makes Sign in with Apple's client secret: an ES256 JWT from the team's
// key, valid five minutes.
func appleClientSecret(sp *SocialProvider, now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": sp.AppleTeamID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "aud": "https://appleid.apple.com", "sub": sp.ClientID})
	t.Header["kid"] = sp.AppleKeyID
	s, err := t.SignedString(sp.AppleKey)
	if err != nil {
		return "", fmt.Errorf("apple client secret: %w", err)
	}
	return s, nil
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
func (p *Provider) BeginSocial(ctx context.Context, name, returnTo, linkUserID string) (SocialStart, error) {
	sp := p.Social(name)
	if sp == nil {
		return SocialStart{}, ErrSocialUnknown
	}
	cfg, err := p.oauthConfig(ctx, sp)
	if err != nil {
		p.Logger.Warn("social login: provider unavailable", "provider", name, "error", err)
		return SocialStart{}, fmt.Errorf("%w: %s is unavailable", ErrSocialFailed, sp.label())
	}
	state, nonce, verifier, now := secret.Token(), secret.Token(), oauth2.GenerateVerifier(), p.Now()
	rec := store.OneTimeCode{ID: SocialStateID(state), Purpose: purposeSocial, Subject: linkUserID,
		Data:      map[string]string{"provider": name, "nonce": nonce, "verifier": verifier, "return_to": returnTo},
		CreatedAt: now, ExpiresAt: now.Add(socialTTL)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return SocialStart{}, fmt.Errorf("store login state: %w", err)
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if sp.Kind != SocialGitHub {
		opts = append(opts, oidc.Nonce(nonce))
	}
	if sp.FormPost {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	return SocialStart{URL: cfg.AuthCodeURL(state, opts...), State: state}, nil
}

// BeginSocialLink starts linking an identity of the named provider to the session's user. A
// linked identity is a way into the account, so, like adding a passkey, it needs a login
// from the last 10 minutes (CR-19): otherwise a stolen session could add a lasting way in.
func (p *Provider) BeginSocialLink(ctx context.Context, name string, s store.Session) (SocialStart, error) {
	if p.Social(name) == nil {
		return SocialStart{}, ErrSocialUnknown
	}
	if !p.fresh(s) {
		return SocialStart{}, ErrSocialReauthenticate
	}
	return p.BeginSocial(ctx, name, "", s.UserID)
}

func (sp *SocialProvider) label() string {
	if sp.Label != "" {
		return sp.Label
	}
	return sp.Name
}

// upstreamUser is what an upstream provider asserted.
type upstreamUser struct {
	Subject                     string
	Email                       string
	EmailVerified               bool
	Name, GivenName, FamilyName string
	Picture, Locale             string
	Groups                      []string
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
	if errCode != "" {
		if errCode == "access_denied" {
			return res, ErrSocialDenied
		}
		p.Logger.Warn("social login: provider error", "provider", name, "error", errCode)
		return res, ErrSocialFailed
	}
	if code == "" || len(code) > 2048 {
		return res, ErrSocialFailed
	}
	if issParam != "" && sp.Kind == SocialOIDC && sp.IssuerTemplate == "" && issParam != sp.Issuer {
		// RFC 9207: the answer names another issuer than the one asked (mix-up, AS-28).
		p.Logger.Warn("social login: callback from another issuer", "provider", name, "iss", issParam)
		return res, ErrSocialFailed
	}
	if rec.Subject != "" && rec.Subject != sessionUserID {
		return res, ErrSocialState // a link started by another session
	}
	up, err := p.upstreamIdentity(ctx, sp, code, rec.Data["verifier"], rec.Data["nonce"])
	if err != nil {
		p.Logger.Warn("social login: upstream answer refused", "provider", name, "error", err)
		return res, ErrSocialFailed
	}
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

func (p *Provider) linkIdentity(ctx context.Context, provider string, up upstreamUser, userID string) error {
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
func (p *Provider) onboard(ctx context.Context, sp *SocialProvider, up upstreamUser) (store.User, error) {
	first, last := up.GivenName, up.FamilyName
	if first == "" && last == "" && up.Name != "" {
		first, last, _ = strings.Cut(up.Name, " ")
	}
	if checkName("fname", first) != nil {
		first = ""
	}
	if checkName("lname", last) != nil {
		last = ""
	}
	u, err := p.buildUser(NewUser{Email: up.Email, FirstName: first, LastName: last, EmailVerified: true})
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
func (sp *SocialProvider) importedGroups(up upstreamUser, current []string) []string {
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
func (p *Provider) syncGroups(ctx context.Context, sp *SocialProvider, u store.User, up upstreamUser) (store.User, error) {
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
func (sp *SocialProvider) allowed(up upstreamUser) error {
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

// upstreamIdentity redeems the code and returns the verified identity.
func (p *Provider) upstreamIdentity(ctx context.Context, sp *SocialProvider, code, verifier, nonce string) (upstreamUser, error) {
	cfg, err := p.oauthConfig(ctx, sp)
	if err != nil {
		return upstreamUser{}, err
	}
	uctx := p.upstreamCtx(ctx)
	tok, err := cfg.Exchange(uctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return upstreamUser{}, fmt.Errorf("token request: %w", err)
	}
	if sp.Kind == SocialGitHub {
		return p.githubUser(uctx, sp, tok)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return upstreamUser{}, errors.New("no id_token in the token response")
	}
	op, verify, err := p.discover(ctx, sp)
	if err != nil {
		return upstreamUser{}, err
	}
	idt, err := verify.Verify(uctx, raw)
	if err != nil {
		return upstreamUser{}, fmt.Errorf("id token: %w", err)
	}
	var c struct {
		Azp           string          `json:"azp"`
		Tid           string          `json:"tid"`
		Nonce         string          `json:"nonce"`
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
		GivenName     string          `json:"given_name"`
		FamilyName    string          `json:"family_name"`
		Picture       string          `json:"picture"`
		Locale        string          `json:"locale"`
	}
	var all map[string]json.RawMessage
	if err := idt.Claims(&c); err != nil {
		return upstreamUser{}, fmt.Errorf("id token claims: %w", err)
	}
	if err := idt.Claims(&all); err != nil {
		return upstreamUser{}, fmt.Errorf("id token claims: %w", err)
	}
	if nonce == "" || !secret.Equal(c.Nonce, nonce) {
		return upstreamUser{}, errors.New("id token nonce does not match the request")
	}
	if len(idt.Audience) > 1 && c.Azp != sp.ClientID {
		return upstreamUser{}, errors.New("id token has several audiences and azp is not this client")
	}
	if c.Azp != "" && c.Azp != sp.ClientID {
		return upstreamUser{}, fmt.Errorf("id token azp %q is not this client", c.Azp)
	}
	if sp.IssuerTemplate != "" {
		if c.Tid == "" || idt.Issuer != strings.ReplaceAll(sp.IssuerTemplate, "{tenantid}", c.Tid) {
			return upstreamUser{}, fmt.Errorf("id token issuer %q does not match %s", idt.Issuer, sp.IssuerTemplate)
		}
	}
	up := upstreamUser{Subject: idt.Subject, Email: c.Email, EmailVerified: truthy(c.EmailVerified),
		Name: c.Name, GivenName: c.GivenName, FamilyName: c.FamilyName, Picture: c.Picture, Locale: c.Locale}
	if c.EmailVerified == nil && sp.VerifiedEmailClaim != "" {
		// Entra documents a boolean; 1 is accepted too, as some tenants send it.
		v := strings.Trim(string(all[sp.VerifiedEmailClaim]), `"`)
		up.EmailVerified = v == "true" || v == "1"
	}
	if up.Subject == "" || len(up.Subject) > 255 {
		return upstreamUser{}, errors.New("id token has no usable sub")
	}
	if sp.IssuerTemplate != "" {
		// A subject is unique per issuer; multi-tenant issuers vary.
		up.Subject = c.Tid + "/" + up.Subject
	}
	if sp.GroupsClaim != "" {
		up.Groups = stringList(all[sp.GroupsClaim])
	}
	if up.Email == "" || (sp.GroupsClaim != "" && all[sp.GroupsClaim] == nil) {
		// Some providers put the address or groups only in userinfo.
		ui, err := op.UserInfo(uctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			p.Logger.Warn("social login: userinfo", "provider", sp.Name, "error", err)
		} else {
			var extra map[string]json.RawMessage
			var names struct {
				Name       string `json:"name"`
				GivenName  string `json:"given_name"`
				FamilyName string `json:"family_name"`
				Picture    string `json:"picture"`
				Locale     string `json:"locale"`
			}
			if ui.Subject == idt.Subject && ui.Claims(&extra) == nil && ui.Claims(&names) == nil {
				if up.Email == "" {
					up.Email, up.EmailVerified = ui.Email, ui.EmailVerified
				}
				if sp.GroupsClaim != "" && up.Groups == nil {
					up.Groups = stringList(extra[sp.GroupsClaim])
				}
				// The profile too, when the ID token left it to userinfo.
				fill := func(dst *string, src string) {
					if *dst == "" {
						*dst = src
					}
				}
				fill(&up.Name, names.Name)
				fill(&up.GivenName, names.GivenName)
				fill(&up.FamilyName, names.FamilyName)
				fill(&up.Picture, names.Picture)
				fill(&up.Locale, names.Locale)
			}
		}
	}
	return up, nil
}

// truthy reads email_verified, which some providers send as the string "true".
func truthy(raw json.RawMessage) bool {
	s := strings.Trim(string(raw), `"`)
	return s == "true"
}

func stringList(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// githubUser reads the user and its verified primary address from GitHub's REST API.
func (p *Provider) githubUser(ctx context.Context, sp *SocialProvider, tok *oauth2.Token) (upstreamUser, error) {
	get := func(path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(sp.APIURL, "/")+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/vnd.github+json")
		res, err := p.upstreamClient().Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", path, res.StatusCode)
		}
		return json.NewDecoder(res.Body).Decode(v)
	}
	var u struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := get("/user", &u); err != nil {
		return upstreamUser{}, err
	}
	if u.ID <= 0 {
		return upstreamUser{}, errors.New("github user has no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := get("/user/emails", &emails); err != nil {
		return upstreamUser{}, err
	}
	up := upstreamUser{Subject: strconv.FormatInt(u.ID, 10), Name: u.Name, Picture: u.AvatarURL}
	for _, e := range emails {
		if e.Primary && e.Verified {
			up.Email, up.EmailVerified = e.Email, true
		}
	}
	return up, nil
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
	if err := p.linkIdentity(ctx, provider, upstreamUser{Subject: subject}, userID); err != nil {
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
