package admin

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/keys"
)

// The identity-assertion keys (README "Signed identity assertion"), a ring of their own:
//
//	GET    /gatehouse/assertion-keys            list (kid, alg, created_at, signing)
//	POST   /gatehouse/assertion-keys/rotate     {immediate?} a new Ed25519 key
//	DELETE /gatehouse/assertion-keys/{kid}      delete a key at once (after a compromise)
func (h *Handler) mountAssertionKeys() {
	h.mux.HandleFunc("GET /gatehouse/assertion-keys", h.listAssertionKeys)
	h.mux.HandleFunc("POST /gatehouse/assertion-keys/rotate", h.rotateAssertionKeys)
	h.mux.HandleFunc("DELETE /gatehouse/assertion-keys/{kid}", h.removeAssertionKey)
}

// assertionKeys returns the ring, or answers 404 when the backend has none.
func (h *Handler) assertionKeys(w http.ResponseWriter) Keys {
	p := h.backend(w)
	if p == nil {
		return nil
	}
	if p.AssertionKeys == nil {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "this gatehouse has no assertion keys")
		return nil
	}
	return p.AssertionKeys
}

func (h *Handler) listAssertionKeys(w http.ResponseWriter, r *http.Request) {
	if k := h.assertionKeys(w); k != nil {
		web.WriteJSON(w, http.StatusOK, map[string]any{"keys": k.Keys()})
	}
}

func (h *Handler) rotateAssertionKeys(w http.ResponseWriter, r *http.Request) {
	ring := h.assertionKeys(w)
	if ring == nil {
		return
	}
	var req struct {
		Immediate bool `json:"immediate"`
	}
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &req); err != nil {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	k, err := ring.Rotate(r.Context(), keys.EdDSA, req.Immediate)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"created": []keys.KeyInfo{{ID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt}},
		"keys": ring.Keys()})
}

func (h *Handler) removeAssertionKey(w http.ResponseWriter, r *http.Request) {
	ring := h.assertionKeys(w)
	if ring == nil {
		return
	}
	if err := ring.Remove(r.Context(), r.PathValue("kid")); err != nil {
		web.WriteAPIError(w, http.StatusConflict, "conflict", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
