package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Helpers of the email/SMS code, magic link and recovery tests (codes_test.go): a real SMTP
// server (MailDev, from npm, installed in e2e/node/node_modules by scripts/deps.sh) and a
// recording server in the shape of Twilio's Messages API, wired into a running Gatehouse.

// otSMTPUser and otSMTPPass are the credentials MailDev requires (SMTP AUTH is exercised on
// every message; Gatehouse sends credentials in plain text only to a loopback host).
const (
	otSMTPUser  = "gatehouse"
	otSMTPPass  = "smtp-pass-0123456789"
	otTwilioSID = "ACe2e0123456789abcdef"
	otTwilioTok = "twilio-auth-token-0123456789"
	otTwilioNum = "+15005550006"
	otFrom      = "no-reply@gatehouse.test"
)

// otNodeModules is where scripts/deps.sh installs the Node.js test packages.
var otNodeModules = filepath.Join("node", "node_modules")

// ---------------------------------------------------------------------------------------
// MailDev

// otMail is a received message as MailDev's REST API (GET /email) shows it.
type otMail struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	From    []struct {
		Address string `json:"address"`
	} `json:"from"`
	To []struct {
		Address string `json:"address"`
	} `json:"to"`
	// received is when the test first saw the message in MailDev's API.
	received time.Time
}

func (m otMail) to() string {
	if len(m.To) == 0 {
		return ""
	}
	return strings.ToLower(m.To[0].Address)
}

var (
	otCodeRe = regexp.MustCompile(`(?m)^\s*([0-9]{6})\s*$`)
	otLinkRe = regexp.MustCompile(`https?://[^\s"<>]+/login/magic#[A-Za-z0-9_-]+`)
)

// code returns the 6-digit code of a code message.
func (m otMail) code(t testing.TB) string {
	t.Helper()
	c := otCodeRe.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code on a line of its own in the message %q:\n%s", m.Subject, m.Text)
	}
	return c[1]
}

// link returns the magic link of a magic-link message, checking that the HTML part carries
// the same link.
func (m otMail) link(t testing.TB) string {
	t.Helper()
	l := otLinkRe.FindString(m.Text)
	if l == "" {
		t.Fatalf("no magic link in the message %q:\n%s", m.Subject, m.Text)
	}
	if m.HTML != "" && !strings.Contains(m.HTML, l) {
		t.Errorf("the HTML part does not carry the text part's link %s", l)
	}
	return l
}

// otMailDev is a MailDev process started for one test.
type otMailDev struct {
	t                 testing.TB
	SMTPPort, WebPort int

	mu   sync.Mutex
	seen map[string]bool
	// log is MailDev's output, for failure messages.
	log func() string
}

// otNode returns the node binary and the MailDev script. Without them the test skips, saying
// what to install, or fails when GATEHOUSE_REQUIRE_TOOLS=1 (scripts/test.sh): see
// internal/testenv.
func otNode(t testing.TB) (string, string) {
	t.Helper()
	bin := testenv.Node(t, "this email test (delivery through MailDev)", "node", "maildev")
	return bin, filepath.Join(otNodeModules, "maildev", "bin", "maildev")
}

