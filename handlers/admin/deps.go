package admin

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Backend is the identity core as the admin API uses it, looked up per request (the admin
// endpoint outlives configuration reloads). Every field is required.
type Backend struct {
	Accounts Accounts
	Invites  Invites
	// Identities are the linked upstream identities.
	Identities Identities
	Keys       Keys
	// AssertionKeys are the identity-assertion keys (nil: none; assertion_keys.go).
	AssertionKeys Keys
	// Clients are the clients stored at runtime (dynamic registration).
	Clients Clients
	// AppCredentials are the users' app passwords and access tokens.
	AppCredentials AppCredentials
	// Issuer is the portal's URL (invitation links).
	Issuer string
	// SignupMode is the configured sign-up mode, reported with invitations.
	SignupMode string
	// Audit records every write through this API (audit.AdminWrite; nil: not recorded);
	// AuditLog is the stored trail GET /gatehouse/audit exports (nil: 404).
	Audit    audit.Recorder
	AuditLog audit.Lister
}

// Accounts are the user accounts and group data (*account.Accounts).
type Accounts interface {
	List(ctx context.Context, after string, limit int) ([]store.User, error)
	Create(ctx context.Context, in account.NewUser) (store.User, error)
	Get(ctx context.Context, idOrEmail string) (store.User, error)
	SetDisabled(ctx context.Context, userID string, disabled bool) (store.User, error)
	SetPassword(ctx context.Context, userID, password string) error
	SetGroups(ctx context.Context, userID string, groups []string) (store.User, error)
	UpdateProfile(ctx context.Context, userID string, pp account.ProfilePatch) (store.User, error)
	SetCustomAppData(ctx context.Context, userID, clientID string, data json.RawMessage) (store.User, error)
	ListGroups(ctx context.Context, after string, limit int) ([]store.Group, error)
	SetGroupData(ctx context.Context, name string, data json.RawMessage) (store.Group, error)
	DeleteGroup(ctx context.Context, name string) error
	Delete(ctx context.Context, userID string) error
}

// Invites creates invitations (*account.Signup).
type Invites interface {
	CreateInvite(ctx context.Context, email string, groups []string) (account.Invite, error)
}

// Identities are the upstream identities linked to accounts (*social.Method).
type Identities interface {
	Identities(ctx context.Context, userID string) ([]store.Identity, error)
	Link(ctx context.Context, userID, provider, subject string) (store.Identity, error)
	Remove(ctx context.Context, userID, provider, subject string) error
}

// Keys is the signing key ring (*keys.Ring).
type Keys interface {
	Keys() []keys.KeyInfo
	Algs() []string
	Rotate(ctx context.Context, alg string, immediate bool) (*keys.Key, error)
	Remove(ctx context.Context, kid string) error
}

// Clients are the registered (stored) clients (*oauth.Server).
type Clients interface {
	StoredClients(ctx context.Context, pendingOnly bool, after string, limit int) ([]store.Client, error)
	ApproveClient(ctx context.Context, id string) (store.Client, error)
	DeleteStoredClient(ctx context.Context, id string) error
}
