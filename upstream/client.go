package upstream

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// Kinds of upstream providers.
const (
	// KindOIDC is any OpenID Connect provider, configured by discovery.
	KindOIDC = "oidc"
	// KindGitHub is GitHub's OAuth 2.0 with its REST user API (no OpenID Connect).
	KindGitHub = "github"
)

// Timeout bounds every request to an upstream provider; MaxBody bounds what Gatehouse reads
// from it (discovery, keys, tokens, user API).
const (
	Timeout = 10 * time.Second
	MaxBody = 1 << 20
)

// Config is what the client needs to know of one provider.
type Config struct {
	// Name identifies the provider in logs; Label is shown to users (default: Name).
	Name, Label string
	// Kind is KindOIDC or KindGitHub.
	Kind string
	// Issuer is the OpenID issuer (discovery at Issuer/.well-known/openid-configuration).
	Issuer string
	// IssuerTemplate, when set, accepts ID tokens whose iss is this template with
	// "{tenantid}" replaced by the token's tid claim (Microsoft's multi-tenant endpoints).
	IssuerTemplate string
	// AuthURL, TokenURL, APIURL are GitHub's endpoints.
	AuthURL, TokenURL, APIURL string
	ClientID                  string
	ClientSecret              string
	// AppleTeamID, AppleKeyID, AppleKey: Sign in with Apple's client secret is a short JWT
	// signed with this key, made for each token request.
	AppleTeamID, AppleKeyID string
	AppleKey                *ecdsa.PrivateKey
	// FormPost asks for response_mode=form_post.
	FormPost bool
	// Scopes requested (default: openid email profile; GitHub: read:user user:email).
	Scopes []string
	// GroupsClaim names the upstream claim holding group names.
	GroupsClaim string
	// VerifiedEmailClaim names a boolean claim that, when the ID token has no
	// email_verified, says the address is verified (Microsoft Entra ID's xms_edov).
	VerifiedEmailClaim string
}

// Client talks to one upstream provider. Its zero discovery state is ready; use it by
// pointer (it caches the provider's discovery document).
type Client struct {
	Config
	// RedirectURL is Gatehouse's callback for this provider, exactly as registered there.
	RedirectURL string
	// HTTPClient, if set, replaces the client for the provider (tests; default: Timeout,
	// MaxBody bodies, same-host redirects over https only).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger

	discovery discoveryState
}

// Identity is what an upstream provider asserted about the user.
type Identity struct {
	Subject                     string
	Email                       string
	EmailVerified               bool
	Name, GivenName, FamilyName string
	Picture, Locale             string
	Groups                      []string
}

// DisplayName returns the provider's name for users: its Label, else its Name.
func (c *Client) DisplayName() string {
	if c.Config.Label != "" {
		return c.Config.Label
	}
	return c.Name
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// ValidURL tells whether raw is an https URL, or http to a loopback host (tests, local
// development): the only URLs a client secret, a code or a user's token may travel to.
func ValidURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && loopbackHost(u.Hostname())))
}

func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

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
	}{io.LimitReader(res.Body, MaxBody), res.Body}
	return res, nil
}

// httpClient is the HTTP client for the provider. It follows a redirect only to the same
// host over https (or loopback http): a provider's answer must not send Gatehouse, with a
// client secret or a user's token, to another server.
func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: Timeout, Transport: limitedBody{http.DefaultTransport}, CheckRedirect: checkRedirect}
}

// checkRedirect allows at most 3 redirects, each to the host of the original request over
// https (or http on loopback).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects from the upstream provider")
	}
	if req.URL.Host != via[0].URL.Host || !ValidURL(req.URL.String()) {
		return fmt.Errorf("the upstream provider redirected to %s://%s, another server", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

func (c *Client) clientCtx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.httpClient())
}

// AuthCodeURL returns the authorization request to send the browser to: state (bound to the
// browser by the caller), nonce (OpenID providers only) and the PKCE S256 challenge of
// verifier, with the exact callback URL. It discovers the provider first if needed: a
// provider that cannot be reached gives a *UnavailableError.
func (c *Client) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	cfg, err := c.oauthConfig(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if c.Kind != KindGitHub {
		opts = append(opts, oidc.Nonce(nonce))
	}
	if c.FormPost {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	return cfg.AuthCodeURL(state, opts...), nil
}

func (c *Client) oauthConfig(ctx context.Context) (*oauth2.Config, error) {
	cfg := &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: c.Scopes,
		RedirectURL: c.RedirectURL}
	switch c.Kind {
	case KindGitHub:
		cfg.Endpoint = oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams}
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"read:user", "user:email"}
		}
	default:
		d, err := c.discover(ctx)
		if err != nil {
			return nil, err
		}
		cfg.Endpoint = d.op.Endpoint()
		cfg.Endpoint.AuthStyle = d.authStyle
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		}
		if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
			cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
		}
	}
	if c.AppleKey != nil {
		s, err := appleClientSecret(c.Config, c.Now())
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
func appleClientSecret(cfg Config, now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": cfg.AppleTeamID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "aud": "https://appleid.apple.com", "sub": cfg.ClientID})
	t.Header["kid"] = cfg.AppleKeyID
	s, err := t.SignedString(cfg.AppleKey)
	if err != nil {
		return "", fmt.Errorf("apple client secret: %w", err)
	}
	return s, nil
}
