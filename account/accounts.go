package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// User-facing errors of account operations. Their text is shown as is.
var (
	ErrEmailTaken     = errors.New("an account with this email already exists; log in instead")
	ErrSignupClosed   = errors.New("sign-up is closed; ask an administrator for an account")
	ErrInviteRequired = errors.New("sign-up is by invitation only; use the link from your invitation")
	ErrInviteInvalid  = errors.New("this invitation is invalid, expired or already used")
	ErrUserDisabled   = errors.New("this account is disabled")
	ErrUserNotFound   = errors.New("no such user")
	ErrPhoneTaken     = errors.New("this phone number is verified by another account")
)

// Accounts keeps the user accounts. Every field but Logger and ClientExists is required.
type Accounts struct {
	Store    store.Store
	Hasher   *password.Hasher
	Sessions *sessions.Manager
	// Codes sends the notices of security-relevant changes and holds the recovery codes a
	// password change revokes.
	Codes  *otp.Codes
	Now    func() time.Time
	Logger *slog.Logger
	// ClientExists returns nil when an OAuth client with this ID exists (custom_app_data
	// is kept per client); nil refuses every client.
	ClientExists func(ctx context.Context, id string) error
	// Audit records password changes and users disabled or enabled (nil: not recorded).
	Audit audit.Recorder
}

func (a *Accounts) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// NewUser describes a user to create.
type NewUser struct {
	Email          string
	Password       string
	FirstName      string
	MiddleName     string
	LastName       string
	ExternalUserID string
	Groups         []string
	EmailVerified  bool
}

// Build validates in and returns the user it describes, with a new ID, not stored yet (the
// password is not part of it).
func (a *Accounts) Build(in NewUser) (store.User, error) {
	email, err := input.NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, err
	}
	for _, f := range []struct{ name, v string }{{"fname", in.FirstName}, {"mname", in.MiddleName}, {"lname", in.LastName}} {
		if err := input.CheckName(f.name, f.v); err != nil {
			return store.User{}, err
		}
	}
	if len(in.ExternalUserID) > 256 || strings.ContainsFunc(in.ExternalUserID, unicode.IsControl) {
		return store.User{}, &input.Error{Field: "external_user_id", Message: "use at most 256 characters, no control characters"}
	}
	if err := input.ValidateGroups(in.Groups); err != nil {
		return store.User{}, err
	}
	now := a.Now()
	return store.User{ID: secret.ID(), Email: email, EmailVerified: in.EmailVerified,
		FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName,
		ExternalUserID: in.ExternalUserID, Groups: in.Groups, CreatedAt: now, UpdatedAt: now}, nil
}

// Create creates a user (an administrator's action). The password is optional.
func (a *Accounts) Create(ctx context.Context, in NewUser) (store.User, error) {
	u, err := a.Build(in)
	if err != nil {
		return store.User{}, err
	}
	var hash string
	if in.Password != "" {
		if err := password.Check(in.Password); err != nil {
			return store.User{}, &input.Error{Field: "password", Message: err.Error()}
		}
		if hash, err = a.Hasher.Hash(ctx, in.Password); err != nil {
			return store.User{}, fmt.Errorf("hash password: %w", err)
		}
	}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, ErrEmailTaken
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	if hash != "" {
		if err := a.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: u.CreatedAt}); err != nil {
			return store.User{}, fmt.Errorf("store password: %w", err)
		}
	}
	return u, nil
}

// Get returns a user by ID or by email.
func (a *Accounts) Get(ctx context.Context, idOrEmail string) (store.User, error) {
	var (
		u   store.User
		err error
	)
	if strings.Contains(idOrEmail, "@") {
		email, nerr := input.NormalizeEmail(idOrEmail)
		if nerr != nil {
			return store.User{}, nerr
		}
		u, err = a.Store.GetUserByEmail(ctx, email)
	} else {
		u, err = a.Store.GetUser(ctx, idOrEmail)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// List pages through users ordered by ID.
func (a *Accounts) List(ctx context.Context, after string, limit int) ([]store.User, error) {
	us, err := a.Store.ListUsers(ctx, store.ListOptions{After: after, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// Find pages through the users matching f, ordered by ID (store.Users.FindUsers).
func (a *Accounts) Find(ctx context.Context, f store.UserFilter, after string, limit int) ([]store.User, error) {
	us, err := a.Store.FindUsers(ctx, f, store.ListOptions{After: after, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	return us, nil
}

// Update changes a user with fn (compare-and-swap in the store), setting UpdatedAt. An
// unknown user is ErrUserNotFound.
func (a *Accounts) Update(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	u, err := a.Store.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
		u, err := fn(u)
		u.UpdatedAt = a.Now()
		return u, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// SetDisabled disables or enables a user; disabling revokes the user's sessions and tokens.
func (a *Accounts) SetDisabled(ctx context.Context, userID string, disabled bool) (store.User, error) {
	u, err := a.Update(ctx, userID, func(u store.User) (store.User, error) {
		u.Disabled = disabled
		return u, nil
	})
	if err != nil {
		return u, err
	}
	e := audit.Event{Type: audit.UserEnabled, UserID: userID}
	if disabled {
		e.Type = audit.UserDisabled
		err = a.Sessions.RevokeUser(ctx, userID)
	}
	audit.Or(a.Audit).Record(ctx, e)
	return u, err
}

// SetGroups replaces a user's groups. Tokens issued before carry the old groups until they
// expire or are refreshed.
func (a *Accounts) SetGroups(ctx context.Context, userID string, groups []string) (store.User, error) {
	if err := input.ValidateGroups(groups); err != nil {
		return store.User{}, err
	}
	return a.Update(ctx, userID, func(u store.User) (store.User, error) {
		u.Groups = groups
		return u, nil
	})
}

// FindByEmail returns the enabled account of email, or ok=false.
func (a *Accounts) FindByEmail(ctx context.Context, email string) (u store.User, ok bool, err error) {
	u, err = a.Store.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	} else if err != nil {
		return store.User{}, false, fmt.Errorf("read user: %w", err)
	}
	return u, !u.Disabled, nil
}

// FindByPhone returns the enabled account whose verified phone number is phone, or ok=false.
func (a *Accounts) FindByPhone(ctx context.Context, phone string) (u store.User, ok bool, err error) {
	u, err = a.Store.GetUserByPhone(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	} else if err != nil {
		return store.User{}, false, fmt.Errorf("read user: %w", err)
	}
	return u, !u.Disabled, nil
}

// LoginUser returns the account a code, link or linked identity was for, refusing disabled
// accounts (ErrUserDisabled); an account that no longer exists is otp.ErrCodeExpired.
func (a *Accounts) LoginUser(ctx context.Context, id string) (store.User, error) {
	u, err := a.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, otp.ErrCodeExpired
	} else if err != nil {
		return store.User{}, fmt.Errorf("read user: %w", err)
	}
	if u.Disabled {
		return store.User{}, ErrUserDisabled
	}
	return u, nil
}

// DisplayName is the user's full name: first, middle and last name, as far as set.
func DisplayName(u store.User) string {
	return strings.Join(strings.Fields(u.FirstName+" "+u.MiddleName+" "+u.LastName), " ")
}
