package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// signupShape is what a client can observe of an answer besides the values that are random
// by design (the flow secret in the cookie, the CSRF token): status, headers and their values
// (Date excepted), cookie names and attributes, and the body.
func signupShape(r *Resp) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", r.Status)
	var names []string
	for k := range r.Header {
		if k != "Date" && k != "Set-Cookie" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header.Values(k), ", "))
	}
	for _, c := range r.Header.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(c, "=")
		_, attrs, _ := strings.Cut(rest, ";")
		fmt.Fprintf(&b, "Set-Cookie: %s=<value>;%s\n", name, attrs)
	}
	b.Write(csrfValueRe.ReplaceAll(r.Body, []byte(`name="csrf_token" value="<csrf>"`)))
	return b.String()
}

var csrfValueRe = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

// TestSignupDoesNotRevealAccounts: THREATS CR-06 (user enumeration by messages) and CR-07
// (by timing), through Caddy, a real SMTP server and the hosted pages. A sign-up with the
// address of an existing account gets exactly the answer a new address gets — status,
// headers, cookies, body; the JSON API and the form alike — and the same next step ("enter
// the code we emailed"), in about the same time. The owner of the existing account is told
// by email (no code in it); codes entered on that sign-up's step fail exactly like wrong
// codes on a real one; nothing of the attempt reaches the existing account, whose password
// still works, and the attacker has no session. The new address completes with its code.
func TestSignupDoesNotRevealAccounts(t *testing.T) {
	e := otStart(t, otOptions{TrustProxy: true})
	const owner, fresh = "ada@example.test", "nobody@example.test"
	e.CreateUser(owner)
	const attackerPassword = "mallory's own passphrase"
	signup := func(email, ip string) (*otClient, *Resp) {
		c := e.client(t)
		c.ip = ip
		return c, c.api("/api/v1/signup", map[string]string{"email": email, "password": attackerPassword, "fname": "Mal", "return_to": "/authorize?x=1"})
	}

	// The API answer.
	attacker, rTaken := signup(owner, "203.0.113.1")
	newcomer, rNew := signup(fresh, "203.0.113.2")
	if rNew.Status != http.StatusAccepted {
		t.Fatalf("sign-up with a new address: %s", rNew)
	}
	if a, b := signupShape(rTaken), signupShape(rNew); a != b {
		t.Errorf("the answers differ:\n--- registered address\n%s\n--- new address\n%s", a, b)
	}
	if got := rTaken.JSON(t)["redirect_to"]; got != "/signup/verify?return_to=%2Fauthorize%3Fx%3D1" {
		t.Errorf("next step %v, want the code page", got)
	}
	attacker.wantNoSession("attacker after the sign-up")

	// The messages: a code for the new address, a notice without a code for the owner.
	code := e.mail.next(fresh, otSubjVerify).code(t)
	notice := e.mail.next(owner, "tried to sign up")
	if otCodeRe.MatchString(notice.Text) || !strings.Contains(notice.Text, "already has an account") ||
		!strings.Contains(notice.Text, e.Issuer+"/login") {
		t.Errorf("the owner's notice should explain, link to the login page and carry no code:\n%s", notice.Text)
	}

	// The code step: five codes on each sign-up, the same answers (wrong, then burned).
	var takenSteps, newSteps []string
	for i := 0; i < 5; i++ {
		body := map[string]string{"code": otWrongCode(code, i)}
		takenSteps = append(takenSteps, signupShape(attacker.api("/api/v1/signup/verify", body)))
		newSteps = append(newSteps, signupShape(newcomer.api("/api/v1/signup/verify", body)))
	}
	if !slices.Equal(takenSteps, newSteps) {
		t.Errorf("codes on the registered address's sign-up answer differently:\n%q\n%q", takenSteps, newSteps)
	}
	if !strings.HasPrefix(takenSteps[0], "401") || !strings.HasPrefix(takenSteps[4], "400") {
		t.Errorf("want 4 × 401 invalid_code then 400 code_expired: %q", takenSteps)
	}
	attacker.wantNoSession("attacker after entering codes")

	// Nothing reached the existing account.
	if r := e.APILogin(owner, attackerPassword); r.Status != http.StatusUnauthorized {
		t.Errorf("the sign-up's password logs in to the existing account: %s", r)
	}
	if r := e.APILogin(owner, Password); r.Status != http.StatusOK {
		t.Errorf("the owner's own password after the sign-up attempt: %s", r)
	}

	// The hosted form: the same redirect and cookies, the same code page.
	form := func(email, ip string) (*Resp, *Resp) {
		c := e.client(t)
		c.ip = ip
		p := c.page("/signup", nil)
		r := c.page("/signup", url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "email": {email}, "password": {attackerPassword}})
		return r, c.page(r.Header.Get("Location"), nil)
	}
	fTaken, pTaken := form(owner, "203.0.113.3")
	fNew, pNew := form(fresh, "203.0.113.4")
	if fNew.Status != http.StatusSeeOther || fNew.Header.Get("Location") != "/signup/verify" {
		t.Fatalf("the sign-up form with a new address: %s (Location %q)", fNew, fNew.Header.Get("Location"))
	}
	if a, b := signupShape(fTaken), signupShape(fNew); a != b {
		t.Errorf("the form's answers differ:\n--- registered address\n%s\n--- new address\n%s", a, b)
	}
	if a, b := signupShape(pTaken), signupShape(pNew); a != b {
		t.Errorf("the code pages differ:\n--- registered address\n%s\n--- new address\n%s", a, b)
	}
	e.mail.next(owner, "tried to sign up")
	e.mail.next(fresh, otSubjVerify)

	// The new address completes the sign-up with the code of its latest message.
	newcomer2, _ := signup(fresh, "203.0.113.5")
	r := newcomer2.api("/api/v1/signup/verify", map[string]string{"code": e.mail.next(fresh, otSubjVerify).code(t), "return_to": "/authorize?x=1"})
	if r.Status != http.StatusCreated || r.JSON(t)["redirect_to"] != "/authorize?x=1" {
		t.Fatalf("the new address with its code: %s", r)
	}
	newcomer2.wantSession("after the code", fresh, "pwd")

	// Timing (CR-07): both kinds do the argon2id hash, the lookup, one stored challenge and
	// one message queued in the background. Alternating requests, each from its own client
	// IP (the per-IP limits are not the point here) to its own address.
	const n = 12
	var taken, fresh2 []time.Duration
	for i := 0; i < n; i++ {
		reg := fmt.Sprintf("member%d@example.test", i)
		if i == 0 {
			for j := 0; j < n; j++ {
				e.CreateUser(fmt.Sprintf("member%d@example.test", j))
			}
		}
		for _, registered := range []bool{i%2 == 0, i%2 != 0} {
			email, ip := fmt.Sprintf("newcomer%d@example.test", i), fmt.Sprintf("198.51.100.%d", 2*i+1)
			if registered {
				email, ip = reg, fmt.Sprintf("198.51.100.%d", 2*i+2)
			}
			start := time.Now()
			_, r := signup(email, ip)
			d := time.Since(start)
			if r.Status != http.StatusAccepted {
				t.Fatalf("timing sign-up %d: %s", i, r)
			}
			if registered {
				taken = append(taken, d)
			} else {
				fresh2 = append(fresh2, d)
			}
		}
	}
	mt, mf := otPercentile(taken, 0.5), otPercentile(fresh2, 0.5)
	ratio := float64(mt) / float64(mf)
	t.Logf("POST /api/v1/signup over %d requests each: median %v (registered) vs %v (new), ratio %.3f", n, mt, mf, ratio)
	if ratio < 0.67 || ratio > 1.5 {
		t.Errorf("registered/new median answer time ratio %.3f (%v vs %v)", ratio, mt, mf)
	}
}
