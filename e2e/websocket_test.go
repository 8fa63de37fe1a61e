package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wsGUID is RFC 6455 §1.3's key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsEchoUpstream is a WebSocket echo server (RFC 6455, text frames under 126 bytes: all the
// test sends). It counts the upgrades it accepted.
func wsEchoUpstream(t *testing.T) (addr string, upgrades *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int32)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "websocket only", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		n.Add(1)
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		_ = brw.Flush()
		for {
			msg, err := wsRead(brw.Reader)
			if err != nil {
				return
			}
			if _, err := conn.Write(wsFrame(msg, false)); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), n
}

// wsFrame is one final text frame (masked from a client, RFC 6455 §5.3).
func wsFrame(msg string, mask bool) []byte {
	b := []byte{0x81, byte(len(msg))}
	if !mask {
		return append(b, msg...)
	}
	b[1] |= 0x80
	var key [4]byte
	_, _ = rand.Read(key[:])
	b = append(b, key[:]...)
	for i := 0; i < len(msg); i++ {
		b = append(b, msg[i]^key[i%4])
	}
	return b
}

// wsRead reads one short frame and returns its payload.
func wsRead(r *bufio.Reader) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", err
	}
	if h[0]&0x0f == 0x8 {
		return "", io.EOF // close frame
	}
	n := int(h[1] & 0x7f)
	var key [4]byte
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return "", err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return "", err
	}
	if h[1]&0x80 != 0 {
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return string(p), nil
}

// wsDial opens a WebSocket to origin+path with bearer (none if ""); it returns the status
// of the handshake answer and, on 101, the connection.
func wsDial(t *testing.T, origin, path, bearer string) (int, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(origin, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + strings.TrimPrefix(origin, "http://") +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + k + "\r\n"
	if bearer != "" {
		req += "Authorization: Bearer " + bearer + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return resp.StatusCode, nil, nil
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(k) {
		t.Fatalf("Sec-WebSocket-Accept %q", resp.Header.Get("Sec-WebSocket-Accept"))
	}
	t.Cleanup(func() { conn.Close() })
	return resp.StatusCode, conn, br
}

// wsEcho sends msg and waits up to d for the echo; an error means the socket is closed.
func wsEcho(conn net.Conn, br *bufio.Reader, msg string, d time.Duration) error {
	_ = conn.SetDeadline(time.Now().Add(d))
	if _, err := conn.Write(wsFrame(msg, true)); err != nil {
		return err
	}
	got, err := wsRead(br)
	if err != nil {
		return err
	}
	if got != msg {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}

// TestPX34_WebSocketThroughProtect: a WebSocket through gatehouse_protect. The credential is
// checked at the upgrade ("The handshake is an HTTP Upgrade request", RFC 6455 §1.3): no
// token, no socket, and the upstream never sees the upgrade. With close_on_revoke, logging
// the session out closes the open socket within a second; without it, the socket stays open
// (as documented) while a new upgrade with the same token is refused.
func TestPX34_WebSocketThroughProtect(t *testing.T) {
	wsAddr, upgrades := wsEchoUpstream(t)
	e := Start(t, Config{Gatehouse: AppClient, Sites: `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		scope read:docs
		close_on_revoke
	}
	reverse_proxy ` + wsAddr + `
}
{{.App2}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		scope read:docs
	}
	reverse_proxy ` + wsAddr + `
}`})
	e.CreateUser("ws@example.com")

	if status, _, _ := wsDial(t, e.App, "/socket", ""); status != http.StatusUnauthorized || upgrades.Load() != 0 {
		t.Fatalf("upgrade without a token: %d, upstream upgrades %d", status, upgrades.Load())
	}
	if status, _, _ := wsDial(t, e.App, "/socket", "not-a-token"); status != http.StatusUnauthorized || upgrades.Load() != 0 {
		t.Fatalf("upgrade with a bad token: %d", status)
	}

	b := NewBrowserLoggedIn(t, e, "ws@example.com")
	tok := e.AccessToken(b, "openid read:docs")
	_, closing, cbr := wsDial(t, e.App, "/socket", tok)
	_, staying, sbr := wsDial(t, e.App2, "/socket", tok)
	if closing == nil || staying == nil {
		t.Fatal("upgrade with a valid token refused")
	}
	for _, c := range []struct {
		conn net.Conn
		br   *bufio.Reader
	}{{closing, cbr}, {staying, sbr}} {
		if err := wsEcho(c.conn, c.br, "hello", 5*time.Second); err != nil {
			t.Fatalf("echo before the logout: %v", err)
		}
	}

	// The user logs out at the portal: the session, and the token issued in it, is revoked.
	if r := cfPortalLogout(t, e, b, ""); r.Status >= 400 {
		t.Fatalf("portal logout: %s", r)
	}
	revokedAt := time.Now()
	_ = closing.SetDeadline(time.Now().Add(3 * time.Second))
	for {
		if _, err := wsRead(cbr); err != nil {
			break
		}
	}
	if d := time.Since(revokedAt); d > time.Second+200*time.Millisecond {
		t.Fatalf("close_on_revoke: socket closed %v after the logout, want within a second", d)
	}
	if err := wsEcho(staying, sbr, "still here", 5*time.Second); err != nil {
		t.Fatalf("without close_on_revoke the open socket must stay open: %v", err)
	}
	if status, _, _ := wsDial(t, e.App2, "/socket", tok); status != http.StatusUnauthorized {
		t.Fatalf("new upgrade with the revoked token: %d", status)
	}
}
