//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Knobs of TestRB09CrashDurability.
const (
	// crashRoundsEnv sets the number of kill/restart rounds (default crashDefaultRounds);
	// crashSeedEnv the random seed (default: from the clock, logged); crashKeepEnv=1 keeps
	// the Badger directory and logs even when the test passes (they are always kept when it
	// fails).
	crashRoundsEnv     = "GATEHOUSE_CRASH_ROUNDS"
	crashSeedEnv       = "GATEHOUSE_CRASH_SEED"
	crashKeepEnv       = "GATEHOUSE_CRASH_KEEP"
	crashDefaultRounds = 3
	crashWorkers       = 4
	// The SIGKILL comes at a uniformly random moment in [crashMinLoad, crashMaxLoad] after
	// the load starts.
	crashMinLoad = 500 * time.Millisecond
	crashMaxLoad = 2 * time.Second
	// If fewer than crashMinAcked operations were acknowledged by then, the kill waits for
	// them, at most crashMaxExtra longer.
	crashMinAcked = 20
	crashMaxExtra = 10 * time.Second
	// crashScope asks for no offline_access: the flows' refresh tokens belong to their login
	// session, so a logout acknowledged before the kill must still have ended them after the
	// restart. An offline_access grant outlives the logout by design (OpenID Connect Core
	// §11, Back-Channel Logout 1.0 §2.7; oauth.TestOfflineGrantOutlivesLogout, TestAS17).
	crashScope = "openid email read:docs"
)

// TestRB09CrashDurability (THREATS.md RB-09, crash durability of security writes; RB-08,
// single-use state; RFC 6749 §4.1.2: an authorization code MUST NOT be used more than once):
// the real gatehouse binary runs as a child process on one Badger directory while a few
// goroutines sign users up (with the emailed code that creates the account, when sign-up
// proves the address first), log in (password, email code, magic link), run
// authorization-code + PKCE flows, redeem the codes, rotate refresh tokens, revoke them
// (RFC 7009) and log out. At a random moment the process gets SIGKILL; it is started again
// on the same directory and every result whose HTTP answer was fully received before the
// kill is checked:
//
//   - nothing acknowledged is lost: every sign-up can log in with its password, every
//     admin-created user exists, every session still works, every access token of a live
//     grant still passes /userinfo and the protected site, the newest refresh token of every
//     acknowledged rotation works once, and every code or link handed out but not yet used
//     works once;
//   - nothing consumed comes back: every redeemed authorization code gives invalid_grant,
//     every rotated-away refresh token gives invalid_grant and revokes its family (the
//     refresh token just issued after the restart then fails too), every used sign-up
//     code, email login code and magic link stays used, every acknowledged logout and
//     revocation is still in effect (session cookie 401, access token 401 at /userinfo and
//     at the protected site, refresh token invalid_grant);
//   - an item whose use was in flight at the kill works at most once.
//
// Failed password logins are part of the load too (RB-09's lockout increment): every
// acknowledged failure must still count after the restart, and a locked account stays
// locked.
//
// Each round's restarted process carries the next round's load. After the last round the
// process is killed once more right after the verification's own writes and everything of
// every round is checked again. GATEHOUSE_CRASH_ROUNDS=80 runs more rounds (default 3);
// GATEHOUSE_CRASH_SEED replays a run; the directory and per-start logs are kept on failure.
//
// What a SIGKILL can and cannot show: the kernel keeps the page cache of a killed process,
// so this test catches anything the process holds back — write-behind, buffered or batched
// writes, state kept only in memory, an acknowledgement sent before the commit, recovery
// of a directory left open — but not a missing fsync: with Badger's SyncWrites off it still
// passes. Losing the machine (power) needs a VM or a fault-injecting block device.
//
// Linux only: each client binds its own source address in 127.0.0.0/8, so that the per-IP
// sign-up, send and failed-login limits do not throttle the load.
func TestRB09CrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds cmd/gatehouse and SIGKILLs it in several rounds (RB-09 crash durability)")
	}
	rounds := crashDefaultRounds
	if v := os.Getenv(crashRoundsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of rounds", crashRoundsEnv, v)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(crashSeedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", crashSeedEnv, v)
		}
		seed = n
	}
	t.Logf("%d rounds, seed %d (%s=%d replays the kill delays and each worker's choices; timing still varies)", rounds, seed, crashSeedEnv, seed)

	base, err := os.MkdirTemp("", "gatehouse-rb09-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last (after the process is killed).
	t.Cleanup(func() {
		if t.Failed() || os.Getenv(crashKeepEnv) == "1" {
			t.Logf("kept the Badger directory %s/badger (Caddyfiles and logs of each start in %s)", base, base)
			return
		}
		_ = os.RemoveAll(base)
	})
	bin := buildGatehouse(t, base)
	s := newCrashServer(t, bin, base)
	s.start()

	k := &crashRun{t: t, s: s, e: s.env, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), users: &ckUsers{},
		admin: newCKClient()}
	began := time.Now()
	for round := 1; round <= rounds; round++ {
		led := k.load(round)
		s.start()
		k.verify(round, led)
		k.all = append(k.all, led)
		if t.Failed() {
			t.Fatalf("round %d failed; stopping (seed %d)", round, seed)
		}
	}
	// Once more, right after the verification's writes (uses, family revocations).
	s.kill()
	s.start()
	k.final()
	t.Logf("%d rounds in %v: %s; partial sign-ups seen: %d", rounds, time.Since(began).Round(time.Millisecond), k.totals(), k.halfSignups)
}

