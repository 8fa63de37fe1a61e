package adminv1

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Clients are the OAuth clients (*oauth.Server): those of the configuration (read-only)
// and those stored at runtime.
type Clients interface {
	// Client is the client as every endpoint sees it now: an unknown, pending or disabled
	// one is an error.
	Client(ctx context.Context, id string) (*oauth.Client, error)
	ConfiguredClients() []*oauth.Client
	IsConfigured(id string) bool
	StoredClients(ctx context.Context, pendingOnly bool, after string, limit int) ([]store.Client, error)
	StoredClient(ctx context.Context, id string) (store.Client, error)
	CreateClient(ctx context.Context, a oauth.AdminClient) (store.Client, string, error)
	UpdateClient(ctx context.Context, id string, a oauth.AdminClient, pre func(store.Client) error) (store.Client, error)
	SetClientDisabled(ctx context.Context, id string, disabled bool) (store.Client, error)
	RotateClientSecret(ctx context.Context, id string) (store.Client, string, error)
	DeleteStoredClient(ctx context.Context, id string) error
}

// Client sources.
const (
	SourceCaddyfile = "caddyfile"
	SourceStore     = "store"
)

// ClientView is a client. A client of the configuration has source "caddyfile" and cannot
// be changed through the API. No secret is ever shown, except Secret in the answer of a
// creation or a rotation (exactly once).
type ClientView struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name,omitempty"`
	Source                 string   `json:"source"`
	Public                 bool     `json:"public"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string `json:"scopes"`
	GrantTypes             []string `json:"grant_types"`
	AllowedOrigins         []string `json:"allowed_origins,omitempty"`
	ConsentRequired        bool     `json:"consent_required"`
	// Admin: the client may get gatehouse:admin (the Administration API) through the
	// client_credentials grant.
	Admin     bool      `json:"admin"`
	Pending   bool      `json:"pending,omitempty"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Secret is the new client secret: in the answer of a creation or rotation only.
	Secret string `json:"secret,omitempty"`
}

// ClientRequest creates or replaces a stored client's settings.
type ClientRequest struct {
	Name                   string   `json:"name,omitempty"`
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string `json:"scopes,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`
	AllowedOrigins         []string `json:"allowed_origins,omitempty"`
	// Public creates a client without a secret (a browser or native app; PKCE required).
	// It cannot change after creation.
	Public          bool `json:"public,omitempty"`
	ConsentRequired bool `json:"consent_required,omitempty"`
	// Admin allows a confidential client the scope gatehouse:admin: whoever holds its
	// secret administers Gatehouse through this API. It needs the client_credentials grant;
	// a public client never gets it. The client then requests the token with
	// scope=gatehouse:admin and resource=<issuer>/api/admin/v1.
	Admin bool `json:"admin,omitempty"`
}

func (c ClientRequest) admin() oauth.AdminClient {
	return oauth.AdminClient{Name: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		Scopes: c.Scopes, GrantTypes: c.GrantTypes, AllowedOrigins: c.AllowedOrigins, Public: c.Public, ConsentRequired: c.ConsentRequired, Admin: c.Admin}
}

func (h *Handler) mountClients() {
	h.handle(Route{Method: "GET", Path: "/clients", Summary: "List clients: the Caddyfile's (read-only, on the first page) and the stored ones",
		Query: pageParams, Response: Page[ClientView]{}}, h.listClients)
	h.handle(Route{Method: "POST", Path: "/clients", Summary: "Create a client (its secret is in this answer only)", Write: true,
		Request: ClientRequest{}, Response: ClientView{}, Status: http.StatusCreated}, h.createClient)
	h.handle(Route{Method: "GET", Path: "/clients/{id}", Summary: "A client", ETag: true, Response: ClientView{}}, h.getClient)
	h.handle(Route{Method: "PUT", Path: "/clients/{id}", Summary: "Replace a stored client's settings (If-Match)", Write: true, ETag: true,
		Request: ClientRequest{}, Response: ClientView{}}, h.putClient)
	h.handle(Route{Method: "DELETE", Path: "/clients/{id}", Summary: "Delete a stored client (If-Match)", Write: true, ETag: true,
		Status: http.StatusNoContent}, h.deleteClient)
	h.handle(Route{Method: "POST", Path: "/clients/{id}/disable", Summary: "Disable a stored client (no authorization, no tokens)", Write: true,
		Response: ClientView{}}, h.setClientDisabled(true))
	h.handle(Route{Method: "POST", Path: "/clients/{id}/enable", Summary: "Enable a stored client", Write: true,
		Response: ClientView{}}, h.setClientDisabled(false))
	h.handle(Route{Method: "POST", Path: "/clients/{id}/secret", Summary: "Rotate a stored client's secret (the new one is in this answer only)",
		Write: true, Response: ClientView{}}, h.rotateClientSecret)
}

// storedView is a stored client as the API shows it. gatehouse:admin is never among its
// scopes: a record may list it (an older registration, a restored dump) though it grants
// nothing (Admin does), and a PUT of the scopes shown would then be refused.
func storedView(c store.Client) ClientView {
	scopes := nonNil(slices.DeleteFunc(slices.Clone(c.Scopes), func(s string) bool { return s == oauth.AdminScope }))
	return ClientView{ID: c.ID, Name: c.Name, Source: SourceStore, Public: c.SecretHash == "", RedirectURIs: nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Scopes: scopes, GrantTypes: nonNil(c.GrantTypes),
		AllowedOrigins: c.AllowedOrigins, ConsentRequired: c.ConsentRequired, Admin: c.Admin && c.SecretHash != "", Pending: c.Pending,
		Disabled: c.Disabled, CreatedAt: c.CreatedAt}
}

