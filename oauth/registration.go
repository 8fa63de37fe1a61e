package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//
// Registration is off unless the configuration turns it on, in one of two modes:
//
//   - approval: a registered client is stored pending; it exists (its registration can be
//     read, changed and deleted) but /authorize and /token refuse it until an administrator
//     approves it (ApproveClient: the admin API, `gatehouse client approve`). In this mode a
//     change of what the client may do (redirect URIs, origins, grant types, scopes) makes it
//     pending again.
//   - open: a registered client can be used at once. The endpoint is then protected by an
//     initial access token (RFC 7591 §3: "The client registration endpoint MAY be designed
//     to accept [...] an initial access token"), unless the operator explicitly leaves it
//     unprotected.
//
// Every registered client is consent required (store.Client.ConsentRequired): its users
// are asked on the consent page before it gets a code, whatever its metadata says, also
// after an RFC 7592 update.
//
// Either mode may require the initial access token. Secrets are shown once and stored
// hashed: the client secret as SHA-256 (the form of store.Client.SecretHash), the
// registration access token as secret.Hash; both are compared in constant time, and failed
// presentations are counted per client IP (login/lockout). Registrations per client IP are
// limited too, so that an open endpoint cannot fill the store.

// Registration modes.
const (
	RegistrationApproval = "approval"
	RegistrationOpen     = "open"
)

// Registration is the dynamic-registration policy. The zero value turns it off.
type Registration struct {
	// Mode is RegistrationApproval, RegistrationOpen or "" (off).
	Mode string
	// InitialAccessToken, if set, must be presented as a Bearer token to register.
	InitialAccessToken string
	// PerIPPerHour limits the registrations of one client IP per hour (0: 20).
	PerIPPerHour int
}

// Enabled tells whether clients may register.
func (r Registration) Enabled() bool { return r.Mode != "" }

// ErrClientPending means a registered client waits for an administrator's approval. It
// matches store.ErrNotFound too, so that every caller that does not know of approval treats
// the client as unknown.
var ErrClientPending error = pendingError{}

type pendingError struct{}

func (pendingError) Error() string { return "the client waits for an administrator's approval" }

func (pendingError) Is(target error) bool { return target == store.ErrNotFound }

// RegisteredClient is a dynamically registered client: its record and, right after
// registration only, the secrets issued in clear.
type RegisteredClient struct {
	Client store.Client
	// Secret is the client secret (confidential clients; only when just issued).
	Secret string
	// RegistrationToken is the registration access token (only when just issued).
	RegistrationToken string
}

// Metadata returns the client's registered metadata (RFC 7591 §3.2.1, RFC 7592 §3).
func (rc RegisteredClient) Metadata() ClientMetadata { return metadataOf(rc) }

// CheckInitialAccessToken admits a registration request: with no initial access token
// configured anyone may register; otherwise token must equal it. Failures are counted per
// client IP.
func (p *Server) CheckInitialAccessToken(ctx context.Context, token, clientIP string) *Error {
	want := p.Registration.InitialAccessToken
	if want == "" {
		return nil
	}
	return p.checkSecret(ctx, "register-token:"+lockout.IPKey(clientIP), func() bool {
		a, b := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(want))
		return token != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
	}, "the initial access token is missing or wrong: send it as Authorization: Bearer <token> (ask the operator for it)")
}

// checkSecret runs one credential check under the attempt limit of key.
func (p *Server) checkSecret(ctx context.Context, key string, check func() bool, desc string) *Error {
	release, err := p.Limiter.Attempt(ctx, []string{key}, []int{p.ClientMaxFailures})
	var locked *lockout.LockedError
	if errors.As(err, &locked) {
		return &Error{Kind: InvalidToken, Description: locked.Error()}
	} else if err != nil {
		return p.serverError("registration: count attempt", err)
	}
	ok := false
	defer func() { release(ok) }()
	if ok = check(); !ok {
		return &Error{Kind: InvalidToken, Description: desc}
	}
	return nil
}

// Register registers a client (RFC 7591 §3.1) after CheckInitialAccessToken admitted the
// request: it validates the metadata (§3.2.2 errors), issues the client ID, the client
// secret (unless token_endpoint_auth_method is none: a public client, which must use
// PKCE) and the registration access token, and stores the client hashed — pending in
// approval mode.
func (p *Server) Register(ctx context.Context, m ClientMetadata, clientIP string) (*RegisteredClient, *Error) {
	if !p.Registration.Enabled() {
		return nil, errorf(InvalidRequest, "dynamic client registration is off")
	}
	if e := m.normalize(); e != nil {
		return nil, e
	}
	limit := p.Registration.PerIPPerHour
	if limit <= 0 {
		limit = 20
	}
	n, _, err := p.Store.IncrementCounter(ctx, "register:"+lockout.IPKey(clientIP), 1, time.Hour, p.Now())
	if err != nil {
		return nil, p.serverError("registration: count", err)
	}
	if n > int64(limit) {
		return nil, errorf(TooManyRequests, "too many registrations from this address; try again in an hour")
	}
	rc := &RegisteredClient{RegistrationToken: secret.Token()}
	id := secret.ID()
	if m.TokenEndpointAuthMethod != AuthMethodNone {
		rc.Secret = secret.Token()
	}
	rec, e := p.registeredRecord(id, m, rc.Secret)
	if e != nil {
		return nil, e
	}
	rec.RegistrationTokenHash = secret.Hash(rc.RegistrationToken)
	rec.Pending = p.Registration.Mode == RegistrationApproval
	rec.CreatedAt = p.Now().UTC().Truncate(time.Second)
	if err := p.Store.CreateClient(ctx, rec); err != nil {
		return nil, p.serverError("registration: store client", err)
	}
	rc.Client = rec
	p.logger().Info("client registered", "client", id, "name", rec.Name, "public", rec.SecretHash == "", "pending", rec.Pending)
	return rc, nil
}

