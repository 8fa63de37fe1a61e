// Package storetest is the conformance suite every store.Store implementation must pass.
//
// An implementation's tests call RunTests and RunConcurrencyTests with a constructor that
// returns a new, empty store and registers its Close with t.Cleanup (the suite never closes
// the stores it is given).
//
// All times are fixed, far in the future and passed explicitly: an implementation may purge
// records by the wall clock once their expiry has passed, and the suite never sleeps.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// base is the "now" of the suite. It lies far in the future so that wall-clock TTLs never
// purge the records under test.
var base = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns base + d.
func at(d time.Duration) time.Time { return base.Add(d) }

// errBoom is returned by update callbacks that must abort the update.
var errBoom = errors.New("boom")

// RunTests runs the functional conformance tests.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("Passwords", func(t *testing.T) { testPasswords(t, newStore) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore) })
	t.Run("AuthCodes", func(t *testing.T) { testAuthCodes(t, newStore) })
	t.Run("RefreshTokens", func(t *testing.T) { testRefreshTokens(t, newStore) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, newStore) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, newStore) })
	t.Run("Clients", func(t *testing.T) { testClients(t, newStore) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, newStore) })
	t.Run("OneTimeCodes", func(t *testing.T) { testOneTimeCodes(t, newStore) })
	t.Run("Groups", func(t *testing.T) { testGroups(t, newStore) })
	t.Run("UserProfile", func(t *testing.T) { testUserProfile(t, newStore) })
	t.Run("Passkeys", func(t *testing.T) { testPasskeys(t, newStore) })
	t.Run("Identities", func(t *testing.T) { testIdentities(t, newStore) })
}

// testIdentities: an upstream identity links to one user only (no account takeover by a
// second link); links are listed per user, touched at login, deleted with their user, and
// subjects with unusual characters cannot collide.
func testIdentities(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"ia", "ib"} {
		ok(t, s.CreateUser(ctx, store.User{ID: id}), "create user "+id)
	}
	g := store.Identity{Provider: "google", Subject: "1234", UserID: "ia", Email: "a@example.com", CreatedAt: at(0)}
	ok(t, s.CreateIdentity(ctx, g), "link")
	isErr(t, s.CreateIdentity(ctx, store.Identity{Provider: "google", Subject: "1234", UserID: "ib"}), store.ErrAlreadyExists, "same identity for another user")
	isErr(t, s.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "1", UserID: "nobody"}), store.ErrNotFound, "link to a missing user")
	ok(t, s.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "a/b", UserID: "ia", CreatedAt: at(0)}), "subject with a slash")
	ok(t, s.CreateIdentity(ctx, store.Identity{Provider: "github", Subject: "a", UserID: "ib", CreatedAt: at(0)}), "prefix of another subject")
	got, err := s.GetIdentity(ctx, "google", "1234")
	ok(t, err, "get")
	same(t, got, g, "identity")
	_, err = s.GetIdentity(ctx, "google", "123")
	isErr(t, err, store.ErrNotFound, "prefix of a subject")
	list, err := s.ListUserIdentities(ctx, "ia")
	ok(t, err, "list")
	if len(list) != 2 {
		t.Fatalf("user ia has %d identities, want 2: %+v", len(list), list)
	}
	ok(t, s.TouchIdentity(ctx, "google", "1234", "new@example.com", at(time.Hour)), "touch")
	got, err = s.GetIdentity(ctx, "google", "1234")
	ok(t, err, "get after touch")
	same(t, got.LastUsedAt, at(time.Hour), "last used")
	same(t, got.Email, "new@example.com", "email")
	isErr(t, s.TouchIdentity(ctx, "google", "nope", "", at(0)), store.ErrNotFound, "touch a missing identity")
	ok(t, s.DeleteIdentity(ctx, "google", "1234"), "unlink")
	ok(t, s.DeleteIdentity(ctx, "google", "1234"), "unlink twice")
	_, err = s.GetIdentity(ctx, "google", "1234")
	isErr(t, err, store.ErrNotFound, "after unlink")
	ok(t, s.CreateIdentity(ctx, store.Identity{Provider: "google", Subject: "1234", UserID: "ib"}), "relink to another user after unlink")
	ok(t, s.DeleteUser(ctx, "ia"), "delete user")
	_, err = s.GetIdentity(ctx, "github", "a/b")
	isErr(t, err, store.ErrNotFound, "identity of a deleted user")
	list, err = s.ListUserIdentities(ctx, "ib")
	ok(t, err, "list ib")
	if len(list) != 2 {
		t.Fatalf("user ib has %d identities, want 2 (github/a, google/1234): %+v", len(list), list)
	}
}

