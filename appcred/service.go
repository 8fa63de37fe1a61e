package appcred

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/internal/detach"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Kinds of credential (store.AppCredential.Kind).
const (
	KindPAT         = store.CredentialPAT
	KindAppPassword = store.CredentialAppPassword
)

// View is a credential as the account page, the portal API and the admin API show it: never
// its secret, which is shown once when created.
type View struct {
	// ID is the short form (ShortID) every route accepts.
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Scopes     []string  `json:"scopes"`
	Sites      []string  `json:"sites"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	LastUsedIP string    `json:"last_used_ip,omitempty"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	// Status is active, expired or revoked.
	Status string `json:"status"`
}

// ViewOf renders c at now.
func ViewOf(c store.AppCredential, now time.Time) View {
	status := "active"
	switch {
	case !c.RevokedAt.IsZero():
		status = "revoked"
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
		status = "expired"
	}
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return View{ID: ShortID(c.ID), Kind: c.Kind, Name: c.Name, Scopes: nonNil(c.Scopes), Sites: nonNil(c.Sites),
		CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, LastUsedAt: c.LastUsedAt, LastUsedIP: c.LastUsedIP, RevokedAt: c.RevokedAt, Status: status}
}

// Limits of what a user may create.
const (
	// MaxPerUser bounds a user's credentials (revoked and expired ones included, until
	// deleted).
	MaxPerUser = 50
	// MaxLifetimeDays is the longest expiry a credential may have.
	MaxLifetimeDays = 366
	// TouchEvery is how often at most the last use of one credential is written.
	TouchEvery = time.Minute
)

// ErrInvalid is the one answer to a wrong, malformed, expired or revoked credential, a
// credential of a disabled user, or an app password sent with another user's name: the
// caller cannot tell which (no oracle).
var ErrInvalid = errors.New("invalid app password or access token")

// Service creates, lists, revokes and verifies app credentials.
type Service struct {
	Store       store.Store
	Revocations *tokens.RevocationList
	// Limiter counts failed verifications: per client IP under the key every login
	// method's per-IP limit uses (login:ip:<ip>), with IPMaxFailures, and per presented
	// secret with SecretMaxFailures.
	Limiter           *lockout.Limiter
	IPMaxFailures     int
	SecretMaxFailures int
	// Sessions (*sessions.Manager) hold the rule that creating a credential needs a
	// fresh login, and undo a creation whose session ended meanwhile.
	Sessions interface {
		Fresh(s store.Session) bool
		KeepIfLive(ctx context.Context, sessionID string, undo func() error) error
	}
	// StepUpRequired, if set, tells whether a session whose login proved amr lacks the
	// second factor that the runtime settings now require (mfa.Rules.StepUpRequired): such a
	// session creates no credential, as app credentials are exempt from the step-up that
	// gatehouse_protect asks of the session itself. Nil: never.
	StepUpRequired func(amr []string) bool
	Now            func() time.Time
	Logger         *slog.Logger

	touched sync.Map // credential ID -> *atomic.Int64 (Unix seconds of the last write)
	writes  sync.WaitGroup
}

// CreateRequest is what a user asks for.
type CreateRequest struct {
	// Kind is store.CredentialPAT ("pat") or store.CredentialAppPassword ("app_password").
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Scopes the credential grants (space-free tokens).
	Scopes []string `json:"scopes,omitempty"`
	// Sites limits the credential to these hosts (empty: every protected site).
	Sites []string `json:"sites,omitempty"`
	// ExpiresInDays is the lifetime, 1 to MaxLifetimeDays.
	ExpiresInDays int `json:"expires_in_days"`
}

