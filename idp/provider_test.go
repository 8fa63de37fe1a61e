package idp_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TestNewBuildsEveryPiece: New sets every field of the Provider — a piece left nil would
// be a nil-pointer panic at the first request that needs it — and wires the pieces that
// refer to each other (back-channel logout, the sign-up's passkeys).
func TestNewBuildsEveryPiece(t *testing.T) {
	e := idptest.New(t)
	v := reflect.ValueOf(e.P).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Interface:
			if f.IsNil() {
				t.Errorf("Provider.%s is nil", name)
			}
		}
	}
	if e.P.Sessions.Logout != e.P.OAuth {
		t.Error("ended sessions are not reported to the OAuth server (back-channel logout)")
	}
	if e.P.Signup.Passkeys != e.P.Passkey {
		t.Error("the sign-up that proves its address cannot store its passkey")
	}
}

// TestNewRefusesBadInput: no issuer, or a client defined twice, is refused.
func TestNewRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	ring, err := keys.Load(ctx, s, keys.Algorithms, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	h, rl := password.New(idptest.FastHash, 0), tokens.NewRevocationList(time.Now, 0)
	if _, err := idp.New(idp.Config{}, s, ring, h, rl, nil, time.Now, nil); err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("no issuer: %v", err)
	}
	c, err := idp.NewClient(idp.ClientConfig{ID: "web", RedirectURIs: []string{idptest.WebCB}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idp.New(idp.Config{Issuer: idptest.Issuer}, s, ring, h, rl, []*idp.Client{c, c}, time.Now, nil); err == nil ||
		!strings.Contains(err.Error(), "defined twice") {
		t.Errorf("a client defined twice: %v", err)
	}
}
