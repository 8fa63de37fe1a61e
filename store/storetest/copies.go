package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testCopies: records are values (package store). Changing, in place, a slice, map or
// pointer of a record after handing it to the store, of a record read back or listed, or of
// the record an update callback got or returned, changes nothing stored: no caller can
// corrupt another's view of a session, a client's redirect URIs or a user's groups.
func testCopies(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("users", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		checkCopies(t, fullUser, scribbleUser, copyOps[store.User]{
			create: func(u store.User) error { return s.CreateUser(ctx, u) },
			get:    func() (store.User, error) { return s.GetUser(ctx, "u1") },
			update: func(f func(store.User) (store.User, error)) (store.User, error) { return s.UpdateUser(ctx, "u1", f) },
			list:   func() ([]store.User, error) { return s.ListUsers(ctx, store.ListOptions{}) },
		})
		u, err := s.GetUserByEmail(ctx, "ada@example.com")
		ok(t, err, "get by email")
		scribbleUser(&u)
		got, err := s.GetUser(ctx, "u1")
		ok(t, err, "get after changing the user found by email")
		same(t, got, fullUser(), "user")
	})

	t.Run("sessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		fixture := func() store.Session {
			se := session("s1", "u1")
			se.Clients = []string{"web", "cli"}
			return se
		}
		checkCopies(t, fixture, func(se *store.Session) { se.AMR[0], se.Clients[0] = "none", "evil" }, copyOps[store.Session]{
			create: func(se store.Session) error { return s.CreateSession(ctx, se) },
			get:    func() (store.Session, error) { return s.GetSession(ctx, "s1") },
			update: func(f func(store.Session) (store.Session, error)) (store.Session, error) {
				return s.UpdateSession(ctx, "s1", f)
			},
			list: func() ([]store.Session, error) { return s.ListUserSessions(ctx, "u1") },
		})
	})

	t.Run("authorization codes", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		scribble := func(c *store.AuthCode) { c.Scopes[0], c.Audience[0], c.AMR[0] = "admin", "evil", "none" }
		c := authCode("c1")
		ok(t, s.CreateAuthCode(ctx, c), "create")
		scribble(&c)
		want := authCode("c1")
		want.RedeemedAt, want.GrantID = base, "g1"
		got, err := s.RedeemAuthCode(ctx, "c1", "g1", base)
		ok(t, err, "redeem")
		same(t, got, want, "after changing the code handed in")
		scribble(&got)
		got, err = s.RedeemAuthCode(ctx, "c1", "g2", base)
		isErr(t, err, store.ErrAlreadyUsed, "replay")
		same(t, got, want, "after changing the redeemed code")
	})

	t.Run("refresh tokens", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		scribble := func(rt *store.RefreshToken) { rt.Scopes[0], rt.Audience[0], rt.AMR[0] = "admin", "evil", "none" }
		checkCopies(t, func() store.RefreshToken { return refreshToken("t1", "f1", "u1", "s1") }, scribble, copyOps[store.RefreshToken]{
			create: func(rt store.RefreshToken) error { return s.CreateRefreshToken(ctx, rt) },
			get:    func() (store.RefreshToken, error) { return s.GetRefreshToken(ctx, "t1") },
		})
		next := refreshToken("t2", "f1", "u1", "s1")
		old, err := s.RotateRefreshToken(ctx, "t1", next, at(time.Hour))
		ok(t, err, "rotate")
		scribble(&next)
		scribble(&old)
		got, err := s.GetRefreshToken(ctx, "t2")
		ok(t, err, "get successor")
		same(t, got, refreshToken("t2", "f1", "u1", "s1"), "successor after changing the token handed in")
		got, err = s.GetRefreshToken(ctx, "t1")
		ok(t, err, "get rotated")
		want := refreshToken("t1", "f1", "u1", "s1")
		want.RotatedAt = at(time.Hour)
		same(t, got, want, "rotated token after changing the token returned")
	})

	t.Run("signing keys", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		list := func() ([]store.SigningKey, error) { return s.ListKeys(ctx) }
		checkCopies(t, func() store.SigningKey { return signingKey("k1", base) }, func(k *store.SigningKey) { k.PrivateKey[0] ^= 0xff }, copyOps[store.SigningKey]{
			create: func(k store.SigningKey) error { return s.CreateKey(ctx, k) },
			get:    func() (store.SigningKey, error) { return first(list()) },
			update: func(f func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
				return s.UpdateKey(ctx, "k1", f)
			},
			list: list,
		})
	})

	t.Run("clients", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		fixture := func() store.Client {
			c := client("app")
			c.PostLogoutRedirectURIs = []string{"https://app.example/bye"}
			return c
		}
		scribble := func(c *store.Client) {
			c.RedirectURIs[0], c.PostLogoutRedirectURIs[0] = "https://evil.example/cb", "https://evil.example/bye"
			c.Scopes[0], c.GrantTypes[0] = "admin", "implicit"
		}
		checkCopies(t, fixture, scribble, copyOps[store.Client]{
			create: func(c store.Client) error { return s.CreateClient(ctx, c) },
			get:    func() (store.Client, error) { return s.GetClient(ctx, "app") },
			update: func(f func(store.Client) (store.Client, error)) (store.Client, error) {
				return s.UpdateClient(ctx, "app", f)
			},
			list: func() ([]store.Client, error) { return s.ListClients(ctx, store.ListOptions{}) },
		})
	})

	t.Run("one-time codes", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		checkCopies(t, func() store.OneTimeCode { return oneTimeCode("o1", "invite") }, func(c *store.OneTimeCode) { c.Data["role"] = "owner" }, copyOps[store.OneTimeCode]{
			create: func(c store.OneTimeCode) error { return s.CreateOneTimeCode(ctx, c) },
			get:    func() (store.OneTimeCode, error) { return s.GetOneTimeCode(ctx, "o1") },
			update: func(f func(store.OneTimeCode) (store.OneTimeCode, error)) (store.OneTimeCode, error) {
				return s.UpdateOneTimeCode(ctx, "o1", f)
			},
			list: func() ([]store.OneTimeCode, error) { return s.ListOneTimeCodes(ctx, "invite", store.ListOptions{}) },
		})
	})

	t.Run("groups", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		fixture := func() store.Group {
			return store.Group{Name: "admins", CustomData: json.RawMessage(`{"level":1}`), UpdatedAt: base}
		}
		checkCopies(t, fixture, func(g *store.Group) { g.CustomData[9] = '9' }, copyOps[store.Group]{
			create: func(g store.Group) error { return s.PutGroup(ctx, g) },
			get:    func() (store.Group, error) { return s.GetGroup(ctx, "admins") },
			list:   func() ([]store.Group, error) { return s.ListGroups(ctx, store.ListOptions{}) },
		})
	})

	t.Run("passkeys", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		fixture := func() store.Passkey {
			return store.Passkey{ID: "cred1", UserID: "u1", Credential: json.RawMessage(`{"publicKey":"AQ"}`), Name: "Laptop", CreatedAt: base}
		}
		checkCopies(t, fixture, func(p *store.Passkey) { p.Credential[15] = 'X' }, copyOps[store.Passkey]{
			create: func(p store.Passkey) error { return s.CreatePasskey(ctx, p) },
			get:    func() (store.Passkey, error) { return s.GetPasskey(ctx, "cred1") },
			update: func(f func(store.Passkey) (store.Passkey, error)) (store.Passkey, error) {
				return s.UpdatePasskey(ctx, "cred1", f)
			},
			list: func() ([]store.Passkey, error) { return s.ListUserPasskeys(ctx, "u1") },
		})
	})

	t.Run("app credentials", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		fixture := func() store.AppCredential {
			return store.AppCredential{ID: "ac1", UserID: "u1", Kind: store.CredentialPAT, Scopes: []string{"read"}, Sites: []string{"a.example"}, CreatedAt: base}
		}
		checkCopies(t, fixture, func(c *store.AppCredential) { c.Scopes[0], c.Sites[0] = "X", "X" }, copyOps[store.AppCredential]{
			create: func(c store.AppCredential) error { return s.CreateAppCredential(ctx, c) },
			get:    func() (store.AppCredential, error) { return s.GetAppCredential(ctx, "ac1") },
			update: func(f func(store.AppCredential) (store.AppCredential, error)) (store.AppCredential, error) {
				return s.UpdateAppCredential(ctx, "ac1", f)
			},
			list: func() ([]store.AppCredential, error) { return s.ListUserAppCredentials(ctx, "u1") },
		})
	})
}

