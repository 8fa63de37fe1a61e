package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// stateTTL is how long a started login waits for its callback.
const stateTTL = 10 * time.Minute

// Method is social login. Every field but HTTPClient, Limits (zero: the defaults) and
// Logger is required; it must not be copied after first use.
type Method struct {
	// Metrics counts the social logins (nil: not counted).
	Metrics metrics.Recorder
	// Audit records the login attempts (nil: not recorded).
	Audit audit.Recorder
	// Providers are the configured upstream providers.
	Providers []*Provider
	// Stored, if set, returns the providers added at runtime (runtime settings), which
	// follow Providers; it returns the same *Provider for an unchanged provider, whose
	// upstream client (and discovery) is then kept.
	Stored func() []*Provider
	// Issuer is the portal's URL: each provider's callback is
	// Issuer/login/social/<name>/callback.
	Issuer string
	// HTTPClient, if set, replaces the client for upstream providers (tests; default:
	// upstream's).
	HTTPClient *http.Client
	// Limits bound the logins a client IP may leave unfinished.
	Limits   Limits
	Store    store.Store
	Accounts *account.Accounts
	Sessions *sessions.Manager
	// Codes tells whether a code or link to the account's address is a way in (Unlink).
	Codes  *otp.Codes
	Now    func() time.Time
	Logger *slog.Logger

	once    sync.Once
	clients map[string]*upstream.Client
	stored  sync.Map // *Provider (a stored one) -> *upstream.Client
}

func (m *Method) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// Provider returns the configured provider name, or nil.
func (m *Method) Provider(name string) *Provider {
	for _, sp := range m.Configured() {
		if sp.Name == name {
			return sp
		}
	}
	return nil
}

// client returns the upstream client of sp (one per provider, keeping its discovery).
func (m *Method) client(sp *Provider) *upstream.Client {
	m.once.Do(func() {
		m.clients = map[string]*upstream.Client{}
		for _, p := range m.Providers {
			m.clients[p.Name] = &upstream.Client{Config: p.upstreamConfig(),
				RedirectURL: m.Issuer + "/login/social/" + p.Name + "/callback",
				HTTPClient:  m.HTTPClient, Now: m.Now, Logger: m.Logger}
		}
	})
	if c, ok := m.clients[sp.Name]; ok && slices.Contains(m.Providers, sp) {
		return c
	}
	if c, ok := m.stored.Load(sp); ok {
		return c.(*upstream.Client)
	}
	c, _ := m.stored.LoadOrStore(sp, &upstream.Client{Config: sp.upstreamConfig(),
		RedirectURL: m.Issuer + "/login/social/" + sp.Name + "/callback",
		HTTPClient:  m.HTTPClient, Now: m.Now, Logger: m.Logger})
	return c.(*upstream.Client)
}

// Start is a started upstream login.
type Start struct {
	// URL is where to send the browser; State goes in the browser's cookie (the callback
	// is accepted only with it: login CSRF).
	URL, State string
}

// Begin starts a login through the named provider for a browser at clientIP: state bound
// to the browser, nonce and PKCE (S256), exact callback URL. The browser's unfinished
// logins are limited by Limits (clientIP "" is not counted): over the limit it returns a
// *LimitError, and a *upstream.UnavailableError (at once while the provider is known to be
// down) when the provider cannot be reached.
func (m *Method) Begin(ctx context.Context, clientIP, name, returnTo string) (Start, error) {
	return m.begin(ctx, clientIP, name, returnTo, "")
}

// BeginLink starts linking an identity of the named provider to the session's user, for a
// browser at clientIP (see Begin). A linked identity is a way into the account, so, like
// adding a passkey, it needs a login from the last 10 minutes (CR-19): otherwise a stolen
// session could add a lasting way in.
func (m *Method) BeginLink(ctx context.Context, clientIP, name string, s store.Session) (Start, error) {
	if m.Provider(name) == nil {
		return Start{}, ErrUnknown
	}
	if !m.Sessions.Fresh(s) {
		return Start{}, ErrReauthenticate
	}
	return m.begin(ctx, clientIP, name, "", s.UserID)
}

