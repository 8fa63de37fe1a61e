package storetest

import (
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testFindUsers: issue 18, "Pagination, filtering (users by
// email/name/group/role/external_user_id/disabled)". FindUsers returns exactly the users
// UserFilter.Match accepts, in ID order, keyset-paged; its indexes follow every update and
// deletion (a user is never found by a value it no longer has).
func testFindUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	// people: u1 Ada Lovelace (admins, staff; role dev), u2 Grace Hopper (staff; roles dev,
	// lead; disabled), u3 Alan Turing (no group, ext-3; username "ALT_%"), u4 Bob (staff).
	people := func(t *testing.T) store.Store {
		s, ctx := newStore(t), t.Context()
		u1 := user("u1", "ada@example.com", "ext-1")
		u1.Roles = []string{"dev"}
		u2 := user("u2", "grace@example.com", "")
		u2.FirstName, u2.MiddleName, u2.LastName = "Grace", "Brewster", "Hopper"
		u2.Groups, u2.Roles, u2.Disabled = []string{"staff"}, []string{"dev", "lead"}, true
		u3 := user("u3", "alan@example.com", "ext-3")
		u3.FirstName, u3.LastName, u3.Username, u3.Groups = "Alan", "Turing", "ALT_%", nil
		u4 := user("u4", "", "")
		u4.FirstName, u4.LastName, u4.Groups = "Bob", "", []string{"staff"}
		for _, u := range []store.User{u3, u1, u4, u2} {
			ok(t, s.CreateUser(ctx, u), "create "+u.ID)
		}
		return s
	}
	find := func(t *testing.T, s store.Store, f store.UserFilter, opts store.ListOptions) []string {
		t.Helper()
		us, err := s.FindUsers(t.Context(), f, opts)
		ok(t, err, fmt.Sprintf("find %+v", f))
		ids := []string{}
		for _, u := range us {
			if !f.Match(u) {
				t.Fatalf("find %+v returned %s, which does not match", f, u.ID)
			}
			ids = append(ids, u.ID)
		}
		return ids
	}
	// inOrder fails unless got is exactly want, in this order (FindUsers orders by ID).
	inOrder := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(append([]string{}, want...)) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	yes, no := true, false

	t.Run("each filter alone", func(t *testing.T) {
		s := people(t)
		for _, c := range []struct {
			f    store.UserFilter
			want []string
		}{
			{store.UserFilter{Email: "grace@example.com"}, []string{"u2"}},
			{store.UserFilter{Email: "nobody@example.com"}, nil},
			{store.UserFilter{ExternalUserID: "ext-3"}, []string{"u3"}},
			{store.UserFilter{ExternalUserID: "ext-9"}, nil},
			{store.UserFilter{Group: "staff"}, []string{"u1", "u2", "u4"}},
			{store.UserFilter{Group: "admins"}, []string{"u1"}},
			{store.UserFilter{Group: "staf"}, nil}, // a group is matched whole
			{store.UserFilter{Role: "dev"}, []string{"u1", "u2"}},
			{store.UserFilter{Role: "lead"}, []string{"u2"}},
			{store.UserFilter{Disabled: &yes}, []string{"u2"}},
			{store.UserFilter{Disabled: &no}, []string{"u1", "u3", "u4"}},
			// "part of the first, middle or last name or the username (case-insensitive)"
			{store.UserFilter{Name: "LOVE"}, []string{"u1"}},
			{store.UserFilter{Name: "brew"}, []string{"u2"}},
			{store.UserFilter{Name: "a"}, []string{"u1", "u2", "u3"}},
			{store.UserFilter{Name: "alt_%"}, []string{"u3"}},
			{store.UserFilter{Name: "%"}, []string{"u3"}}, // LIKE wildcards are plain characters
			{store.UserFilter{Name: "a_a"}, nil},
			{store.UserFilter{Name: "brewster hopper"}, []string{"u2"}}, // across name parts
			{store.UserFilter{Name: "zz"}, nil},
		} {
			if got := find(t, s, c.f, store.ListOptions{}); fmt.Sprint(got) != fmt.Sprint(append([]string{}, c.want...)) {
				t.Errorf("%+v: got %q, want %q", c.f, got, c.want)
			}
		}
	})

	t.Run("filters combine", func(t *testing.T) {
		s := people(t)
		for _, c := range []struct {
			f    store.UserFilter
			want []string
		}{
			{store.UserFilter{Group: "staff", Role: "dev"}, []string{"u1", "u2"}},
			{store.UserFilter{Group: "staff", Role: "dev", Disabled: &no}, []string{"u1"}},
			{store.UserFilter{Group: "staff", Disabled: &yes}, []string{"u2"}},
			{store.UserFilter{Group: "admins", Role: "lead"}, nil},
			{store.UserFilter{Group: "staff", Name: "bob"}, []string{"u4"}},
			{store.UserFilter{Role: "dev", Name: "grace"}, []string{"u2"}},
			{store.UserFilter{Disabled: &no, Name: "a"}, []string{"u1", "u3"}},
			{store.UserFilter{Email: "ada@example.com", Group: "admins"}, []string{"u1"}},
			{store.UserFilter{Email: "ada@example.com", Group: "nobody"}, nil},
			{store.UserFilter{Email: "ada@example.com", ExternalUserID: "ext-3"}, nil},
			{store.UserFilter{ExternalUserID: "ext-1", Disabled: &no, Name: "ada"}, []string{"u1"}},
		} {
			if got := find(t, s, c.f, store.ListOptions{}); fmt.Sprint(got) != fmt.Sprint(append([]string{}, c.want...)) {
				t.Errorf("%+v: got %q, want %q", c.f, got, c.want)
			}
		}
	})

	t.Run("an empty filter lists every user", func(t *testing.T) {
		s := people(t)
		inOrder(t, find(t, s, store.UserFilter{}, store.ListOptions{}), "u1", "u2", "u3", "u4")
	})

	t.Run("pages of a filter continue after the cursor, in ID order", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		var want, wantBoth []string
		for i := range 40 {
			u := user(fmt.Sprintf("p%02d", i), fmt.Sprintf("p%d@example.com", i), "")
			u.Groups = []string{"staff"}
			if i%3 == 0 {
				u.Groups = append(u.Groups, "ops")
				want = append(want, u.ID)
			}
			if i%2 == 0 {
				u.Roles = []string{"dev"}
				if i%3 == 0 {
					wantBoth = append(wantBoth, u.ID)
				}
			}
			if i%5 == 0 {
				u.FirstName = "Needle"
			}
			ok(t, s.CreateUser(ctx, u), "create")
		}
		for _, c := range []struct {
			f    store.UserFilter
			want []string
		}{
			{store.UserFilter{Group: "ops"}, want},
			{store.UserFilter{Group: "ops", Role: "dev"}, wantBoth},
			{store.UserFilter{Name: "needle"}, []string{"p00", "p05", "p10", "p15", "p20", "p25", "p30", "p35"}},
			{store.UserFilter{Name: "needle", Group: "ops"}, []string{"p00", "p15", "p30"}},
		} {
			var got []string
			after := ""
			for page := 0; ; page++ {
				if page > 20 {
					t.Fatalf("%+v: paging does not end", c.f)
				}
				ids := find(t, s, c.f, store.ListOptions{After: after, Limit: 3})
				if len(ids) > 3 {
					t.Fatalf("%+v: a page of %d for a limit of 3", c.f, len(ids))
				}
				got = append(got, ids...)
				if len(ids) < 3 {
					break
				}
				after = ids[len(ids)-1]
			}
			inOrder(t, got, c.want...)
		}
		// A cursor between two matches starts at the next one.
		inOrder(t, find(t, s, store.UserFilter{Group: "ops"}, store.ListOptions{After: "p04", Limit: 2}), "p06", "p09")
		inOrder(t, find(t, s, store.UserFilter{Email: "p3@example.com"}, store.ListOptions{After: "p03"}))
		inOrder(t, find(t, s, store.UserFilter{Email: "p3@example.com"}, store.ListOptions{After: "p02"}), "p03")
	})

	t.Run("updates and deletions move the indexes", func(t *testing.T) {
		s, ctx := people(t), t.Context()
		_, err := s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.Email = "lovelace@example.com"
			u.ExternalUserID = "ext-10"
			u.Groups = []string{"staff"} // admins removed
			u.Roles = append(u.Roles, "lead")
			u.Disabled = true
			u.LastName = "Byron"
			return u, nil
		})
		ok(t, err, "update u1")
		for _, c := range []struct {
			f    store.UserFilter
			want []string
		}{
			{store.UserFilter{Email: "ada@example.com"}, nil},
			{store.UserFilter{Email: "lovelace@example.com"}, []string{"u1"}},
			{store.UserFilter{ExternalUserID: "ext-1"}, nil},
			{store.UserFilter{ExternalUserID: "ext-10"}, []string{"u1"}},
			{store.UserFilter{Group: "admins"}, nil},
			{store.UserFilter{Group: "staff"}, []string{"u1", "u2", "u4"}},
			{store.UserFilter{Role: "lead"}, []string{"u1", "u2"}},
			{store.UserFilter{Disabled: &yes}, []string{"u1", "u2"}},
			{store.UserFilter{Disabled: &no}, []string{"u3", "u4"}},
			{store.UserFilter{Name: "lovelace"}, nil},
			{store.UserFilter{Name: "byron"}, []string{"u1"}},
		} {
			if got := find(t, s, c.f, store.ListOptions{}); fmt.Sprint(got) != fmt.Sprint(append([]string{}, c.want...)) {
				t.Errorf("after the update, %+v: got %q, want %q", c.f, got, c.want)
			}
		}

		// A failed update (the callback's error) changes no index.
		_, err = s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
			u.Groups = nil
			return u, errBoom
		})
		isErr(t, err, errBoom, "aborted update")
		inOrder(t, find(t, s, store.UserFilter{Group: "staff", Role: "dev"}, store.ListOptions{}), "u1", "u2")

		ok(t, s.DeleteUser(ctx, "u2"), "delete u2")
		for _, f := range []store.UserFilter{
			{Email: "grace@example.com"}, {Group: "staff", Name: "grace"}, {Role: "dev", Disabled: &yes, Name: "hopper"},
			{Name: "brewster"}, {Disabled: &yes, Role: "lead", Group: "staff"},
		} {
			for _, id := range find(t, s, f, store.ListOptions{}) {
				if id == "u2" {
					t.Errorf("the deleted user is found by %+v", f)
				}
			}
		}
		inOrder(t, find(t, s, store.UserFilter{Group: "staff"}, store.ListOptions{}), "u1", "u4")

		// A new user with the deleted user's values is found, and only it.
		g := user("u5", "grace@example.com", "")
		g.FirstName, g.LastName, g.Groups, g.Roles = "Grace", "Hopper", []string{"navy"}, []string{"dev"}
		ok(t, s.CreateUser(ctx, g), "create u5")
		inOrder(t, find(t, s, store.UserFilter{Name: "hopper"}, store.ListOptions{}), "u5")
		inOrder(t, find(t, s, store.UserFilter{Role: "dev", Disabled: &no}, store.ListOptions{}), "u5")
	})
}