// otStartMailDev starts MailDev on loopback ports, requiring SMTP AUTH with otSMTPUser, and
// kills it when the test ends.
func otStartMailDev(t testing.TB) *otMailDev {
	t.Helper()
	bin, script := otNode(t)
	m := &otMailDev{t: t, SMTPPort: freePort(t), WebPort: freePort(t), seen: map[string]bool{}}
	cmd := exec.Command(bin, script, "--smtp", strconv.Itoa(m.SMTPPort), "--web", strconv.Itoa(m.WebPort),
		"--ip", "127.0.0.1", "--mail-directory", t.TempDir(), "--incoming-user", otSMTPUser, "--incoming-pass", otSMTPPass)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MailDev: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	var mu sync.Mutex
	var out strings.Builder
	up := make(chan struct{})
	go func() {
		s := bufio.NewScanner(pr)
		once := sync.OnceFunc(func() { close(up) })
		for s.Scan() {
			mu.Lock()
			out.WriteString(s.Text() + "\n")
			mu.Unlock()
			if strings.Contains(s.Text(), "SMTP Server running") {
				once()
			}
		}
	}()
	m.log = func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	// MailDev's log line says when the SMTP server listens (a bare TCP probe of the SMTP
	// port can make it exit); the web port is probed.
	select {
	case <-up:
	case <-exited:
		t.Fatalf("MailDev exited before its SMTP server started:\n%s", m.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("MailDev did not start its SMTP server within 20s:\n%s", m.log())
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.WebPort), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MailDev's web API does not listen on %d:\n%s", m.WebPort, m.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return m
}

// all returns every message MailDev holds.
func (m *otMailDev) all() []otMail {
	m.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/email", m.WebPort))
	if err != nil {
		m.t.Fatalf("MailDev GET /email: %v", err)
	}
	defer resp.Body.Close()
	var out []otMail
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		m.t.Fatalf("MailDev GET /email: %v", err)
	}
	return out
}

// take returns the first message to address whose subject contains subject that no earlier
// call returned, waiting up to wait; ok=false if none arrived.
func (m *otMailDev) take(to, subject string, wait time.Duration) (otMail, bool) {
	m.t.Helper()
	to = strings.ToLower(to)
	deadline := time.Now().Add(wait)
	for {
		for _, msg := range m.all() {
			m.mu.Lock()
			seen := m.seen[msg.ID]
			m.mu.Unlock()
			if !seen && msg.to() == to && strings.Contains(msg.Subject, subject) {
				m.mu.Lock()
				m.seen[msg.ID] = true
				m.mu.Unlock()
				msg.received = time.Now()
				return msg, true
			}
		}
		if time.Now().After(deadline) {
			return otMail{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// next is take that fails the test when no message arrives within 10 seconds.
func (m *otMailDev) next(to, subject string) otMail {
	m.t.Helper()
	msg, ok := m.take(to, subject, 10*time.Second)
	if !ok {
		var got []string
		for _, x := range m.all() {
			got = append(got, x.to()+": "+x.Subject)
		}
		m.t.Fatalf("no message %q to %s arrived in MailDev within 10s; it holds %q\nMailDev log:\n%s", subject, to, got, m.log())
	}
	return msg
}

// none checks that no new message to address arrives within wait.
func (m *otMailDev) none(t testing.TB, to string, wait time.Duration) {
	t.Helper()
	if msg, ok := m.take(to, "", wait); ok {
		t.Errorf("a message %q reached %s:\n%s", msg.Subject, to, msg.Text)
	}
}

// Subjects of the messages (the default English templates, product name Gatehouse).
const (
	otSubjCode    = "sign-in code"
	otSubjLink    = "Sign in to"
	otSubjVerify  = "Confirm your email address"
	otSubjRecover = "Recover your"
	otSubjChanged = "account was changed"
)

// ---------------------------------------------------------------------------------------
// Twilio-shaped SMS API

// otSMS is a text message the fake Twilio received.
type otSMS struct {
	Account, To, From, Body string
}

// otTwilio records POST /2010-04-01/Accounts/{sid}/Messages.json as Twilio's API would
// receive it (HTTP Basic with the account SID and auth token, form fields To, From, Body)
// and answers 201 with a message resource.
type otTwilio struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	msgs     []otSMS
	rejected []string
}

func otStartTwilio(t testing.TB) *otTwilio {
	tw := &otTwilio{t: t}
	tw.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reject := func(status int, why string) {
			tw.mu.Lock()
			tw.rejected = append(tw.rejected, why)
			tw.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code": 20003, "message": %q, "more_info": "https://www.twilio.com/docs/errors/20003", "status": %d}`, why, status)
		}
		const prefix, suffix = "/2010-04-01/Accounts/", "/Messages.json"
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
			reject(http.StatusNotFound, r.Method+" "+r.URL.Path)
			return
		}
		sid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix)
		user, pass, ok := r.BasicAuth()
		if !ok || user != otTwilioSID || pass != otTwilioTok || sid != otTwilioSID {
			reject(http.StatusUnauthorized, "authenticate")
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			reject(http.StatusBadRequest, "content type "+ct)
			return
		}
		if err := r.ParseForm(); err != nil {
			reject(http.StatusBadRequest, err.Error())
			return
		}
		m := otSMS{Account: sid, To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body")}
		if m.To == "" || m.Body == "" || m.From != otTwilioNum {
			reject(http.StatusBadRequest, fmt.Sprintf("message %+v", m))
			return
		}
		tw.mu.Lock()
		tw.msgs = append(tw.msgs, m)
		n := len(tw.msgs)
		tw.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", n), "account_sid": sid,
			"to": m.To, "from": m.From, "body": m.Body, "status": "queued"})
	}))
	t.Cleanup(tw.srv.Close)
	return tw
}

