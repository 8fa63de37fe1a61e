package admin

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
)

// identities: GET /gatehouse/users/{id}/identities.
func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	ids, err := p.Identities.Identities(r.Context(), u.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	if ids == nil {
		ids = []store.Identity{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"identities": ids})
}

// linkIdentity: POST /gatehouse/users/{id}/identities {provider, subject} — an
// administrator links an upstream identity (the user then logs in with it).
func (h *Handler) linkIdentity(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Provider string `json:"provider"`
		Subject  string `json:"subject"`
	}
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	id, err := p.Identities.Link(r.Context(), u.ID, req.Provider, req.Subject)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, id)
}

// unlinkIdentity: DELETE /gatehouse/users/{id}/identities/{provider}?subject=.
func (h *Handler) unlinkIdentity(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	provider, subject := r.PathValue("provider"), r.URL.Query().Get("subject")
	if err := p.Identities.Remove(r.Context(), u.ID, provider, subject); errors.Is(err, social.ErrNoIdentity) {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such linked identity")
		return
	} else if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
