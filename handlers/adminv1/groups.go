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
	// SetGroupDataIf and DeleteGroupIf write when pre accepts the stored record, in one
	// compare-and-swap of the store (also across instances sharing it).
	SetGroupDataIf(ctx context.Context, name string, data json.RawMessage, pre func(old store.Group, exists bool) error) (store.Group, error)
	DeleteGroupIf(ctx context.Context, name string, pre func(old store.Group, exists bool) error) error
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

// groupPrecondition returns the If-Match check of a group's data, run by the store on the
// record as stored at the write, in one compare-and-swap (so two writers holding one
// version, on one instance or two sharing the store, cannot both win): a group with data
// needs If-Match (428 without, 412 when it names another version); one without data is
// created without If-Match (creating), and If-Match on it is a 412 (RFC 9110 §13.1.1: no
// current representation matches). created tells, after the write, whether it created.
func groupPrecondition(r *http.Request, creating bool) (check func(old store.Group, exists bool) error, created *bool) {
	ifm := r.Header.Get("If-Match")
	created = new(bool)
	return func(old store.Group, exists bool) error {
		*created = false
		switch {
		case !exists && ifm == "" && creating:
			*created = true
			return nil
		case !exists && ifm == "":
			return NotFound("this group has no data")
		case !exists:
			return PreconditionFailed()
		}
		v, err := ifMatch(r)
		if err != nil {
			return err
		}
		if !matches(v, etagOf(old)) {
			return PreconditionFailed()
		}
		return nil
	}, created
}

// groupWriteProblem maps a failed conditional write: a record another writer created
// between the check and the write (store.ErrConflict) is a changed version too.
func groupWriteProblem(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return PreconditionFailed()
	}
	return problemOf(err)
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request) error {
	var req GroupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.CustomData) == 0 {
		return InvalidAs("custom_data", CodeRequired, "is required (a JSON object, or null to clear it)")
	}
	check, created := groupPrecondition(r, true)
	g, err := h.deps.Groups.SetGroupDataIf(r.Context(), r.PathValue("name"), req.CustomData, check)
	if err != nil {
		return groupWriteProblem(err)
	}
	h.record(r, "", "group data set", map[string]string{"group": g.Name})
	status := http.StatusOK
	if *created {
		status = http.StatusCreated
	}
	writeResource(w, status, etagOf(g), groupView(g))
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	check, _ := groupPrecondition(r, false)
	if err := h.deps.Groups.DeleteGroupIf(r.Context(), name, check); err != nil {
		return groupWriteProblem(err)
	}
	h.record(r, "", "group data removed", map[string]string{"group": name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
