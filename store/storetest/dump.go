package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Populate fills s with records of every kind, in every state a copy must keep: a user
// with every profile field, a password, a passkey, a linked identity and an app credential; a disabled user;
// group data; a client with a secret hash; a current and a retired signing key; sessions;
// a rotated refresh token and its live successor, and a token of a revoked family; a
// redeemed and an unredeemed authorization code; a revocation; a one-time code, a
// counter and an audit event. Its times lie after Base, so that they are live at Base.
func Populate(ctx context.Context, s store.Store) error {
	u1 := fullUser()
	u1.WebAuthnID = "AAECAwQFBgcICQoLDA0ODw"
	u1.LastAuthAt = at(time.Minute)
	u2 := user("u2", "grace@example.com", "")
	u3 := user("u3", "", "ext-3")
	u3.Disabled = true
	for _, u := range []store.User{u1, u2, u3} {
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
	}
	rt1, rt2, rt3 := refreshToken("t1", "f1", "u1", "s1"), refreshToken("t2", "f1", "u1", "s1"), refreshToken("t3", "f2", "u2", "s2")
	redeemed := authCode("c1")
	steps := []func() error{
		func() error {
			return s.SetPassword(ctx, store.PasswordCredential{UserID: "u1",
				Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", UpdatedAt: base})
		},
		func() error {
			return s.CreatePasskey(ctx, store.Passkey{ID: "cred1", UserID: "u1", Credential: json.RawMessage(`{"publicKey":"AQ","signCount":3}`),
				Name: "Laptop", CreatedAt: base, LastUsedAt: at(time.Minute), UseCount: 2})
		},
		func() error {
			return s.CreateSecondFactor(ctx, store.SecondFactor{UserID: "u1", TOTPSecret: "sealed-secret", TOTPAddedAt: base,
				TOTPLastStep: 42, RecoveryCodes: []string{"h1", "h2"}, RecoveryCreatedAt: base, UpdatedAt: at(time.Minute)})
		},
		func() error {
			return s.CreateIdentity(ctx, store.Identity{Provider: "google", Subject: "1234", UserID: "u1", Email: "ada@gmail.com", CreatedAt: base})
		},
		func() error {
			return s.PutConsent(ctx, store.Consent{UserID: "u1", ClientID: "app", Scopes: []string{"openid", "email"}, GrantedAt: base})
		},
		func() error {
			return s.CreateAppCredential(ctx, store.AppCredential{ID: "ac1", UserID: "u1", Kind: store.CredentialPAT, Name: "ci",
				Scopes: []string{"read"}, Sites: []string{"files.example"}, CreatedAt: base, ExpiresAt: at(time.Hour),
				LastUsedAt: at(time.Minute), LastUsedIP: "192.0.2.1"})
		},
		func() error {
			return s.PutGroup(ctx, store.Group{Name: "staff", CustomData: json.RawMessage(`{"floor":3}`), UpdatedAt: base})
		},
		func() error {
			_, err := s.PutSetting(ctx, store.Setting{Key: "login", Value: json.RawMessage(`{"methods":["password","email_code"]}`),
				UpdatedAt: base, UpdatedBy: "u1"}, 0)
			return err
		},
		func() error {
			return s.CreateClient(ctx, store.Client{ID: "app", Name: "App", SecretHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid"}, GrantTypes: []string{"authorization_code", "refresh_token"},
				RequirePKCE: true, CreatedAt: base})
		},
		func() error { return s.CreateKey(ctx, signingKey("k1", base)) },
		func() error {
			k := signingKey("k2", at(time.Hour))
			k.RetiredAt = at(2 * time.Hour)
			return s.CreateKey(ctx, k)
		},
		func() error { return s.CreateSession(ctx, session("s1", "u1")) },
		func() error {
			se := session("s2", "u2")
			se.Clients, se.Passkey, se.NewUser = []string{"app"}, "cred1", true
			return s.CreateSession(ctx, se)
		},
		func() error { return s.CreateRefreshToken(ctx, rt1) },
		func() error { _, err := s.RotateRefreshToken(ctx, "t1", rt2, at(time.Minute)); return err },
		func() error { return s.CreateRefreshToken(ctx, rt3) },
		func() error { return s.RevokeFamily(ctx, "f2") },
		func() error { return s.CreateAuthCode(ctx, redeemed) },
		func() error { _, err := s.RedeemAuthCode(ctx, "c1", "f1", at(time.Second)); return err },
		func() error { return s.CreateAuthCode(ctx, authCode("c2")) },
		func() error {
			return s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Subject: "u3", At: base, ExpiresAt: at(time.Hour)})
		},
		func() error {
			return s.CreateOneTimeCode(ctx, store.OneTimeCode{ID: "o1", Purpose: "invite", Subject: "new@example.com",
				Data: map[string]string{"role": "staff"}, CreatedAt: base, ExpiresAt: at(time.Hour)})
		},
		func() error { _, _, err := s.IncrementCounter(ctx, "login:u1", 3, time.Hour, base); return err },
		func() error {
			return s.AppendAuditEvents(ctx, auditEvent(base, "a", "login.succeeded", "u1", func(e *store.AuditEvent) {
				e.IP, e.Method, e.Details, e.ExpiresAt = "192.0.2.1", "password", map[string]string{"session": "s1"}, at(time.Hour)
			}))
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("populate step %d: %w", i, err)
		}
	}
	return nil
}