// testPasskeys: a credential ID belongs to one user only (CR-26); passkeys are listed per
// user, updated atomically, and deleted with their user.
func testPasskeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"pa", "pb"} {
		ok(t, s.CreateUser(ctx, store.User{ID: id}), "create user "+id)
	}
	pk := store.Passkey{ID: "cred1", UserID: "pa", Credential: json.RawMessage(`{"publicKey":"AQ"}`), Name: "Laptop"}
	ok(t, s.CreatePasskey(ctx, pk), "create passkey")
	isErr(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred1", UserID: "pb"}), store.ErrAlreadyExists, "same credential ID for another user")
	ok(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred2", UserID: "pa", Name: "Phone"}), "second passkey")
	ok(t, s.CreatePasskey(ctx, store.Passkey{ID: "cred3", UserID: "pb", Name: "Key"}), "other user's passkey")
	list, err := s.ListUserPasskeys(ctx, "pa")
	ok(t, err, "list")
	if len(list) != 2 || list[0].ID != "cred1" || list[1].ID != "cred2" {
		t.Fatalf("passkeys of pa = %+v", list)
	}
	up, err := s.UpdatePasskey(ctx, "cred1", func(p store.Passkey) (store.Passkey, error) {
		p.Name, p.UseCount = "Work laptop", p.UseCount+1
		return p, nil
	})
	ok(t, err, "update")
	if up.Name != "Work laptop" || up.UseCount != 1 || string(up.Credential) != `{"publicKey":"AQ"}` {
		t.Fatalf("updated = %+v", up)
	}
	_, err = s.UpdatePasskey(ctx, "cred1", func(p store.Passkey) (store.Passkey, error) {
		p.UserID = "pb"
		return p, nil
	})
	if err == nil {
		t.Fatal("moved a passkey to another user")
	}
	ok(t, s.DeletePasskey(ctx, "cred2"), "delete")
	ok(t, s.DeletePasskey(ctx, "cred2"), "delete missing")
	_, err = s.GetPasskey(ctx, "cred2")
	isErr(t, err, store.ErrNotFound, "get deleted")
	ok(t, s.DeleteUser(ctx, "pa"), "delete user")
	_, err = s.GetPasskey(ctx, "cred1")
	isErr(t, err, store.ErrNotFound, "passkey of a deleted user")
	if list, _ := s.ListUserPasskeys(ctx, "pb"); len(list) != 1 {
		t.Fatalf("other user's passkeys = %+v", list)
	}
}

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

// --- assertion helpers ---

// ok fails the test now if err is not nil.
func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// isErr fails the test now unless errors.Is(err, want).
func isErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// same fails the test now unless got and want are equal records (times compared as
// instants).
func same[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// normalize returns v with its top-level time fields in UTC, and slices of records
// normalized element by element.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice:
		if rv.IsNil() {
			return v
		}
		out := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		for i := range rv.Len() {
			out.Index(i).Set(reflect.ValueOf(normalize(rv.Index(i).Interface())))
		}
		return out.Interface()
	case reflect.Struct:
		cp := reflect.New(rv.Type()).Elem()
		cp.Set(rv)
		for i := range cp.NumField() {
			if f := cp.Field(i); f.CanSet() && f.Type() == reflect.TypeFor[time.Time]() {
				f.Set(reflect.ValueOf(f.Interface().(time.Time).UTC()))
			}
		}
		return cp.Interface()
	}
	return v
}

// sameIDs fails the test now unless got and want hold the same IDs, in any order.
func sameIDs(t *testing.T, got, want []string, what string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got IDs %q, want %q", what, got, want)
	}
}

// --- fixtures ---

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

func session(id, userID string) store.Session {
	return store.Session{
		ID:                id,
		UserID:            userID,
		AuthTime:          base,
		AMR:               []string{"pwd"},
		ACR:               "urn:gatehouse:acr:1",
		CreatedAt:         base,
		LastSeenAt:        base,
		IdleExpiresAt:     at(time.Hour),
		AbsoluteExpiresAt: at(24 * time.Hour),
		UserAgent:         "Mozilla/5.0",
		IP:                "192.0.2.1",
	}
}

func authCode(id string) store.AuthCode {
	return store.AuthCode{
		ID:                  id,
		ClientID:            "app",
		RedirectURI:         "https://app.example/callback",
		UserID:              "u1",
		SessionID:           "s1",
		Scopes:              []string{"openid", "email"},
		Audience:            []string{"app"},
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		AuthTime:            base,
		AMR:                 []string{"pwd"},
		CreatedAt:           base,
		ExpiresAt:           at(time.Minute),
		PurgeAfter:          at(time.Hour),
	}
}

func refreshToken(id, familyID, userID, sessionID string) store.RefreshToken {
	return store.RefreshToken{
		ID:              id,
		FamilyID:        familyID,
		ClientID:        "app",
		UserID:          userID,
		SessionID:       sessionID,
		Scopes:          []string{"openid", "offline_access"},
		Audience:        []string{"app"},
		AuthTime:        base,
		AMR:             []string{"pwd"},
		CreatedAt:       base,
		ExpiresAt:       at(24 * time.Hour),
		FamilyExpiresAt: at(30 * 24 * time.Hour),
	}
}

func signingKey(id string, created time.Time) store.SigningKey {
	return store.SigningKey{ID: id, Alg: "ES256", PrivateKey: []byte("pkcs8-" + id), CreatedAt: created}
}