// next returns the next text message (in arrival order) to phone, waiting up to 10s.
func (tw *otTwilio) next(t testing.TB, phone string) otSMS {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tw.mu.Lock()
		for i := range tw.msgs {
			if tw.msgs[i].To == phone {
				m := tw.msgs[i]
				tw.msgs = slices.Delete(tw.msgs, i, i+1)
				tw.mu.Unlock()
				return m
			}
		}
		rejected := slices.Clone(tw.rejected)
		tw.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no text message to %s within 10s (rejected requests: %q)", phone, rejected)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count returns how many text messages to phone arrived and are not taken.
func (tw *otTwilio) count(phone string) int {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	n := 0
	for _, m := range tw.msgs {
		if m.To == phone {
			n++
		}
	}
	return n
}

var otSMSCodeRe = regexp.MustCompile(`^([0-9]{6}) is your `)

func (m otSMS) code(t testing.TB) string {
	t.Helper()
	c := otSMSCodeRe.FindStringSubmatch(m.Body)
	if c == nil {
		t.Fatalf("no code at the start of the text message %q", m.Body)
	}
	return c[1]
}

// ---------------------------------------------------------------------------------------
// Gatehouse with real senders

// otEnv is a running Gatehouse whose email goes through MailDev (SMTP with AUTH) and whose
// text messages go to the fake Twilio.
type otEnv struct {
	*Env
	mail *otMailDev
	sms  *otTwilio
	// src is the Caddyfile loaded.
	src string
}

// otOptions change the configuration of otStart.
type otOptions struct {
	// Extra is added to the gatehouse block; SMSExtra to its sms block.
	Extra, SMSExtra string
	// AccessLog turns on the portal's access log and Caddy's DEBUG level in the log file.
	AccessLog bool
	// TrustProxy makes Caddy take the client IP from X-Forwarded-For (sent by otClient.ip).
	TrustProxy bool
}

// otGatehouse is the gatehouse block of the tests: open sign-up, every login method, email
// through MailDev and SMS through the fake Twilio; the app client is the relying party.
func otGatehouse(m *otMailDev, tw *otTwilio, extra, smsExtra string) string {
	return fmt.Sprintf(`signup open
		login password passkey email_code magic_link sms_code
		email {
			smtp 127.0.0.1:%d {
				username %s
				password %s
				from "Gatehouse Test <%s>"
				tls none
				timeout 5s
			}
		}
		sms {
			%s
			twilio {
				account_sid %s
				auth_token %s
				from %s
				base_url %s
			}
		}`, m.SMTPPort, otSMTPUser, otSMTPPass, otFrom, smsExtra, otTwilioSID, otTwilioTok, otTwilioNum, tw.srv.URL) + AppClient + "\n\t\t" + extra
}

// otStart starts MailDev, the fake Twilio and Gatehouse configured to use them.
func otStart(t *testing.T, o otOptions) *otEnv {
	t.Helper()
	m := otStartMailDev(t)
	tw := otStartTwilio(t)
	cfg := Config{Gatehouse: otGatehouse(m, tw, o.Extra, o.SMSExtra), Sites: AppSite}
	if !o.AccessLog && !o.TrustProxy {
		e := Start(t, cfg)
		return &otEnv{Env: e, mail: m, sms: tw, src: e.Render(cfg)}
	}
	// Options the harness's base Caddyfile does not have: start with it, then reload the
	// edited Caddyfile (the same Badger directory and ports).
	e := Start(t, Config{})
	src := e.Render(cfg)
	var global string
	if o.TrustProxy {
		global += "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t\tclient_ip_headers X-Forwarded-For\n\t}\n"
	}
	if o.AccessLog {
		src = strings.Replace(src, "level WARN", "level DEBUG", 1)
		src = strings.Replace(src, "\tgatehouse_portal\n", "\tgatehouse_portal\n\tlog {\n\t\toutput file "+e.LogFile+"\n\t}\n", 1)
	}
	src = strings.Replace(src, "\tgatehouse {\n", global+"\tgatehouse {\n", 1)
	if err := LoadCaddyfile(src); err != nil {
		t.Fatalf("load the edited Caddyfile: %v", err)
	}
	return &otEnv{Env: e, mail: m, sms: tw, src: src}
}

// otClient is a browser-like client: a cookie jar, JSON API calls and page requests.
type otClient struct {
	*Browser
	e *otEnv
	t *testing.T
	// ip, if set, is sent in X-Forwarded-For (otOptions.TrustProxy).
	ip string
}

func (e *otEnv) client(t *testing.T) *otClient {
	return &otClient{Browser: NewBrowser(t), e: e, t: t}
}

// api sends a JSON request (POST unless method is given in path as "GET /...").
func (c *otClient) api(path string, body any) *Resp {
	c.t.Helper()
	method := http.MethodPost
	if m, p, ok := strings.Cut(path, " "); ok {
		method, path = m, p
	}
	if body == nil && method == http.MethodPost {
		body = map[string]any{}
	}
	req := NewRequest(c.t, method, c.e.Issuer+path, body)
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	return Do(c.t, c.C, req)
}

// page GETs (form nil) or POSTs a form to a portal page without following redirects.
func (c *otClient) page(path string, form url.Values) *Resp {
	c.t.Helper()
	method := http.MethodGet
	if form != nil {
		method = http.MethodPost
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.e.Issuer + path
	}
	req := NewRequest(c.t, method, u, nil)
	if form != nil {
		req = NewRequest(c.t, method, u, form)
	}
	req.Header.Set("Accept", "text/html")
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	return Do(c.t, c.C, req)
}

// cookie returns the value of the portal cookie gatehouse_<name> ("" if none).
func (c *otClient) cookie(name string) string { return c.Cookie(c.e.Issuer+"/", "gatehouse_"+name) }

// setCookie plants the portal cookie gatehouse_<name> (a value copied from another browser).
func (c *otClient) setCookie(name, value string) {
	u, _ := url.Parse(c.e.Issuer + "/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_" + name, Value: value, Path: "/"}})
}