// crashRun is the state of one test run.
type crashRun struct {
	t     *testing.T
	s     *crashServer
	e     *Env
	rng   *rand.Rand
	users *ckUsers
	admin *ckClient
	all   []*ckLedger
	// extraRTs are refresh tokens obtained during verification (all must end up refused);
	// lateUsers the accounts created during verification by a sign-up code from before the kill.
	extraRTs  []string
	lateUsers []string
	// halfSignups counts accounts found without their password after a kill (see halfSignup).
	halfSignups int
	seq         atomic.Int64
}

// ---------------------------------------------------------------------------------------
// The load

// load runs the workers against the running process, SIGKILLs it at a random moment and
// returns what was acknowledged.
func (k *crashRun) load(round int) *ckLedger {
	t := k.t
	led := newLedger()
	var stop atomic.Bool
	var killAt atomic.Int64 // UnixNano of the SIGKILL
	var wg sync.WaitGroup
	for w := range crashWorkers {
		rng := rand.New(rand.NewPCG(k.rng.Uint64(), uint64(w)))
		wg.Go(func() {
			for !stop.Load() {
				err := k.scenario(round, w, rng, led, &stop)
				if err == nil {
					continue
				}
				if at := killAt.Load(); at == 0 {
					led.problem("worker %d: transport error before the kill: %v", w, err)
				}
				return
			}
		})
	}
	d := crashMinLoad + time.Duration(k.rng.Int64N(int64(crashMaxLoad-crashMinLoad)))
	time.Sleep(d)
	// On a busy machine the load may not have got far: give it until a few results were
	// acknowledged (the kill still lands at an arbitrary point of the requests).
	for extra := time.Duration(0); led.acked() < crashMinAcked && extra < crashMaxExtra; {
		step := time.Duration(20+k.rng.IntN(60)) * time.Millisecond
		time.Sleep(step)
		extra += step
		d += step
	}
	if k.s.crashed() {
		t.Fatalf("round %d: gatehouse exited on its own during the load", round)
	}
	killAt.Store(time.Now().UnixNano())
	k.s.kill()
	stop.Store(true)
	defer k.admin.close() // its keep-alive connections went with the process
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("round %d: the load goroutines did not stop within 60s of the kill", round)
	}
	t.Logf("round %d: SIGKILL after %v of load; acknowledged: %s; in flight at the kill: %s", round,
		d.Round(time.Millisecond), fmtOps(led.Ops), fmtOps(led.inflight()))
	for _, p := range led.Problems {
		t.Errorf("round %d, during the load: %s", round, p)
	}
	return led
}

func fmtOps(ops map[string]int) string {
	if len(ops) == 0 {
		return "none"
	}
	var names []string
	for n := range ops {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, ops[n]))
	}
	return strings.Join(parts, ", ")
}

// scenario runs one randomly chosen user journey. It returns an error only when the server
// did not answer (killed, or the load stopped); unexpected answers are recorded as problems.
func (k *crashRun) scenario(round, w int, rng *rand.Rand, led *ckLedger, stop *atomic.Bool) error {
	c := newCKClient()
	defer c.close()
	email := fmt.Sprintf("r%d-w%d-%d@crash.test", round, w, k.seq.Add(1))
	switch p := rng.IntN(100); {
	case p < 8:
		return k.failLogins(c, "lock-"+email, rng, led)
	case p < 30:
		return k.signup(c, email, rng, led, stop)
	case p < 60:
		if existing, ok := k.users.pick(rng.IntN(1 << 30)); ok {
			return k.login(c, existing, rng, led)
		}
		return k.signup(c, email, rng, led, stop)
	case p < 80:
		return k.emailCode(c, email, rng, led, stop)
	default:
		return k.magicLink(c, email, rng, led, stop)
	}
}

