package adminv1

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Groups are the groups' data (*account.Accounts). A group exists by having members; its
// data (custom_data, the claim custom_group_data) is what is stored.
type Groups interface {
	ListGroups(ctx context.Context, after string, limit int) ([]store.Group, error)
	SetGroupData(ctx context.Context, name string, data json.RawMessage) (store.Group, error)
	DeleteGroup(ctx context.Context, name string) error
}

// GroupView is a group's data.
type GroupView struct {
	Name       string          `json:"name"`
	CustomData json.RawMessage `json:"custom_data,omitempty"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// GroupRequest sets a group's data.
type GroupRequest struct {
	CustomData json.RawMessage `json:"custom_data"`
}

func (h *Handler) mountGroups() {
	h.handle(Route{Method: "GET", Path: "/groups", Summary: "List the groups that have data", Query: pageParams,
		Response: Page[GroupView]{}}, h.listGroups)
	h.handle(Route{Method: "PUT", Path: "/groups/{name}", Summary: "Set a group's custom_data (a JSON object of at most 100 KB)", Write: true,
		Request: GroupRequest{}, Response: GroupView{}}, h.putGroup)
	h.handle(Route{Method: "DELETE", Path: "/groups/{name}", Summary: "Remove a group's data (members keep the group)", Write: true,
		Status: http.StatusNoContent}, h.deleteGroup)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageQuery(r)
	if err != nil {
		return err
	}
	gs, err := h.deps.Groups.ListGroups(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := Page[GroupView]{Items: []GroupView{}}
	for _, g := range gs {
		out.Items = append(out.Items, GroupView(g))
	}
	if len(gs) == limit {
		out.Next = gs[len(gs)-1].Name
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request) error {
	var req GroupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.CustomData) == 0 {
		return InvalidAs("custom_data", CodeRequired, "is required (a JSON object, or null to clear it)")
	}
	g, err := h.deps.Groups.SetGroupData(r.Context(), r.PathValue("name"), req.CustomData)
	if err != nil {
		return problemOf(err)
	}
	h.record(r, "", "group data set", map[string]string{"group": g.Name})
	writeJSON(w, http.StatusOK, GroupView(g))
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := h.deps.Groups.DeleteGroup(r.Context(), name); err != nil {
		return problemOf(err)
	}
	h.record(r, "", "group data removed", map[string]string{"group": name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
