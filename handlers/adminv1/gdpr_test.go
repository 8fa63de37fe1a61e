package adminv1_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
	"github.com/gatehouse-dev/gatehouse/store/postgres/pgtest"
)

// Issue 18: "delete (GDPR: every credential, session, refresh token, identity, passkey and
// counter of the user is gone; a test proves nothing is left in the store)". The proof is
// the store's own dump (store.Dumper, what `gatehouse store export` writes), on real Badger
// and on PostgreSQL: after DELETE /users/{id} no record names the user's ID or address,
// except the revocation entry that keeps the user's outstanding access tokens refused until
// they expire (an opaque ID, removed by the garbage collector at its ExpiresAt). On Badger,
// every raw key and value is checked as well, so the secondary indexes of the users
// (ug/, ur/, ud/, un/, ue/ ...) are covered.
func TestDeleteLeavesNothing(t *testing.T) {
	t.Run("badger", func(t *testing.T) {
		s, err := badger.Open(badger.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		checkDeleteLeavesNothing(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		schema := pgtest.Schema(t)
		s, err := postgres.Open(context.Background(), postgres.Options{DSN: pgtest.DSN(), Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		checkDeleteLeavesNothing(t, s)
	})
}

func checkDeleteLeavesNothing(t *testing.T, s store.Store) {
	e := newEnvOn(t, s)
	u := e.User
	// Everything a user accumulates: password (the fixture's), sessions, a refresh token
	// and its code, a passkey, a linked identity, a consent, failed-login counters.
	e.session(t, u, "pwd")
	e.Tokens("openid", "offline_access")
	now := e.Clock.Now()
	if err := s.CreatePasskey(e.Ctx, store.Passkey{ID: "pk-alice", UserID: u.ID, Credential: json.RawMessage(`{}`), Name: "Phone", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIdentity(e.Ctx, store.Identity{Provider: "google", Subject: "g-123", UserID: u.ID, Email: u.Email, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutConsent(e.Ctx, store.Consent{UserID: u.ID, ClientID: "partner", Scopes: []string{"openid"}, GrantedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Password.Login(e.Ctx, u.Email, "wrong password!", "203.0.113.9"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if n := leftovers(t, s, u); n == 0 {
		t.Fatal("the dump shows nothing of the user before the deletion: the check cannot fail")
	}

	etag := e.adminCall("GET", "/users/"+u.ID, "").Header().Get("ETag")
	if w := e.adminCall("DELETE", "/users/"+u.ID, "", "If-Match: "+etag); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if n := leftovers(t, s, u); n != 0 {
		t.Errorf("%d records of the deleted user are left in the store", n)
	}
}

// leftovers counts (and reports) the dumped records that name u.
func leftovers(t *testing.T, s store.Store, u store.User) int {
	t.Helper()
	d, ok := s.(store.Dumper)
	if !ok {
		t.Fatalf("%T cannot dump", s)
	}
	n := 0
	err := d.Dump(context.Background(), func(r store.Record) error {
		b, err := json.Marshal(r.Value)
		if err != nil {
			return err
		}
		js := string(b)
		if !strings.Contains(js, u.ID) && !strings.Contains(strings.ToLower(js), strings.ToLower(idptest.Alice)) {
			return nil
		}
		if rv, ok := r.Value.(store.Revocation); ok && rv.Kind == store.RevokeUser && rv.Subject == u.ID && !rv.ExpiresAt.IsZero() {
			return nil // the revocation of the user's outstanding tokens, until they expire
		}
		n++
		t.Logf("left: %s %s", r.Kind, js)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Badger holds more than its dump: the index entries (by email, group, role, name ...).
	// Every key and value is read, so that no index entry of the user can stay behind.
	if raw, ok := s.(interface {
		Keys(ctx context.Context, fn func(k, v []byte) error) error
	}); ok {
		err := raw.Keys(context.Background(), func(k, v []byte) error {
			kv := strings.ToLower(string(k) + " " + string(v))
			if !strings.Contains(kv, strings.ToLower(u.ID)) && !strings.Contains(kv, strings.ToLower(idptest.Alice)) {
				return nil
			}
			if strings.HasPrefix(string(k), "rv/") {
				return nil // the revocation, checked on the dump above
			}
			n++
			t.Logf("left key: %q", k)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}