// Validate checks and normalises the request, saying what to change.
func (r *CreateRequest) Validate() error {
	if r.Kind != store.CredentialPAT && r.Kind != store.CredentialAppPassword {
		return &input.Error{Field: "kind", Message: `use "pat" or "app_password"`}
	}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return &input.Error{Field: "name", Message: "give the credential a name, such as the device or program that will use it"}
	}
	if err := input.CheckText("name", r.Name, 100); err != nil {
		return err
	}
	if len(r.Scopes) > 50 {
		return &input.Error{Field: "scopes", Message: "at most 50 scopes"}
	}
	for _, s := range r.Scopes {
		if s == "" || len(s) > 128 || strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c == '"' || c == '\\' || c > '~' }) {
			return &input.Error{Field: "scopes", Message: fmt.Sprintf("scope %q: use printable ASCII without spaces, quotes or backslashes", s)}
		}
	}
	r.Scopes = dedupe(r.Scopes)
	if len(r.Sites) > 20 {
		return &input.Error{Field: "sites", Message: "at most 20 sites"}
	}
	for i, s := range r.Sites {
		h := strings.ToLower(strings.TrimSpace(s))
		if h == "" || len(h) > 253 || strings.ContainsAny(h, "/ :@?#") && net.ParseIP(h) == nil {
			return &input.Error{Field: "sites", Message: fmt.Sprintf("site %q: give a host name such as files.example.com, without scheme, port or path", s)}
		}
		r.Sites[i] = h
	}
	r.Sites = dedupe(r.Sites)
	if r.ExpiresInDays < 1 || r.ExpiresInDays > MaxLifetimeDays {
		return &input.Error{Field: "expires_in_days", Message: fmt.Sprintf("choose an expiry between 1 and %d days", MaxLifetimeDays)}
	}
	return nil
}

func dedupe(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Create stores a new credential of the user and returns its secret (to be shown once) and
// its record.
func (s *Service) Create(ctx context.Context, userID string, req CreateRequest) (string, store.AppCredential, error) {
	if err := req.Validate(); err != nil {
		return "", store.AppCredential{}, err
	}
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return "", store.AppCredential{}, fmt.Errorf("create app credential: %w", err)
	}
	if u.Disabled {
		return "", store.AppCredential{}, &input.Error{Field: "user", Message: "the account is disabled"}
	}
	existing, err := s.Store.ListUserAppCredentials(ctx, userID)
	if err != nil {
		return "", store.AppCredential{}, fmt.Errorf("create app credential: %w", err)
	}
	if len(existing) >= MaxPerUser {
		return "", store.AppCredential{}, &input.Error{Field: "name",
			Message: fmt.Sprintf("you have %d app passwords and access tokens, the most allowed: delete some first", len(existing))}
	}
	now := s.Now().UTC().Truncate(time.Second)
	sec := Generate(req.Kind)
	c := store.AppCredential{ID: Hash(sec), UserID: userID, Kind: req.Kind, Name: req.Name, Scopes: req.Scopes, Sites: req.Sites,
		CreatedAt: now, ExpiresAt: now.AddDate(0, 0, req.ExpiresInDays)}
	if err := s.Store.CreateAppCredential(ctx, c); err != nil {
		return "", store.AppCredential{}, fmt.Errorf("create app credential: %w", err)
	}
	s.logger().Info("app credential created", "user", userID, "kind", c.Kind, "credential", ShortID(c.ID))
	return sec, c, nil
}

// ErrReauthenticate refuses to create a credential from a session whose login is not fresh:
// a stolen session must not turn into a long-lived credential (CR-19).
var ErrReauthenticate = errors.New("log in again to create an app password or access token (it needs a login from the last 10 minutes)")

// ErrSecondFactorRequired refuses to create a credential from a single-factor session while
// the runtime settings require a second factor after its login method: the credential would
// skip the step-up that the session itself must pass.
var ErrSecondFactorRequired = errors.New("confirm your login with a second factor first (at /login/mfa, or set one up on your account page): app passwords and access tokens now need it")

