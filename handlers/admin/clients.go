package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The clients stored at runtime (dynamic client registration, RFC 7591): list them, approve
// the ones waiting for an administrator (registration approval), delete them. Clients of the
// configuration are not listed here: the configuration is theirs.

// client is a stored client as the admin API shows it: never its secret's or its
// registration access token's hash.
type client struct {
	ID                     string            `json:"client_id"`
	Name                   string            `json:"client_name,omitempty"`
	Public                 bool              `json:"public"`
	Pending                bool              `json:"pending"`
	RedirectURIs           []string          `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string          `json:"post_logout_redirect_uris,omitempty"`
	AllowedOrigins         []string          `json:"allowed_origins,omitempty"`
	GrantTypes             []string          `json:"grant_types,omitempty"`
	Scopes                 []string          `json:"scopes,omitempty"`
	Metadata               map[string]string `json:"metadata,omitempty"`
	CreatedAt              time.Time         `json:"created_at"`
}

func clientView(c store.Client) client {
	return client{ID: c.ID, Name: c.Name, Public: c.SecretHash == "", Pending: c.Pending, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, AllowedOrigins: c.AllowedOrigins, GrantTypes: c.GrantTypes,
		Scopes: c.Scopes, Metadata: c.Metadata, CreatedAt: c.CreatedAt}
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	pending := q.Get("pending") == "true" || q.Get("pending") == "1"
	cs, err := p.Clients.StoredClients(r.Context(), pending, q.Get("after"), limit)
	if err != nil {
		writeClientErr(w, err)
		return
	}
	out := make([]client, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientView(c))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (h *Handler) approveClient(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	c, err := p.Clients.ApproveClient(r.Context(), r.PathValue("id"))
	if err != nil {
		writeClientErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, clientView(c))
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	if err := p.Clients.DeleteStoredClient(r.Context(), r.PathValue("id")); err != nil {
		writeClientErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeClientErr(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such registered client (clients of the configuration are managed there)")
		return
	}
	writeErr(w, err)
}
