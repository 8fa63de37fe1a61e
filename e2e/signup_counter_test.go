package e2e

import (
	"fmt"
	"testing"
)

// CR-06 (found by review): wrong sign-up codes were counted under "code:account:dest:<hash(address)>", the same
// counter as wrong login codes for an address WITHOUT an account; login codes for an address
// WITH an account are counted under its user ID. Burning the address counter through sign-up
// and then trying one login code tells the two apart.
func TestSignupCodeCounterDoesNotEnumerate(t *testing.T) {
	e := otStart(t, otOptions{TrustProxy: true})
	const registered, unregistered = "ada@example.test", "nobody@example.test"
	e.CreateUser(registered)
	probe := func(email string, n int) string {
		// 1. Two sign-ups with the address, five wrong codes each (10 = codeFailures).
		for s := 0; s < 2; s++ {
			c := e.client(t)
			c.ip = fmt.Sprintf("203.0.113.%d", n*10+s)
			if r := c.api("/api/v1/signup", map[string]string{"email": email, "password": "mallory's own passphrase"}); r.Status != 202 {
				t.Fatalf("signup: %s", r)
			}
			for i := 0; i < 5; i++ {
				c.api("/api/v1/signup/verify", map[string]string{"code": fmt.Sprintf("%06d", 100+i)})
			}
		}
		// 2. One email-code login for the address, one wrong code.
		c := e.client(t)
		c.ip = fmt.Sprintf("203.0.113.%d", n*10+5)
		if r := c.api("/api/v1/login/email-code/start", map[string]string{"email": email}); r.Status != 202 {
			t.Fatalf("code start: %s", r)
		}
		r := c.api("/api/v1/login/code/verify", map[string]string{"code": "000999"})
		return fmt.Sprintf("%d %s", r.Status, truncate(string(r.Body), 100))
	}
	a, b := probe(registered, 1), probe(unregistered, 2)
	t.Logf("registered:   %s", a)
	t.Logf("unregistered: %s", b)
	if a != b {
		t.Errorf("ENUMERATION: the answers differ")
	}
}