// session returns the session API's answer: the user's email if logged in, else "".
func (c *otClient) session() (email string, amr []string) {
	c.t.Helper()
	r := c.api("GET /api/v1/session", nil)
	if r.Status != http.StatusOK {
		return "", nil
	}
	var s struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(r.Body, &s); err != nil {
		c.t.Fatalf("session API: %v\n%s", err, r.Body)
	}
	return s.User.Email, s.AMR
}

// wantSession fails unless the client is logged in as email (with amr containing amr, if
// given).
func (c *otClient) wantSession(what, email string, amr ...string) {
	c.t.Helper()
	got, gotAMR := c.session()
	if got != email {
		c.t.Fatalf("%s: logged in as %q, want %q", what, got, email)
	}
	for _, a := range amr {
		if !slices.Contains(gotAMR, a) {
			c.t.Errorf("%s: amr %q lacks %q", what, gotAMR, a)
		}
	}
}

// wantNoSession fails if the client is logged in.
func (c *otClient) wantNoSession(what string) {
	c.t.Helper()
	if got, _ := c.session(); got != "" {
		c.t.Fatalf("%s: logged in as %q, want no session", what, got)
	}
}

// otAPIError checks an API error answer.
func otAPIError(t testing.TB, what string, r *Resp, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: HTTP %d, want %d %s: %s", what, r.Status, status, code, r)
		return
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error != code {
		t.Errorf("%s: error %q, want %q: %s", what, e.Error, code, r)
	}
}

