package admin

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/keys"
)

// The assertion keys: listed apart from the signing keys, rotated (the old key stays
// published until removed), the signing one not removable, the old one removable after an
// immediate rotation; a backend without the ring answers 404.
func TestAdminAssertionKeys(t *testing.T) {
	e := idptest.New(t)
	ring, err := keys.LoadAssertion(context.Background(), e.Store, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := New(func() (*Backend, error) {
		return &Backend{Accounts: e.P.Accounts, Keys: e.P.Keys, AssertionKeys: ring, Issuer: idptest.Issuer}, nil
	})
	ev := &env{Env: e, h: h}
	type keyList struct {
		Keys    []struct{ Kid, Alg string }
		Created []struct{ Kid, Alg string }
	}
	before := decode[keyList](t, ev.call(http.MethodGet, "/gatehouse/assertion-keys", ""), http.StatusOK)
	if len(before.Keys) != 1 || before.Keys[0].Alg != "EdDSA" {
		t.Fatalf("assertion keys: %+v", before)
	}
	for _, k := range decode[keyList](t, ev.call(http.MethodGet, "/gatehouse/keys", ""), http.StatusOK).Keys {
		if k.Kid == before.Keys[0].Kid {
			t.Fatal("the assertion key is listed with the signing keys")
		}
	}
	rot := decode[keyList](t, ev.call(http.MethodPost, "/gatehouse/assertion-keys/rotate", `{"immediate":true}`), http.StatusOK)
	if len(rot.Created) != 1 || len(rot.Keys) != 2 {
		t.Fatalf("rotate: %+v", rot)
	}
	apiError(t, ev.call(http.MethodDelete, "/gatehouse/assertion-keys/"+rot.Created[0].Kid, ""), http.StatusConflict, "conflict")
	if w := ev.call(http.MethodDelete, "/gatehouse/assertion-keys/"+before.Keys[0].Kid, ""); w.Code != http.StatusNoContent {
		t.Fatalf("remove the old key: %d %s", w.Code, w.Body)
	}
	if after := decode[keyList](t, ev.call(http.MethodGet, "/gatehouse/assertion-keys", ""), http.StatusOK); len(after.Keys) != 1 || after.Keys[0].Kid != rot.Created[0].Kid {
		t.Fatalf("after remove: %+v", after)
	}

	none := &env{Env: e, h: New(func() (*Backend, error) { return &Backend{Keys: e.P.Keys}, nil })}
	apiError(t, none.call(http.MethodGet, "/gatehouse/assertion-keys", ""), http.StatusNotFound, "not_found")
}