func client(id string) store.Client {
	return store.Client{
		ID:           id,
		Name:         "App " + id,
		SecretHash:   strings.Repeat("ab", 32),
		RedirectURIs: []string{"https://" + id + ".example/callback"},
		Scopes:       []string{"openid"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RequirePKCE:  true,
		CreatedAt:    base,
	}
}

func oneTimeCode(id, purpose string) store.OneTimeCode {
	return store.OneTimeCode{
		ID:        id,
		Purpose:   purpose,
		Subject:   "ada@example.com",
		Data:      map[string]string{"role": "admin"},
		CreatedAt: base,
		ExpiresAt: at(48 * time.Hour),
	}
}

// --- users ---

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

// --- passwords ---

func testPasswords(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("password can be set, replaced and read back", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		c := store.PasswordCredential{UserID: "u1", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", UpdatedAt: base}
		ok(t, s.SetPassword(ctx, c), "set")
		got, err := s.GetPassword(ctx, "u1")
		ok(t, err, "get")
		same(t, got, c, "password")
		c2 := store.PasswordCredential{UserID: "u1", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdDI$aGFzaDI", UpdatedAt: at(time.Hour)}
		ok(t, s.SetPassword(ctx, c2), "replace")
		got, err = s.GetPassword(ctx, "u1")
		ok(t, err, "get replaced")
		same(t, got, c2, "replaced password")
	})

	t.Run("password of a missing user is refused", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		err := s.SetPassword(ctx, store.PasswordCredential{UserID: "nobody", Hash: "x", UpdatedAt: base})
		isErr(t, err, store.ErrNotFound, "set")
		_, err = s.GetPassword(ctx, "nobody")
		isErr(t, err, store.ErrNotFound, "get")
	})

	t.Run("deleted password is gone and deleting again is harmless", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u1", "", "")), "create user")
		_, err := s.GetPassword(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get before set")
		ok(t, s.SetPassword(ctx, store.PasswordCredential{UserID: "u1", Hash: "x", UpdatedAt: base}), "set")
		ok(t, s.DeletePassword(ctx, "u1"), "delete")
		_, err = s.GetPassword(ctx, "u1")
		isErr(t, err, store.ErrNotFound, "get after delete")
		ok(t, s.DeletePassword(ctx, "u1"), "delete again")
		ok(t, s.DeletePassword(ctx, "nobody"), "delete for a missing user")
		_, err = s.GetUser(ctx, "u1")
		ok(t, err, "user survives")
	})
}

// --- sessions ---

func testSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("created session can be read back and its id is unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		se := session("s1", "u1")
		ok(t, s.CreateSession(ctx, se), "create")
		got, err := s.GetSession(ctx, "s1")
		ok(t, err, "get")
		same(t, got, se, "session")
		isErr(t, s.CreateSession(ctx, session("s1", "u2")), store.ErrAlreadyExists, "same id")
		got, err = s.GetSession(ctx, "s1")
		ok(t, err, "get after refused create")
		same(t, got, se, "session unchanged")
		_, err = s.GetSession(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "unknown session")
	})

	t.Run("session activity is stored and a failed update writes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateSession(ctx, session("s1", "u1")), "create")
		want := session("s1", "u1")
		want.LastSeenAt, want.IdleExpiresAt, want.AMR = at(30*time.Minute), at(90*time.Minute), []string{"pwd", "webauthn"}
		got, err := s.UpdateSession(ctx, "s1", func(se store.Session) (store.Session, error) {
			se.LastSeenAt, se.IdleExpiresAt, se.AMR = at(30*time.Minute), at(90*time.Minute), append(se.AMR, "webauthn")
			return se, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned session")
		got, err = s.GetSession(ctx, "s1")
		ok(t, err, "get")
		same(t, got, want, "stored session")
		_, err = s.UpdateSession(ctx, "s1", func(se store.Session) (store.Session, error) {
			se.ACR = "changed"
			return se, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		got, err = s.GetSession(ctx, "s1")
		ok(t, err, "get after failed update")
		same(t, got, want, "session unchanged")
		_, err = s.UpdateSession(ctx, "nope", func(se store.Session) (store.Session, error) { return se, nil })
		isErr(t, err, store.ErrNotFound, "update unknown")
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list")
		same(t, listed, []store.Session{want}, "listed after update")
	})

	t.Run("logged-out session is gone and logging out twice is harmless", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateSession(ctx, session("s1", "u1")), "create")
		ok(t, s.DeleteSession(ctx, "s1"), "delete")
		_, err := s.GetSession(ctx, "s1")
		isErr(t, err, store.ErrNotFound, "get")
		ok(t, s.DeleteSession(ctx, "s1"), "delete again")
		ok(t, s.DeleteSession(ctx, "never"), "delete unknown")
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list")
		if len(listed) != 0 {
			t.Fatalf("deleted session still listed: %+v", listed)
		}
	})

	t.Run("account page lists exactly the user's sessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		// "u1" and "u1/x" must not see each other's sessions, whatever the key layout.
		for _, se := range []store.Session{session("s2", "u1"), session("s1", "u1"), session("s3", "u1/x"), session("s4", "u2")} {
			ok(t, s.CreateSession(ctx, se), "create "+se.ID)
		}
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list u1")
		var ids []string
		for _, se := range listed {
			ids = append(ids, se.ID)
		}
		sameIDs(t, ids, []string{"s1", "s2"}, "sessions of u1")
		for _, se := range listed {
			same(t, se, session(se.ID, "u1"), "listed session")
		}
		listed, err = s.ListUserSessions(ctx, "nobody")
		ok(t, err, "list nobody")
		if len(listed) != 0 {
			t.Fatalf("sessions of a user without any: %+v", listed)
		}
	})

	t.Run("logging out everywhere deletes all of the user's sessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, se := range []store.Session{session("s1", "u1"), session("s2", "u1"), session("s3", "u1/x"), session("s4", "u2")} {
			ok(t, s.CreateSession(ctx, se), "create "+se.ID)
		}
		ids, err := s.DeleteUserSessions(ctx, "u1")
		ok(t, err, "delete u1's sessions")
		sameIDs(t, ids, []string{"s1", "s2"}, "deleted IDs")
		for _, id := range []string{"s1", "s2"} {
			_, err := s.GetSession(ctx, id)
			isErr(t, err, store.ErrNotFound, "deleted "+id)
		}
		for _, id := range []string{"s3", "s4"} {
			_, err := s.GetSession(ctx, id)
			ok(t, err, "other user's "+id)
		}
		listed, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list")
		if len(listed) != 0 {
			t.Fatalf("sessions left: %+v", listed)
		}
		ids, err = s.DeleteUserSessions(ctx, "u1")
		ok(t, err, "delete again")
		if len(ids) != 0 {
			t.Fatalf("second delete returned %q", ids)
		}
	})

	t.Run("moving a session to another user moves it between their lists", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateSession(ctx, session("s1", "u1")), "create")
		_, err := s.UpdateSession(ctx, "s1", func(se store.Session) (store.Session, error) {
			se.UserID = "u2"
			return se, nil
		})
		ok(t, err, "update user")
		l1, err := s.ListUserSessions(ctx, "u1")
		ok(t, err, "list u1")
		l2, err := s.ListUserSessions(ctx, "u2")
		ok(t, err, "list u2")
		if len(l1) != 0 || len(l2) != 1 || l2[0].UserID != "u2" {
			t.Fatalf("after move: u1 %+v, u2 %+v", l1, l2)
		}
	})
}

