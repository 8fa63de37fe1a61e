// Package portaltest runs the portal's handler packages in unit tests, without Caddy, Node
// or a browser: an identity core from internal/idptest (store/memory, a settable clock, a
// messenger that records what would have been sent), a portalkit.Kit built as
// module/portal.go builds it, an httptest server around the handlers under test, and a
// Browser — an HTTP client with a cookie jar that does not follow redirects and fills in
// CSRF tokens. It is imported by tests only.
package portaltest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Env is an identity core with every code method on, open sign-up and a recording
// messenger (idptest.NewWithMessenger), the portal's Kit on it (plain http: cookie names
// without the __Host- prefix), and a server for the handlers that Mount adds.
type Env struct {
	*idptest.Env
	Msgs *idptest.Messenger
	Kit  *portalkit.Kit
	Mux  *http.ServeMux
	Srv  *httptest.Server
}

// New returns an Env whose identity-core configuration mod changes.
func New(t testing.TB, mod ...func(*idp.Config)) *Env {
	t.Helper()
	core, msgs := idptest.NewWithMessenger(t, mod...)
	tmpl, err := ui.Load()
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	p := core.P
	kit := &portalkit.Kit{Sessions: p.Sessions, SecondFactor: p.MFA, Channels: p.Codes, Passkeys: p.Passkey,
		Social: p.Social, Cookie: session.New(web.CookieName("session", false), core.Ring.DeriveKey("session-cookie-hmac"),
			core.Ring.DeriveKey("session-cookie-aes"), false, time.Hour),
		CSRF: &web.CSRF{Key: core.Ring.DeriveKey("csrf"), CookieName: web.CookieName("csrf", false),
			NewSecret: func() string { return secret.New(32) }},
		Templates: tmpl, Brand: ui.Brand{ProductName: "Test"},
		ClientIP: func(*http.Request) string { return "192.0.2.1" }, Logger: slog.New(slog.DiscardHandler)}
	e := &Env{Env: core, Msgs: msgs, Kit: kit, Mux: http.NewServeMux()}
	e.Srv = httptest.NewServer(e.Mux)
	t.Cleanup(e.Srv.Close)
	return e
}

// Mount mounts handlers (anything with Mount(*http.ServeMux)) on the Env's server.
func (e *Env) Mount(hs ...interface{ Mount(*http.ServeMux) }) {
	for _, h := range hs {
		h.Mount(e.Mux)
	}
}

// Browser is a client of the Env's server with its own cookie jar; it does not follow
// redirects.
type Browser struct {
	t      testing.TB
	e      *Env
	Client *http.Client
	// Header is added to every request (e.g. Sec-Fetch-Site, Accept-Language).
	Header http.Header
}

// Browser returns a new browser without cookies.
func (e *Env) Browser() *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Browser{t: e.T, e: e, Header: http.Header{}, Client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is an answer, read whole.
type Response struct {
	*http.Response
	Body string
}

// Location is the redirect target.
func (r *Response) Location() string { return r.Header.Get("Location") }

// Cookie returns the Set-Cookie of the cookie named web.CookieName(base, false), or nil.
func (r *Response) Cookie(base string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == web.CookieName(base, false) {
			return c
		}
	}
	return nil
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// APIError is the JSON API error body.
func (r *Response) APIError(t testing.TB) web.APIError {
	t.Helper()
	var e web.APIError
	r.JSON(t, &e)
	return e
}

// Do sends a request with the browser's cookies and headers.
func (b *Browser) Do(method, path, contentType string, body io.Reader) *Response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.e.Srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range b.Header {
		req.Header[k] = v
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &Response{Response: resp, Body: string(data)}
}

// Get fetches path.
func (b *Browser) Get(path string) *Response {
	b.t.Helper()
	return b.Do(http.MethodGet, path, "", nil)
}

// PostForm posts a page form with this browser's CSRF token (unless v sets csrf_token,
// even to "").
func (b *Browser) PostForm(path string, v url.Values) *Response {
	b.t.Helper()
	f := url.Values{}
	for k, vs := range v {
		f[k] = vs
	}
	if _, ok := f["csrf_token"]; !ok {
		f.Set("csrf_token", b.CSRF())
	}
	return b.Do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()))
}

// PostJSON posts body as JSON (a string is sent as it is).
func (b *Browser) PostJSON(path string, body any) *Response {
	b.t.Helper()
	return b.SendJSON(http.MethodPost, path, body)
}

