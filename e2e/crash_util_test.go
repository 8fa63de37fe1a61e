//go:build linux

package e2e

// Helpers of the crash-durability test (crash_test.go): Gatehouse as a separate OS process
// (the real cmd/gatehouse binary, built once per test run) that the test can SIGKILL and
// start again on the same Badger directory, HTTP clients that never fail the test on a
// transport error (the server dies under them on purpose), each bound to a loopback source
// address of its own (the per-IP sign-up and send limits would otherwise throttle the load),
// the development outbox from which codes and magic links are read, and the ledger of
// acknowledged results.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------------------
// The Gatehouse process

// buildGatehouse builds cmd/gatehouse into dir and returns the binary's path. The packages
// come from the Go build cache after the first build; linking takes a few seconds.
func buildGatehouse(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH (needed to build cmd/gatehouse): %v", err)
	}
	bin := filepath.Join(dir, "gatehouse")
	start := time.Now()
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/gatehouse-dev/gatehouse/cmd/gatehouse")
	cmd.Dir = ".." // the module root (tests run in e2e/)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gatehouse: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// crashServer is one Gatehouse deployment run as a child process: fixed ports, one Badger
// directory, one Caddyfile rendered by the harness (Env.Render, baseCaddyfile) each time the
// process starts, with a log file of its own per start.
type crashServer struct {
	t   *testing.T
	bin string
	// base holds everything: badger/, caddy/, outbox.txt, Caddyfile-<n>, caddy-<n>.log
	// (Caddy's log) and stderr-<n>.log (the process's output).
	base   string
	env    *Env
	cfg    Config
	Outbox string

	starts int
	cmd    *exec.Cmd
	exited chan struct{}
	// killed is set just before the test's own SIGKILL: an exit without it is a crash.
	killed atomic.Bool
}

// crashGatehouse is the gatehouse block: open sign-up, password, email code and magic-link
// login, the development outbox as email sender, an account lockout after crashMaxFailures
// failed logins per hour, and the app client.
func crashGatehouse(outbox string) string {
	return fmt.Sprintf(`signup open
		login password email_code magic_link
		email outbox %s
		lockout {
			account_max_failures %d
			window 1h
		}`, outbox, crashMaxFailures) + AppClient
}

// crashMaxFailures is the configured number of failed password logins that lock an account.
const crashMaxFailures = 6

// newCrashServer prepares (does not start) a deployment under base.
func newCrashServer(t *testing.T, bin, base string) *crashServer {
	s := &crashServer{t: t, bin: bin, base: base, Outbox: filepath.Join(base, "outbox.txt")}
	e := &Env{t: t, Dir: filepath.Join(base, "badger"), CaddyDir: filepath.Join(base, "caddy")}
	e.PortalPort, e.AdminPort, e.AppPort, e.RPPort = freePort(t), freePort(t), freePort(t), freePort(t)
	e.Issuer = fmt.Sprintf("http://127.0.0.1:%d", e.PortalPort)
	e.App = fmt.Sprintf("http://127.0.0.1:%d", e.AppPort)
	e.RP = fmt.Sprintf("http://127.0.0.1:%d", e.RPPort)
	e.AdminAddr = fmt.Sprintf("127.0.0.1:%d", e.AdminPort)
	e.Upstream = NewUpstream(t)
	e.UpstreamAddr = e.Upstream.Addr()
	s.env = e
	s.cfg = Config{Gatehouse: crashGatehouse(s.Outbox), Sites: AppSite}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			s.dumpLogs()
		}
	})
	return s
}

// start runs `gatehouse run --config <Caddyfile>` and waits until the discovery document
// answers (fatal if the process exits or is not ready within 60 s).
func (s *crashServer) start() {
	t := s.t
	t.Helper()
	s.starts++
	n := s.starts
	s.env.LogFile = filepath.Join(s.base, fmt.Sprintf("caddy-%d.log", n))
	caddyfile := filepath.Join(s.base, fmt.Sprintf("Caddyfile-%d", n))
	if err := os.WriteFile(caddyfile, []byte(s.env.Render(s.cfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(s.base, fmt.Sprintf("stderr-%d.log", n)))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = out, out
	// Should the test binary itself die (a -timeout panic), the child goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Caddy's own data and config directories (nothing should be written there with
	// persist_config off and storage set, but never into the real home).
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(s.base, "xdg-data"),
		"XDG_CONFIG_HOME="+filepath.Join(s.base, "xdg-config"))
	began := time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	s.killed.Store(false)

	disco := s.env.Issuer + "/.well-known/openid-configuration"
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("gatehouse (start %d) exited before it was ready: %v\n%s", n, cmd.ProcessState, s.tail(n))
		default:
		}
		if resp, err := c.Get(disco); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse (start %d) not ready within 60s\n%s", n, s.tail(n))
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.CloseIdleConnections()
	t.Logf("start %d: gatehouse pid %d ready in %v", n, cmd.Process.Pid, time.Since(began).Round(time.Millisecond))
}