// --- authorization codes ---

func testAuthCodes(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("code can be redeemed only once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := authCode("c1")
		ok(t, s.CreateAuthCode(ctx, c), "create")
		want := c
		want.RedeemedAt, want.GrantID = at(10*time.Second), "g1"
		got, err := s.RedeemAuthCode(ctx, "c1", "g1", at(10*time.Second))
		ok(t, err, "first redeem")
		same(t, got, want, "first redeem")
		for i, grant := range []string{"g2", "g1"} {
			got, err = s.RedeemAuthCode(ctx, "c1", grant, at(20*time.Second))
			isErr(t, err, store.ErrAlreadyUsed, fmt.Sprintf("replay %d", i+1))
			same(t, got, want, "replay returns the first redemption")
		}
	})

	t.Run("a code redeemed after its expiry is still recognised as a replay", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateAuthCode(ctx, authCode("c1")), "create")
		_, err := s.RedeemAuthCode(ctx, "c1", "g1", at(10*time.Second))
		ok(t, err, "redeem")
		got, err := s.RedeemAuthCode(ctx, "c1", "g2", at(30*time.Minute)) // past ExpiresAt, before PurgeAfter
		isErr(t, err, store.ErrAlreadyUsed, "late replay")
		if got.GrantID != "g1" {
			t.Fatalf("late replay: grant %q, want g1", got.GrantID)
		}
	})

	t.Run("unknown code is refused and code ids are unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		_, err := s.RedeemAuthCode(ctx, "nope", "g1", base)
		isErr(t, err, store.ErrNotFound, "redeem unknown")
		ok(t, s.CreateAuthCode(ctx, authCode("c1")), "create")
		isErr(t, s.CreateAuthCode(ctx, authCode("c1")), store.ErrAlreadyExists, "create again")
		_, err = s.RedeemAuthCode(ctx, "c1", "g1", base)
		ok(t, err, "redeem after refused duplicate")
		isErr(t, s.CreateAuthCode(ctx, authCode("c1")), store.ErrAlreadyExists, "re-create a redeemed code")
		_, err = s.RedeemAuthCode(ctx, "c1", "g2", base)
		isErr(t, err, store.ErrAlreadyUsed, "redeemed code stays redeemed")
	})
}

// --- refresh tokens ---

func testRefreshTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("refresh token can be read back and its id is unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		rt := refreshToken("t1", "f1", "u1", "s1")
		rt.Nonce, rt.ACR = "nonce", "acr"
		ok(t, s.CreateRefreshToken(ctx, rt), "create")
		got, err := s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get")
		same(t, got, rt, "token")
		isErr(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f2", "u1", "s1")), store.ErrAlreadyExists, "same id")
		_, err = s.GetRefreshToken(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "unknown token")
		// The refused token did not start family f2.
		isErr(t, s.RevokeFamily(ctx, "f2"), store.ErrNotFound, "family of the refused token")
	})

	t.Run("rotation marks the old token used and stores its successor", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		t1 := refreshToken("t1", "f1", "u1", "s1")
		ok(t, s.CreateRefreshToken(ctx, t1), "create")
		t2 := refreshToken("t2", "f1", "u1", "s1")
		t2.CreatedAt, t2.ExpiresAt = at(time.Hour), at(25*time.Hour)
		got, err := s.RotateRefreshToken(ctx, "t1", t2, at(time.Hour))
		ok(t, err, "rotate")
		same(t, got, t1, "rotate returns the old token as it was")
		got, err = s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get old")
		rotated := t1
		rotated.RotatedAt = at(time.Hour)
		same(t, got, rotated, "old token")
		got, err = s.GetRefreshToken(ctx, "t2")
		ok(t, err, "get successor")
		same(t, got, t2, "successor")
		t3 := refreshToken("t3", "f1", "u1", "s1")
		_, err = s.RotateRefreshToken(ctx, "t2", t3, at(2*time.Hour))
		ok(t, err, "rotate the successor")
	})

	t.Run("a rotated token cannot be used again", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create")
		_, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		ok(t, err, "first rotation")
		got, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t3", "f1", "u1", "s1"), at(2*time.Hour))
		isErr(t, err, store.ErrAlreadyUsed, "second rotation")
		if got.ID != "t1" || !got.RotatedAt.Equal(at(time.Hour)) {
			t.Fatalf("second rotation returned %+v, want t1 rotated at the first rotation", got)
		}
		_, err = s.GetRefreshToken(ctx, "t3")
		isErr(t, err, store.ErrNotFound, "successor of the refused rotation")
		_, err = s.RotateRefreshToken(ctx, "nope", refreshToken("t4", "f1", "u1", "s1"), base)
		isErr(t, err, store.ErrNotFound, "rotate unknown")
	})

	t.Run("a rotation onto a taken id stores nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create t1")
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t2", "f2", "u1", "s1")), "create t2")
		_, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		isErr(t, err, store.ErrAlreadyExists, "rotate onto t2")
		got, err := s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get t1")
		if !got.RotatedAt.IsZero() {
			t.Fatal("t1 marked rotated by a refused rotation")
		}
		got, err = s.GetRefreshToken(ctx, "t2")
		ok(t, err, "get t2")
		if got.FamilyID != "f2" {
			t.Fatalf("t2 overwritten: %+v", got)
		}
	})

	t.Run("revoking a family revokes every token in it", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create")
		_, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		ok(t, err, "rotate")
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t9", "f9", "u1", "s1")), "create other family")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke again")
		for _, id := range []string{"t1", "t2"} {
			got, err := s.GetRefreshToken(ctx, id)
			ok(t, err, "get "+id)
			if !got.Revoked {
				t.Fatalf("%s not revoked", id)
			}
		}
		got, err := s.GetRefreshToken(ctx, "t9")
		ok(t, err, "get t9")
		if got.Revoked {
			t.Fatal("token of another family revoked")
		}
		isErr(t, s.RevokeFamily(ctx, "nope"), store.ErrNotFound, "revoke unknown family")
	})

	t.Run("a token of a revoked family cannot be rotated", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		t1 := refreshToken("t1", "f1", "u1", "s1")
		ok(t, s.CreateRefreshToken(ctx, t1), "create")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke")
		got, err := s.RotateRefreshToken(ctx, "t1", refreshToken("t2", "f1", "u1", "s1"), at(time.Hour))
		isErr(t, err, store.ErrRevoked, "rotate")
		want := t1
		want.Revoked = true
		same(t, got, want, "rotate returns the old token")
		_, err = s.GetRefreshToken(ctx, "t2")
		isErr(t, err, store.ErrNotFound, "successor")
		got, err = s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get t1")
		if !got.RotatedAt.IsZero() {
			t.Fatal("refused rotation marked t1 rotated")
		}
	})

	t.Run("no new token can join a revoked family", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t1", "f1", "u1", "s1")), "create")
		ok(t, s.CreateRefreshToken(ctx, refreshToken("t2", "f1", "u1", "s1")), "join the live family")
		ok(t, s.RevokeFamily(ctx, "f1"), "revoke")
		isErr(t, s.CreateRefreshToken(ctx, refreshToken("t3", "f1", "u1", "s1")), store.ErrRevoked, "join the revoked family")
		_, err := s.GetRefreshToken(ctx, "t3")
		isErr(t, err, store.ErrNotFound, "refused token")
	})

	t.Run("logout revokes the families started in the session", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, rt := range []store.RefreshToken{
			refreshToken("t1", "f1", "u1", "s1"),
			refreshToken("t2", "f2", "u1", "s1"),
			refreshToken("t3", "f3", "u1", "s1/x"),
			refreshToken("t4", "f4", "u1", ""),
			refreshToken("t5", "f5", "u2", "s2"),
		} {
			ok(t, s.CreateRefreshToken(ctx, rt), "create "+rt.ID)
		}
		ids, err := s.RevokeSessionFamilies(ctx, "s1")
		ok(t, err, "revoke session families")
		sameIDs(t, ids, []string{"f1", "f2"}, "revoked families")
		for id, want := range map[string]bool{"t1": true, "t2": true, "t3": false, "t4": false, "t5": false} {
			got, err := s.GetRefreshToken(ctx, id)
			ok(t, err, "get "+id)
			if got.Revoked != want {
				t.Fatalf("%s: revoked %v, want %v", id, got.Revoked, want)
			}
		}
		ids, err = s.RevokeSessionFamilies(ctx, "no-such-session")
		ok(t, err, "revoke families of an unknown session")
		if len(ids) != 0 {
			t.Fatalf("unknown session: got %q", ids)
		}
	})

	t.Run("disabling a user revokes all of the user's families", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, rt := range []store.RefreshToken{
			refreshToken("t1", "f1", "u1", "s1"),
			refreshToken("t2", "f2", "u1", ""),
			refreshToken("t3", "f3", "u1/x", "s3"),
			refreshToken("t4", "f4", "u2", "s2"),
		} {
			ok(t, s.CreateRefreshToken(ctx, rt), "create "+rt.ID)
		}
		ids, err := s.RevokeUserFamilies(ctx, "u1")
		ok(t, err, "revoke user families")
		sameIDs(t, ids, []string{"f1", "f2"}, "revoked families")
		for id, want := range map[string]bool{"t1": true, "t2": true, "t3": false, "t4": false} {
			got, err := s.GetRefreshToken(ctx, id)
			ok(t, err, "get "+id)
			if got.Revoked != want {
				t.Fatalf("%s: revoked %v, want %v", id, got.Revoked, want)
			}
		}
		_, err = s.RotateRefreshToken(ctx, "t1", refreshToken("t9", "f1", "u1", "s1"), at(time.Hour))
		isErr(t, err, store.ErrRevoked, "rotate after user revocation")
		ids, err = s.RevokeUserFamilies(ctx, "nobody")
		ok(t, err, "revoke families of an unknown user")
		if len(ids) != 0 {
			t.Fatalf("unknown user: got %q", ids)
		}
	})
}

