package magiclink_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
)

// TestOTPMagicLinkLifetime: CR-14 — a link works until its lifetime (10 minutes by default,
// at most 15) is up, and once.
func TestOTPMagicLinkLifetime(t *testing.T) {
	for _, c := range []struct{ cfg, want time.Duration }{{0, 10 * time.Minute}, {time.Hour, 15 * time.Minute}} {
		t.Run(fmt.Sprint(c.cfg), func(t *testing.T) {
			e, m := idptest.NewWithMessenger(t, func(cfg *idp.Config) { cfg.MagicLinkTTL = c.cfg })
			start := func() (string, string) {
				nonce, err := e.P.MagicLink.Begin(e.Ctx, idptest.Alice, "/next", "en", "192.0.2.1")
				if err != nil {
					t.Fatal(err)
				}
				msg := m.Last(t, idptest.Alice, otp.MsgMagicLink)
				if msg.Vars.ExpiresIn != c.want {
					t.Errorf("message says %v, want %v", msg.Vars.ExpiresIn, c.want)
				}
				prefix := idptest.Issuer + "/login/magic#"
				if !strings.HasPrefix(msg.Vars.Link, prefix) {
					t.Fatalf("link %q, want %s<token>", msg.Vars.Link, prefix)
				}
				return nonce, strings.TrimPrefix(msg.Vars.Link, prefix)
			}
			nonce, tok := start()
			e.Clock.Advance(c.want - time.Second)
			r, err := e.P.MagicLink.Finish(e.Ctx, tok, nonce, false)
			if err != nil || r.User.Email != idptest.Alice || r.ReturnTo != "/next" || r.AMR[0] != magiclink.AMR {
				t.Fatalf("before expiry: %v %+v %v", r.User.Email, r, err)
			}
			if _, err := e.P.MagicLink.Finish(e.Ctx, tok, nonce, false); !errors.Is(err, magiclink.ErrLinkExpired) {
				t.Fatalf("second use: %v", err)
			}
			nonce, tok = start()
			e.Clock.Advance(c.want)
			if _, err := e.P.MagicLink.Finish(e.Ctx, tok, nonce, false); !errors.Is(err, magiclink.ErrLinkExpired) {
				t.Fatalf("at expiry: %v", err)
			}
		})
	}
}
