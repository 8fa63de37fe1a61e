package idp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// AMRSocial is the amr value of a login through an upstream identity provider.
const AMRSocial = login.AMRSocial

// Kinds of upstream providers.
const (
	// SocialOIDC is any OpenID Connect provider, configured by discovery.
	SocialOIDC = social.KindOIDC
	// SocialGitHub is GitHub's OAuth 2.0 with its REST user API (no OpenID Connect).
	SocialGitHub = social.KindGitHub
)

// SocialProvider is one upstream identity provider (social.Provider).
type SocialProvider = social.Provider

// ValidateSocial checks a provider's configuration (social.Validate).
func ValidateSocial(sp *SocialProvider) error { return social.Validate(sp) }

// Errors of social login, shown to users.
var (
	ErrSocialUnknown        = social.ErrUnknown
	ErrSocialState          = social.ErrState
	ErrSocialDenied         = social.ErrDenied
	ErrSocialFailed         = upstream.ErrFailed
	ErrSocialNoAccount      = social.ErrNoAccount
	ErrSocialNotAllowed     = social.ErrNotAllowed
	ErrSocialNoEmail        = social.ErrNoEmail
	ErrSocialLinkedOther    = social.ErrLinkedOther
	ErrSocialLastMethod     = social.ErrLastMethod
	ErrSocialReauthenticate = social.ErrReauthenticate
	ErrSocialUnavailable    = upstream.ErrUnavailable
	ErrSocialRejected       = upstream.ErrRejected
)

// LinkRequiredError: an account with the identity's email address exists.
type LinkRequiredError = social.LinkRequiredError

// SocialUnavailableError: the upstream provider cannot be used now (an outage).
type SocialUnavailableError = upstream.UnavailableError

// SocialProviderError: the provider answered the authorization request with an error.
type SocialProviderError = upstream.ProviderError

// SocialLimits bound the social logins a client IP may leave unfinished (social.Limits).
type SocialLimits = social.Limits

// SocialLimitError: too many social logins from the client's network are unfinished.
type SocialLimitError = social.LimitError

// Defaults of SocialLimits.
const (
	DefaultSocialMaxUnfinishedPerIP = social.DefaultMaxUnfinishedPerIP
	DefaultSocialLimitWindow        = social.DefaultLimitWindow
)

// SocialStateID is the store key of a login state (social.StateID).
func SocialStateID(state string) string { return social.StateID(state) }

// SocialStart is a started upstream login.
type SocialStart = social.Start

// SocialResult is a finished upstream login.
type SocialResult = social.Result

// BeginSocial starts a login through the named provider, counted against no client IP.
func (p *Provider) BeginSocial(ctx context.Context, name, returnTo, _ string) (SocialStart, error) {
	return p.Social.Begin(ctx, "", name, returnTo)
}

// BeginSocialFrom starts a login through the named provider for a browser at clientIP.
func (p *Provider) BeginSocialFrom(ctx context.Context, clientIP, name, returnTo, _ string) (SocialStart, error) {
	return p.Social.Begin(ctx, clientIP, name, returnTo)
}

// BeginSocialLink starts linking an identity of the named provider to the session's user.
func (p *Provider) BeginSocialLink(ctx context.Context, clientIP, name string, s store.Session) (SocialStart, error) {
	return p.Social.BeginLink(ctx, clientIP, name, s)
}

// FinishSocial completes the upstream login at the callback (social.Method.Finish).
func (p *Provider) FinishSocial(ctx context.Context, name, state, cookieState, code, errCode, issParam string, sess store.Session) (SocialResult, error) {
	return p.Social.Finish(ctx, name, social.Callback{State: state, CookieState: cookieState, Code: code, Error: errCode, Iss: issParam}, sess)
}

// Identities returns the upstream identities linked to the user.
func (p *Provider) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	return p.Social.Identities(ctx, userID)
}

// LinkIdentity links an upstream identity to a user (the admin API).
func (p *Provider) LinkIdentity(ctx context.Context, userID, provider, subject string) (store.Identity, error) {
	return p.Social.Link(ctx, userID, provider, subject)
}

// UnlinkIdentity removes a linked identity of the session's user.
func (p *Provider) UnlinkIdentity(ctx context.Context, s store.Session, provider, subject string) error {
	return p.Social.Unlink(ctx, s, provider, subject)
}