// registeredRecord builds the stored client of normalized metadata, checked by NewClient
// with the rules of configured clients.
func (p *Server) registeredRecord(id string, m ClientMetadata, sec string) (store.Client, *Error) {
	scopes := strings.Fields(m.Scope)
	cfg := ClientConfig{ID: id, Name: m.ClientName, Secret: sec, RedirectURIs: m.RedirectURIs,
		PostLogoutRedirectURIs: m.PostLogoutRedirectURIs, Scopes: scopes, GrantTypes: m.GrantTypes,
		PKCE: "required", AllowedOrigins: m.AllowedOrigins, IDTokenAlg: m.IDTokenSignedResponseAlg}
	if _, err := NewClient(cfg); err != nil {
		return store.Client{}, metadataError(false, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	rec := store.Client{ID: id, Name: m.ClientName, RedirectURIs: m.RedirectURIs,
		PostLogoutRedirectURIs: m.PostLogoutRedirectURIs, Scopes: scopes, GrantTypes: m.GrantTypes,
		RequirePKCE: true, AllowedOrigins: m.AllowedOrigins, Metadata: m.extra(),
		// A registered client is a third party by nature: whoever holds the means to
		// register picks its redirect URIs, so a logged-in user is always asked before it
		// gets a code (RFC 7591 §5: client metadata is self-asserted; RFC 6819 §4.2.2;
		// OIDC Core §3.1.2.4). Nothing in the metadata turns this off, and an update
		// rebuilds the record here, so RFC 7592 PUT keeps it.
		ConsentRequired: true}
	if sec != "" {
		rec.SecretHash = hex.EncodeToString(secret.ClientDigest(nil, sec))
	}
	if rec.Metadata == nil {
		rec.Metadata = map[string]string{}
	}
	rec.Metadata["token_endpoint_auth_method"] = m.TokenEndpointAuthMethod
	return rec, nil
}

// registration reads the client a registration access token manages (RFC 7592 §3). An
// unknown client and a wrong token are the same 401 (RFC 7592 §3: "If the client does not
// exist on this server, the server MUST respond with HTTP 401 Unauthorized"). A client an
// administrator disabled is refused with 403 once its token checked out (RFC 7592 §2.1:
// "If the client does not have permission to read its record, the server MUST return an
// HTTP 403 Forbidden"): while disabled, its registration can be neither read, changed nor
// deleted, so the registrant cannot undo or escape the administrator's decision.
func (p *Server) registration(ctx context.Context, id, token, clientIP string) (store.Client, *Error) {
	var rec store.Client
	var loadErr error
	e := p.checkSecret(ctx, "registration-token:"+lockout.IPKey(clientIP), func() bool {
		if token == "" || !validClientID(id) {
			return false
		}
		rec, loadErr = p.Store.GetClient(ctx, id)
		if errors.Is(loadErr, store.ErrNotFound) {
			loadErr = nil
			rec = store.Client{}
			return false
		}
		return loadErr == nil && rec.RegistrationTokenHash != "" &&
			secret.Equal(secret.Hash(token), rec.RegistrationTokenHash)
	}, "the registration access token is wrong, or the client does not exist")
	if loadErr != nil {
		return store.Client{}, p.serverError("registration: load client", loadErr)
	}
	if e != nil {
		return store.Client{}, e
	}
	if rec.Disabled {
		return store.Client{}, errDisabledRegistration
	}
	return rec, nil
}

// errDisabledRegistration refuses the RFC 7592 management of a disabled client (403).
var errDisabledRegistration = &Error{Kind: InsufficientScope,
	Description: "an administrator disabled this client: its registration cannot be read, changed or deleted until it is enabled again"}

// ReadRegistration returns the client's registration (RFC 7592 §2.1).
func (p *Server) ReadRegistration(ctx context.Context, id, token, clientIP string) (*RegisteredClient, *Error) {
	rec, e := p.registration(ctx, id, token, clientIP)
	if e != nil {
		return nil, e
	}
	return &RegisteredClient{Client: rec}, nil
}

// UpdateRegistration replaces the client's metadata (RFC 7592 §2.2): client_id must be the
// client's, a client_secret sent must be its current one, and the client cannot change
// between public and confidential. In approval mode a change of what the client may do
// makes it pending again.
func (p *Server) UpdateRegistration(ctx context.Context, id, token, clientIP string, m ClientMetadata) (*RegisteredClient, *Error) {
	old, e := p.registration(ctx, id, token, clientIP)
	if e != nil {
		return nil, e
	}
	if m.ClientID != id {
		return nil, metadataError(false, "client_id must be the client's own (%s)", id)
	}
	if m.ClientSecret != "" && (old.SecretHash == "" ||
		!secret.Equal(hex.EncodeToString(secret.ClientDigest(nil, m.ClientSecret)), old.SecretHash)) {
		return nil, metadataError(false, "client_secret does not match the client's secret (leave it out)")
	}
	if e := m.normalize(); e != nil {
		return nil, e
	}
	if (m.TokenEndpointAuthMethod == AuthMethodNone) != (old.SecretHash == "") {
		return nil, metadataError(false, "token_endpoint_auth_method cannot change between none and a client secret: register a new client")
	}
	// The placeholder secret only passes NewClient's checks; the stored hash is kept.
	placeholder := ""
	if old.SecretHash != "" {
		placeholder = strings.Repeat("x", 32)
	}
	next, e := p.registeredRecord(id, m, placeholder)
	if e != nil {
		return nil, e
	}
	rec, err := p.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		if c.RegistrationTokenHash != old.RegistrationTokenHash {
			return c, store.ErrConflict
		}
		if c.Disabled {
			return c, errDisabledRegistration
		}
		changed := !slices.Equal(c.RedirectURIs, next.RedirectURIs) || !slices.Equal(c.PostLogoutRedirectURIs, next.PostLogoutRedirectURIs) ||
			!slices.Equal(c.AllowedOrigins, next.AllowedOrigins) || !slices.Equal(c.GrantTypes, next.GrantTypes) ||
			!slices.Equal(c.Scopes, next.Scopes)
		// What only an administrator (or a rotation) sets survives the client's update.
		next.SecretHash, next.RegistrationTokenHash, next.CreatedAt = c.SecretHash, c.RegistrationTokenHash, c.CreatedAt
		next.Disabled, next.Admin, next.SecretRotatedAt = c.Disabled, c.Admin, c.SecretRotatedAt
		next.Pending = c.Pending || (changed && p.Registration.Mode == RegistrationApproval)
		return next, nil
	})
	var oe *Error
	if errors.As(err, &oe) {
		return nil, oe
	} else if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return nil, &Error{Kind: InvalidToken, Description: "the client was deleted or changed meanwhile"}
	} else if err != nil {
		return nil, p.serverError("registration: update client", err)
	}
	p.logger().Info("client registration updated", "client", id, "pending", rec.Pending)
	return &RegisteredClient{Client: rec}, nil
}