// signup signs a new user up with a password. When email can be sent, sign-up proves the
// address first (202, then POST /api/v1/signup/verify with the emailed code, which creates
// the account: a single-use code of its own); otherwise it answers 201 at once.
func (k *crashRun) signup(c *ckClient, email string, rng *rand.Rand, led *ckLedger, stop *atomic.Bool) error {
	r, err := c.do(http.MethodPost, k.e.Issuer+"/api/v1/signup", map[string]string{"email": email, "password": Password,
		"fname": "Crash", "lname": "Test"}, nil)
	if err != nil {
		return err
	}
	switch {
	case r.Status == http.StatusCreated:
	case r.Status == http.StatusAccepted && ckJSON(r)["verification_required"] == true:
		flow := c.cookie(k.e.Issuer, "gatehouse_otp")
		if flow == "" {
			led.problem("sign-up %s: 202 without the flow cookie", email)
			return nil
		}
		led.op("sign-up started")
		body, err := outboxMessage(k.s.Outbox, "verify_email", email, stop, 10*time.Second)
		if err != nil {
			if err == errStopped {
				return err
			}
			led.problem("%v", err)
			return nil
		}
		m := otCodeRe.FindStringSubmatch(body)
		if m == nil {
			led.problem("no code in the sign-up message to %s:\n%s", email, body)
			return nil
		}
		code := m[1]
		o := &ckOnce{Kind: "sign-up code", What: fmt.Sprintf("code %s for %s (flow %s…)", code, email, flow[:8]), WantErr: "code_expired", Email: email,
			use: func(c *ckClient) (*Resp, error) {
				return c.do(http.MethodPost, k.e.Issuer+"/api/v1/signup/verify", map[string]string{"code": code},
					map[string]string{"Cookie": "gatehouse_otp=" + flow})
			},
			onSuccess: func(*Resp) { k.lateUsers = append(k.lateUsers, email) }}
		led.lock(func() { led.Onces = append(led.Onces, o) })
		if rng.IntN(100) < 10 {
			return nil // leave it unused: it must work once after the restart
		}
		o.State = ckInflight
		if r, err = o.use(c); err != nil {
			return err
		}
		o.State = ckConsumed
		if r.Status != http.StatusCreated {
			led.problem("sign-up verify %s: %s", o.What, brief(r))
			return nil
		}
		o.onSuccess = nil
	default:
		led.problem("sign-up %s: %s", email, brief(r))
		return nil
	}
	led.lock(func() { led.Signups = append(led.Signups, email) })
	k.users.add(email)
	led.op("sign-up")
	return k.session(c, email, "sign-up", rng, led)
}

func (k *crashRun) login(c *ckClient, email string, rng *rand.Rand, led *ckLedger) error {
	r, err := c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/password", map[string]string{"email": email, "password": Password}, nil)
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		led.problem("password login %s: %s", email, brief(r))
		return nil
	}
	led.op("password login")
	return k.session(c, email, "password login", rng, led)
}

// failLogins sends 1 to crashMaxFailures-1 wrong passwords for email (each from another
// client IP, so only the account's counter adds up).
func (k *crashRun) failLogins(_ *ckClient, email string, rng *rand.Rand, led *ckLedger) error {
	lo := &ckLockout{Email: email}
	led.lock(func() { led.Lockouts = append(led.Lockouts, lo) })
	for range 1 + rng.IntN(crashMaxFailures-1) {
		c := newCKClient()
		lo.Inflight = true
		r, err := c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/password", map[string]string{"email": email, "password": "wrong password 123"}, nil)
		c.close()
		if err != nil {
			return err
		}
		lo.Inflight = false
		if r.Status != http.StatusUnauthorized || ckErrCode(r) != "invalid_credentials" {
			led.problem("failed login %d of %s: %s", lo.Acked+1, email, brief(r))
			return nil
		}
		lo.Acked++
		led.op("failed login")
	}
	return nil
}

// createUser creates a user with a verified address and no password through the admin API.
func (k *crashRun) createUser(email string, led *ckLedger) (bool, error) {
	r, err := k.admin.do(http.MethodPost, "http://"+k.e.AdminAddr+"/gatehouse/users",
		map[string]any{"email": email, "fname": "Otto", "email_verified": true}, map[string]string{"Host": k.e.AdminAddr})
	if err != nil {
		return false, err
	}
	if r.Status != http.StatusCreated {
		led.problem("admin create %s: %s", email, brief(r))
		return false, nil
	}
	led.lock(func() { led.Admins = append(led.Admins, email) })
	led.op("admin create")
	return true, nil
}

