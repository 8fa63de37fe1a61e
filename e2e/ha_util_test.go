//go:build linux

package e2e

// The two-instance deployment of the high-availability tests (ha_test.go,
// ha_refresh_test.go, ha_limits_test.go): two gatehouse processes, a and b, on one
// PostgreSQL schema behind a third, a Caddy load balancer. Every process is the real
// cmd/gatehouse binary, so that one of them can be killed with SIGKILL.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// haPorts are one process's ports: Caddy's admin endpoint, the portal and the protected app
// (a test whose processes serve no app leaves App unused).
type haPorts struct{ Admin, Portal, App int }

// AdminAddr is the admin endpoint's host:port.
func (p haPorts) AdminAddr() string { return fmt.Sprintf("127.0.0.1:%d", p.Admin) }

// PortalURL and AppURL are the sites' origins.
func (p haPorts) PortalURL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.Portal) }
func (p haPorts) AppURL() string    { return fmt.Sprintf("http://127.0.0.1:%d", p.App) }

func newHAPorts(t *testing.T) haPorts { return haPorts{freePort(t), freePort(t), freePort(t)} }

// haPair is a two-instance deployment before and after Start: the shared schema (its DSN in
// GATEHOUSE_E2E_DATABASE_URL, inherited by the processes), the built binary, and the ports
// of the balancer (LB) and of the instances (A, B). Issuer and App are the balancer's portal
// and app URLs: the instances' issuer and redirect URIs.
type haPair struct {
	t           *testing.T
	Schema      string
	LB, A, B    haPorts
	Issuer, App string
	dir, bin    string
	a, b, lb    *haProcess
}

// newHAPair creates the schema, builds the binary and chooses the ports.
func newHAPair(t *testing.T) *haPair {
	t.Helper()
	h := &haPair{t: t, dir: t.TempDir()}
	_, h.Schema = pgStorage(t)
	h.bin = buildGatehouse(t, h.dir)
	h.LB, h.A, h.B = newHAPorts(t), newHAPorts(t), newHAPorts(t)
	h.Issuer, h.App = h.LB.PortalURL(), h.LB.AppURL()
	return h
}

// Dir is the directory of the process name ("a", "b", "lb"): its Caddyfile, Caddy storage
// and logs.
func (h *haPair) Dir(name string) string { return filepath.Join(h.dir, name) }

// Start starts instance a, then b (instance returns each one's Caddyfile: a migrates the
// schema and creates the keys, b starts on them; starting together works too, migrations
// run under an advisory lock), then the balancer from its Caddyfile. Each is ready when its
// portal serves the discovery document.
func (h *haPair) Start(instance func(name string, p haPorts) string, balancer string) {
	h.t.Helper()
	discovery := "/.well-known/openid-configuration"
	h.a = startHA(h.t, h.bin, h.dir, "a", instance("a", h.A), h.A.PortalURL()+discovery)
	h.b = startHA(h.t, h.bin, h.dir, "b", instance("b", h.B), h.B.PortalURL()+discovery)
	h.lb = startHA(h.t, h.bin, h.dir, "lb", balancer, h.Issuer+discovery)
}

// Env is the deployment seen through the balancer, with instance a's admin endpoint; up is
// the app's upstream (nil: none).
func (h *haPair) Env(up *Upstream) *Env {
	e := &Env{t: h.t, Issuer: h.Issuer, App: h.App, AdminAddr: h.A.AdminAddr(), PortalPort: h.LB.Portal,
		AppPort: h.LB.App, AdminPort: h.A.Admin}
	if up != nil {
		e.Upstream, e.UpstreamAddr = up, up.Addr()
	}
	return e
}

// haProcess is one gatehouse process run from a Caddyfile of its own.
type haProcess struct {
	t      *testing.T
	name   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startHA writes caddyfile under dir/name, starts the binary on it and waits until ready
// answers 200 (fatal after 60 s or if the process exits).
func startHA(t *testing.T, bin, dir, name, caddyfile, ready string) *haProcess {
	t.Helper()
	p := &haProcess{t: t, name: name, dir: filepath.Join(dir, name)}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cf := filepath.Join(p.dir, "Caddyfile")
	if err := os.WriteFile(cf, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(p.dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "run", "--config", cf, "--adapter", "caddyfile")
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(p.dir, "xdg-data"),
		"XDG_CONFIG_HOME="+filepath.Join(p.dir, "xdg-config"))
	if err := p.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, p.tail())
		}
	})
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, p.cmd.ProcessState, p.tail())
		default:
		}
		if resp, err := c.Get(ready); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 60s\n%s", name, p.tail())
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.CloseIdleConnections()
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *haProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// tail returns the end of the process's output and Caddy log.
func (p *haProcess) tail() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "caddy.log"} {
		data, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			continue
		}
		if len(data) > 8<<10 {
			data = data[len(data)-8<<10:]
		}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", name, data)
	}
	return b.String()
}

// haGet sends GET with the given headers and never fails the test: a transport error is
// returned (the load balancer may lose an instance under it).
func haGet(c *http.Client, rawURL string, hdr map[string]string) (*Resp, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: req.URL}, nil
}
