package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// user is an account with a name and groups; email and external ID are optional.
func user(id, email, ext string) store.User {
	return store.User{
		ID:             id,
		Email:          email,
		EmailVerified:  email != "",
		ExternalUserID: ext,
		FirstName:      "Ada",
		LastName:       "Lovelace",
		Groups:         []string{"admins", "staff"},
		CreatedAt:      base,
		UpdatedAt:      base,
	}
}

// testUsers: accounts are unique by ID, email, external ID and verified phone number;
// updates are atomic and keep the unique indexes true; deletion frees them.
func testUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("created user can be read back by id, email and external id", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := user("u1", "ada@example.com", "ext-1")
		u.MiddleName = "King"
		u.LastAuthAt = at(time.Minute)
		ok(t, s.CreateUser(ctx, u), "create")
		got, err := s.GetUser(ctx, "u1")
		ok(t, err, "get")
		same(t, got, u, "by id")
		got, err = s.GetUserByEmail(ctx, "ada@example.com")
		ok(t, err, "get by email")
		same(t, got, u, "by email")
		got, err = s.GetUserByExternalID(ctx, "ext-1")
		ok(t, err, "get by external id")
		same(t, got, u, "by external id")
	})

	t.Run("only verified phone numbers are indexed, uniquely", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		a := user("u1", "ada@example.com", "")
		a.PhoneNumber = "+14155550100"
		ok(t, s.CreateUser(ctx, a), "create with unverified phone")
		_, err := s.GetUserByPhone(ctx, "+14155550100")
		isErr(t, err, store.ErrNotFound, "unverified number looked up")
		b := user("u2", "bob@example.com", "")
		b.PhoneNumber, b.PhoneNumberVerified = "+14155550100", true
		ok(t, s.CreateUser(ctx, b), "create with the same number, verified (an unverified claim blocks nobody)")
		got, err := s.GetUserByPhone(ctx, "+14155550100")
		ok(t, err, "get by phone")
		same(t, got.ID, "u2", "owner of the verified number")
		_, err = s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.PhoneNumberVerified = true
			return u, nil
		})
		isErr(t, err, store.ErrAlreadyExists, "verify a number another user verified")
		_, err = s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
			u.PhoneNumber = "+14155550199"
			return u, nil
		})
		ok(t, err, "change the verified number")
		_, err = s.GetUserByPhone(ctx, "+14155550100")
		isErr(t, err, store.ErrNotFound, "old number after the change")
		got, err = s.GetUserByPhone(ctx, "+14155550199")
		ok(t, err, "new number")
		same(t, got.ID, "u2", "owner of the new number")
		_, err = s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
			u.PhoneNumberVerified = false
			return u, nil
		})
		ok(t, err, "unverify")
		_, err = s.GetUserByPhone(ctx, "+14155550199")
		isErr(t, err, store.ErrNotFound, "number no longer verified")
		c := user("u3", "cy@example.com", "")
		c.PhoneNumber, c.PhoneNumberVerified = "+14155550177", true
		ok(t, s.CreateUser(ctx, c), "create u3")
		ok(t, s.DeleteUser(ctx, "u3"), "delete u3")
		_, err = s.GetUserByPhone(ctx, "+14155550177")
		isErr(t, err, store.ErrNotFound, "number of a deleted user")
		_, err = s.GetUserByPhone(ctx, "")
		isErr(t, err, store.ErrNotFound, "empty number")
	})

	t.Run("unknown user is not found", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user without email")
		_, err := s.GetUser(ctx, "nobody")
		isErr(t, err, store.ErrNotFound, "get")
		_, err = s.GetUserByEmail(ctx, "nobody@example.com")
		isErr(t, err, store.ErrNotFound, "get by email")
		_, err = s.GetUserByEmail(ctx, "")
		isErr(t, err, store.ErrNotFound, "get by empty email")
		_, err = s.GetUserByExternalID(ctx, "nobody")
		isErr(t, err, store.ErrNotFound, "get by external id")
		_, err = s.GetUserByExternalID(ctx, "")
		isErr(t, err, store.ErrNotFound, "get by empty external id")
		called := false
		_, err = s.UpdateUser(ctx, "nobody", func(u store.User) (store.User, error) { called = true; return u, nil })
		isErr(t, err, store.ErrNotFound, "update")
		if called {
			t.Fatal("update callback called for a missing user")
		}
		isErr(t, s.DeleteUser(ctx, "nobody"), store.ErrNotFound, "delete")
	})

	t.Run("two accounts cannot share an id, an email or an external id", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		first := user("u1", "ada@example.com", "ext-1")
		ok(t, s.CreateUser(ctx, first), "create")
		isErr(t, s.CreateUser(ctx, user("u1", "other@example.com", "ext-2")), store.ErrAlreadyExists, "same id")
		isErr(t, s.CreateUser(ctx, user("u2", "ada@example.com", "ext-2")), store.ErrAlreadyExists, "same email")
		isErr(t, s.CreateUser(ctx, user("u3", "other@example.com", "ext-1")), store.ErrAlreadyExists, "same external id")
		// The refused users left nothing behind: their other fields are still free.
		for _, id := range []string{"u2", "u3"} {
			_, err := s.GetUser(ctx, id)
			isErr(t, err, store.ErrNotFound, "refused user "+id)
		}
		_, err := s.GetUserByEmail(ctx, "other@example.com")
		isErr(t, err, store.ErrNotFound, "email of a refused user")
		_, err = s.GetUserByExternalID(ctx, "ext-2")
		isErr(t, err, store.ErrNotFound, "external id of a refused user")
		ok(t, s.CreateUser(ctx, user("u4", "other@example.com", "ext-2")), "create with the refused fields")
		got, err := s.GetUser(ctx, "u1")
		ok(t, err, "get first")
		same(t, got, first, "first user unchanged")
	})

	t.Run("accounts without email or external id do not collide", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create first")
		ok(t, s.CreateUser(ctx, user("u2", "", "")), "create second")
	})

	t.Run("changing email to a taken one is refused and changes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ada, bob := user("u1", "ada@example.com", "ext-1"), user("u2", "bob@example.com", "ext-2")
		ok(t, s.CreateUser(ctx, ada), "create ada")
		ok(t, s.CreateUser(ctx, bob), "create bob")
		_, err := s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
			u.Email = "ada@example.com"
			u.FirstName = "Changed"
			return u, nil
		})
		isErr(t, err, store.ErrAlreadyExists, "take ada's email")
		_, err = s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
			u.ExternalUserID = "ext-1"
			return u, nil
		})
		isErr(t, err, store.ErrAlreadyExists, "take ada's external id")
		got, err := s.GetUser(ctx, "u2")
		ok(t, err, "get bob")
		same(t, got, bob, "bob unchanged")
		got, err = s.GetUserByEmail(ctx, "ada@example.com")
		ok(t, err, "get by ada's email")
		same(t, got, ada, "ada's email still ada's")
		got, err = s.GetUserByEmail(ctx, "bob@example.com")
		ok(t, err, "get by bob's email")
		same(t, got, bob, "bob's email still bob's")
	})

	t.Run("changing email and external id frees the old ones", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "ada@example.com", "ext-1")), "create")
		want := user("u1", "ada@new.example", "ext-9")
		want.UpdatedAt = at(time.Hour)
		got, err := s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.Email, u.ExternalUserID, u.UpdatedAt = "ada@new.example", "ext-9", at(time.Hour)
			return u, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned user")
		got, err = s.GetUserByEmail(ctx, "ada@new.example")
		ok(t, err, "get by new email")
		same(t, got, want, "by new email")
		got, err = s.GetUserByExternalID(ctx, "ext-9")
		ok(t, err, "get by new external id")
		same(t, got, want, "by new external id")
		_, err = s.GetUserByEmail(ctx, "ada@example.com")
		isErr(t, err, store.ErrNotFound, "old email")
		_, err = s.GetUserByExternalID(ctx, "ext-1")
		isErr(t, err, store.ErrNotFound, "old external id")
		ok(t, s.CreateUser(ctx, user("u2", "ada@example.com", "ext-1")), "reuse the old email and external id")

		// Clearing the email frees it too, and an unchanged email is no conflict with itself.
		_, err = s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.Email = ""
			return u, nil
		})
		ok(t, err, "clear email")
		_, err = s.GetUserByEmail(ctx, "ada@new.example")
		isErr(t, err, store.ErrNotFound, "cleared email")
		_, err = s.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
			u.FirstName = "Bob"
			return u, nil
		})
		ok(t, err, "update keeping email")
		got, err = s.GetUserByEmail(ctx, "ada@example.com")
		ok(t, err, "get by kept email")
		if got.ID != "u2" || got.FirstName != "Bob" {
			t.Fatalf("by kept email: got %+v", got)
		}
	})

	t.Run("failed update writes nothing and returns the callback's error", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := user("u1", "ada@example.com", "")
		ok(t, s.CreateUser(ctx, u), "create")
		_, err := s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.Email, u.Disabled = "changed@example.com", true
			return u, errBoom
		})
		isErr(t, err, errBoom, "update")
		got, err := s.GetUser(ctx, "u1")
		ok(t, err, "get")
		same(t, got, u, "user unchanged")
		_, err = s.GetUserByEmail(ctx, "changed@example.com")
		isErr(t, err, store.ErrNotFound, "email of the failed update")
	})

	t.Run("an update cannot change the user id", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := user("u1", "ada@example.com", "")
		ok(t, s.CreateUser(ctx, u), "create")
		_, err := s.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.ID = "u2"
			return u, nil
		})
		if err == nil {
			t.Fatal("update changing the id: no error")
		}
		_, err = s.GetUser(ctx, "u2")
		isErr(t, err, store.ErrNotFound, "get new id")
		got, err := s.GetUser(ctx, "u1")
		ok(t, err, "get")
		same(t, got, u, "user unchanged")
	})

	t.Run("deleted user is gone with its email, external id and password", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "ada@example.com", "ext-1")), "create")
		ok(t, s.SetPassword(ctx, store.PasswordCredential{UserID: "u1", Hash: "$argon2id$v=19$x", UpdatedAt: base}), "set password")
		ok(t, s.DeleteUser(ctx, "u1"), "delete")
		_, err := s.GetUser(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get")
		_, err = s.GetUserByEmail(ctx, "ada@example.com")
		isErr(t, err, store.ErrNotFound, "get by email")
		_, err = s.GetUserByExternalID(ctx, "ext-1")
		isErr(t, err, store.ErrNotFound, "get by external id")
		_, err = s.GetPassword(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "password")
		ok(t, s.CreateUser(ctx, user("u1", "ada@example.com", "ext-1")), "re-create")
		_, err = s.GetPassword(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "password of the re-created user")
	})

	t.Run("users are listed by id, page by page", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, id := range []string{"u3", "u1", "u5", "u2", "u4"} {
			ok(t, s.CreateUser(ctx, user(id, id+"@example.com", "")), "create "+id)
		}
		pages := []struct {
			opts store.ListOptions
			want []string
		}{
			{store.ListOptions{}, []string{"u1", "u2", "u3", "u4", "u5"}},
			{store.ListOptions{Limit: 2}, []string{"u1", "u2"}},
			{store.ListOptions{After: "u2", Limit: 2}, []string{"u3", "u4"}},
			{store.ListOptions{After: "u4", Limit: 2}, []string{"u5"}},
			{store.ListOptions{After: "u5"}, nil},
			{store.ListOptions{After: "u25"}, []string{"u3", "u4", "u5"}},
			{store.ListOptions{Limit: -1}, []string{"u1", "u2", "u3", "u4", "u5"}},
		}
		for _, p := range pages {
			got, err := s.ListUsers(ctx, p.opts)
			ok(t, err, fmt.Sprintf("list %+v", p.opts))
			var ids []string
			for _, u := range got {
				ids = append(ids, u.ID)
			}
			if !slices.Equal(ids, p.want) {
				t.Fatalf("list %+v: got %q, want %q", p.opts, ids, p.want)
			}
		}
		got, err := s.ListUsers(ctx, store.ListOptions{Limit: 1})
		ok(t, err, "list one")
		want := user("u1", "u1@example.com", "")
		same(t, got, []store.User{want}, "listed record")
	})
}

// testUserProfile: every profile field survives a round trip through the store.
func testUserProfile(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	u := store.User{ID: "p1", Email: "p@example.com", Username: "pat", PhoneNumber: "+15551234567",
		PhoneNumberVerified: true, SecondaryEmails: []store.SecondaryEmail{{Value: "p2@example.com", EmailVerified: true}},
		SecondaryPhoneNumbers: []store.SecondaryPhone{{Value: "+15557654321"}}, Birthday: "1990-01-02",
		Address: &store.Address{Locality: "Paris", Country: "FR"}, Picture: "https://img.example.com/p.png",
		Language: "fr-FR", Organization: "Acme", Roles: []string{"r1"}, RoleValues: []string{"Reader"},
		Permissions: []string{"read:docs"}, ExternalAccountID: "acct-9", CustomData: json.RawMessage(`{"a":1}`),
		CustomAppData: map[string]json.RawMessage{"web": json.RawMessage(`{"b":2}`)}}
	ok(t, s.CreateUser(ctx, u), "create user with profile")
	got, err := s.GetUser(ctx, "p1")
	ok(t, err, "get user")
	a, _ := json.Marshal(u)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("profile round trip:\nwant %s\ngot  %s", a, b)
	}
}