func (m *Method) begin(ctx context.Context, clientIP, name, returnTo, linkUserID string) (Start, error) {
	sp := m.Provider(name)
	if sp == nil {
		return Start{}, ErrUnknown
	}
	sl, err := m.takeSlot(ctx, clientIP)
	if err != nil {
		return Start{}, err
	}
	start, err := m.store(ctx, sp, sl, returnTo, linkUserID)
	if err != nil {
		m.giveBack(ctx, sl) // it never went upstream
	}
	return start, err
}

func (m *Method) store(ctx context.Context, sp *Provider, sl slot, returnTo, linkUserID string) (Start, error) {
	state, nonce, verifier, now := secret.Token(), secret.Token(), oauth2.GenerateVerifier(), m.Now()
	authURL, err := m.client(sp).AuthCodeURL(ctx, state, nonce, verifier)
	if err != nil {
		return Start{}, err
	}
	data := map[string]string{"provider": sp.Name, "nonce": nonce, "verifier": verifier, "return_to": returnTo}
	sl.record(data)
	rec := store.OneTimeCode{ID: StateID(state), Purpose: purposeState, Subject: linkUserID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(stateTTL)}
	if err := m.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return Start{}, fmt.Errorf("store login state: %w", err)
	}
	return Start{URL: authURL, State: state}, nil
}

// Callback is what the provider's answer brought to the callback.
type Callback struct {
	// State is the callback's state parameter, CookieState the browser's cookie: they must
	// match and be unused.
	State, CookieState string
	// Code, Error and Iss are the callback's code, error and iss (RFC 9207) parameters.
	Code, Error, Iss string
}

// Result is a finished upstream login or link.
type Result struct {
	// Result is the login (amr social; NewUser when the identity was onboarded); its
	// ReturnTo is the one the login started with.
	login.Result
	// Linked: the identity was linked to the signed-in user (no new session is due).
	Linked bool
	// Linking: the attempt was a link started from the account page (set as soon as the
	// login state is read, also on failure).
	Linking bool
	// Claimed: the identity claimed the account of its unverified address (address.go).
	Claimed bool
	// Provider is the provider's label.
	Provider string
}

// Finish completes the upstream login at the callback of the named provider. sess is the
// browser's session (zero if none), whose user must be the one that started a link.
//
// A refused answer — iss wrong or missing (RFC 9207), a code the token endpoint refuses, an
// ID token that does not verify, an error from the provider — returns upstream.ErrRejected,
// a *upstream.ProviderError or ErrDenied and is logged as event social_login_refused; a
// provider that fails returns a *upstream.UnavailableError. An answer the provider vouches
// for gives its start back to the client's limit (Limits).
func (m *Method) Finish(ctx context.Context, name string, cb Callback, sess store.Session) (Result, error) {
	res, err := m.finish(ctx, name, cb, sess)
	if res.Linked {
		return res, err // an identity linked to the signed-in user: not a login
	}
	// ErrDenied (cancelled at the provider), ErrNoAccount and ErrNotAllowed are the
	// failures; a rejected answer or an unavailable provider counts as an error.
	login.Audit(ctx, m.Audit, "social", "", res.Result, err, ErrDenied, ErrNoAccount, ErrNotAllowed, account.ErrUserDisabled)
	_, err = login.Count(m.Metrics, "social", res.Result, err, ErrDenied, ErrNoAccount, ErrNotAllowed)
	return res, err
}

