package social_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// TestSocialLimitCountsOnlyUnfinishedLogins (CR-04, lockout as DoS; RB-15, pre-auth state
// exhaustion; issue 12): the per-IP limit counts what an attacker gains from — starts that
// are abandoned and callbacks that are refused — not successful logins. 61 successful logins
// from one address (an office behind one NAT) all succeed under the default limit of 60;
// then 60 abandoned starts are allowed and the 61st is refused with a message that says what
// happened (logins started, not "failed attempts"), until the window ends.
func TestSocialLimitCountsOnlyUnfinishedLogins(t *testing.T) {
	op := newFakeOP(t)
	e, _ := socialEnv(t, op, 5*time.Second)
	const office = "203.0.113.50"
	for i := range social.DefaultMaxUnfinishedPerIP + 1 {
		if _, err := socialLogin(e, op, office, "staff", "-"); err != nil {
			t.Fatalf("successful login %d from one address: %v", i+1, err)
		}
	}
	for i := range social.DefaultMaxUnfinishedPerIP {
		if _, err := e.P.Social.Begin(e.Ctx, office, "up", ""); err != nil {
			t.Fatalf("abandoned start %d: %v", i+1, err)
		}
	}
	_, err := e.P.Social.Begin(e.Ctx, office, "up", "")
	var limit *social.LimitError
	if !errors.As(err, &limit) || limit.RetryAfter <= 0 || limit.RetryAfter > social.DefaultLimitWindow {
		t.Fatalf("start after 60 abandoned ones: %v, want *SocialLimitError within the 10m window", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "too many logins were started from your network") || strings.Contains(msg, "failed attempts") {
		t.Errorf("limit message %q: want it to say logins were started, not that attempts failed", msg)
	}
	if _, err := e.P.Social.Begin(e.Ctx, "203.0.113.51", "up", ""); err != nil {
		t.Errorf("another address: %v", err)
	}
	e.Clock.Advance(social.DefaultLimitWindow + time.Second)
	if _, err := e.P.Social.Begin(e.Ctx, office, "up", ""); err != nil {
		t.Errorf("start after the window: %v", err)
	}
}

// TestSocialLimitConfigurable (RB-15): SocialLimits sets the number of unfinished logins per
// client IP and the window. With 3: a refused callback (an altered code) keeps counting, as
// do abandoned starts; a successful login gives its start back; the 4th unfinished start
// is refused until the window (1m) ends. An IPv6 client counts by its /64.
func TestSocialLimitConfigurable(t *testing.T) {
	op := newFakeOP(t)
	e, _ := socialEnv(t, op, 5*time.Second, func(c *idp.Config) {
		c.SocialLimits = social.Limits{MaxUnfinishedPerIP: 3, Window: time.Minute}
	})
	const ip = "2001:db8:1:2::10"
	// 1: refused at the callback.
	start, err := e.P.Social.Begin(e.Ctx, ip, "up", "")
	if err != nil {
		t.Fatal(err)
	}
	code := op.authorize(start.URL, "eve")
	if _, err := e.P.Social.Finish(e.Ctx, "up", social.Callback{State: start.State, CookieState: start.State, Code: code + "x", Error: "", Iss: op.srv.URL}, store.Session{}); !errors.Is(err, upstream.ErrRejected) {
		t.Fatalf("altered code: %v", err)
	}
	// 2: abandoned, from another address of the same /64.
	if _, err := e.P.Social.Begin(e.Ctx, "2001:db8:1:2::99", "up", ""); err != nil {
		t.Fatal(err)
	}
	// A successful login in between does not count.
	if _, err := socialLogin(e, op, ip, "eve", "-"); err != nil {
		t.Fatalf("successful login: %v", err)
	}
	// 3: abandoned.
	if _, err := e.P.Social.Begin(e.Ctx, ip, "up", ""); err != nil {
		t.Fatalf("third unfinished start: %v", err)
	}
	_, err = e.P.Social.Begin(e.Ctx, ip, "up", "")
	var limit *social.LimitError
	if !errors.As(err, &limit) || limit.RetryAfter > time.Minute {
		t.Fatalf("fourth unfinished start with a limit of 3: %v, want *SocialLimitError within 1m", err)
	}
	e.Clock.Advance(time.Minute + time.Second)
	if _, err := e.P.Social.Begin(e.Ctx, ip, "up", ""); err != nil {
		t.Errorf("start after the 1m window: %v", err)
	}
}