// DeleteRegistration deletes the client (RFC 7592 §2.3). Its refresh tokens stop working
// at once (the token endpoint no longer knows the client); its access tokens expire with
// their lifetime.
func (p *Server) DeleteRegistration(ctx context.Context, id, token, clientIP string) *Error {
	if _, e := p.registration(ctx, id, token, clientIP); e != nil {
		return e
	}
	if err := p.Store.DeleteClient(ctx, id); err != nil {
		return p.serverError("registration: delete client", err)
	}
	p.logger().Info("client registration deleted by the client", "client", id)
	return nil
}

// ApproveClient lets a pending registered client be used (the administrator's decision).
func (p *Server) ApproveClient(ctx context.Context, id string) (store.Client, error) {
	rec, err := p.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		c.Pending = false
		return c, nil
	})
	if err != nil {
		return store.Client{}, fmt.Errorf("approve client %q: %w", id, err)
	}
	p.logger().Info("client approved", "client", id)
	return rec, nil
}

// StoredClients lists the stored (registered) clients by ID after after; pendingOnly keeps
// those waiting for approval.
func (p *Server) StoredClients(ctx context.Context, pendingOnly bool, after string, limit int) ([]store.Client, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var out []store.Client
	opts := store.ListOptions{After: after, Limit: limit}
	for {
		page, err := p.Store.ListClients(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		for _, c := range page {
			if !pendingOnly || c.Pending {
				out = append(out, c)
			}
		}
		if len(out) >= limit {
			return out[:limit], nil
		}
		if len(page) < opts.Limit {
			return out, nil
		}
		opts.After = page[len(page)-1].ID
	}
}

// DeleteStoredClient deletes a stored client (the administrator's decision).
func (p *Server) DeleteStoredClient(ctx context.Context, id string) error {
	if _, err := p.Store.GetClient(ctx, id); err != nil {
		return fmt.Errorf("delete client %q: %w", id, err)
	}
	if err := p.Store.DeleteClient(ctx, id); err != nil {
		return fmt.Errorf("delete client %q: %w", id, err)
	}
	p.logger().Info("client deleted by an administrator", "client", id)
	return nil
}
