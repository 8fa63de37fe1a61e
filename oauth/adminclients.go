package oauth

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The stored clients as the Administration API manages them: created, edited, disabled,
// their secret rotated and deleted at runtime. A client of the configuration (Configured)
// is read-only here; it changes only with the configuration.

// AdminScope is the scope of the Administration API; AdminAPIPath is where the portal
// serves that API, so Issuer+AdminAPIPath is the resource indicator (RFC 8707) of its tokens.
// A stored client gets both only with store.Client.Admin: listing the scope is not enough.
const (
	AdminScope   = "gatehouse:admin"
	AdminAPIPath = "/api/admin/v1"
)

// ErrConfiguredClient is the error of a change to a client of the configuration.
var ErrConfiguredClient = errors.New("this client is set in the Caddyfile (configuration) and cannot be changed here")

// FieldError names the field of a client's settings at fault ("redirect_uris[1]"). Code is
// the kind of a refused redirect URI (URIError.Code), "" for any other error.
type FieldError struct {
	Field, Message, Code string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// AdminClient is what an administrator sets of a stored client.
type AdminClient struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	GrantTypes             []string
	AllowedOrigins         []string
	// Public makes a client without a secret (PKCE required).
	Public bool
	// ConsentRequired marks a third-party client.
	ConsentRequired bool
	// Admin allows a confidential client the scope gatehouse:admin (AdminScope) and the
	// Administration API as resource, for the client_credentials grant.
	Admin bool
}

// check validates a with the rules of configured clients (NewClient), naming the field.
func (a AdminClient) check(id string) error {
	if slices.Contains(a.Scopes, AdminScope) {
		return &FieldError{Field: "scopes", Message: AdminScope + ` is not listed in scopes: set "admin": true on a confidential client instead`}
	}
	if a.Admin && a.Public {
		return &FieldError{Field: "admin", Message: "a public client (no secret) can never get " + AdminScope + "; create a confidential client for automation"}
	}
	if a.Admin && !slices.Contains(a.GrantTypes, GrantClientCredentials) {
		return &FieldError{Field: "admin", Message: AdminScope + " is only issued by the client_credentials grant: add client_credentials to grant_types"}
	}
	for i, u := range a.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return &FieldError{Field: fmt.Sprintf("redirect_uris[%d]", i), Message: err.Error(), Code: uriCode(err)}
		}
	}
	for i, u := range a.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return &FieldError{Field: fmt.Sprintf("post_logout_redirect_uris[%d]", i), Message: err.Error(), Code: uriCode(err)}
		}
	}
	cfg := ClientConfig{ID: id, Name: a.Name, RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs,
		Scopes: a.Scopes, GrantTypes: a.GrantTypes, AllowedOrigins: a.AllowedOrigins}
	if !a.Public {
		cfg.Secret = "placeholder-secret-for-validation-only"
	}
	if _, err := NewClient(cfg); err != nil {
		return &FieldError{Field: fieldOf(err.Error()), Message: strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return nil
}

// uriCode is the kind of a ValidateRedirectURI error.
func uriCode(err error) string {
	var ue *URIError
	if errors.As(err, &ue) {
		return ue.Code
	}
	return URIInvalid
}

// fieldOf guesses the settings field a NewClient message is about.
func fieldOf(msg string) string {
	for _, f := range []string{"redirect_uri", "post_logout", "scope", "grant", "allowed_origins", "client id"} {
		if strings.Contains(msg, f) {
			switch f {
			case "redirect_uri":
				return "redirect_uris"
			case "post_logout":
				return "post_logout_redirect_uris"
			case "scope":
				return "scopes"
			case "grant":
				return "grant_types"
			case "client id":
				return "id"
			}
			return f
		}
	}
	return ""
}

func (a AdminClient) apply(rec store.Client) store.Client {
	rec.Name, rec.RedirectURIs, rec.PostLogoutRedirectURIs = a.Name, a.RedirectURIs, a.PostLogoutRedirectURIs
	rec.Scopes, rec.GrantTypes, rec.AllowedOrigins, rec.ConsentRequired = a.Scopes, a.GrantTypes, a.AllowedOrigins, a.ConsentRequired
	rec.RequirePKCE = rec.RequirePKCE || a.Public
	rec.Admin = a.Admin && !a.Public // check refuses the other case, naming the field
	return rec
}

// StoredClient returns a stored client (store.ErrNotFound if there is none).
func (p *Server) StoredClient(ctx context.Context, id string) (store.Client, error) {
	if !validClientID(id) {
		return store.Client{}, store.ErrNotFound
	}
	return p.Store.GetClient(ctx, id)
}

// CreateClient stores a new client with a random ID, and for a confidential client a new
// secret, returned in clear exactly this once (only its digest is stored).
func (p *Server) CreateClient(ctx context.Context, a AdminClient) (store.Client, string, error) {
	id := secret.ID()
	if err := a.check(id); err != nil {
		return store.Client{}, "", err
	}
	rec := a.apply(store.Client{ID: id, CreatedAt: p.Now(), RequirePKCE: true})
	var sec string
	if !a.Public {
		sec = secret.Token()
		rec.SecretHash = hex.EncodeToString(secret.ClientDigest(nil, sec))
	}
	if err := p.Store.CreateClient(ctx, rec); err != nil {
		return store.Client{}, "", fmt.Errorf("create client: %w", err)
	}
	p.logger().Info("client created by an administrator", "client", id)
	return rec, sec, nil
}

// UpdateClient replaces what an administrator sets of a stored client, in one
// compare-and-swap, when pre (nil: no check) accepts the stored record. Whether the client
// is public does not change (rotate or delete instead).
func (p *Server) UpdateClient(ctx context.Context, id string, a AdminClient, pre func(store.Client) error) (store.Client, error) {
	if _, ok := p.Configured[id]; ok {
		return store.Client{}, ErrConfiguredClient
	}
	return p.Store.UpdateClient(ctx, id, func(old store.Client) (store.Client, error) {
		if pre != nil {
			if err := pre(old); err != nil {
				return old, err
			}
		}
		a.Public = old.SecretHash == ""
		if err := a.check(id); err != nil {
			return old, err
		}
		return a.apply(old), nil
	})
}

// SetClientDisabled turns a stored client off or on. A disabled client is unknown to the
// authorization, token and introspection endpoints (Client).
func (p *Server) SetClientDisabled(ctx context.Context, id string, disabled bool) (store.Client, error) {
	if _, ok := p.Configured[id]; ok {
		return store.Client{}, ErrConfiguredClient
	}
	return p.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		c.Disabled = disabled
		return c, nil
	})
}

// RotateClientSecret gives a confidential stored client a new secret, returned in clear
// exactly this once; the old secret stops working at once.
func (p *Server) RotateClientSecret(ctx context.Context, id string) (store.Client, string, error) {
	if _, ok := p.Configured[id]; ok {
		return store.Client{}, "", ErrConfiguredClient
	}
	sec := secret.Token()
	rec, err := p.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		if c.SecretHash == "" {
			return c, &FieldError{Field: "id", Message: "a public client has no secret to rotate"}
		}
		c.SecretHash = hex.EncodeToString(secret.ClientDigest(nil, sec))
		c.SecretRotatedAt = p.Now()
		return c, nil
	})
	if err != nil {
		return store.Client{}, "", err
	}
	p.logger().Info("client secret rotated by an administrator", "client", id)
	return rec, sec, nil
}

// IsConfigured tells whether id is a client of the configuration.
func (p *Server) IsConfigured(id string) bool {
	_, ok := p.Configured[id]
	return ok
}