// CreateForSession is Create for the user of portal session sess, which must have logged
// in recently, and with a second factor if the settings now require one after its login
// method (StepUpRequired); if the session ended while the credential was written, it is
// removed again.
func (s *Service) CreateForSession(ctx context.Context, sess store.Session, req CreateRequest) (string, store.AppCredential, error) {
	if s.Sessions != nil && !s.Sessions.Fresh(sess) {
		return "", store.AppCredential{}, ErrReauthenticate
	}
	if s.StepUpRequired != nil && s.StepUpRequired(sess.AMR) {
		return "", store.AppCredential{}, ErrSecondFactorRequired
	}
	sec, c, err := s.Create(ctx, sess.UserID, req)
	if err != nil {
		return "", c, err
	}
	if s.Sessions != nil {
		err := s.Sessions.KeepIfLive(ctx, sess.ID, func() error { return s.Store.DeleteAppCredential(ctx, c.ID) })
		if err != nil {
			return "", store.AppCredential{}, ErrReauthenticate
		}
	}
	return sec, c, nil
}

// ShortID is the form of a credential ID shown to people (the first 16 hex digits of the
// secret's hash); every method taking an ID accepts it.
func ShortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

// List returns the user's credentials, newest first.
func (s *Service) List(ctx context.Context, userID string) ([]store.AppCredential, error) {
	list, err := s.Store.ListUserAppCredentials(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list app credentials: %w", err)
	}
	slices.SortStableFunc(list, func(a, b store.AppCredential) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return list, nil
}

// find returns the user's credential whose ID, or ShortID, is id.
func (s *Service) find(ctx context.Context, userID, id string) (store.AppCredential, error) {
	if len(id) < 16 {
		return store.AppCredential{}, fmt.Errorf("app credential %q: %w", id, store.ErrNotFound)
	}
	list, err := s.Store.ListUserAppCredentials(ctx, userID)
	if err != nil {
		return store.AppCredential{}, fmt.Errorf("find app credential: %w", err)
	}
	for _, c := range list {
		if c.ID == id || ShortID(c.ID) == id {
			return c, nil
		}
	}
	return store.AppCredential{}, fmt.Errorf("app credential %q: %w", id, store.ErrNotFound)
}

// Revoke ends the user's credential id (or its ShortID): at once on this instance, within
// a second on the others (the revocation list), and for good in its record. Revoking twice
// is not an error; an unknown credential, or another user's, is store.ErrNotFound.
func (s *Service) Revoke(ctx context.Context, userID, id string) (store.AppCredential, error) {
	c, err := s.find(ctx, userID, id)
	if err != nil {
		return c, err
	}
	ctx, cancel := detach.Context(ctx)
	defer cancel()
	now := s.Now()
	exp := c.ExpiresAt
	if min := now.Add(time.Minute); exp.Before(min) {
		exp = min
	}
	r := store.Revocation{Kind: store.RevokeCredential, Subject: c.ID, At: now, ExpiresAt: exp}
	s.Revocations.Add(r)
	if err := s.Store.AddRevocation(ctx, r); err != nil {
		return c, fmt.Errorf("revoke app credential: %w", err)
	}
	c, err = s.Store.UpdateAppCredential(ctx, c.ID, func(c store.AppCredential) (store.AppCredential, error) {
		if c.RevokedAt.IsZero() {
			c.RevokedAt = now.UTC().Truncate(time.Second)
		}
		return c, nil
	})
	if err != nil {
		return c, fmt.Errorf("revoke app credential: %w", err)
	}
	s.logger().Info("app credential revoked", "user", userID, "credential", ShortID(c.ID))
	return c, nil
}

// Delete revokes the credential, then removes its record (it leaves the list).
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	c, err := s.Revoke(ctx, userID, id)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteAppCredential(ctx, c.ID); err != nil {
		return fmt.Errorf("delete app credential: %w", err)
	}
	return nil
}

// Verified is an accepted credential and its user, as read from the store at VerifiedAt
// (Unix seconds).
type Verified struct {
	Cred       store.AppCredential
	User       store.User
	VerifiedAt int64
}

