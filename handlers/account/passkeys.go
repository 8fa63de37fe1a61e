package account

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

type passkeyJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func toPasskeyJSON(pk store.Passkey) passkeyJSON {
	return passkeyJSON{ID: pk.ID, Name: pk.Name, Type: passkeyType(pk), CreatedAt: pk.CreatedAt, LastUsedAt: pk.LastUsedAt}
}

// passkeyType describes the authenticator from what registration told us.
func passkeyType(pk store.Passkey) string {
	var c struct {
		Flags struct {
			BackupEligible bool `json:"backupEligible"`
		} `json:"flags"`
		Authenticator struct {
			Attachment string `json:"attachment"`
		} `json:"authenticator"`
	}
	_ = json.Unmarshal(pk.Credential, &c)
	switch {
	case c.Flags.BackupEligible:
		return "synced passkey"
	case c.Authenticator.Attachment == "cross-platform":
		return "security key"
	case c.Authenticator.Attachment == "platform":
		return "this device"
	}
	return "passkey"
}

// apiPasskeys: GET /api/v1/passkeys.
func (h *Handler) apiPasskeys(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	keys, err := h.Passkeys.List(r.Context(), u.ID)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	out := []passkeyJSON{}
	for _, k := range keys {
		out = append(out, toPasskeyJSON(k))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"passkeys": out})
}

// apiPasskeyRegisterBegin: POST /api/v1/passkeys/register/begin.
func (h *Handler) apiPasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	c, err := h.Passkeys.BeginRegistration(r.Context(), s)
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	h.StartCeremony(w, c)
}

// apiPasskeyRegisterFinish: POST /api/v1/passkeys/register/finish.
func (h *Handler) apiPasskeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req portalkit.CredentialRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	pk, err := h.Passkeys.FinishRegistration(r.Context(), s, h.CeremonySecret(w, r), req.Name, req.Credential)
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, toPasskeyJSON(pk))
}

// apiPasskeyRename: PATCH /api/v1/passkeys/{id} {name}.
func (h *Handler) apiPasskeyRename(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	pk, err := h.Passkeys.Rename(r.Context(), u.ID, r.PathValue("id"), req.Name)
	if err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, toPasskeyJSON(pk))
}

// apiPasskeyDelete: DELETE /api/v1/passkeys/{id}.
func (h *Handler) apiPasskeyDelete(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	if err := h.Passkeys.Delete(r.Context(), s, r.PathValue("id")); err != nil {
		h.PasskeyError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// passkeyRenameForm: POST /account/passkeys/{id}/rename (works without JavaScript).
func (h *Handler) passkeyRenameForm(w http.ResponseWriter, r *http.Request) {
	h.change(w, r, func(s store.Session, f url.Values) error {
		_, err := h.Passkeys.Rename(r.Context(), s.UserID, r.PathValue("id"), f.Get("name"))
		return err
	})
}

// passkeyDeleteForm: POST /account/passkeys/{id}/delete.
func (h *Handler) passkeyDeleteForm(w http.ResponseWriter, r *http.Request) {
	h.change(w, r, func(s store.Session, f url.Values) error {
		return h.Passkeys.Delete(r.Context(), s, r.PathValue("id"))
	})
}