// copyOps are the methods of one record kind that checkCopies exercises; update and list
// are optional.
type copyOps[T any] struct {
	create func(T) error
	get    func() (T, error)
	update func(func(T) (T, error)) (T, error)
	list   func() ([]T, error)
}

// checkCopies stores fixture() and checks that it still reads back unchanged after
// scribble changed, in place, the record handed in, the record read back, a listed
// record, the record a failing update callback got, and the record a successful update
// callback returned and the update returned.
func checkCopies[T any](t *testing.T, fixture func() T, scribble func(*T), ops copyOps[T]) {
	t.Helper()
	check := func(what string) {
		t.Helper()
		got, err := ops.get()
		ok(t, err, "get "+what)
		same(t, got, fixture(), what)
	}
	in := fixture()
	ok(t, ops.create(in), "create")
	scribble(&in)
	check("after changing the record handed in")
	got, err := ops.get()
	ok(t, err, "get")
	scribble(&got)
	check("after changing the record read back")
	if ops.list != nil {
		listed, err := first(ops.list())
		ok(t, err, "list")
		scribble(&listed)
		check("after changing a listed record")
	}
	if ops.update == nil {
		return
	}
	_, err = ops.update(func(r T) (T, error) {
		scribble(&r)
		return r, errBoom
	})
	isErr(t, err, errBoom, "failing update")
	check("after changing the record a failing update got")
	var kept T
	out, err := ops.update(func(r T) (T, error) {
		kept = r
		return r, nil
	})
	ok(t, err, "update")
	scribble(&kept)
	scribble(&out)
	check("after changing the records an update returned")
}