// --- revocations ---

func testRevocations(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("revocation list holds the entries since a time that still matter", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		entries := []store.Revocation{
			{Kind: store.RevokeSession, Subject: "s-old", At: at(-2 * time.Hour), ExpiresAt: at(2 * time.Hour)},
			{Kind: store.RevokeSession, Subject: "s-since", At: at(-time.Hour), ExpiresAt: at(2 * time.Hour)},
			{Kind: store.RevokeGrant, Subject: "f1", At: at(-30 * time.Minute), ExpiresAt: at(time.Hour)},
			{Kind: store.RevokeUser, Subject: "u1", At: at(-10 * time.Minute), ExpiresAt: base},                       // ends at now
			{Kind: store.RevokeUser, Subject: "u2", At: at(-10 * time.Minute), ExpiresAt: at(-time.Minute)},           // ended
			{Kind: store.RevokeUser, Subject: "s-since", At: at(-5 * time.Minute), ExpiresAt: at(10 * time.Minute)},   // same subject, other kind
			{Kind: store.RevokeGrant, Subject: "f2/x", At: at(-5 * time.Minute), ExpiresAt: at(10*time.Minute + 1e6)}, // sub-second expiry
		}
		for _, r := range entries {
			ok(t, s.AddRevocation(ctx, r), "add "+r.Kind+" "+r.Subject)
		}
		got, err := s.ListRevocations(ctx, at(-time.Hour), base)
		ok(t, err, "list")
		want := []store.Revocation{entries[1], entries[2], entries[5], entries[6]}
		sortRevocations(got)
		sortRevocations(want)
		same(t, got, want, "listed entries")

		got, err = s.ListRevocations(ctx, time.Time{}, at(-3*time.Hour))
		ok(t, err, "list everything")
		if len(got) != len(entries) {
			t.Fatalf("list everything: got %d entries, want %d", len(got), len(entries))
		}
		got, err = s.ListRevocations(ctx, base, base)
		ok(t, err, "list since now")
		if len(got) != 0 {
			t.Fatalf("list since now: %+v", got)
		}
	})

	t.Run("adding a revocation again keeps the later times", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		r := store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: base, ExpiresAt: at(time.Hour)}
		ok(t, s.AddRevocation(ctx, r), "add")
		ok(t, s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: at(-time.Hour), ExpiresAt: at(30 * time.Minute)}), "add earlier")
		got, err := s.ListRevocations(ctx, time.Time{}, base)
		ok(t, err, "list")
		same(t, got, []store.Revocation{r}, "after adding an earlier entry")

		later := store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: at(10 * time.Minute), ExpiresAt: at(2 * time.Hour)}
		ok(t, s.AddRevocation(ctx, later), "add later")
		got, err = s.ListRevocations(ctx, time.Time{}, base)
		ok(t, err, "list")
		same(t, got, []store.Revocation{later}, "after adding a later entry")
		got, err = s.ListRevocations(ctx, at(5*time.Minute), at(90*time.Minute))
		ok(t, err, "list since the first At, after the first expiry")
		same(t, got, []store.Revocation{later}, "later entry")
	})
}

func sortRevocations(rs []store.Revocation) {
	slices.SortFunc(rs, func(a, b store.Revocation) int {
		return strings.Compare(a.Kind+"\x00"+a.Subject, b.Kind+"\x00"+b.Subject)
	})
}

// --- signing keys ---

func testKeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("keys are listed oldest first, then by id", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		keys := []store.SigningKey{
			signingKey("k-b", at(time.Hour)),
			signingKey("k-c", base),
			signingKey("k-a", at(time.Hour)),
			signingKey("k-z", at(-time.Hour)),
		}
		keys[3].RetiredAt = base
		for _, k := range keys {
			ok(t, s.CreateKey(ctx, k), "create "+k.ID)
		}
		got, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, got, []store.SigningKey{keys[3], keys[1], keys[2], keys[0]}, "keys")
	})

	t.Run("key ids are unique", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		k := signingKey("k1", base)
		ok(t, s.CreateKey(ctx, k), "create")
		isErr(t, s.CreateKey(ctx, signingKey("k1", at(time.Hour))), store.ErrAlreadyExists, "create again")
		got, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, got, []store.SigningKey{k}, "keys")
	})

	t.Run("retiring a key is stored and a failed update writes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		k := signingKey("k1", base)
		ok(t, s.CreateKey(ctx, k), "create")
		retired := k
		retired.RetiredAt = at(time.Hour)
		got, err := s.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) {
			k.RetiredAt = at(time.Hour)
			return k, nil
		})
		ok(t, err, "retire")
		same(t, got, retired, "returned key")
		_, err = s.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) {
			k.Alg = "RS256"
			return k, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		list, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, list, []store.SigningKey{retired}, "stored key")
		_, err = s.UpdateKey(ctx, "nope", func(k store.SigningKey) (store.SigningKey, error) { return k, nil })
		isErr(t, err, store.ErrNotFound, "update unknown")
	})

	t.Run("deleted key is no longer published", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateKey(ctx, signingKey("k1", base)), "create k1")
		ok(t, s.CreateKey(ctx, signingKey("k2", base)), "create k2")
		ok(t, s.DeleteKey(ctx, "k1"), "delete")
		ok(t, s.DeleteKey(ctx, "k1"), "delete again")
		ok(t, s.DeleteKey(ctx, "nope"), "delete unknown")
		got, err := s.ListKeys(ctx)
		ok(t, err, "list")
		same(t, got, []store.SigningKey{signingKey("k2", base)}, "keys")
	})
}