func (m *Method) finish(ctx context.Context, name string, cb Callback, sess store.Session) (Result, error) {
	sessionUserID := sess.UserID
	sp := m.Provider(name)
	if sp == nil {
		return Result{}, ErrUnknown
	}
	if cb.CookieState == "" {
		return Result{}, ErrStateUsed // the first answer deleted the cookie, or another browser
	}
	if cb.State == "" || len(cb.State) > 128 || !secret.Equal(cb.State, cb.CookieState) {
		return Result{}, ErrState
	}
	rec, err := m.Store.ConsumeOneTimeCode(ctx, StateID(cb.State))
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, ErrStateUsed
	} else if err != nil {
		return Result{}, fmt.Errorf("read login state: %w", err)
	}
	if rec.Purpose != purposeState || rec.Data["provider"] != name || !m.Now().Before(rec.ExpiresAt) {
		return Result{}, ErrState
	}
	res := Result{Result: login.Result{ReturnTo: rec.Data["return_to"]}, Provider: sp.DisplayName(), Linking: rec.Subject != ""}
	c := m.client(sp)
	// RFC 9207 applies to error responses too: an error must not be taken as the asked
	// provider's unless it names it.
	if err := c.CheckIss(ctx, cb.Iss); err != nil {
		if !upstream.IsRefusal(err) {
			return res, err // discovery unavailable
		}
		m.auditRefused(name, rec, "iss", err)
		return res, upstream.ErrRejected
	}
	if cb.Error != "" {
		if cb.Error == "access_denied" {
			m.auditRefused(name, rec, "access_denied", errors.New("the provider answered error=access_denied"))
			return res, ErrDenied
		}
		ec := upstream.SafeErrorCode(cb.Error)
		m.auditRefused(name, rec, "provider_error", errors.New("the provider answered error="+ec))
		return res, &upstream.ProviderError{Provider: sp.DisplayName(), Code: ec}
	}
	if cb.Code == "" || len(cb.Code) > 2048 {
		m.auditRefused(name, rec, "no_code", nil)
		return res, upstream.ErrRejected
	}
	if rec.Subject != "" && rec.Subject != sessionUserID {
		return res, ErrState // a link started by another session
	}
	up, err := c.Exchange(ctx, cb.Code, rec.Data["verifier"], rec.Data["nonce"])
	if err != nil {
		return res, m.exchangeError(sp, rec, err)
	}
	// The provider vouched for this answer: the start was no attacker's; it stops counting
	// against the client's network.
	m.giveBack(ctx, slotOf(rec))
	if err := sp.allowed(up); err != nil {
		// A linked account loses the imported groups the upstream no longer lists even
		// though it may not log in now: its other sessions are checked against them.
		if link, lerr := m.Store.GetIdentity(ctx, name, up.Subject); lerr == nil {
			if u, uerr := m.Store.GetUser(ctx, link.UserID); uerr == nil {
				if _, serr := m.syncGroups(ctx, sp, u, up); serr != nil {
					return res, serr
				}
			}
		}
		return res, err
	}
	// A known identity logs in (or, while linking, must already be this user's).
	link, err := m.Store.GetIdentity(ctx, name, up.Subject)
	switch {
	case err == nil:
		if rec.Subject != "" && link.UserID != rec.Subject {
			return res, ErrLinkedOther
		}
		u, err := m.Accounts.LoginUser(ctx, link.UserID)
		if errors.Is(err, otp.ErrCodeExpired) {
			return res, ErrNoAccount
		} else if err != nil {
			return res, err
		}
		_ = m.Store.TouchIdentity(ctx, name, up.Subject, up.Email, m.Now())
		if u, err = m.verifyAddress(ctx, sp, u, up); err != nil {
			return res, err
		}
		if res.User, err = m.syncGroups(ctx, sp, u, up); err != nil {
			return res, err
		}
		res.Linked = rec.Subject != ""
		return res.loggedIn(), nil
	case !errors.Is(err, store.ErrNotFound):
		return res, fmt.Errorf("read identity: %w", err)
	}
	if rec.Subject != "" {
		// Linking: the user proved control of the account by being logged in to it, and
		// the upstream must vouch for an email address.
		if up.Email == "" || !up.EmailVerified {
			return res, ErrNoEmail
		}
		u, err := m.Accounts.LoginUser(ctx, rec.Subject)
		if err != nil {
			return res, err
		}
		if err := m.linkIdentity(ctx, name, up, u.ID); err != nil {
			return res, err
		}
		if err := m.Sessions.KeepIfLive(ctx, sess.ID, func() error { return m.Store.DeleteIdentity(ctx, name, up.Subject) }); err != nil {
			return res, err
		}
		if u, err = m.verifyAddress(ctx, sp, u, up); err != nil {
			return res, err
		}
		if res.User, err = m.syncGroups(ctx, sp, u, up); err != nil {
			return res, err
		}
		res.Linked = true
		return res.loggedIn(), nil
	}
	// Only an address the upstream vouches for is compared with the accounts' (AS-29): an
	// unverified one neither joins nor reveals an account.
	// A trusted provider's address claims an account whose address nobody proved
	// (address.go); a proven one is joined only from its account page.
	if up.Email != "" && up.EmailVerified {
		if email, err := input.NormalizeEmail(up.Email); err == nil {
			if u, err := m.Store.GetUserByEmail(ctx, email); err == nil {
				if !u.EmailVerified && sp.vouchedAddress(up) == email {
					if res.User, err = m.claim(ctx, sp, u, up); err != nil {
						return res, err
					}
					res.Claimed = true
					return res.loggedIn(), nil
				}
				return res, &LinkRequiredError{Email: email, Provider: sp.DisplayName()}
			}
		}
	}
	if !sp.Onboarding {
		return res, ErrNoAccount
	}
	if up.Email == "" || !up.EmailVerified {
		return res, ErrNoEmail
	}
	u, err := m.onboard(ctx, sp, up)
	if err != nil {
		return res, err
	}
	res.User, res.NewUser = u, true
	return res.loggedIn(), nil
}