// emailCode logs a new admin-created user in with an email code read from the outbox.
func (k *crashRun) emailCode(c *ckClient, email string, rng *rand.Rand, led *ckLedger, stop *atomic.Bool) error {
	if ok, err := k.createUser(email, led); !ok {
		return err
	}
	r, err := c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/email-code/start", map[string]string{"email": email}, nil)
	if err != nil {
		return err
	}
	flow := c.cookie(k.e.Issuer, "gatehouse_otp")
	if r.Status != http.StatusAccepted || flow == "" {
		led.problem("email code start %s: %s (flow cookie %q)", email, brief(r), flow)
		return nil
	}
	body, err := outboxMessage(k.s.Outbox, "login_code", email, stop, 10*time.Second)
	if err != nil {
		if err == errStopped {
			return err
		}
		led.problem("%v", err)
		return nil
	}
	m := otCodeRe.FindStringSubmatch(body)
	if m == nil {
		led.problem("no code in the message to %s:\n%s", email, body)
		return nil
	}
	code := m[1]
	o := &ckOnce{Kind: "email code", What: fmt.Sprintf("code %s for %s (flow %s…)", code, email, flow[:8]), WantErr: "code_expired",
		use: func(c *ckClient) (*Resp, error) {
			return c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/code/verify", map[string]string{"code": code},
				map[string]string{"Cookie": "gatehouse_otp=" + flow})
		}}
	led.lock(func() { led.Onces = append(led.Onces, o) })
	if rng.IntN(100) < 10 {
		return nil // leave it unused: it must work once after the restart
	}
	o.State = ckInflight
	r, err = o.use(c)
	if err != nil {
		return err
	}
	o.State = ckConsumed
	if r.Status != http.StatusOK {
		led.problem("email code verify %s: %s", o.What, brief(r))
		return nil
	}
	led.op("email code used")
	return k.session(c, email, "email code", rng, led)
}

// magicLink logs a new admin-created user in with a magic link read from the outbox.
func (k *crashRun) magicLink(c *ckClient, email string, rng *rand.Rand, led *ckLedger, stop *atomic.Bool) error {
	if ok, err := k.createUser(email, led); !ok {
		return err
	}
	r, err := c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/magic-link/start", map[string]string{"email": email}, nil)
	if err != nil {
		return err
	}
	nonce := c.cookie(k.e.Issuer, "gatehouse_magic")
	if r.Status != http.StatusAccepted || nonce == "" {
		led.problem("magic link start %s: %s (cookie %q)", email, brief(r), nonce)
		return nil
	}
	body, err := outboxMessage(k.s.Outbox, "magic_link", email, stop, 10*time.Second)
	if err != nil {
		if err == errStopped {
			return err
		}
		led.problem("%v", err)
		return nil
	}
	link := otLinkRe.FindString(body)
	_, token, _ := strings.Cut(link, "#")
	if token == "" {
		led.problem("no magic link in the message to %s:\n%s", email, body)
		return nil
	}
	o := &ckOnce{Kind: "magic link", What: fmt.Sprintf("link %s… for %s", token[:8], email), WantErr: "link_expired",
		use: func(c *ckClient) (*Resp, error) {
			return c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/magic-link/finish",
				map[string]any{"token": token, "confirm": true}, map[string]string{"Cookie": "gatehouse_magic=" + nonce})
		}}
	led.lock(func() { led.Onces = append(led.Onces, o) })
	if rng.IntN(100) < 10 {
		return nil
	}
	o.State = ckInflight
	r, err = o.use(c)
	if err != nil {
		return err
	}
	o.State = ckConsumed
	if r.Status != http.StatusOK {
		led.problem("magic link finish %s: %s", o.What, brief(r))
		return nil
	}
	led.op("magic link used")
	return k.session(c, email, "magic link", rng, led)
}

// session records the session c just got, runs authorization-code flows in it and maybe
// logs it out.
func (k *crashRun) session(c *ckClient, email, via string, rng *rand.Rand, led *ckLedger) error {
	cookie := c.cookie(k.e.Issuer, "gatehouse_session")
	if cookie == "" {
		led.problem("%s of %s: no session cookie", via, email)
		return nil
	}
	sess := &ckSession{Email: email, Cookie: cookie, Via: via}
	led.lock(func() { led.Sessions = append(led.Sessions, sess) })
	for range rng.IntN(3) {
		if err := k.flow(c, sess, rng, led); err != nil {
			return err
		}
	}
	if rng.IntN(100) < 30 {
		sess.LogoutInflight = true
		r, err := c.do(http.MethodPost, k.e.Issuer+"/api/v1/logout", "{}", map[string]string{"Content-Type": "application/json"})
		if err != nil {
			return err
		}
		sess.LogoutInflight = false
		if r.Status != http.StatusNoContent {
			led.problem("logout of %s's session: %s", email, brief(r))
			return nil
		}
		sess.LoggedOut = true
		led.op("logout")
	}
	return nil
}

// tokenForm is the token request of an authorization code of the app client.
func (k *crashRun) tokenForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {k.e.RP + "/app-cb"},
		"client_id": {"app"}, "code_verifier": {verifier}}
}

func (k *crashRun) refresh(c *ckClient, rt string) (*Resp, error) {
	return c.do(http.MethodPost, k.e.Issuer+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {"app"}}, nil)
}