// SendJSON sends body as JSON with method (a string is sent as it is).
func (b *Browser) SendJSON(method, path string, body any) *Response {
	b.t.Helper()
	var data []byte
	if s, ok := body.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(body); err != nil {
			b.t.Fatal(err)
		}
	}
	return b.Do(method, path, "application/json", bytes.NewReader(data))
}

func (b *Browser) url() *url.URL {
	u, err := url.Parse(b.e.Srv.URL + "/")
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// CSRF returns this browser's form token, setting the CSRF cookie first if it has none
// (as rendering any page with a form does).
func (b *Browser) CSRF() string {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodGet, b.e.Srv.URL+"/", nil)
	for _, c := range b.Client.Jar.Cookies(b.url()) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	tok := b.e.Kit.CSRF.Token(rec, req)
	if set := rec.Result().Cookies(); len(set) > 0 {
		b.Client.Jar.SetCookies(b.url(), set)
	}
	return tok
}

// SetCookie puts a cookie named web.CookieName(base, false) into the jar ("" deletes it).
func (b *Browser) SetCookie(base, value string) {
	c := &http.Cookie{Name: web.CookieName(base, false), Value: value, Path: "/"}
	if value == "" {
		c.MaxAge = -1
	}
	b.Client.Jar.SetCookies(b.url(), []*http.Cookie{c})
}

// CookieValue returns the value of the jar's cookie named web.CookieName(base, false), or "".
func (b *Browser) CookieValue(base string) string {
	for _, c := range b.Client.Jar.Cookies(b.url()) {
		if c.Name == web.CookieName(base, false) {
			return c.Value
		}
	}
	return ""
}

// LogIn gives the browser a session of the Env's user (amr pwd), as a password login would.
func (b *Browser) LogIn() {
	b.t.Helper()
	sec, _, err := b.e.P.Sessions.Start(b.e.Ctx, b.e.User, []string{"pwd"}, sessions.Meta{IP: "192.0.2.1"})
	if err != nil {
		b.t.Fatalf("start session: %v", err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, b.e.Srv.URL+"/", nil)
	if err := b.e.Kit.Cookie.Issue(rec, req, sec); err != nil {
		b.t.Fatalf("issue session cookie: %v", err)
	}
	b.Client.Jar.SetCookies(b.url(), rec.Result().Cookies())
}

// LastCode returns the code of the last message of kind (otp.MsgLoginCode, ...) to to.
func (e *Env) LastCode(to, kind string) string {
	e.T.Helper()
	return e.Msgs.Last(e.T, to, kind).Vars.Code
}

// Kinds of messages, re-exported for the tests' convenience.
const (
	MsgLoginCode   = otp.MsgLoginCode
	MsgMagicLink   = otp.MsgMagicLink
	MsgRecovery    = otp.MsgRecovery
	MsgVerifyEmail = otp.MsgVerifyEmail
	MsgVerifyPhone = otp.MsgVerifyPhone
)

// AddPasskey stores a passkey record for the Env's user (a synced passkey as registration
// describes it; no key that could answer a ceremony) and returns its ID. A user with a
// passkey needs it as second factor after any other login (mfa.Rules).
func (e *Env) AddPasskey(name string) string {
	e.T.Helper()
	id := "pk-" + secret.New(8)
	if err := e.Store.CreatePasskey(e.Ctx, store.Passkey{ID: id, UserID: e.User.ID, Name: name,
		Credential: json.RawMessage(`{"flags":{"backupEligible":true}}`), CreatedAt: e.Clock.Now()}); err != nil {
		e.T.Fatalf("create passkey: %v", err)
	}
	return id
}

// UseSettings puts runtime settings on the Env as module/settings.go does: the Kit's pages
// and the identity core (idp.Provider.UseSettings) read the view's snapshot. Nothing is
// set in "the Caddyfile"; every method is available; the values start as settings.Defaults
// (password, passkey and social on; the code and link methods off until Set turns them on).
func (e *Env) UseSettings() *idptest.Settings {
	e.T.Helper()
	s := idptest.UseSettings(e.T, e.P, e.Store, settings.Base{Values: settings.Defaults(), EmailAvailable: true,
		SMSAvailable: true, PasskeysAvailable: e.P.Passkey.Enabled()})
	e.Kit.Settings = s.View
	return s
}
