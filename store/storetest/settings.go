package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testSettings: settings documents are written compare-and-set on their version (issue 18:
// "ETags or If-Match for updates so two admins cannot silently overwrite each other"), a
// stale version changes nothing, they are listed by key and deleted by version.
func testSettings(t *testing.T, newStore func(t *testing.T) store.Store) {
	s, ctx := newStore(t), t.Context()
	_, err := s.GetSetting(ctx, "login")
	isErr(t, err, store.ErrNotFound, "get missing setting")

	_, err = s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{"a":1}`)}, 3)
	isErr(t, err, store.ErrVersionMismatch, "put a missing key naming a version")
	first, err := s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{"a":1}`), UpdatedAt: base, UpdatedBy: "u1", Version: 42}, 0)
	ok(t, err, "create setting")
	if first.Version != 1 || first.Key != "login" || string(first.Value) != `{"a":1}` {
		t.Fatalf("created setting = %+v, want version 1", first)
	}
	_, err = s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{"a":9}`)}, 0)
	isErr(t, err, store.ErrVersionMismatch, "create an existing key")

	second, err := s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{"a":2}`), UpdatedAt: at(1), UpdatedBy: "u2"}, 1)
	ok(t, err, "update setting at version 1")
	if second.Version != 2 {
		t.Fatalf("updated version = %d, want 2", second.Version)
	}
	// A second admin who read version 1 must not overwrite the first one's change.
	_, err = s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{"a":3}`)}, 1)
	isErr(t, err, store.ErrVersionMismatch, "update with a stale version")
	got, err := s.GetSetting(ctx, "login")
	ok(t, err, "get setting")
	if got.Version != 2 || string(got.Value) != `{"a":2}` || got.UpdatedBy != "u2" || !got.UpdatedAt.Equal(at(1)) {
		t.Fatalf("stored setting = %+v after a refused stale write", got)
	}

	// Records are copies.
	got.Value[1] = 'X'
	again, err := s.GetSetting(ctx, "login")
	ok(t, err, "get setting again")
	if string(again.Value) != `{"a":2}` {
		t.Fatalf("the store handed out its own value: %s", again.Value)
	}

	for _, k := range []string{"role/editor", "branding", "provider/google"} {
		_, err := s.PutSetting(ctx, store.Setting{Key: k, Value: json.RawMessage(`{}`)}, 0)
		ok(t, err, "create "+k)
	}
	list, err := s.ListSettings(ctx, store.ListOptions{})
	ok(t, err, "list settings")
	var keys []string
	for _, v := range list {
		keys = append(keys, v.Key)
	}
	if fmt.Sprint(keys) != "[branding login provider/google role/editor]" {
		t.Fatalf("list keys = %v", keys)
	}
	page, err := s.ListSettings(ctx, store.ListOptions{After: "login", Limit: 1})
	ok(t, err, "list after")
	if len(page) != 1 || page[0].Key != "provider/google" {
		t.Fatalf("page = %+v", page)
	}

	isErr(t, s.DeleteSetting(ctx, "login", 1), store.ErrVersionMismatch, "delete with a stale version")
	isErr(t, s.DeleteSetting(ctx, "nope", 1), store.ErrNotFound, "delete a missing key")
	ok(t, s.DeleteSetting(ctx, "login", 2), "delete setting")
	_, err = s.GetSetting(ctx, "login")
	isErr(t, err, store.ErrNotFound, "get deleted setting")
	// A deleted key starts again at version 1.
	re, err := s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{}`)}, 0)
	ok(t, err, "recreate setting")
	if re.Version != 1 {
		t.Fatalf("recreated version = %d, want 1", re.Version)
	}

	// Of concurrent writers naming the same version exactly one wins.
	results := race(20, func(i int) (string, error) {
		v, err := s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(fmt.Sprintf(`{"w":%d}`, i))}, 1)
		return string(v.Value), err
	})
	wins := 0
	var winner string
	for _, r := range results {
		switch {
		case r.err == nil:
			wins++
			winner = r.val
		case !errors.Is(r.err, store.ErrVersionMismatch):
			t.Fatalf("concurrent put: unexpected error %v", r.err)
		}
	}
	final, err := s.GetSetting(ctx, "login")
	ok(t, err, "get after race")
	if wins != 1 || final.Version != 2 || string(final.Value) != winner {
		t.Fatalf("concurrent puts at version 1: %d succeeded, stored %+v, winner %s", wins, final, winner)
	}
}
