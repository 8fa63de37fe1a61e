package account

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// ConnectedApps are the clients holding grants or consents of a user (*oauth.Server).
type ConnectedApps interface {
	ConnectedApps(ctx context.Context, userID string) ([]oauth.ConnectedApp, error)
	Disconnect(ctx context.Context, userID, clientID string) error
}

// appJSON is a connected app on the account page and in the API.
type appJSON struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at,omitzero"`
	// Offline: one of its grants has offline_access (it keeps working after logout).
	Offline bool `json:"offline"`
	// Consented: the user allowed it on the consent page.
	Consented bool `json:"consented"`
}

func toAppJSON(a oauth.ConnectedApp) appJSON {
	scopes := a.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return appJSON{ClientID: a.ClientID, Name: a.Name, Scopes: scopes, GrantedAt: a.GrantedAt, Offline: a.Offline, Consented: a.Consented}
}

// connectedApps returns the user's connected apps for the account page (none, logged, on
// a store failure: the rest of the page still works).
func (h *Handler) connectedApps(ctx context.Context, userID string) []appJSON {
	apps, err := h.Apps.ConnectedApps(ctx, userID)
	if err != nil {
		h.LogFailure("account page: connected apps", err)
		return nil
	}
	out := make([]appJSON, 0, len(apps))
	for _, a := range apps {
		out = append(out, toAppJSON(a))
	}
	return out
}

// disconnectForm: POST /account/apps/disconnect {client_id}: the app's refresh tokens
// (offline ones too) and access tokens stop working, its consent is forgotten, and it is
// told by back-channel logout if it registered for that.
func (h *Handler) disconnectForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	switch err := h.Apps.Disconnect(r.Context(), s.UserID, f.Get("client_id")); {
	case errors.Is(err, oauth.ErrNotConnected):
		h.RenderError(w, r, http.StatusNotFound, "That app is not connected to your account (any more).")
	case err != nil:
		h.LogFailure("account: disconnect app", err)
		h.RenderError(w, r, http.StatusServiceUnavailable, "Something went wrong on our side. Try again in a moment.")
	default:
		http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
	}
}

// apiApps: GET /api/v1/account/apps.
func (h *Handler) apiApps(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	apps, err := h.Apps.ConnectedApps(r.Context(), u.ID)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	out := make([]appJSON, 0, len(apps))
	for _, a := range apps {
		out = append(out, toAppJSON(a))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"apps": out})
}

// apiDisconnect: DELETE /api/v1/account/apps/{client}.
func (h *Handler) apiDisconnect(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	switch err := h.Apps.Disconnect(r.Context(), s.UserID, r.PathValue("client")); {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, oauth.ErrNotConnected):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", h.T(r, "That app is not connected to your account."))
	default:
		h.APICodeError(w, r, err)
	}
}
