package e2e

// Helpers of the PX-13 path-canonicalisation matrix (pathcanon_test.go): a start-up with h2c
// enabled, an upstream that resolves every request path the way five kinds of real servers
// do, and clients that put a path on the wire exactly as written, over HTTP/1.1 and h2c.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"golang.org/x/text/unicode/norm"
)

// ---------------------------------------------------------------------------------------
// Start-up with h2c

// pcStart is Start with `servers { protocols h1 h2 h2c }` in the global options, so every
// site also speaks HTTP/2 over cleartext with prior knowledge.
func pcStart(t *testing.T, cfg Config) *Env {
	t.Helper()
	tmp := t.TempDir()
	e := &Env{t: t, Dir: filepath.Join(tmp, "badger"), CaddyDir: filepath.Join(tmp, "caddy"),
		LogFile: filepath.Join(tmp, "caddy.log"), cfg: cfg}
	e.PortalPort, e.AdminPort, e.AppPort, e.App2Port, e.RPPort = freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	e.Issuer = fmt.Sprintf("http://127.0.0.1:%d", e.PortalPort)
	e.App = fmt.Sprintf("http://127.0.0.1:%d", e.AppPort)
	e.App2 = fmt.Sprintf("http://127.0.0.1:%d", e.App2Port)
	e.RP = fmt.Sprintf("http://127.0.0.1:%d", e.RPPort)
	e.AdminAddr = fmt.Sprintf("127.0.0.1:%d", e.AdminPort)
	e.Upstream = NewUpstream(t)
	e.UpstreamAddr = e.Upstream.Addr()
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("caddy.Stop: %v", err)
		}
		if t.Failed() {
			e.dumpLog()
		}
	})
	src := e.Render(cfg)
	const anchor = "\tgatehouse {"
	if !strings.Contains(src, anchor) {
		t.Fatalf("base Caddyfile changed: no %q to put the servers option before", anchor)
	}
	src = strings.Replace(src, anchor, "\tservers {\n\t\tprotocols h1 h2 h2c\n\t}\n"+anchor, 1)
	if err := LoadCaddyfile(src); err != nil {
		t.Fatalf("load config: %v", err)
	}
	return e
}

// ---------------------------------------------------------------------------------------
// The resolving upstream

// pcKinds are the ways of resolving a request path that the upstream models, in report
// order. Each is a function of the raw request path (without the query).
var pcKinds = []struct {
	Name    string
	Resolve func(raw string) string
}{
	{"whatwg", pcResolveWHATWG},
	{"rfc3986", pcResolveRFC3986},
	{"tomcat", pcResolveTomcat},
	{"iis", pcResolveIIS},
	{"double-decode", pcResolveDoubleDecode},
}

