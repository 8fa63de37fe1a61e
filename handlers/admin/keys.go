package admin

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/keys"
)

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"keys": p.Keys.Keys()})
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Alg       string `json:"alg"`
		Immediate bool   `json:"immediate"`
	}
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &req); err != nil {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	algs := p.Keys.Algs()
	if req.Alg != "" {
		if !keys.ValidAlg(req.Alg) {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_input", "alg must be RS256, ES256 or EdDSA")
			return
		}
		algs = []string{req.Alg}
	}
	var created []keys.KeyInfo
	for _, alg := range algs {
		k, err := p.Keys.Rotate(r.Context(), alg, req.Immediate)
		if err != nil {
			writeErr(w, err)
			return
		}
		created = append(created, keys.KeyInfo{ID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"created": created, "keys": p.Keys.Keys()})
}

func (h *Handler) removeKey(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	if err := p.Keys.Remove(r.Context(), r.PathValue("kid")); err != nil {
		web.WriteAPIError(w, http.StatusConflict, "conflict", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
