package adminv1

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Groups are the groups' data (*account.Accounts). A group exists by having members; its
// data (custom_data, the claim custom_group_data) is what is stored.
type Groups interface {
	ListGroups(ctx context.Context, after string, limit int) ([]store.Group, error)
	// GetGroup returns a group's data (store.ErrNotFound: it has none).
	GetGroup(ctx context.Context, name string) (store.Group, error)
	SetGroupData(ctx context.Context, name string, data json.RawMessage) (store.Group, error)
	DeleteGroup(ctx context.Context, name string) error
}

// GroupView is a group's data.
type GroupView struct {
	Name       string          `json:"name"`
	CustomData json.RawMessage `json:"custom_data,omitempty"`
	UpdatedAt  time.Time       `json:"updated_at"`
	// ETag is the group's ETag (as GET /groups/{name} answers it), for If-Match.
	ETag string `json:"etag"`
}

func groupView(g store.Group) GroupView {
	return GroupView{Name: g.Name, CustomData: g.CustomData, UpdatedAt: g.UpdatedAt, ETag: etagOf(g)}
}

// GroupRequest sets a group's data.
type GroupRequest struct {
	CustomData json.RawMessage `json:"custom_data"`
}

func (h *Handler) mountGroups() {
	h.handle(Route{Method: "GET", Path: "/groups", Summary: "List the groups that have data (each with its etag)", Query: pageParams,
		Response: Page[GroupView]{}}, h.listGroups)
	h.handle(Route{Method: "GET", Path: "/groups/{name}", Summary: "A group's data (404: it has none)", ETag: true,
		Response: GroupView{}}, h.getGroup)
	h.handle(Route{Method: "PUT", Path: "/groups/{name}",
		Summary: "Set a group's custom_data (a JSON object of at most 100 KB): without If-Match only when it has none yet (201), else If-Match",
		Write:   true, ETag: true, Request: GroupRequest{}, Response: GroupView{}}, h.putGroup)
	h.handle(Route{Method: "DELETE", Path: "/groups/{name}", Summary: "Remove a group's data (If-Match; members keep the group)", Write: true,
		ETag: true, Status: http.StatusNoContent}, h.deleteGroup)
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
		out.Items = append(out.Items, groupView(g))
	}
	if len(gs) == limit {
		out.Next = gs[len(gs)-1].Name
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// group reads the path's group; ok is false when it has no data.
func (h *Handler) group(r *http.Request) (g store.Group, ok bool, err error) {
	g, err = h.deps.Groups.GetGroup(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return store.Group{}, false, nil
	}
	return g, err == nil, err
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, ok, err := h.group(r)
	if err != nil {
		return err
	} else if !ok {
		return NotFound("this group has no data")
	}
	writeResource(w, http.StatusOK, etagOf(g), groupView(g))
	return nil
}

// groupPrecondition checks If-Match against the group's data as stored now: a group with
// data needs it (428 without, 412 when it names another version); one without data is
// created without If-Match (create is true), and If-Match on it is a 412 (RFC 9110
// §13.1.1: no current representation matches). The store keeps a group with a plain put,
// so the check and the write are serialized per instance by groupMu (another instance's
// write between the two is the one race left).
func (h *Handler) groupPrecondition(r *http.Request, creating bool) (create bool, err error) {
	g, ok, err := h.group(r)
	if err != nil {
		return false, err
	}
	ifm := r.Header.Get("If-Match")
	switch {
	case !ok && ifm == "" && creating:
		return true, nil
	case !ok && ifm == "":
		return false, NotFound("this group has no data")
	case !ok:
		return false, PreconditionFailed()
	}
	v, err := ifMatch(r)
	if err != nil {
		return false, err
	}
	if !matches(v, etagOf(g)) {
		return false, PreconditionFailed()
	}
	return false, nil
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request) error {
	var req GroupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.CustomData) == 0 {
		return InvalidAs("custom_data", CodeRequired, "is required (a JSON object, or null to clear it)")
	}
	h.groupMu.Lock()
	defer h.groupMu.Unlock()
	create, err := h.groupPrecondition(r, true)
	if err != nil {
		return err
	}
	g, err := h.deps.Groups.SetGroupData(r.Context(), r.PathValue("name"), req.CustomData)
	if err != nil {
		return problemOf(err)
	}
	h.record(r, "", "group data set", map[string]string{"group": g.Name})
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	writeResource(w, status, etagOf(g), groupView(g))
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	h.groupMu.Lock()
	defer h.groupMu.Unlock()
	if _, err := h.groupPrecondition(r, false); err != nil {
		return err
	}
	if err := h.deps.Groups.DeleteGroup(r.Context(), name); err != nil {
		return problemOf(err)
	}
	h.record(r, "", "group data removed", map[string]string{"group": name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