// pcResolveWHATWG routes like Node.js (`new URL(path, "http://x")`, Express, undici,
// Deno, Bun and browsers): the WHATWG URL parser of a special scheme reads "\" as "/",
// reads "%2e" (either case) as "." inside dot segments, removes "." and ".." segments
// without merging empty ones (so "/admin//../secret" is "/admin/secret"), and the router
// then percent-decodes once.
func pcResolveWHATWG(raw string) string {
	if !strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, `\`) {
		return raw
	}
	p := strings.ReplaceAll(raw, `\`, "/")
	dot := func(s string) bool { return s == "." || strings.EqualFold(s, "%2e") }
	dotdot := func(s string) bool {
		switch strings.ToLower(s) {
		case "..", ".%2e", "%2e.", "%2e%2e":
			return true
		}
		return false
	}
	return pcPercentDecode(pcRemoveDots(p, dot, dotdot, false))
}

// pcResolveRFC3986 routes like servers that apply RFC 3986 §5.2.4 remove_dot_segments to
// the raw path and decode afterwards: java.net.URI.resolve, Jetty and Undertow's path
// canonicalisation, Go's url.ResolveReference, Python's urljoin. Empty segments are kept
// ("/admin//../secret" is "/admin/secret"); "%2e" is not a dot. (java.net.URI.normalize
// also merges repeated slashes; this model is the stricter RFC reading.)
func pcResolveRFC3986(raw string) string {
	if !strings.HasPrefix(raw, "/") {
		return raw
	}
	dot := func(s string) bool { return s == "." }
	dotdot := func(s string) bool { return s == ".." }
	return pcPercentDecode(pcRemoveDots(raw, dot, dotdot, false))
}

// pcResolveTomcat routes like Tomcat (and Spring MVC, Jersey, any servlet container
// built on it): path parameters (";..." up to the next "/") are removed from each raw
// segment first — "/public/..;/admin/x" becomes "/public/../admin/x" — then the path is
// decoded (with ALLOW_ENCODED_SLASH on, "%2f" is a slash, as many Spring deployments
// configure), then repeated slashes are merged and dot segments resolved.
func pcResolveTomcat(raw string) string {
	if !strings.HasPrefix(raw, "/") {
		return raw
	}
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ';'); j >= 0 {
			segs[i] = s[:j]
		}
	}
	p := pcPercentDecode(strings.Join(segs, "/"))
	dot := func(s string) bool { return s == "." }
	dotdot := func(s string) bool { return s == ".." }
	return pcRemoveDots(p, dot, dotdot, true)
}

// pcResolveIIS routes like IIS / ASP.NET on Windows (and lenient file servers): "\" is a
// separator both raw and decoded ("%5c"), the path is decoded once (including IIS's own
// "%uXXXX" escapes), overlong UTF-8 for
// ".", "/" and "\" is accepted as those characters (the classic IIS unicode bug),
// compatibility characters fold to ASCII (Windows best-fit mapping: "ａ" is "a"), repeated
// slashes merge, dot segments resolve and the trailing dots and spaces of every segment are
// trimmed ("/admin./x" and "/admin%20/x" are "/admin/x"). Windows also compares without
// case; the invariant checks compare prefixes without case for every kind.
func pcResolveIIS(raw string) string {
	if !strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, `\`) {
		return raw
	}
	p := strings.ReplaceAll(raw, `\`, "/")
	p = pcPercentUDecode(p)
	p = pcPercentDecode(p)
	p = strings.NewReplacer("\xc0\xae", ".", "\xc0\xaf", "/", "\xc1\x9c", `\`, "\xe0\x80\xae", ".", "\xe0\x80\xaf", "/").Replace(p)
	p = strings.ReplaceAll(p, `\`, "/")
	p = norm.NFKC.String(p)
	segs := strings.Split(p, "/")[1:]
	out := []string{}
	for i, s := range segs {
		last := i == len(segs)-1
		if s != "." && s != ".." {
			s = strings.TrimRight(s, ". ")
			if s == "" && !last {
				continue
			}
		}
		switch s {
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case ".":
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// pcResolveDoubleDecode routes like an application that decodes a path its framework has
// already decoded (a rewrite, a second proxy, a file lookup on the decoded name):
// "%2561dmin" becomes "admin", "%252e%252e" becomes "..". Repeated slashes merge and dot
// segments resolve after both decodings.
func pcResolveDoubleDecode(raw string) string {
	if !strings.HasPrefix(raw, "/") {
		return raw
	}
	p := pcPercentDecode(pcPercentDecode(raw))
	dot := func(s string) bool { return s == "." }
	dotdot := func(s string) bool { return s == ".." }
	return pcRemoveDots(p, dot, dotdot, true)
}

// pcRemoveDots resolves the dot segments of p (which starts with "/") like RFC 3986
// §5.2.4 / the WHATWG path state: a "." or ".." as the last segment leaves a trailing
// slash; ".." above the root stays at the root. merge drops empty segments (repeated
// slashes) except a trailing one.
func pcRemoveDots(p string, dot, dotdot func(string) bool, merge bool) string {
	segs := strings.Split(p, "/")[1:]
	out := []string{}
	for i, s := range segs {
		last := i == len(segs)-1
		switch {
		case s == "" && merge && !last:
		case dotdot(s):
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case dot(s):
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// pcPercentDecode decodes every valid %XX once and leaves anything else as it is (like a
// lenient router; the strict ones answer 400 on a bad escape, which is not a bypass).
func pcPercentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pcPercentUDecode decodes IIS's non-standard "%uXXXX" escapes (either case of u) to UTF-8.
func pcPercentUDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(v))
				i += 5
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// pcSeen is what the resolving upstream received: the raw path (request-target without
// the query) and the path each kind resolves it to.
type pcSeen struct {
	ID       string            `json:"id"`
	Raw      string            `json:"raw"`
	Resolved map[string]string `json:"resolved"`
}

// pcUpstream answers every request with 200 and a JSON pcSeen, and remembers it by the
// request's X-Px13-Id header, so the test can tell which requests arrived and how.
type pcUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]pcSeen
}

func newPCUpstream(t *testing.T) *pcUpstream {
	u := &pcUpstream{seen: map[string]pcSeen{}}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _, _ := strings.Cut(r.RequestURI, "?")
		s := pcSeen{ID: r.Header.Get("X-Px13-Id"), Raw: raw, Resolved: map[string]string{}}
		for _, k := range pcKinds {
			s.Resolved[k.Name] = k.Resolve(raw)
		}
		u.mu.Lock()
		u.seen[s.ID] = s
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *pcUpstream) Addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

// Seen returns what the upstream received for the request with this ID.
func (u *pcUpstream) Seen(id string) (pcSeen, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.seen[id]
	return s, ok
}

// ---------------------------------------------------------------------------------------
// Raw clients

// pcResp is an answer to a raw request. Reset reports an HTTP/2 stream the server reset
// (RST_STREAM) instead of answering.
type pcResp struct {
	Status int
	Header http.Header
	Body   []byte
	Reset  string
}

// pcSendH1 writes "GET <path> HTTP/1.1" exactly as given, on a connection of its own.
func pcSendH1(addr, path string, headers [][2]string) (*pcResp, error) {
	return pcSendH1Target(addr, path, headers)
}

// pcSendH1Absolute writes the request-target in absolute form, "GET http://host<path>
// HTTP/1.1", which servers must accept (RFC 9112 §3.2.2) and which proxies and matchers
// have mishandled (THREATS PX-13 lists it).
func pcSendH1Absolute(addr, path string, headers [][2]string) (*pcResp, error) {
	return pcSendH1Target(addr, "http://"+addr+path, headers)
}

func pcSendH1Target(addr, target string, headers [][2]string) (*pcResp, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", target, addr)
	for _, h := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := conn.Write(b.Bytes()); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &pcResp{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// pcSendH2C opens an HTTP/2 connection with prior knowledge and sends one HEADERS frame
// whose :path is exactly path. It writes the frames itself (http2.Framer, hpack) rather than
// using http2.Transport: the transport derives :path from URL.RequestURI(), which cannot
// express a path starting with "//" (URL.Opaque "//x" turns into "http://x") and which
// refuses some of the other spellings before sending them.
func pcSendH2C(addr, path string, headers [][2]string) (*pcResp, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	bw := bufio.NewWriter(conn)
	if _, err := io.WriteString(bw, http2.ClientPreface); err != nil {
		return nil, err
	}
	fr := http2.NewFramer(bw, bufio.NewReader(conn))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		return nil, err
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", addr}, {":path", path}}
	for _, f := range append(fields, headers...) {
		if err := enc.WriteField(hpack.HeaderField{Name: strings.ToLower(f[0]), Value: f[1]}); err != nil {
			return nil, err
		}
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	resp := &pcResp{Header: http.Header{}}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("read frame: %w", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil {
					return nil, err
				}
				if err := bw.Flush(); err != nil {
					return nil, err
				}
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					resp.Status, _ = strconv.Atoi(hf.Value)
				} else if !hf.IsPseudo() {
					resp.Header.Add(hf.Name, hf.Value)
				}
			}
			if f.StreamEnded() {
				return resp, nil
			}
		case *http2.DataFrame:
			if f.StreamID != 1 {
				continue
			}
			resp.Body = append(resp.Body, f.Data()...)
			if f.StreamEnded() {
				return resp, nil
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				resp.Reset = f.ErrCode.String()
				return resp, nil
			}
		case *http2.GoAwayFrame:
			if resp.Status != 0 {
				continue
			}
			return nil, fmt.Errorf("GOAWAY %s: %s", f.ErrCode, f.DebugData())
		}
	}
}

// pcProto is a way of sending a raw request.
type pcProto struct {
	Name string
	Send func(addr, path string, headers [][2]string) (*pcResp, error)
}

var pcProtos = []pcProto{{"h1", pcSendH1}, {"h1-absolute-form", pcSendH1Absolute}, {"h2c", pcSendH2C}}
