package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestExamplesSetServerTimeouts: every shipped example Caddyfile sets the server timeouts
// README "Server timeouts" recommends — read_header (a client trickling its request headers
// is cut off, THREATS RB-13 slowloris), read_body and idle — on every server it defines, and
// no write timeout (it would cut long downloads and event streams).
func TestExamplesSetServerTimeouts(t *testing.T) {
	files, err := filepath.Glob("../examples/*/Caddyfile")
	more, err2 := filepath.Glob("../examples/*/*.Caddyfile")
	files = append(files, more...)
	if err != nil || err2 != nil || len(files) == 0 {
		t.Fatalf("no example Caddyfiles found: %v %v", err, err2)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": f})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var cfg struct {
			Apps struct {
				HTTP struct {
					Servers map[string]struct {
						ReadTimeout       time.Duration `json:"read_timeout"`
						ReadHeaderTimeout time.Duration `json:"read_header_timeout"`
						WriteTimeout      time.Duration `json:"write_timeout"`
						IdleTimeout       time.Duration `json:"idle_timeout"`
					} `json:"servers"`
				} `json:"http"`
			} `json:"apps"`
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Apps.HTTP.Servers) == 0 {
			t.Fatalf("%s defines no server", f)
		}
		for name, s := range cfg.Apps.HTTP.Servers {
			if s.ReadHeaderTimeout <= 0 || s.ReadHeaderTimeout > 10*time.Second {
				t.Errorf("%s server %s: read_header %v, want set and at most 10s", f, name, s.ReadHeaderTimeout)
			}
			if s.ReadTimeout <= 0 || s.IdleTimeout <= 0 {
				t.Errorf("%s server %s: read_body %v, idle %v: want both set", f, name, s.ReadTimeout, s.IdleTimeout)
			}
			if s.WriteTimeout != 0 {
				t.Errorf("%s server %s: write timeout %v cuts long downloads and event streams", f, name, s.WriteTimeout)
			}
		}
	}
}

// TestSlowHeadersAreCutOff: a client that trickles its request headers one byte at a time
// (slowloris, THREATS RB-13) holds a connection for as long as the server lets it. Caddy's
// default read_header is one minute; with the quickstart's `servers { timeouts { ... } } `
// block (read_header shortened to 1s for the test) the portal closes such a connection when
// read_header has passed, while normal requests still work. The control runs first, on
// Caddy's defaults: the same trickle keeps its connection, so the cut-off comes from the
// configuration, not from the test.
func TestSlowHeadersAreCutOff(t *testing.T) {
	cfg := Config{Gatehouse: "signup open\n\t\tlogin password passkey email_code magic_link" + AppClient, Sites: AppSite}
	e := Start(t, cfg)
	host := strings.TrimPrefix(e.Issuer, "http://")

	if closed, after := trickleHeaders(t, host, 2500*time.Millisecond); closed {
		t.Fatalf("control, Caddy's default timeouts: the slow connection was closed after %v; the test cannot tell our setting apart", after)
	}

	block := quickstartTimeouts(t)
	if !strings.Contains(block, "read_header 10s") {
		t.Fatalf("examples/quickstart/Caddyfile's timeouts block has no `read_header 10s`:\n%s", block)
	}
	block = strings.Replace(block, "read_header 10s", "read_header 1s", 1)
	src := strings.Replace(e.Render(cfg), "\tgatehouse {\n", block+"\tgatehouse {\n", 1)
	if err := LoadCaddyfile(src); err != nil {
		t.Fatalf("load the configuration with the quickstart's timeouts: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	API.CloseIdleConnections()

	closed, after := trickleHeaders(t, host, 6*time.Second)
	if !closed {
		t.Fatalf("with read_header 1s, a connection trickling its headers was still open after %v", after)
	}
	t.Logf("read_header 1s: the trickling connection was closed after %v", after)
	if after < 900*time.Millisecond || after > 3*time.Second {
		t.Errorf("the slow connection was closed after %v, want about read_header (1s)", after)
	}
	if r := Do(t, API, NewRequest(t, http.MethodGet, e.Issuer+"/.well-known/openid-configuration", nil)); r.Status != http.StatusOK {
		t.Errorf("a normal request with the timeouts set: %s", r)
	}
}

// quickstartTimeouts returns the `servers { ... }` global option of the quickstart example,
// with its lines.
func quickstartTimeouts(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../examples/quickstart/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if line == "\tservers {" {
			in = true
		}
		if in {
			b.WriteString(line + "\n")
			if line == "\t}" {
				return b.String()
			}
		}
	}
	t.Fatal("examples/quickstart/Caddyfile has no `servers { ... }` global option")
	return ""
}

// trickleHeaders opens a connection to host and sends a request's headers one byte every
// 100ms, never finishing them, for at most d. It reports whether the server closed the
// connection, and when.
func trickleHeaders(t *testing.T, host string, d time.Duration) (closed bool, after time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	gone := make(chan time.Duration, 1)
	go func() {
		// The server answers nothing to a request it never finished reading: the read ends
		// when it closes the connection.
		_, _ = io.Copy(io.Discard, conn)
		gone <- time.Since(start)
	}()
	req := fmt.Sprintf("GET /.well-known/openid-configuration HTTP/1.1\r\nHost: %s\r\nX-Slow: ", host)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		select {
		case after := <-gone:
			return true, after
		case <-deadline:
			return false, time.Since(start)
		case <-tick.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				return true, time.Since(start) // reset by the server
			}
		}
	}
}
