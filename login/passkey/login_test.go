package passkey_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// A login ceremony is consumed in the same store write that records the passkey's use
// (UpdatePasskeyConsuming), not before the assertion is checked; these tests hold the
// one-time property that CR-22 asks of it on the real store (Badger on disk):
// "A challenge is single use: a replayed assertion, or an assertion answering a used
// challenge, is refused", whether the first answer succeeded or failed, and when the same
// answer arrives twice at once.
func TestLoginCeremonyIsAnsweredOnce(t *testing.T) {
	p := passkeyBenchProvider(t)
	ctx := t.Context()
	owner, stranger := softauthn.New(passkeyBenchIssuer), softauthn.New(passkeyBenchIssuer)
	passkeyBenchSignup(t, p, owner, "owner@example.com", "192.0.2.1")
	passkeyBenchSignup(t, p, stranger, "stranger@example.com", "192.0.2.2")
	// begin starts a ceremony and returns its secret and, for each of as, its answer.
	begin := func(as ...*softauthn.Authenticator) (string, [][]byte) {
		t.Helper()
		c, err := p.Passkey.BeginLogin(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		opts, _ := json.Marshal(c.Options)
		var resps [][]byte
		for _, a := range as {
			resp, err := a.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			resps = append(resps, resp)
		}
		return c.Secret, resps
	}
	answer := func(a *softauthn.Authenticator) (string, []byte) {
		t.Helper()
		sec, resps := begin(a)
		return sec, resps[0]
	}

	t.Run("a replayed assertion is refused", func(t *testing.T) {
		sec, resp := answer(owner)
		if _, err := p.Passkey.FinishLogin(ctx, sec, resp); err != nil {
			t.Fatalf("genuine login: %v", err)
		}
		if _, err := p.Passkey.FinishLogin(ctx, sec, resp); !errors.Is(err, passkey.ErrCeremonyExpired) {
			t.Fatalf("replay: %v, want ErrCeremonyExpired", err)
		}
	})

	t.Run("a failed answer uses the ceremony up", func(t *testing.T) {
		sec, own := begin(owner)
		sec2, resps := begin(stranger, owner)
		bad, good := resps[0], resps[1]
		// An assertion of another ceremony's challenge is refused, and so is a malformed
		// answer; either uses its ceremony up, so that the valid answer comes too late.
		if _, err := p.Passkey.FinishLogin(ctx, sec, bad); !errors.Is(err, passkey.ErrPasskeyFailed) {
			t.Fatalf("assertion of another challenge: %v, want ErrPasskeyFailed", err)
		}
		if _, err := p.Passkey.FinishLogin(ctx, sec, own[0]); !errors.Is(err, passkey.ErrCeremonyExpired) {
			t.Fatalf("the ceremony's own answer after a failed one: %v, want ErrCeremonyExpired", err)
		}
		if _, err := p.Passkey.FinishLogin(ctx, sec2, []byte(`{"id":"x"}`)); err == nil {
			t.Fatal("a malformed answer logged in")
		}
		if _, err := p.Passkey.FinishLogin(ctx, sec2, good); !errors.Is(err, passkey.ErrCeremonyExpired) {
			t.Fatalf("a valid answer after a malformed one: %v, want ErrCeremonyExpired", err)
		}
	})

	t.Run("an oversized answer uses the ceremony up, a secret of another record burns nothing", func(t *testing.T) {
		sec, good := answer(owner)
		huge := make([]byte, 40<<10)
		if _, err := p.Passkey.FinishLogin(ctx, sec, huge); !errors.Is(err, passkey.ErrPasskeyMalformed) {
			t.Fatalf("oversized answer: %v, want ErrPasskeyMalformed", err)
		}
		if _, err := p.Passkey.FinishLogin(ctx, sec, good); !errors.Is(err, passkey.ErrCeremonyExpired) {
			t.Fatalf("a valid answer after an oversized one: %v, want ErrCeremonyExpired", err)
		}
		// A login step given the secret of a record that is no passkey ceremony (an
		// invitation, say) refuses it and leaves the record alone.
		other := store.OneTimeCode{ID: secret.Hash("invitation-secret"), Purpose: "invite",
			CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := p.Passkey.Store.CreateOneTimeCode(ctx, other); err != nil {
			t.Fatal(err)
		}
		_, resp := answer(owner)
		if _, err := p.Passkey.FinishLogin(ctx, "invitation-secret", resp); !errors.Is(err, passkey.ErrCeremonyExpired) {
			t.Fatalf("secret of an invitation: %v, want ErrCeremonyExpired", err)
		}
		if _, err := p.Passkey.Store.GetOneTimeCode(ctx, other.ID); err != nil {
			t.Fatalf("the invitation after a login step was given its secret: %v", err)
		}
	})

	t.Run("the same answer sent twice at once logs in once", func(t *testing.T) {
		for range 5 {
			sec, resp := answer(owner)
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = p.Passkey.FinishLogin(ctx, sec, resp)
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, passkey.ErrCeremonyExpired):
					// Not ErrClonedAuthenticator: a double submission is not a cloned key.
				default:
					t.Fatalf("parallel answer: unexpected error %v", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d of %d parallel answers logged in, want 1", wins, len(errs))
			}
		}
	})
}