// --- clients ---

func testClients(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("registered client can be read, changed and removed", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := client("app")
		c.PostLogoutRedirectURIs = []string{"https://app.example/bye"}
		ok(t, s.CreateClient(ctx, c), "create")
		isErr(t, s.CreateClient(ctx, client("app")), store.ErrAlreadyExists, "create again")
		got, err := s.GetClient(ctx, "app")
		ok(t, err, "get")
		same(t, got, c, "client")

		want := c
		want.Name, want.RedirectURIs = "Renamed", []string{"https://app.example/cb2"}
		got, err = s.UpdateClient(ctx, "app", func(c store.Client) (store.Client, error) {
			c.Name, c.RedirectURIs = "Renamed", []string{"https://app.example/cb2"}
			return c, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned client")
		_, err = s.UpdateClient(ctx, "app", func(c store.Client) (store.Client, error) {
			c.SecretHash = ""
			return c, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		got, err = s.GetClient(ctx, "app")
		ok(t, err, "get after update")
		same(t, got, want, "stored client")

		ok(t, s.DeleteClient(ctx, "app"), "delete")
		_, err = s.GetClient(ctx, "app")
		isErr(t, err, store.ErrNotFound, "get deleted")
		ok(t, s.DeleteClient(ctx, "app"), "delete again")
		_, err = s.UpdateClient(ctx, "app", func(c store.Client) (store.Client, error) { return c, nil })
		isErr(t, err, store.ErrNotFound, "update deleted")
	})

	t.Run("clients are listed by id, page by page", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, id := range []string{"c", "a", "d", "b"} {
			ok(t, s.CreateClient(ctx, client(id)), "create "+id)
		}
		pages := []struct {
			opts store.ListOptions
			want []string
		}{
			{store.ListOptions{}, []string{"a", "b", "c", "d"}},
			{store.ListOptions{Limit: 3}, []string{"a", "b", "c"}},
			{store.ListOptions{After: "c", Limit: 3}, []string{"d"}},
			{store.ListOptions{After: "d"}, nil},
		}
		for _, p := range pages {
			got, err := s.ListClients(ctx, p.opts)
			ok(t, err, fmt.Sprintf("list %+v", p.opts))
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
				same(t, c, client(c.ID), "listed client")
			}
			if !slices.Equal(ids, p.want) {
				t.Fatalf("list %+v: got %q, want %q", p.opts, ids, p.want)
			}
		}
	})

	t.Run("a listing page holds at most 100 records unless asked for more", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for i := range 101 {
			ok(t, s.CreateClient(ctx, client(fmt.Sprintf("c%03d", i))), "create")
		}
		got, err := s.ListClients(ctx, store.ListOptions{})
		ok(t, err, "list default")
		if len(got) != 100 {
			t.Fatalf("default page: %d clients, want 100", len(got))
		}
		got, err = s.ListClients(ctx, store.ListOptions{Limit: 5000})
		ok(t, err, "list 5000")
		if len(got) != 101 {
			t.Fatalf("large page: %d clients, want 101", len(got))
		}
	})
}

// --- counters ---

func testCounters(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("attempts add up within the window", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		n, end, err := s.IncrementCounter(ctx, "login:ada", 1, time.Minute, base)
		ok(t, err, "first")
		if n != 1 || !end.Equal(at(time.Minute)) {
			t.Fatalf("first: (%d, %v), want (1, %v)", n, end, at(time.Minute))
		}
		n, end, err = s.IncrementCounter(ctx, "login:ada", 2, time.Hour, at(30*time.Second))
		ok(t, err, "second")
		if n != 3 || !end.Equal(at(time.Minute)) {
			t.Fatalf("second: (%d, %v), want (3, %v): the window must not move", n, end, at(time.Minute))
		}
		n, end, err = s.GetCounter(ctx, "login:ada", at(59*time.Second))
		ok(t, err, "get")
		if n != 3 || !end.Equal(at(time.Minute)) {
			t.Fatalf("get: (%d, %v), want (3, %v)", n, end, at(time.Minute))
		}
		n, _, err = s.GetCounter(ctx, "login:bob", base)
		ok(t, err, "get other")
		if n != 0 {
			t.Fatalf("other counter: %d", n)
		}
	})

	t.Run("attempts start over when the window ends", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		_, _, err := s.IncrementCounter(ctx, "k", 5, time.Minute, base)
		ok(t, err, "first window")
		n, end, err := s.GetCounter(ctx, "k", at(time.Minute))
		ok(t, err, "get at window end")
		if n != 0 || !end.IsZero() {
			t.Fatalf("get at window end: (%d, %v), want (0, zero)", n, end)
		}
		n, end, err = s.IncrementCounter(ctx, "k", 1, time.Minute, at(time.Minute))
		ok(t, err, "increment at window end")
		if n != 1 || !end.Equal(at(2*time.Minute)) {
			t.Fatalf("increment at window end: (%d, %v), want (1, %v)", n, end, at(2*time.Minute))
		}
		n, end, err = s.IncrementCounter(ctx, "k", 1, time.Minute, at(10*time.Minute))
		ok(t, err, "increment long after")
		if n != 1 || !end.Equal(at(11*time.Minute)) {
			t.Fatalf("increment long after: (%d, %v), want (1, %v)", n, end, at(11*time.Minute))
		}
	})

	t.Run("missing counter reads zero and reset clears it", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		n, end, err := s.GetCounter(ctx, "k", base)
		ok(t, err, "get missing")
		if n != 0 || !end.IsZero() {
			t.Fatalf("missing: (%d, %v)", n, end)
		}
		_, _, err = s.IncrementCounter(ctx, "k", 3, time.Hour, base)
		ok(t, err, "increment")
		ok(t, s.ResetCounter(ctx, "k"), "reset")
		n, end, err = s.GetCounter(ctx, "k", base)
		ok(t, err, "get after reset")
		if n != 0 || !end.IsZero() {
			t.Fatalf("after reset: (%d, %v)", n, end)
		}
		n, end, err = s.IncrementCounter(ctx, "k", 1, time.Hour, at(time.Minute))
		ok(t, err, "increment after reset")
		if n != 1 || !end.Equal(at(61*time.Minute)) {
			t.Fatalf("after reset: (%d, %v), want a new window", n, end)
		}
		ok(t, s.ResetCounter(ctx, "never"), "reset missing")
	})
}

