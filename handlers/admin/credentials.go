package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AppCredentials are the users' app passwords and access tokens (*appcred.Service).
type AppCredentials interface {
	List(ctx context.Context, userID string) ([]store.AppCredential, error)
	Revoke(ctx context.Context, userID, id string) (store.AppCredential, error)
}

// listCredentials: GET /gatehouse/users/{id}/credentials — the user's app passwords and
// access tokens (never their secrets), with last use.
func (h *Handler) listCredentials(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	list, err := p.AppCredentials.List(r.Context(), u.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []appcred.View{}
	now := time.Now()
	for _, c := range list {
		out = append(out, appcred.ViewOf(c, now))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"credentials": out})
}

// revokeCredential: POST /gatehouse/users/{id}/credentials/{cred}/revoke — ends the
// credential at once on this instance and within a second on the others.
func (h *Handler) revokeCredential(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	c, err := p.AppCredentials.Revoke(r.Context(), u.ID, r.PathValue("cred"))
	if errors.Is(err, store.ErrNotFound) {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "the user has no such app password or access token (give the id from the credentials list)")
		return
	} else if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, appcred.ViewOf(c, time.Now()))
}
