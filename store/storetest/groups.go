package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testGroups: group data is created, replaced, listed by name and deleted.
func testGroups(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	_, err := s.GetGroup(ctx, "admins")
	isErr(t, err, store.ErrNotFound, "get missing group")
	ok(t, s.PutGroup(ctx, store.Group{Name: "admins", CustomData: json.RawMessage(`{"level":1}`)}), "put group")
	ok(t, s.PutGroup(ctx, store.Group{Name: "admins", CustomData: json.RawMessage(`{"level":2}`)}), "replace group")
	ok(t, s.PutGroup(ctx, store.Group{Name: "editors"}), "put second group")
	g, err := s.GetGroup(ctx, "admins")
	ok(t, err, "get group")
	if string(g.CustomData) != `{"level":2}` {
		t.Fatalf("group data %s after replacement", g.CustomData)
	}
	list, err := s.ListGroups(ctx, store.ListOptions{})
	ok(t, err, "list groups")
	if len(list) != 2 || list[0].Name != "admins" || list[1].Name != "editors" {
		t.Fatalf("list groups = %+v", list)
	}
	page, err := s.ListGroups(ctx, store.ListOptions{After: "admins", Limit: 1})
	ok(t, err, "list after")
	if len(page) != 1 || page[0].Name != "editors" {
		t.Fatalf("page = %+v", page)
	}
	ok(t, s.DeleteGroup(ctx, "admins"), "delete group")
	ok(t, s.DeleteGroup(ctx, "admins"), "delete missing group")
	_, err = s.GetGroup(ctx, "admins")
	isErr(t, err, store.ErrNotFound, "get deleted group")

	testUpdateGroup(t, s)
}

// testUpdateGroup: UpdateGroup creates, replaces and deletes in one compare-and-swap; an
// error of the update function aborts and is returned as it is.
func testUpdateGroup(t *testing.T, s store.Store) {
	ctx := context.Background()
	v := func(data string) func(store.Group, bool) (*store.Group, error) {
		return func(old store.Group, _ bool) (*store.Group, error) {
			return &store.Group{Name: "ops", CustomData: json.RawMessage(data)}, nil
		}
	}
	g, err := s.UpdateGroup(ctx, "ops", func(old store.Group, exists bool) (*store.Group, error) {
		if exists || old.Name != "" {
			t.Errorf("missing group seen as %+v, exists %v", old, exists)
		}
		return &store.Group{Name: "ops", CustomData: json.RawMessage(`{"v":1}`)}, nil
	})
	ok(t, err, "create with UpdateGroup")
	if string(g.CustomData) != `{"v":1}` {
		t.Fatalf("created %+v", g)
	}
	stop := errors.New("precondition failed")
	_, err = s.UpdateGroup(ctx, "ops", func(old store.Group, exists bool) (*store.Group, error) {
		if !exists || string(old.CustomData) != `{"v":1}` {
			t.Errorf("stored group seen as %+v, exists %v", old, exists)
		}
		return nil, stop
	})
	isErr(t, err, stop, "aborted update")
	g, err = s.UpdateGroup(ctx, "ops", v(`{"v":2}`))
	ok(t, err, "replace with UpdateGroup")
	if got, err := s.GetGroup(ctx, "ops"); err != nil || string(got.CustomData) != `{"v":2}` || string(g.CustomData) != `{"v":2}` {
		t.Fatalf("after replace: %+v %v", got, err)
	}
	_, err = s.UpdateGroup(ctx, "ops", func(store.Group, bool) (*store.Group, error) { return nil, nil })
	ok(t, err, "delete with UpdateGroup")
	_, err = s.GetGroup(ctx, "ops")
	isErr(t, err, store.ErrNotFound, "get group deleted by UpdateGroup")
	_, err = s.UpdateGroup(ctx, "ops", func(store.Group, bool) (*store.Group, error) { return nil, nil })
	ok(t, err, "delete a missing group with UpdateGroup")
}