// crashed reports whether the process exited without the test's SIGKILL.
func (s *crashServer) crashed() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return !s.killed.Load()
	default:
		return false
	}
}

// kill sends SIGKILL to the running process (if any) and waits for it to be gone.
func (s *crashServer) kill() {
	if s.cmd == nil {
		return
	}
	s.killed.Store(true)
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// tail returns the end of the logs of start n.
func (s *crashServer) tail(n int) string {
	var b strings.Builder
	for _, name := range []string{fmt.Sprintf("stderr-%d.log", n), fmt.Sprintf("caddy-%d.log", n)} {
		data, err := os.ReadFile(filepath.Join(s.base, name))
		if err != nil {
			continue
		}
		if len(data) > 12<<10 {
			data = append([]byte("…"), data[len(data)-12<<10:]...)
		}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", name, data)
	}
	return b.String()
}

// dumpLogs prints the logs of the last two starts (the process killed in the failing round
// and the one restarted after it); the others stay in base.
func (s *crashServer) dumpLogs() {
	for n := max(1, s.starts-1); n <= s.starts; n++ {
		s.t.Logf("logs of gatehouse start %d of %d (all of them are in %s):\n%s", n, s.starts, s.base, s.tail(n))
	}
}

// ---------------------------------------------------------------------------------------
// Clients

// ckIPs hands out loopback source addresses 127.20.0.1, 127.20.0.2, ...: Linux routes all of
// 127.0.0.0/8 to the loopback interface, so each client is a different client IP to Gatehouse.
var ckIPs atomic.Int64

func nextLoopbackIP() net.IP {
	n := ckIPs.Add(1) - 1
	return net.IPv4(127, byte(20+n/62500), byte(n/250%250), byte(1+n%250))
}

// ckClient is a cookie-keeping HTTP client from a loopback address of its own. Transport
// errors are returned, never fatal: during the load the server is killed under it.
type ckClient struct {
	c   *http.Client
	jar *cookiejar.Jar
	IP  string
}

func newCKClient() *ckClient {
	ip := nextLoopbackIP()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
	return &ckClient{IP: ip.String(), jar: jar,
		c: &http.Client{Jar: jar, Transport: tr, CheckRedirect: noRedirect, Timeout: 20 * time.Second}}
}

// close drops the client's idle connections.
func (c *ckClient) close() { c.c.CloseIdleConnections() }

// do sends a request (body as NewRequest: nil, url.Values, string or JSON) with extra
// headers and returns the fully read answer. Only a non-nil *Resp is an acknowledged answer.
func (c *ckClient) do(method, rawURL string, body any, hdr map[string]string) (*Resp, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		return nil, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if h := hdr["Host"]; h != "" {
		req.Host = h
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: data, URL: req.URL}, nil
}

// cookie returns the value of the named cookie the jar holds for rawURL.
func (c *ckClient) cookie(rawURL, name string) string {
	u, _ := url.Parse(rawURL)
	for _, k := range c.jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// ckJSON decodes a JSON object answer (nil if it is not one).
func ckJSON(r *Resp) map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// ckErrCode returns the "error" member of a JSON error answer.
func ckErrCode(r *Resp) string {
	s, _ := ckJSON(r)["error"].(string)
	return s
}

// ---------------------------------------------------------------------------------------
// The development outbox

// errStopped: the load was stopped (the server was killed) while waiting.
var errStopped = errors.New("load stopped")

// outboxMessage waits for the newest outbox message of kind (login_code, magic_link) to
// addr and returns its body. stop ends the wait early.
func outboxMessage(path, kind, addr string, stop *atomic.Bool, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		if data, err := os.ReadFile(path); err == nil {
			blocks := strings.Split("\n"+string(data), "\n=== ")
			for i := len(blocks) - 1; i > 0; i-- {
				head, body, _ := strings.Cut(blocks[i], "\n")
				f := strings.Fields(head)
				if len(f) == 3 && f[2] == kind && strings.HasPrefix(body, "To: "+addr+"\n") {
					return body, nil
				}
			}
		}
		if stop != nil && stop.Load() {
			return "", errStopped
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s message to %s in the outbox within %v", kind, addr, wait)
		}
		time.Sleep(15 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------
// The ledger of acknowledged results

// ckState is how far a single-use item got before the kill.
type ckState int

const (
	// ckIssued: the item was handed out (answer received), its use not yet sent. It must
	// work exactly once after the restart (an acknowledged write).
	ckIssued ckState = iota
	// ckInflight: its use was sent, the answer never arrived. It may work at most once.
	ckInflight
	// ckConsumed: its use was acknowledged. It must never work again (RB-09).
	ckConsumed
)

func (s ckState) String() string {
	return [...]string{"issued, not used", "use in flight at the kill", "used (acknowledged)"}[s]
}

// ckOnce is a single-use item: an authorization code, an email login code or a magic link.
type ckOnce struct {
	Kind  string // "authorization code", "email code", "magic link"
	What  string // for messages
	State ckState
	// WantErr is the error code a refused use must carry.
	WantErr string
	// use presents the item once more.
	use func(c *ckClient) (*Resp, error)
	// onSuccess, if set, sees a successful use (to record the tokens it issued).
	onSuccess func(r *Resp)
	// sess is the session an authorization code was issued in.
	sess *ckSession
	// Email is the address of a sign-up code.
	Email string
}

// ckSession is a portal session whose login or sign-up was acknowledged.
type ckSession struct {
	Email, Cookie, Via string
	// LoggedOut: POST /api/v1/logout was acknowledged (204); LogoutInflight: it was sent,
	// the answer never arrived.
	LoggedOut, LogoutInflight bool
}

// ckFlow is one authorization-code flow of the app client in a session.
type ckFlow struct {
	Sess *ckSession
	Code *ckOnce
	// AT is the newest acknowledged access token; RTs the refresh tokens in the order they
	// were issued (RTs[0] by the code, each next one by an acknowledged rotation).
	AT  string
	RTs []string
	// RotInflight: a rotation of the last RT was sent and not answered.
	RotInflight bool
	// Revoked: POST /revoke of the refresh token was acknowledged; RevokeInflight: sent, not
	// answered.
	Revoked, RevokeInflight bool
}

// ckLockout is a series of failed password logins for one address.
type ckLockout struct {
	Email string
	// Acked failures answered 401 invalid_credentials; Inflight: one more was sent and not
	// answered.
	Acked    int
	Inflight bool
}

// ckLedger records what the load got acknowledged, per round.
type ckLedger struct {
	mu       sync.Mutex
	Signups  []string // emails whose sign-up answered 201 (password Password)
	Admins   []string // emails created through the admin API (201), without password
	Sessions []*ckSession
	Flows    []*ckFlow
	Onces    []*ckOnce
	Lockouts []*ckLockout
	// Problems are unexpected answers during the load (the server was alive and answered).
	Problems []string
	// Counts of acknowledged operations by name.
	Ops map[string]int
}

func newLedger() *ckLedger { return &ckLedger{Ops: map[string]int{}} }

func (l *ckLedger) lock(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}

func (l *ckLedger) op(name string) { l.lock(func() { l.Ops[name]++ }) }

// acked counts the acknowledged operations so far.
func (l *ckLedger) acked() int {
	n := 0
	l.lock(func() {
		for _, c := range l.Ops {
			n += c
		}
	})
	return n
}

// inflight counts the operations whose answer never arrived (call after the load stopped).
func (l *ckLedger) inflight() map[string]int {
	m := map[string]int{}
	for _, o := range l.Onces {
		if o.State == ckInflight {
			m[o.Kind+" use"]++
		}
	}
	for _, f := range l.Flows {
		if f.RotInflight {
			m["refresh rotation"]++
		}
		if f.RevokeInflight {
			m["revocation"]++
		}
	}
	for _, s := range l.Sessions {
		if s.LogoutInflight {
			m["logout"]++
		}
	}
	for _, lo := range l.Lockouts {
		if lo.Inflight {
			m["failed login"]++
		}
	}
	return m
}

func (l *ckLedger) problem(format string, args ...any) {
	l.lock(func() { l.Problems = append(l.Problems, fmt.Sprintf(format, args...)) })
}

// ckUsers is the pool of acknowledged sign-ups that the login scenario draws from, across
// rounds.
type ckUsers struct {
	mu     sync.Mutex
	emails []string
}

func (p *ckUsers) add(e string) {
	p.mu.Lock()
	p.emails = append(p.emails, e)
	p.mu.Unlock()
}

func (p *ckUsers) pick(n int) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.emails) == 0 {
		return "", false
	}
	return p.emails[n%len(p.emails)], true
}

// brief describes an answer in one short line (for failure messages).
func brief(r *Resp) string {
	return fmt.Sprintf("HTTP %d %s", r.Status, truncate(strings.TrimSpace(string(r.Body)), 160))
}