// first returns the first record of a listing, or an error if there is none.
func first[T any](recs []T, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(recs) == 0 {
		return zero, store.ErrNotFound
	}
	return recs[0], nil
}

// fullUser is user u1 with every field set, slices, maps and pointers included.
func fullUser() store.User {
	u := user("u1", "ada@example.com", "ext-1")
	u.MiddleName, u.Username, u.PhoneNumber, u.PhoneNumberVerified = "King", "ada", "+14155550100", true
	u.SecondaryEmails = []store.SecondaryEmail{{Value: "ada2@example.com", EmailVerified: true}}
	u.SecondaryPhoneNumbers = []store.SecondaryPhone{{Value: "+14155550111"}}
	u.Address = &store.Address{Locality: "London", Country: "GB"}
	u.Roles, u.RoleValues, u.Permissions = []string{"r1"}, []string{"Reader"}, []string{"read:docs"}
	u.CustomData = json.RawMessage(`{"a":1}`)
	u.CustomAppData = map[string]json.RawMessage{"web": json.RawMessage(`{"b":2}`)}
	return u
}

// scribbleUser changes every slice, map and pointer of a fullUser in place.
func scribbleUser(u *store.User) {
	u.Groups[0] = "root"
	u.SecondaryEmails[0].Value = "evil@example.com"
	u.SecondaryPhoneNumbers[0].Value = "+10000000000"
	u.Address.Country = "XX"
	u.Roles[0], u.RoleValues[0], u.Permissions[0] = "admin", "Admin", "write:all"
	u.CustomData[5] = '9'
	u.CustomAppData["web"][5] = '9'
	u.CustomAppData["evil"] = json.RawMessage(`{}`)
}
