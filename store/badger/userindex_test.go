package badger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// A database written before the user indexes existed (no meta/ui, no ug/ur/ud/un keys)
// gets them at its first Open, once: FindUsers then finds its users, and a later Open
// does not rebuild (the brief of issue 18: "a rebuild of the index for existing data at
// open (versioned, once) so an upgraded store works").
func TestUserIndexesAreBuiltOnceForAnOldDatabase(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, u := range []store.User{
		{ID: "u1", Email: "a@example.com", FirstName: "Ada", Groups: []string{"ops"}, Roles: []string{"dev"}, CreatedAt: now},
		{ID: "u2", Email: "b@example.com", FirstName: "Bob", Groups: []string{"ops"}, Disabled: true, CreatedAt: now},
		{ID: "u3", Email: "c@example.com", FirstName: "Cy", CreatedAt: now},
	} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	// Make it an old database: drop the indexes and their version.
	for _, p := range []string{pUserGroup, pUserRole, pUserDisabled, pUserName, kUserIndex} {
		if err := s.dropPrefix([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got := findIDs(t, s, store.UserFilter{Group: "ops"}); got != "[]" {
		t.Fatalf("the check cannot fail: without indexes the group filter found %s", got)
	}
	s.Close()

	s, err = Open(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[*store.UserFilter]string{
		{Group: "ops"}:                      "[u1 u2]",
		{Role: "dev"}:                       "[u1]",
		{Disabled: new(false)}:              "[u1 u3]",
		{Name: "bo"}:                        "[u2]",
		{Group: "ops", Disabled: new(true)}: "[u2]",
	} {
		if got := findIDs(t, s, *f); got != want {
			t.Errorf("after the rebuild, %+v: got %s, want %s", *f, got, want)
		}
	}
	// A stray entry written now survives the next Open: the rebuild ran once.
	if err := s.update(ctx, func(txn *badger.Txn) error {
		return putRaw(txn, indexKey(pUserGroup, "ops", "u3"), nil, zeroTime)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := findIDs(t, s, store.UserFilter{Group: "ops"}); got != "[u1 u2]" {
		t.Errorf("the index was rebuilt or the stray entry was taken for a member: %s", got)
	}
	var stray bool
	_ = s.Keys(ctx, func(k, _ []byte) error {
		stray = stray || string(k) == string(indexKey(pUserGroup, "ops", "u3"))
		return nil
	})
	if !stray {
		t.Error("the second Open rebuilt the indexes")
	}
}

// A read-only Open of a database without the indexes (gatehouse store export of an old
// database) answers FindUsers by reading the users.
func TestFindUsersWithoutIndexesReadOnly(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u1", Groups: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{pUserGroup, kUserIndex} {
		if err := s.dropPrefix([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(Options{Path: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := findIDs(t, s, store.UserFilter{Group: "ops"}); got != "[u1]" {
		t.Errorf("got %s, want [u1]", got)
	}
}

func findIDs(t *testing.T, s *Store, f store.UserFilter) string {
	t.Helper()
	us, err := s.FindUsers(context.Background(), f, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return "[" + strings.Join(ids, " ") + "]"
}