// loggedIn sets the amr of a finished social login.
func (r Result) loggedIn() Result {
	r.AMR = []string{AMR}
	return r
}

func (m *Method) linkIdentity(ctx context.Context, provider string, up upstream.Identity, userID string) error {
	now := m.Now()
	err := m.Store.CreateIdentity(ctx, store.Identity{Provider: provider, Subject: up.Subject, UserID: userID,
		Email: up.Email, CreatedAt: now, LastUsedAt: now})
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrLinkedOther
	} else if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// onboard creates the account of a new upstream identity (implicit onboarding).
func (m *Method) onboard(ctx context.Context, sp *Provider, up upstream.Identity) (store.User, error) {
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
	u, err := m.Accounts.Build(account.NewUser{Email: up.Email, FirstName: first, LastName: last, EmailVerified: true})
	if err != nil {
		return store.User{}, err
	}
	if strings.HasPrefix(up.Picture, "https://") && len(up.Picture) <= 2048 {
		u.Picture = up.Picture
	}
	u.Groups = sp.importedGroups(up, nil)
	if err := m.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, &LinkRequiredError{Email: u.Email, Provider: sp.DisplayName()}
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if err := m.linkIdentity(ctx, sp.Name, up, u.ID); err != nil {
		_ = m.Store.DeleteUser(ctx, u.ID)
		return store.User{}, err
	}
	return u, nil
}

// syncGroups sets the user's imported groups from the upstream's answer. A failure fails the
// login: a group the upstream took away must not stay.
func (m *Method) syncGroups(ctx context.Context, sp *Provider, u store.User, up upstream.Identity) (store.User, error) {
	if len(sp.ImportGroups) == 0 {
		return u, nil
	}
	want := sp.importedGroups(up, u.Groups)
	if slices.Equal(want, u.Groups) {
		return u, nil
	}
	nu, err := m.Accounts.Update(ctx, u.ID, func(x store.User) (store.User, error) {
		x.Groups = sp.importedGroups(up, x.Groups)
		return x, nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("social login: update groups: %w", err)
	}
	return nu, nil
}

// Configured returns the configured providers (the "Log in with …" buttons).
func (m *Method) Configured() []*Provider {
	if m.Stored == nil {
		return m.Providers
	}
	extra := m.Stored()
	if len(extra) == 0 {
		return m.Providers
	}
	return append(slices.Clip(m.Providers), extra...)
}