// flow runs one authorization-code + PKCE flow of the app client in sess: authorize, redeem
// the code, rotate the refresh token 0-4 times and maybe revoke it.
func (k *crashRun) flow(c *ckClient, sess *ckSession, rng *rand.Rand, led *ckLedger) error {
	params, verifier := AuthParams("app", k.e.RP+"/app-cb", crashScope)
	target := k.e.Issuer + "/authorize?" + params.Encode()
	var code string
	for hop := 0; code == ""; hop++ {
		r, err := c.do(http.MethodGet, target, nil, nil)
		if err != nil {
			return err
		}
		loc := r.Header.Get("Location")
		if r.Status < 300 || r.Status > 399 || loc == "" || hop == 10 {
			led.problem("authorize for %s: %s", sess.Email, brief(r))
			return nil
		}
		next, err := r.URL.Parse(loc)
		if err != nil {
			led.problem("authorize: bad Location %q", loc)
			return nil
		}
		if strings.HasPrefix(next.String(), k.e.RP+"/app-cb?") {
			code = next.Query().Get("code")
			if code == "" {
				led.problem("authorize for %s: no code in %s", sess.Email, next)
				return nil
			}
			break
		}
		target = next.String()
	}
	led.op("code issued")
	f := &ckFlow{Sess: sess}
	f.Code = &ckOnce{Kind: "authorization code", What: fmt.Sprintf("code %s… of %s (%s session)", code[:8], sess.Email, sess.Via),
		WantErr: "invalid_grant", sess: sess,
		use: func(c *ckClient) (*Resp, error) {
			return c.do(http.MethodPost, k.e.Issuer+"/token", k.tokenForm(code, verifier), nil)
		},
		onSuccess: func(r *Resp) {
			if rt, _ := ckJSON(r)["refresh_token"].(string); rt != "" {
				k.extraRTs = append(k.extraRTs, rt)
			}
		}}
	led.lock(func() {
		led.Flows = append(led.Flows, f)
		led.Onces = append(led.Onces, f.Code)
	})
	if rng.IntN(100) < 10 {
		return nil // leave the code unredeemed: it must work once after the restart
	}
	f.Code.State = ckInflight
	r, err := f.Code.use(c)
	if err != nil {
		return err
	}
	f.Code.State = ckConsumed
	m := ckJSON(r)
	at, _ := m["access_token"].(string)
	rt, _ := m["refresh_token"].(string)
	if r.Status != http.StatusOK || at == "" || rt == "" {
		led.problem("redeem %s: %s", f.Code.What, brief(r))
		return nil
	}
	f.AT, f.RTs = at, []string{rt}
	led.op("code redeemed")
	for range rng.IntN(5) {
		f.RotInflight = true
		r, err := k.refresh(c, f.RTs[len(f.RTs)-1])
		if err != nil {
			return err
		}
		f.RotInflight = false
		m := ckJSON(r)
		at, _ := m["access_token"].(string)
		rt, _ := m["refresh_token"].(string)
		if r.Status != http.StatusOK || at == "" || rt == "" {
			led.problem("refresh rotation %d of %s: %s", len(f.RTs), f.Code.What, brief(r))
			return nil
		}
		f.AT, f.RTs = at, append(f.RTs, rt)
		led.op("refresh rotated")
	}
	if rng.IntN(100) < 20 {
		f.RevokeInflight = true
		r, err := c.do(http.MethodPost, k.e.Issuer+"/revoke", url.Values{"token": {f.RTs[len(f.RTs)-1]},
			"token_type_hint": {"refresh_token"}, "client_id": {"app"}}, nil)
		if err != nil {
			return err
		}
		f.RevokeInflight = false
		if r.Status != http.StatusOK {
			led.problem("revoke the refresh token of %s: %s", f.Code.What, brief(r))
			return nil
		}
		f.Revoked = true
		led.op("refresh token revoked")
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Verification

// must sends one verification request from a fresh client; the server must answer.
func (k *crashRun) must(f func(c *ckClient) (*Resp, error)) *Resp {
	k.t.Helper()
	c := newCKClient()
	defer c.close()
	r, err := f(c)
	if err != nil {
		k.t.Fatalf("verification request: %v (did gatehouse die?)", err)
	}
	return r
}

func (k *crashRun) get(rawURL, bearer, cookie string) *Resp {
	k.t.Helper()
	hdr := map[string]string{}
	if bearer != "" {
		hdr["Authorization"] = "Bearer " + bearer
	}
	if cookie != "" {
		hdr["Cookie"] = cookie
	}
	return k.must(func(c *ckClient) (*Resp, error) { return c.do(http.MethodGet, rawURL, nil, hdr) })
}

// refused tells whether r is a refusal carrying error code want (HTTP 400).
func refused(r *Resp, want string) bool {
	return r.Status == http.StatusBadRequest && ckErrCode(r) == want
}

// effective returns the state that decides what o's next use must give: an authorization
// code handed out in a session that was then logged out must be refused (or, with the
// logout in flight, may be).
func (o *ckOnce) effective() (ckState, string) {
	if o.State == ckIssued && o.sess != nil {
		switch {
		case o.sess.LoggedOut:
			return ckConsumed, "its session was logged out (acknowledged)"
		case o.sess.LogoutInflight:
			return ckInflight, "its session's logout was in flight"
		}
	}
	return o.State, ""
}

// verify checks the acknowledged results of round against the restarted process.
func (k *crashRun) verify(round int, led *ckLedger) {
	t := k.t
	e := k.e
	began := time.Now()
	checks := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("round %d, after SIGKILL and restart: "+format, append([]any{round}, args...)...)
	}

	// Acknowledged sign-ups exist and log in; admin-created users exist.
	for _, email := range led.Signups {
		checks++
		r := k.must(func(c *ckClient) (*Resp, error) {
			return c.do(http.MethodPost, e.Issuer+"/api/v1/login/password", map[string]string{"email": email, "password": Password}, nil)
		})
		if r.Status != http.StatusOK {
			fail("LOST SIGN-UP: %s got 201 before the kill, its password login now answers %s", email, brief(r))
		}
	}
	for _, email := range led.Admins {
		checks++
		if r := k.adminUser(email); r.Status != http.StatusOK {
			fail("LOST USER: %s was created (201) through the admin API before the kill, now %s", email, brief(r))
		}
	}

	// Sessions: live ones still work, logged-out ones stay logged out.
	for _, s := range led.Sessions {
		if s.LogoutInflight {
			continue
		}
		checks++
		r := k.get(e.Issuer+"/api/v1/session", "", "gatehouse_session="+s.Cookie)
		live := r.Status == http.StatusOK && ckJSON(r)["authenticated"] == true
		switch {
		case s.LoggedOut && r.Status != http.StatusUnauthorized:
			fail("LOGOUT UNDONE: %s's session (%s) was logged out (204) before the kill; its cookie now gives %s", s.Email, s.Via, brief(r))
		case !s.LoggedOut && !live:
			fail("LOST SESSION: %s's session (%s) was acknowledged before the kill; /api/v1/session now answers %s", s.Email, s.Via, brief(r))
		}
	}

	// Grants: access tokens and refresh-token chains.
	for _, f := range led.Flows {
		if f.Code.State != ckConsumed || len(f.RTs) == 0 {
			continue // no tokens known; the code itself is checked below
		}
		checks++
		what := f.Code.What
		ended := f.Sess.LoggedOut || f.Revoked
		uncertain := f.Sess.LogoutInflight || f.RevokeInflight
		why := "its session was logged out"
		if f.Revoked {
			why = "its refresh token was revoked (RFC 7009)"
		}
		ui := k.get(e.Issuer+"/userinfo", f.AT, "")
		site := k.get(e.App+"/docs", f.AT, "")
		switch {
		case ended && (ui.Status != http.StatusUnauthorized || site.Status != http.StatusUnauthorized):
			fail("REVOCATION UNDONE: the access token of %s, whose grant ended before the kill (%s), now gives /userinfo %d and the protected site %d, want 401",
				what, why, ui.Status, site.Status)
		case !ended && !uncertain && (ui.Status != http.StatusOK || site.Status != http.StatusOK):
			fail("LOST GRANT: the access token of %s (live grant) now gives /userinfo %s and the protected site %s", what, brief(ui), brief(site))
		}

		last, old := f.RTs[len(f.RTs)-1], f.RTs[:len(f.RTs)-1]
		if ended {
			for i, rt := range f.RTs {
				if r := k.must(func(c *ckClient) (*Resp, error) { return k.refresh(c, rt) }); !refused(r, "invalid_grant") {
					fail("REVOCATION UNDONE: refresh token %d/%d of %s (%s before the kill) now gives %s, want invalid_grant", i+1, len(f.RTs), what, why, brief(r))
				}
			}
			continue
		}
		r := k.must(func(c *ckClient) (*Resp, error) { return k.refresh(c, last) })
		switch {
		case r.Status == http.StatusOK:
			newRT, _ := ckJSON(r)["refresh_token"].(string)
			k.extraRTs = append(k.extraRTs, newRT)
			// A rotated-away token (one from before the kill, or the one just used) must be
			// refused, and revoke the family: the token just issued fails too.
			reused, which := last, "the newest acknowledged refresh token, just used after the restart"
			if len(old) > 0 {
				i := k.rng.IntN(len(old))
				reused, which = old[i], fmt.Sprintf("refresh token %d/%d, rotated away before the kill", i+1, len(f.RTs))
			}
			if r := k.must(func(c *ckClient) (*Resp, error) { return k.refresh(c, reused) }); !refused(r, "invalid_grant") {
				fail("ROTATED TOKEN ACCEPTED: %s of %s now gives %s, want invalid_grant", which, what, brief(r))
			}
			if newRT != "" {
				if r := k.must(func(c *ckClient) (*Resp, error) { return k.refresh(c, newRT) }); !refused(r, "invalid_grant") {
					fail("REUSE DETECTION FAILED: after %s of %s was presented again, the refresh token issued after the restart still gives %s, want invalid_grant (family revoked)",
						which, what, brief(r))
				}
			}
		case refused(r, "invalid_grant") && (f.RotInflight || uncertain):
			// The rotation, logout or revocation in flight at the kill may have committed.
			for i, rt := range old {
				if r := k.must(func(c *ckClient) (*Resp, error) { return k.refresh(c, rt) }); !refused(r, "invalid_grant") {
					fail("ROTATED TOKEN ACCEPTED: refresh token %d/%d of %s, rotated away before the kill, now gives %s", i+1, len(f.RTs), what, brief(r))
				}
			}
		default:
			fail("LOST ROTATION: the newest refresh token (%d/%d) of %s, issued in an acknowledged answer before the kill, now gives %s",
				len(f.RTs), len(f.RTs), what, brief(r))
		}
	}

	// Failed-login counters: every acknowledged failure still counts.
	for _, lo := range led.Lockouts {
		checks++
		more, locked := k.failuresLeft(lo.Email)
		switch {
		case !locked:
			fail("LOCKOUT BROKEN: %s had %d acknowledged failed logins before the kill; %d more wrong passwords after the restart were all answered 401, never 429",
				lo.Email, lo.Acked, more)
		case lo.Acked+more > crashMaxFailures:
			fail("LOST FAILED LOGINS: %s had %d acknowledged failed logins before the kill, then %d more were allowed after the restart before the lockout (limit %d): the counter forgot %d",
				lo.Email, lo.Acked, more, crashMaxFailures, lo.Acked+more-crashMaxFailures)
		case !lo.Inflight && lo.Acked+more < crashMaxFailures:
			fail("PHANTOM FAILED LOGINS: %s had %d acknowledged failed logins and none in flight, but the account locked after %d more (limit %d)",
				lo.Email, lo.Acked, more, crashMaxFailures)
		}
	}

	// Single-use items: used ones stay used, unused ones work exactly once, in-flight ones at
	// most once. (After the grants: replaying a code revokes what it issued.)
	for _, o := range led.Onces {
		checks++
		st, note := o.effective()
		if note != "" {
			note = " (" + note + ")"
		}
		r1 := k.must(o.use)
		ok1 := r1.Status == http.StatusOK || r1.Status == http.StatusCreated
		if ok1 && o.onSuccess != nil {
			o.onSuccess(r1)
		}
		switch st {
		case ckConsumed:
			if !refused(r1, o.WantErr) {
				tag := "UNEXPECTED ANSWER"
				if ok1 {
					tag = "RESURRECTED"
				}
				fail("%s: %s %s was %s before the kill%s; using it again now gives %s, want %s",
					tag, o.Kind, o.What, o.State, note, brief(r1), o.WantErr)
			}
			continue
		case ckIssued:
			if !ok1 {
				fail("LOST %s: %s was handed out in an acknowledged answer before the kill and not used; now it gives %s",
					strings.ToUpper(o.Kind), o.What, brief(r1))
			}
		case ckInflight:
			if !ok1 && !refused(r1, o.WantErr) {
				fail("%s %s (%s%s): first use after the restart gives %s, want success or %s", o.Kind, o.What, o.State, note, brief(r1), o.WantErr)
			}
			if !ok1 && o.Email != "" {
				k.halfSignup(round, o)
			}
		}
		if r2 := k.must(o.use); !refused(r2, o.WantErr) {
			fail("SINGLE USE BROKEN: %s %s (%s%s): second use after the restart gives %s (first %d), want %s",
				o.Kind, o.What, o.State, note, brief(r2), r1.Status, o.WantErr)
		}
		o.State = ckConsumed // for the final pass
		o.sess = nil
	}
	t.Logf("round %d: verified %d acknowledged results in %v", round, checks, time.Since(began).Round(time.Millisecond))
}

// failuresLeft sends wrong passwords for email until the account is locked (429
// too_many_attempts) and returns how many were answered 401 first.
func (k *crashRun) failuresLeft(email string) (int, bool) {
	k.t.Helper()
	for n := 0; n <= crashMaxFailures; n++ {
		r := k.must(func(c *ckClient) (*Resp, error) {
			return c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/password", map[string]string{"email": email, "password": "wrong password 123"}, nil)
		})
		switch {
		case r.Status == http.StatusTooManyRequests && ckErrCode(r) == "too_many_attempts":
			return n, true
		case r.Status != http.StatusUnauthorized:
			k.t.Errorf("failed login for %s: %s, want 401 invalid_credentials or 429 too_many_attempts", email, brief(r))
			return n, true
		}
	}
	return crashMaxFailures + 1, false
}

// halfSignup looks at a sign-up whose code was used by a request in flight at the kill (the
// code is gone): the account was either created with its password or not at all. Creating
// it takes several writes (use the code, create the user, set the password); an account
// left without its password is not an acknowledged loss but is reported (t.Log) as a partial
// sign-up.
func (k *crashRun) halfSignup(round int, o *ckOnce) {
	u := k.adminUser(o.Email)
	if u.Status != http.StatusOK {
		return // not created: the user signs up again
	}
	r := k.must(func(c *ckClient) (*Resp, error) {
		return c.do(http.MethodPost, k.e.Issuer+"/api/v1/login/password", map[string]string{"email": o.Email, "password": Password}, nil)
	})
	if r.Status != http.StatusOK {
		k.halfSignups++
		k.t.Logf("round %d: NOTE partial sign-up: the verify request of %s was in flight at the kill; after the restart the code is used up and the account exists, but its password login gives %s",
			round, o.What, brief(r))
	}
}

func (k *crashRun) adminUser(email string) *Resp {
	k.t.Helper()
	r, err := k.admin.do(http.MethodGet, "http://"+k.e.AdminAddr+"/gatehouse/users/"+url.PathEscape(email), nil,
		map[string]string{"Host": k.e.AdminAddr})
	if err != nil {
		k.t.Fatalf("admin API: %v", err)
	}
	return r
}

// final checks every round again after one more SIGKILL: everything used or revoked stays
// so, every user and live session is still there.
func (k *crashRun) final() {
	t := k.t
	e := k.e
	began := time.Now()
	checks := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("final pass, after %d restarts: "+format, append([]any{k.s.starts - 1}, args...)...)
	}
	rts := slices.Clone(k.extraRTs)
	for _, email := range k.lateUsers {
		checks++
		if r := k.adminUser(email); r.Status != http.StatusOK {
			fail("LOST USER: %s (signed up after a restart with a code from before it) now gives %s", email, brief(r))
		}
	}
	for round, led := range k.all {
		for _, email := range slices.Concat(led.Signups, led.Admins) {
			checks++
			if r := k.adminUser(email); r.Status != http.StatusOK {
				fail("LOST USER: %s (round %d) now gives %s", email, round+1, brief(r))
			}
		}
		for _, s := range led.Sessions {
			if s.LogoutInflight {
				continue
			}
			checks++
			r := k.get(e.Issuer+"/api/v1/session", "", "gatehouse_session="+s.Cookie)
			if s.LoggedOut && r.Status != http.StatusUnauthorized {
				fail("LOGOUT UNDONE: %s's session (round %d, %s) now gives %s", s.Email, round+1, s.Via, brief(r))
			} else if !s.LoggedOut && r.Status != http.StatusOK {
				fail("LOST SESSION: %s's session (round %d, %s) now gives %s", s.Email, round+1, s.Via, brief(r))
			}
		}
		for _, f := range led.Flows {
			rts = append(rts, f.RTs...)
		}
		for _, lo := range led.Lockouts {
			checks++
			if more, locked := k.failuresLeft(lo.Email); !locked || more > 0 {
				fail("LOCKOUT UNDONE: %s (round %d) was locked; now %d more wrong passwords are allowed (locked again: %v)", lo.Email, round+1, more, locked)
			}
		}
		for _, o := range led.Onces {
			checks++
			if r := k.must(o.use); !refused(r, o.WantErr) {
				fail("RESURRECTED: %s %s (round %d, used) now gives %s, want %s", o.Kind, o.What, round+1, brief(r), o.WantErr)
			}
		}
	}
	// Every refresh token ever issued was rotated away, revoked or its family revoked by
	// reuse detection during verification.
	for _, rt := range rts {
		if rt == "" {
			continue
		}
		checks++
		if r := k.must(func(c *ckClient) (*Resp, error) { return k.refresh(c, rt) }); !refused(r, "invalid_grant") {
			fail("REFRESH TOKEN ACCEPTED: %s… (its family was revoked or it was rotated away) now gives %s", rt[:8], brief(r))
		}
	}
	t.Logf("final pass: %d checks in %v", checks, time.Since(began).Round(time.Millisecond))
}

// totals sums the acknowledged operations of every round.
func (k *crashRun) totals() string {
	sum := map[string]int{}
	for _, led := range k.all {
		for n, c := range led.Ops {
			sum[n] += c
		}
	}
	return "acknowledged " + fmtOps(sum)
}
