package account

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
)

type identityJSON struct {
	Provider string `json:"provider"`
	// Label is the provider's name for users (its configured label).
	Label      string    `json:"label,omitempty"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func toIdentityJSON(i store.Identity) identityJSON {
	return identityJSON{Provider: i.Provider, Subject: i.Subject, Email: i.Email, CreatedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt}
}

// providerLabel is the label of a configured provider, else its name (a provider no longer
// configured).
func (h *Handler) providerLabel(name string) string {
	for _, b := range h.SocialButtons() {
		if b.Name == name {
			return b.Label
		}
	}
	return name
}

// unlinkForm: POST /account/identities/unlink {provider, subject}.
func (h *Handler) unlinkForm(w http.ResponseWriter, r *http.Request) {
	h.change(w, r, func(s store.Session, f url.Values) error {
		return h.Identities.Unlink(r.Context(), s, f.Get("provider"), f.Get("subject"))
	})
}

// apiIdentities: GET /api/v1/account/identities.
func (h *Handler) apiIdentities(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	ids, err := h.Identities.Identities(r.Context(), u.ID)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	out := []identityJSON{}
	for _, i := range ids {
		j := toIdentityJSON(i)
		j.Label = h.providerLabel(i.Provider)
		out = append(out, j)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"identities": out})
}

// apiUnlinkIdentity: POST /api/v1/account/identities/unlink {provider, subject}.
func (h *Handler) apiUnlinkIdentity(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req struct {
		Provider string `json:"provider"`
		Subject  string `json:"subject"`
	}
	if !h.Decode(w, r, &req) {
		return
	}
	err := h.Identities.Unlink(r.Context(), s, req.Provider, req.Subject)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, social.ErrLastMethod):
		web.WriteAPIError(w, http.StatusConflict, "last_credential", portalkit.Capitalize(err.Error())+".")
	case errors.Is(err, account.ErrUserNotFound):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", h.T(r, "No such linked identity."))
	default:
		h.APICodeError(w, r, err)
	}
}