// Base is the time Populate's records are live at.
var Base = base

// DumpAll returns every record of d, each value normalised (times in UTC).
func DumpAll(ctx context.Context, d store.Dumper) ([]store.Record, error) {
	var out []store.Record
	err := d.Dump(ctx, func(r store.Record) error {
		out = append(out, store.Record{Kind: r.Kind, Value: normalize(r.Value)})
		return nil
	})
	return out, err
}

// SameRecords fails the test unless a and b hold the same records.
func SameRecords(t *testing.T, a, b store.Dumper, what string) {
	t.Helper()
	ra, err := DumpAll(t.Context(), a)
	ok(t, err, what+": dump the first store")
	rb, err := DumpAll(t.Context(), b)
	ok(t, err, what+": dump the second store")
	for i := range max(len(ra), len(rb)) {
		switch {
		case i >= len(ra):
			t.Fatalf("%s: the second store has more records, first extra: %s %+v", what, rb[i].Kind, rb[i].Value)
		case i >= len(rb):
			t.Fatalf("%s: the first store has more records, first extra: %s %+v", what, ra[i].Kind, ra[i].Value)
		case !reflect.DeepEqual(ra[i], rb[i]):
			t.Fatalf("%s: record %d differs:\n first  %s %+v\n second %s %+v", what, i, ra[i].Kind, ra[i].Value, rb[i].Kind, rb[i].Value)
		}
	}
}

// testDump: a store that implements store.Dumper reports every record it holds, of every
// kind, and store.Copy out of it into a second store and from there into a third changes
// nothing.
func testDump(t *testing.T, newStore func(t *testing.T) store.Store) {
	src := newStore(t)
	d, isDumper := src.(store.Dumper)
	if !isDumper {
		t.Skip("the store does not implement store.Dumper")
	}
	ctx := t.Context()
	ok(t, Populate(ctx, src), "populate")
	s := newStore(t)
	stats, err := store.Copy(ctx, d, s, base)
	ok(t, err, "copy into a second store")
	for _, k := range store.Kinds {
		if stats.Written[k] == 0 {
			t.Fatalf("copy: no record of kind %s was dumped (stats %+v)", k, stats)
		}
	}
	if stats.Written[store.KindUser] != 3 || stats.Written[store.KindRefreshToken] != 3 || stats.Expired != 0 {
		t.Fatalf("copy into the store: stats %+v", stats)
	}
	SameRecords(t, d, s.(store.Dumper), "store -> second store")
	back := newStore(t)
	_, err = store.Copy(ctx, s.(store.Dumper), back, base)
	ok(t, err, "copy into a third store")
	SameRecords(t, d, back.(store.Dumper), "store -> second store -> third store")
	stats, err = store.Copy(ctx, d, newStore(t), at(48*time.Hour))
	ok(t, err, "copy two days later")
	if stats.Written[store.KindSession] != 0 || stats.Written[store.KindUser] != 3 || stats.Expired == 0 {
		t.Fatalf("copy two days later: expired sessions, codes ... copied: %+v", stats)
	}

	// The copied state behaves: a rotated token is used, a revoked family stays revoked,
	// a redeemed code is redeemed, the counter goes on.
	_, err = s.RotateRefreshToken(ctx, "t1", refreshToken("t9", "f1", "u1", "s1"), at(time.Hour))
	isErr(t, err, store.ErrAlreadyUsed, "rotate the rotated token")
	rt, err := s.GetRefreshToken(ctx, "t3")
	ok(t, err, "get revoked-family token")
	if !rt.Revoked {
		t.Fatal("the token of a revoked family was copied unrevoked")
	}
	_, err = s.RedeemAuthCode(ctx, "c1", "g2", at(time.Minute))
	isErr(t, err, store.ErrAlreadyUsed, "redeem the redeemed code")
	n, _, err := s.IncrementCounter(ctx, "login:u1", 1, time.Hour, at(time.Minute))
	ok(t, err, "increment")
	if n != 4 {
		t.Fatalf("counter after copy and increment: %d, want 4", n)
	}
	// A code redeemed and a token rotated at a zero time (the contract allows it) are
	// still used after a copy.
	z := newStore(t)
	ok(t, z.CreateAuthCode(ctx, authCode("cz")), "create code")
	_, err = z.RedeemAuthCode(ctx, "cz", "g", time.Time{})
	ok(t, err, "redeem at a zero time")
	ok(t, z.CreateRefreshToken(ctx, refreshToken("tz", "fz", "u1", "s1")), "create token")
	_, err = z.RotateRefreshToken(ctx, "tz", refreshToken("tz2", "fz", "u1", "s1"), time.Time{})
	ok(t, err, "rotate at a zero time")
	zc := newStore(t)
	_, err = store.Copy(ctx, z.(store.Dumper), zc, base)
	ok(t, err, "copy the used code and token")
	_, err = zc.RedeemAuthCode(ctx, "cz", "g2", base)
	isErr(t, err, store.ErrAlreadyUsed, "redeem the copy of a code redeemed at a zero time")
	_, err = zc.RotateRefreshToken(ctx, "tz", refreshToken("tz3", "fz", "u1", "s1"), base)
	isErr(t, err, store.ErrAlreadyUsed, "rotate the copy of a token rotated at a zero time")

	if empty, err := store.Empty(ctx, s); err != nil || empty {
		t.Fatalf("Empty of a populated store: %v, %v", empty, err)
	}
}
