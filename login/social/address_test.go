package social_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The fake provider vouches for <sub>@upstream.test (email_verified true).

// AS-29 / issue 14 item 12 (address squatting): with open sign-up and password-only login,
// a squatter signs up first with another person's unverified address. The owner arriving
// through a trusted provider that verified the address gets through: the identity claims
// the account with the takeover defence of an email code (README "Account takeover
// defences") — the squatter's password and sessions are gone, the address is verified, the
// identity is linked.
func TestAS29_SocialVerifiedAddressClaimsSquattedAccount(t *testing.T) {
	op := newFakeOP(t)
	e, _ := socialEnv(t, op, 5*time.Second, func(c *idp.Config) { c.SocialProviders[0].TrustEmailVerified = true })
	squat, err := e.P.Accounts.Create(e.Ctx, account.NewUser{Email: "owner@upstream.test", Password: "squatter-password-1"})
	if err != nil || squat.EmailVerified {
		t.Fatalf("squatter account: %+v %v", squat, err)
	}
	squatSess, _, err := e.P.Sessions.Start(e.Ctx, squat, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := socialLogin(e, op, "192.0.2.1", "owner", "-")
	if err != nil || !res.Claimed || res.User.ID != squat.ID || !res.User.EmailVerified {
		t.Fatalf("owner's social login: %+v %v; want the squatted account claimed and verified", res, err)
	}
	if _, err := e.Store.GetPassword(e.Ctx, squat.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the squatter's password survived the claim: %v", err)
	}
	if _, _, err := e.P.Sessions.Get(e.Ctx, squatSess); err == nil {
		t.Errorf("the squatter's session survived the claim")
	}
	if id, err := e.Store.GetIdentity(e.Ctx, "up", "owner"); err != nil || id.UserID != squat.ID {
		t.Errorf("identity after the claim: %+v %v", id, err)
	}
	// Logging in again goes straight in.
	if res, err := socialLogin(e, op, "192.0.2.1", "owner", "-"); err != nil || res.User.ID != squat.ID || res.Claimed {
		t.Errorf("second login: %+v %v", res, err)
	}
}

// A provider not trusted for email_verified (trust_email_verified off) proves nothing: the
// unverified account is not claimed (the link-required page, as before), and a verified
// account is never joined on its own, trusted or not.
func TestAS29_SocialUntrustedOrVerifiedAccountNotClaimed(t *testing.T) {
	op := newFakeOP(t)
	e, _ := socialEnv(t, op, 5*time.Second)
	u, err := e.P.Accounts.Create(e.Ctx, account.NewUser{Email: "owner@upstream.test", Password: "squatter-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	var link *social.LinkRequiredError
	if _, err := socialLogin(e, op, "192.0.2.1", "owner", "-"); !errors.As(err, &link) {
		t.Fatalf("untrusted provider: %v, want LinkRequiredError", err)
	}
	if _, err := e.Store.GetPassword(e.Ctx, u.ID); err != nil {
		t.Errorf("an untrusted provider removed the password: %v", err)
	}

	e2, _ := socialEnv(t, op, 5*time.Second, func(c *idp.Config) { c.SocialProviders[0].TrustEmailVerified = true })
	if _, err := e2.P.Accounts.Create(e2.Ctx, account.NewUser{Email: "owner@upstream.test", Password: "owner-password-1", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := socialLogin(e2, op, "192.0.2.1", "owner", "-"); !errors.As(err, &link) {
		t.Fatalf("verified account: %v, want LinkRequiredError", err)
	}
}

// Issue 14 item 11: a linked identity whose trusted provider vouches for the account's own
// address verifies it (the app then receives X-User-Email); untrusted, it does not.
func TestSocialLinkedIdentityVerifiesAddress(t *testing.T) {
	for _, trust := range []bool{true, false} {
		op := newFakeOP(t)
		e, _ := socialEnv(t, op, 5*time.Second, func(c *idp.Config) { c.SocialProviders[0].TrustEmailVerified = trust })
		u, err := e.P.Accounts.Create(e.Ctx, account.NewUser{Email: "ann@upstream.test", Password: "ann-password-12"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.P.Social.Link(e.Ctx, u.ID, "up", "ann"); err != nil {
			t.Fatal(err)
		}
		res, err := socialLogin(e, op, "192.0.2.1", "ann", "-")
		if err != nil || res.User.ID != u.ID {
			t.Fatalf("trust %v: login %+v %v", trust, res, err)
		}
		got, _ := e.Store.GetUser(e.Ctx, u.ID)
		if got.EmailVerified != trust || res.User.EmailVerified != trust {
			t.Errorf("trust %v: address verified %v (result %v)", trust, got.EmailVerified, res.User.EmailVerified)
		}
		if _, err := e.Store.GetPassword(e.Ctx, u.ID); err != nil {
			t.Errorf("trust %v: verifying through a linked identity removed the password: %v", trust, err)
		}
	}
}