// otWant checks a status.
func otWant(t testing.TB, what string, r *Resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: HTTP %d, want %d: %s", what, r.Status, status, r)
	}
}

// emailCodeLogin requests an email code for email, reads it from MailDev and logs in.
func (c *otClient) emailCodeLogin(email string) {
	c.t.Helper()
	otWant(c.t, "email code start", c.api("/api/v1/login/email-code/start", map[string]string{"email": email}), http.StatusAccepted)
	code := c.e.mail.next(email, otSubjCode).code(c.t)
	otWant(c.t, "email code verify", c.api("/api/v1/login/code/verify", map[string]string{"code": code}), http.StatusOK)
}

// otWrongCode returns a 6-digit code that is not code.
func otWrongCode(code string, i int) string {
	for {
		w := fmt.Sprintf("%06d", (i*7919+13)%1_000_000)
		if w != code {
			return w
		}
		i++
	}
}

// ---------------------------------------------------------------------------------------
// White-box access to the running server's store

// otCodeRecord returns the stored record of the code flow whose secret is flow (the
// gatehouse_otp cookie), or of a magic link whose token is token: the store key is the hash.
func otCodeRecord(t *testing.T, sec string) (store.OneTimeCode, error) {
	t.Helper()
	return Provider(t).Store.GetOneTimeCode(context.Background(), secret.Hash(sec))
}

// otExpire moves the expiry of the code or link record of sec into the past (the server's
// clock is the wall clock; its records are what can be aged).
func otExpire(t *testing.T, sec string) {
	t.Helper()
	_, err := Provider(t).Store.UpdateOneTimeCode(context.Background(), secret.Hash(sec), func(c store.OneTimeCode) (store.OneTimeCode, error) {
		c.ExpiresAt = time.Now().Add(-time.Second)
		return c, nil
	})
	if err != nil {
		t.Fatalf("expire record: %v", err)
	}
}

// otAgeSessions moves the authentication time of every session of the user with email back
// by d.
func otAgeSessions(t *testing.T, email string, d time.Duration) {
	t.Helper()
	AgeSessions(t, otUser(t, email).ID, d)
}