// Verify checks a presented secret against the store: its format, kind (wantKind), record,
// expiry, revocation and user (not disabled); for an app password sent with HTTP Basic,
// basicUser (the user-id part) must be the user's email address or username. Every failure
// is ErrInvalid; those of a well-formed secret count against the client IP's limit (and the
// secret's); over a limit it is a *lockout.LockedError. Other errors are the store's.
func (s *Service) Verify(ctx context.Context, sec, wantKind string, basic bool, basicUser, clientIP string) (*Verified, error) {
	if kind, ok := Parse(sec); !ok || kind != wantKind {
		// Refused before any store access and not counted: no secret can be guessed this
		// way, and junk must not cost the store a write. The answer is the same.
		return nil, ErrInvalid
	}
	h := Hash(sec)
	release, err := s.Limiter.Attempt(ctx, []string{"appcred:" + h, "login:ip:" + lockout.IPKey(clientIP)},
		[]int{s.SecretMaxFailures, s.IPMaxFailures})
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { release(ok) }()
	v, err := s.check(ctx, sec, h, wantKind, basic, basicUser)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return nil, ErrInvalid
		}
		ok = true // a store failure is not the client's
		return nil, err
	}
	ok = true
	return v, nil
}

func (s *Service) check(ctx context.Context, sec, h, wantKind string, basic bool, basicUser string) (*Verified, error) {
	kind, valid := Parse(sec)
	if !valid || kind != wantKind {
		return nil, ErrInvalid
	}
	now := s.Now()
	c, err := s.Store.GetAppCredential(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalid
	} else if err != nil {
		return nil, fmt.Errorf("read app credential: %w", err)
	}
	if c.Kind != kind || !c.RevokedAt.IsZero() || !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
		return nil, ErrInvalid
	}
	if err := s.Revocations.CheckCredential(c.ID, "", now.Unix()); errors.Is(err, tokens.ErrRevoked) {
		return nil, ErrInvalid
	} else if errors.Is(err, tokens.ErrUnavailable) {
		return nil, err
	}
	u, err := s.Store.GetUser(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalid
	} else if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if u.Disabled {
		return nil, ErrInvalid
	}
	if basic && !SameUser(u, basicUser) {
		return nil, ErrInvalid
	}
	return &Verified{Cred: c, User: u, VerifiedAt: now.Unix()}, nil
}

// SameUser reports whether name (the user-id of HTTP Basic) names u: its email address
// (normalised as at login) or its username (ignoring case).
func SameUser(u store.User, name string) bool {
	name = strings.TrimSpace(name)
	if name == "" {
		return false
	}
	if u.Username != "" && strings.EqualFold(u.Username, name) {
		return true
	}
	if e, err := input.NormalizeEmail(name); err == nil && u.Email != "" && e == u.Email {
		return true
	}
	return false
}

// Touch records that credential id was used from ip at most once per TouchEvery, in the
// background: it never waits for the store.
func (s *Service) Touch(id, ip string) {
	now := s.Now().Unix()
	v, ok := s.touched.Load(id)
	if !ok {
		v, _ = s.touched.LoadOrStore(id, new(atomic.Int64))
	}
	last := v.(*atomic.Int64)
	prev := last.Load()
	if now-prev < int64(TouchEvery/time.Second) || !last.CompareAndSwap(prev, now) {
		return
	}
	s.writes.Add(1)
	go func() {
		defer s.writes.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		at := time.Unix(now, 0).UTC()
		_, err := s.Store.UpdateAppCredential(ctx, id, func(c store.AppCredential) (store.AppCredential, error) {
			c.LastUsedAt, c.LastUsedIP = at, ip
			return c, nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.logger().Warn("app credential: record last use", "credential", ShortID(id), "error", err)
		}
	}()
}

// Wait waits for the last-use writes in flight (for tests and shutdown).
func (s *Service) Wait() { s.writes.Wait() }

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
