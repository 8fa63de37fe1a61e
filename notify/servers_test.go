package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
)

// The SMTP tests run against real SMTP servers from npm, installed by scripts/deps.sh into
// e2e/node/node_modules: MailDev (which keeps what it receives and serves it over a REST
// API) and, for STARTTLS, which MailDev does not offer, nodemailer's smtp-server (the server
// library MailDev is built on) started from a few lines of JavaScript.

// nodeModules is where scripts/deps.sh installs the Node.js packages.
var nodeModules = filepath.Join("..", "e2e", "node", "node_modules")

// node returns the node binary once MailDev and smtp-server are installed. Without them the
// test skips, saying what to install (scripts/deps.sh), or fails when GATEHOUSE_REQUIRE_TOOLS=1
// (scripts/test.sh): see internal/testenv.
func node(tb testing.TB) string {
	tb.Helper()
	return testenv.Node(tb, "this SMTP test (real SMTP servers: MailDev, smtp-server)",
		filepath.Join("..", "e2e", "node"), "maildev", "smtp-server")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPort waits until something accepts connections on 127.0.0.1:port.
func waitPort(tb testing.TB, port int, exited <-chan struct{}, output func() string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			tb.Fatalf("server exited before listening on port %d:\n%s", port, output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	tb.Fatalf("nothing listens on port %d after 15s:\n%s", port, output())
}

// startProcess runs a server and kills it when the test ends.
func startProcess(tb testing.TB, cmd *exec.Cmd) (lines <-chan string, exited <-chan struct{}, output func() string) {
	tb.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	ch := make(chan string, 100)
	var all strings.Builder
	allDone := make(chan struct{})
	go func() {
		defer close(allDone)
		defer close(ch)
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			all.WriteString(s.Text() + "\n")
			select {
			case ch <- s.Text():
			default:
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return ch, done, func() string {
		select {
		case <-allDone:
			return all.String()
		case <-time.After(time.Second):
			return "(output not available)"
		}
	}
}

// mailDev is a running MailDev.
type mailDev struct {
	SMTPPort, WebPort int
}

// startMailDev starts MailDev on loopback ports with the extra command-line arguments.
func startMailDev(tb testing.TB, args ...string) *mailDev {
	tb.Helper()
	bin := node(tb)
	m := &mailDev{SMTPPort: freePort(tb), WebPort: freePort(tb)}
	cmd := exec.Command(bin, append([]string{filepath.Join(nodeModules, "maildev", "bin", "maildev"),
		"--smtp", strconv.Itoa(m.SMTPPort), "--web", strconv.Itoa(m.WebPort), "--ip", "127.0.0.1",
		"--mail-directory", tb.TempDir()}, args...)...)
	lines, exited, output := startProcess(tb, cmd)
	// MailDev exits on most SMTP socket errors, such as a probe that connects and closes
	// without a TLS handshake, so its SMTP port is not probed: its log line says when it is up.
	timeout := time.After(15 * time.Second)
	for up := false; !up; {
		select {
		case l, ok := <-lines:
			if !ok {
				tb.Fatalf("MailDev exited:\n%s", output())
			}
			up = strings.Contains(l, "SMTP Server running")
		case <-timeout:
			tb.Fatal("MailDev did not start its SMTP server within 15s")
		}
	}
	waitPort(tb, m.WebPort, exited, output)
	return m
}

// mailDevAddress is an address as MailDev's API shows it.
type mailDevAddress struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// mailDevEmail is a received message as MailDev's REST API (GET /email) shows it.
type mailDevEmail struct {
	ID       string           `json:"id"`
	Subject  string           `json:"subject"`
	From     []mailDevAddress `json:"from"`
	To       []mailDevAddress `json:"to"`
	Text     string           `json:"text"`
	HTML     string           `json:"html"`
	Headers  map[string]any   `json:"headers"`
	Envelope json.RawMessage  `json:"envelope"`
}

// emails returns the messages MailDev holds.
func (m *mailDev) emails(tb testing.TB) []mailDevEmail {
	tb.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/email", m.WebPort))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out []mailDevEmail
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		tb.Fatalf("MailDev GET /email: %v", err)
	}
	return out
}

// waitEmails waits until MailDev holds n messages (it stores a message just after accepting
// it) and returns them.
func (m *mailDev) waitEmails(tb testing.TB, n int) []mailDevEmail {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := m.emails(tb)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				tb.Fatalf("MailDev holds %d messages, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testCert is a certificate authority and a server certificate it signed for 127.0.0.1 and
// localhost, written as PEM files.
type testCert struct {
	Pool              *x509.CertPool
	CAFile            string
	CertFile, KeyFile string
}

func newTestCert(tb testing.TB) *testCert {
	tb.Helper()
	dir := tb.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Gatehouse test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	c := &testCert{Pool: x509.NewCertPool(), CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	c.Pool.AddCert(ca)
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	write(c.CAFile, "CERTIFICATE", caDER)
	write(c.CertFile, "CERTIFICATE", der)
	write(c.KeyFile, "PRIVATE KEY", keyDER)
	return c
}

// startTLSServerJS is an SMTP server with STARTTLS (required before AUTH, as smtp-server does
// by default) and AUTH PLAIN/LOGIN for user "gatehouse" with password "s3cret"; it prints each
// received message as a JSON line.
const startTLSServerJS = `
const [smtpServerPath, port, certFile, keyFile] = process.argv.slice(1);
const { SMTPServer } = require(smtpServerPath);
const fs = require('fs');
const server = new SMTPServer({
  key: fs.readFileSync(keyFile),
  cert: fs.readFileSync(certFile),
  authMethods: ['PLAIN', 'LOGIN'],
  logger: false,
  onAuth(auth, session, cb) {
    if (auth.username === 'gatehouse' && auth.password === 's3cret') return cb(null, { user: auth.username });
    cb(new Error('Invalid username or password'));
  },
  onData(stream, session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      console.log(JSON.stringify({
        secure: session.secure, user: session.user || null,
        from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address),
        data: Buffer.concat(chunks).toString(),
      }));
      cb();
    });
  },
});
server.on('error', (e) => console.error('smtp-server error:', e.message));
server.listen(Number(port), '127.0.0.1', () => console.log('READY'));
`

// startTLSMessage is a message as the STARTTLS server prints it.
type startTLSMessage struct {
	Secure bool     `json:"secure"`
	User   *string  `json:"user"`
	From   string   `json:"from"`
	To     []string `json:"to"`
	Data   string   `json:"data"`
}

// startTLSServer starts the STARTTLS server and returns its port and its messages.
func startTLSServer(tb testing.TB, cert *testCert) (int, <-chan startTLSMessage) {
	tb.Helper()
	bin := node(tb)
	pkg, err := filepath.Abs(filepath.Join(nodeModules, "smtp-server"))
	if err != nil {
		tb.Fatal(err)
	}
	port := freePort(tb)
	cmd := exec.Command(bin, "-e", startTLSServerJS, pkg, strconv.Itoa(port), cert.CertFile, cert.KeyFile)
	lines, exited, output := startProcess(tb, cmd)
	waitPort(tb, port, exited, output)
	msgs := make(chan startTLSMessage, 10)
	go func() {
		for l := range lines {
			var m startTLSMessage
			if json.Unmarshal([]byte(l), &m) == nil && m.From != "" {
				msgs <- m
			}
		}
	}()
	return port, msgs
}