// otUser returns the stored account of email.
func otUser(t *testing.T, email string) store.User {
	t.Helper()
	u, err := Provider(t).Store.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// otResetSendLimits forgets the send counters of the client IP and of dests (so that a test
// measuring many requests is not stopped by CR-12's limits, which have their own test).
func otResetSendLimits(t *testing.T, ip string, dests ...string) {
	t.Helper()
	st := Provider(t).Store
	keys := []string{"send:ip:" + ip}
	for _, d := range dests {
		keys = append(keys, "send:dest:"+secret.Hash(d))
	}
	for _, k := range keys {
		if err := st.ResetCounter(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
}

// otPercentile returns the p-quantile (0..1) of d.
func otPercentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// otAddPhone logs email in with its password in a new client (from ip, if set) and adds and
// verifies phone with the texted code.
func (e *otEnv) addPhone(t *testing.T, email, phone, ip string) {
	t.Helper()
	c := e.client(t)
	c.ip = ip
	otWant(t, "password login", c.api("/api/v1/login/password", map[string]string{"email": email, "password": Password}), http.StatusOK)
	otWant(t, "phone start", c.api("/api/v1/account/phone/start", map[string]string{"phone_number": phone}), http.StatusAccepted)
	otWant(t, "phone verify", c.api("/api/v1/account/phone/verify", map[string]string{"code": e.sms.next(t, phone).code(t)}), http.StatusOK)
	// The account's address is told of the new number.
	if n := e.mail.next(email, otSubjChanged); !strings.Contains(n.Text, phone) {
		t.Errorf("the notice of the phone change does not name %s:\n%s", phone, n.Text)
	}
}

// otErr returns the error code and message of an API error answer ("" if none).
func otErr(r *Resp) (code, message string) {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error, e.Message
}

// otParallel runs fn(0..n-1) at the same time (released together) and returns the answers.
func otParallel(n int, fn func(i int) *Resp) []*Resp {
	out := make([]*Resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// otTally counts answers by "status error-code".
func otTally(rs []*Resp) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		code, _ := otErr(r)
		m[strconv.Itoa(r.Status)+" "+code]++
	}
	return m
}

// otSame checks that two answers an attacker can tell apart by nothing: the same status, the
// same body once the echoed values (each pair in echoes: the value in a, the value in b) and
// CSRF tokens are masked, the same headers but Date, and the same cookies (names, attributes
// and value lengths; the values are random).
func otSame(t *testing.T, what string, a, b *Resp, echoes ...string) {
	t.Helper()
	if a.Status != b.Status {
		t.Errorf("%s: HTTP %d vs %d\n%s\n%s", what, a.Status, b.Status, a, b)
		return
	}
	mask := func(r *Resp, off int) string {
		s := string(csrfRe.ReplaceAll(r.Body, []byte(`name="csrf_token" value="CSRF"`)))
		for i := off; i < len(echoes); i += 2 {
			s = strings.ReplaceAll(s, echoes[i], "ECHO")
		}
		return s
	}
	if ba, bb := mask(a, 0), mask(b, 1); ba != bb {
		t.Errorf("%s: bodies differ:\n%s\n---\n%s", what, truncate(ba, 1500), truncate(bb, 1500))
	}
	names := func(h http.Header) []string {
		var n []string
		for k := range h {
			if k != "Date" {
				n = append(n, k)
			}
		}
		slices.Sort(n)
		return n
	}
	if na, nb := names(a.Header), names(b.Header); !slices.Equal(na, nb) {
		t.Errorf("%s: header names differ: %q vs %q", what, na, nb)
	}
	for k, va := range a.Header {
		if k == "Date" || k == "Set-Cookie" || k == "Content-Length" && len(echoes) > 0 {
			continue
		}
		if vb := b.Header.Values(k); !slices.Equal(va, vb) {
			t.Errorf("%s: header %s: %q vs %q", what, k, va, vb)
		}
	}
	cookies := func(r *Resp) []string {
		var out []string
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			out = append(out, fmt.Sprintf("%s len=%d path=%s maxage=%d httponly=%v secure=%v samesite=%v",
				c.Name, len(c.Value), c.Path, c.MaxAge, c.HttpOnly, c.Secure, c.SameSite))
		}
		slices.Sort(out)
		return out
	}
	if ca, cb := cookies(a), cookies(b); !slices.Equal(ca, cb) {
		t.Errorf("%s: cookies differ:\n%q\n%q", what, ca, cb)
	}
}

// otDiskContains reports whether any file under dir (the Badger directory) contains s.
func otDiskContains(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = strings.Contains(string(b), s)
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return found
}