// --- one-time codes ---

func testOneTimeCodes(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("invitation can be used only once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := oneTimeCode("o1", "invite")
		ok(t, s.CreateOneTimeCode(ctx, c), "create")
		got, err := s.GetOneTimeCode(ctx, "o1")
		ok(t, err, "get")
		same(t, got, c, "code")
		got, err = s.ConsumeOneTimeCode(ctx, "o1")
		ok(t, err, "consume")
		same(t, got, c, "consumed code")
		_, err = s.ConsumeOneTimeCode(ctx, "o1")
		isErr(t, err, store.ErrNotFound, "consume again")
		_, err = s.GetOneTimeCode(ctx, "o1")
		isErr(t, err, store.ErrNotFound, "get consumed")
		list, err := s.ListOneTimeCodes(ctx, "invite", store.ListOptions{})
		ok(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("consumed code still listed: %+v", list)
		}
	})

	t.Run("one-time code ids are unique and unknown codes are not found", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "invite")), "create")
		isErr(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "email")), store.ErrAlreadyExists, "create again")
		_, err := s.GetOneTimeCode(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "get unknown")
		_, err = s.ConsumeOneTimeCode(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "consume unknown")
		list, err := s.ListOneTimeCodes(ctx, "email", store.ListOptions{})
		ok(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("refused code listed: %+v", list)
		}
	})

	t.Run("failed attempts are counted and a failed update writes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := oneTimeCode("o1", "email")
		ok(t, s.CreateOneTimeCode(ctx, c), "create")
		want := c
		want.Attempts = 1
		got, err := s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
			c.Attempts++
			return c, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned code")
		_, err = s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
			c.Attempts = 99
			return c, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		got, err = s.GetOneTimeCode(ctx, "o1")
		ok(t, err, "get")
		same(t, got, want, "stored code")
		_, err = s.UpdateOneTimeCode(ctx, "nope", func(c store.OneTimeCode) (store.OneTimeCode, error) { return c, nil })
		isErr(t, err, store.ErrNotFound, "update unknown")
	})

	t.Run("codes are listed by purpose and id, page by page", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, c := range []store.OneTimeCode{
			oneTimeCode("o3", "invite"), oneTimeCode("o1", "invite"), oneTimeCode("o2", "invite"),
			oneTimeCode("o0", "email"), oneTimeCode("o4", "invite/x"),
		} {
			ok(t, s.CreateOneTimeCode(ctx, c), "create "+c.ID)
		}
		pages := []struct {
			purpose string
			opts    store.ListOptions
			want    []string
		}{
			{"invite", store.ListOptions{}, []string{"o1", "o2", "o3"}},
			{"invite", store.ListOptions{Limit: 2}, []string{"o1", "o2"}},
			{"invite", store.ListOptions{After: "o2", Limit: 2}, []string{"o3"}},
			{"invite", store.ListOptions{After: "o3"}, nil},
			{"email", store.ListOptions{}, []string{"o0"}},
			{"sms", store.ListOptions{}, nil},
		}
		for _, p := range pages {
			got, err := s.ListOneTimeCodes(ctx, p.purpose, p.opts)
			ok(t, err, fmt.Sprintf("list %s %+v", p.purpose, p.opts))
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
				same(t, c, oneTimeCode(c.ID, p.purpose), "listed code")
			}
			if !slices.Equal(ids, p.want) {
				t.Fatalf("list %s %+v: got %q, want %q", p.purpose, p.opts, ids, p.want)
			}
		}
		// Changing the purpose moves the code to the other listing.
		_, err := s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
			c.Purpose = "email"
			return c, nil
		})
		ok(t, err, "change purpose")
		got, err := s.ListOneTimeCodes(ctx, "email", store.ListOptions{})
		ok(t, err, "list email")
		if len(got) != 2 || got[0].ID != "o0" || got[1].ID != "o1" {
			t.Fatalf("email codes after the move: %+v", got)
		}
		got, err = s.ListOneTimeCodes(ctx, "invite", store.ListOptions{})
		ok(t, err, "list invite")
		if len(got) != 2 || got[0].ID != "o2" {
			t.Fatalf("invite codes after the move: %+v", got)
		}
	})
}
