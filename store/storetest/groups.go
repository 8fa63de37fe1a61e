package storetest

import (
	"context"
	"encoding/json"
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
}
