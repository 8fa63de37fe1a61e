package admin

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	gs, err := p.Accounts.ListGroups(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	if gs == nil {
		gs = []store.Group{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"groups": gs})
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		CustomData json.RawMessage `json:"custom_data"`
	}
	if err := web.DecodeJSONLimit(w, r, &req, maxAdminBody); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	g, err := p.Accounts.SetGroupData(r.Context(), r.PathValue("name"), req.CustomData)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, g)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	if err := p.Accounts.DeleteGroup(r.Context(), r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