func configuredView(c *oauth.Client) ClientView {
	return ClientView{ID: c.ID, Name: c.Name, Source: SourceCaddyfile, Public: c.Public(), RedirectURIs: nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Scopes: nonNil(c.Scopes), GrantTypes: nonNil(c.GrantTypes),
		AllowedOrigins: c.AllowedOrigins, ConsentRequired: c.ConsentRequired, Admin: c.AllowsScope(Scope)}
}

// clientProblem maps the client errors to problems.
func clientProblem(err error) error {
	var fe *oauth.FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return InvalidAs(fe.Field, fe.Code, fe.Message)
	case errors.Is(err, oauth.ErrConfiguredClient):
		return Conflict("id", CodeReadOnly, "this client is set in the Caddyfile and is read-only here; change it in the configuration")
	case errors.Is(err, store.ErrNotFound):
		return NotFound("no such client")
	}
	return problemOf(err)
}

// listClients: the configured clients come first, on the first page (there are few of
// them); then the stored ones page by ID.
func (h *Handler) listClients(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageQuery(r)
	if err != nil {
		return err
	}
	out := Page[ClientView]{Items: []ClientView{}}
	if after == "" {
		cs := h.deps.Clients.ConfiguredClients()
		slices.SortFunc(cs, func(a, b *oauth.Client) int { return strings.Compare(a.ID, b.ID) })
		for _, c := range cs {
			out.Items = append(out.Items, configuredView(c))
		}
	}
	cs, err := h.deps.Clients.StoredClients(r.Context(), false, after, limit)
	if err != nil {
		return err
	}
	for _, c := range cs {
		out.Items = append(out.Items, storedView(c))
	}
	if len(cs) == limit {
		out.Next = cs[len(cs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request) error {
	var req ClientRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, sec, err := h.deps.Clients.CreateClient(r.Context(), req.admin())
	if err != nil {
		return clientProblem(err)
	}
	h.record(r, "", "client created", map[string]string{"client": c.ID, "admin": strconv.FormatBool(c.Admin)})
	v := storedView(c)
	v.Secret = sec
	w.Header().Set("Location", Prefix+"/clients/"+c.ID)
	writeResource(w, http.StatusCreated, etagOf(c), v)
	return nil
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	for _, c := range h.deps.Clients.ConfiguredClients() {
		if c.ID == id {
			v := configuredView(c)
			writeResource(w, http.StatusOK, etagOf(v), v)
			return nil
		}
	}
	c, err := h.deps.Clients.StoredClient(r.Context(), id)
	if err != nil {
		return clientProblem(err)
	}
	writeResource(w, http.StatusOK, etagOf(c), storedView(c))
	return nil
}

// clientPrecondition returns the If-Match check of a stored client.
func clientPrecondition(r *http.Request) (func(store.Client) error, error) {
	ifm, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return func(c store.Client) error {
		if !matches(ifm, etagOf(c)) {
			return PreconditionFailed()
		}
		return nil
	}, nil
}

func (h *Handler) putClient(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if h.deps.Clients.IsConfigured(id) {
		return clientProblem(oauth.ErrConfiguredClient)
	}
	pre, err := clientPrecondition(r)
	if err != nil {
		return err
	}
	var req ClientRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := h.deps.Clients.UpdateClient(r.Context(), id, req.admin(), pre)
	if err != nil {
		return clientProblem(err)
	}
	h.record(r, "", "client changed", map[string]string{"client": id, "admin": strconv.FormatBool(c.Admin)})
	writeResource(w, http.StatusOK, etagOf(c), storedView(c))
	return nil
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if h.deps.Clients.IsConfigured(id) {
		return clientProblem(oauth.ErrConfiguredClient)
	}
	pre, err := clientPrecondition(r)
	if err != nil {
		return err
	}
	c, err := h.deps.Clients.StoredClient(r.Context(), id)
	if err != nil {
		return clientProblem(err)
	}
	if err := pre(c); err != nil {
		return err
	}
	if err := h.deps.Clients.DeleteStoredClient(r.Context(), id); err != nil {
		return clientProblem(err)
	}
	h.record(r, "", "client deleted", map[string]string{"client": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setClientDisabled(disabled bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		c, err := h.deps.Clients.SetClientDisabled(r.Context(), id, disabled)
		if err != nil {
			return clientProblem(err)
		}
		reason := "client enabled"
		if disabled {
			reason = "client disabled"
		}
		h.record(r, "", reason, map[string]string{"client": id})
		writeResource(w, http.StatusOK, etagOf(c), storedView(c))
		return nil
	}
}

func (h *Handler) rotateClientSecret(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, sec, err := h.deps.Clients.RotateClientSecret(r.Context(), id)
	if err != nil {
		return clientProblem(err)
	}
	h.record(r, "", "client secret rotated", map[string]string{"client": id})
	v := storedView(c)
	v.Secret = sec
	writeResource(w, http.StatusOK, etagOf(c), v)
	return nil
}
