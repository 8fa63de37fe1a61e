package protect

// Fuzz targets for what a Guard reads from the client: the Cookie headers (its session
// cookie, a sealed handle (seal.go), found without allocating; the pending-login state
// cookie, sealed with securecookie) and the Authorization header, end to end through Serve.
// Run one with
//
//	go test -run '^$' -fuzz '^FuzzGuardCredentials$' -fuzztime 60s ./handlers/protect
//
// or every fuzz target with scripts/fuzz.sh. The provider here is built independently of
// env_test.go, as module/app.go builds it, on an in-memory store, with a frozen clock
// so that the seeded access token stays valid however long the fuzzer runs.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// FuzzSessionCookie: a sealed session cookie opens to exactly what was sealed, only under
// the cookie name it was sealed for; a value with any one character changed, truncated or
// extended never opens, nor does anything that is not a sealed value (the earlier plain
// "<access token>~<refresh token>" format included), and opening never panics.
func FuzzSessionCookie(f *testing.F) {
	s, err := newSealer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []struct{ client, at, rt, probe string }{
		{"web", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl", "rt-secret", "eyJh.eyJz.c2ln~rt-secret"},
		{"web", "not.a.jwt!", "", "at~"}, {"", "a", "~", "~"}, {"c", "a.b", "x", ""},
		{"web", "eyJh.eyJz.c2ln", strings.Repeat("r", 300), strings.Repeat("A", 8193)},
	} {
		f.Add(c.client, c.at, c.rt, c.probe, uint16(7))
	}
	f.Fuzz(func(t *testing.T, client, at, rt, probe string, pos uint16) {
		if sc, ok := s.open("gatehouse_auth", probe); ok {
			t.Fatalf("%q opened as %+v", probe, sc)
		}
		want := sealedCookie{Client: client, AccessToken: at, RefreshToken: rt}
		v, err := s.seal("gatehouse_auth", want)
		if err != nil {
			if len(client)+len(at)+len(rt) < 2500 {
				t.Fatalf("seal %+v: %v", want, err)
			}
			return
		}
		got, ok := s.open("gatehouse_auth", v)
		if at == "" {
			if ok {
				t.Fatalf("opened a cookie without an access token: %+v", got)
			}
			return
		}
		if !ok || got != want {
			t.Fatalf("sealed %+v, opened %+v (%v)", want, got, ok)
		}
		if _, ok := s.open("gatehouse_other", v); ok {
			t.Fatal("opened under another cookie name")
		}
		i := int(pos) % len(v)
		flip := []byte(v)
		if flip[i] == 'A' {
			flip[i] = 'B'
		} else {
			flip[i] = 'A'
		}
		for _, bad := range []string{string(flip), v[:i], v + "A"} {
			if _, ok := s.open("gatehouse_auth", bad); ok {
				t.Fatalf("a modified value opened: %q", bad)
			}
		}
	})
}

// FuzzFindCookie: findCookie (the Guard's allocation-free cookie lookup) agrees with a plain
// reading of the Cookie headers — each value split at ';', leading spaces and tabs dropped, the first
// "name=" part wins and a second one is a duplicate (cookie tossing, PX-27) — and, for
// headers a browser sends (every part a valid cookie, no tabs), with net/http's
// ParseCookie. After stripCookies no Gatehouse cookie is left and every other cookie is kept
// in order (PX-30).
func FuzzFindCookie(f *testing.F) {
	for _, s := range []string{
		"gatehouse_auth=at~rt", "a=1; gatehouse_auth=at~rt; b=2", "gatehouse_auth=x; gatehouse_auth=y",
		"__Host-gatehouse_auth=x\n__Host-gatehouse_auth=y", "gatehouse_auth=", "gatehouse_auth", "gatehouse_authx=1",
		" gatehouse_auth=v ", "gatehouse_auth=\"v\"", "a=b;gatehouse_auth=v;;", "gatehouse_auth =v", "\tgatehouse_auth=v",
		"gatehouse_state=s; __Secure-gatehouse_auth=z; gatehouse_session=q; app=1", "GATEHOUSE_AUTH=v", "",
	} {
		f.Add(s)
	}
	names := []string{"gatehouse_auth", "__Host-gatehouse_auth"}
	f.Fuzz(func(t *testing.T, header string) {
		values := strings.Split(header, "\n")
		for _, name := range names {
			value, found, dup := findCookie(values, name)
			// The plain reading.
			var want []string
			for _, v := range values {
				for _, part := range strings.Split(v, ";") {
					part = strings.TrimLeft(part, " \t") // RFC 6265 §5.2: leading whitespace
					if rest, ok := strings.CutPrefix(part, name+"="); ok {
						want = append(want, strings.TrimRight(rest, " "))
					}
				}
			}
			switch {
			case len(want) > 1 && (!dup || !found || value != ""):
				t.Fatalf("%q: %d cookies %s, findCookie = %q %v %v", header, len(want), name, value, found, dup)
			case len(want) == 1 && (dup || !found || value != want[0]):
				t.Fatalf("%q: cookie %s = %q, findCookie = %q %v %v", header, name, want[0], value, found, dup)
			case len(want) == 0 && (found || dup):
				t.Fatalf("%q: no cookie %s, findCookie = %q %v %v", header, name, value, found, dup)
			}
			// net/http, on what a browser would send.
			if strings.ContainsAny(header, "\t\r") {
				continue
			}
			var parsed []string
			valid := true
			for _, v := range values {
				cs, err := http.ParseCookie(v)
				if err != nil {
					valid = false
					break
				}
				for _, c := range cs {
					if c.Name == name {
						if c.Quoted {
							parsed = append(parsed, `"`+c.Value+`"`)
						} else {
							parsed = append(parsed, c.Value)
						}
					}
				}
			}
			if valid && !slices.Equal(parsed, want) {
				t.Fatalf("%q: net/http reads cookie %s as %q, findCookie as %q", header, name, parsed, want)
			}
		}
		// Stripping.
		h := http.Header{"Cookie": slices.Clone(values)}
		stripCookies(h)
		var kept []string
		for _, v := range values {
			for _, part := range strings.Split(v, ";") {
				p := strings.TrimSpace(part)
				if p == "" {
					continue
				}
				n, _, _ := strings.Cut(p, "=")
				if !isGatehouseCookie(strings.TrimSpace(n)) {
					kept = append(kept, p)
				}
			}
		}
		var got []string
		for _, v := range h["Cookie"] {
			for _, part := range strings.Split(v, ";") {
				if p := strings.TrimSpace(part); p != "" {
					got = append(got, p)
				}
			}
		}
		if !slices.Equal(got, kept) {
			t.Fatalf("%q: stripCookies kept %q, want %q", header, got, kept)
		}
		for _, name := range append(names, "gatehouse_state", "__Host-gatehouse_state", "gatehouse_session") {
			if _, found, _ := findCookie(h["Cookie"], name); found {
				t.Fatalf("%q: %s survives stripCookies: %q", header, name, h["Cookie"])
			}
		}
	})
}

// fuzzStateGuard is a Guard with only what its state cookie needs.
func fuzzStateGuard(tb testing.TB) *Guard {
	tb.Helper()
	g := &Guard{Provider: &idp.Provider{}, CookieHashKey: []byte(strings.Repeat("h", 32)),
		CookieBlockKey: []byte(strings.Repeat("b", 32)), CSRFKey: []byte("csrf"), SessionKey: []byte(strings.Repeat("s", 32))}
	if err := g.Init(); err != nil {
		tb.Fatal(err)
	}
	return g
}

// FuzzPendingStateCookie: reading the pending-login state cookie never panics, and whatever
// the Cookie header, the logins it yields are the ones the Guard sealed into it: a client
// cannot choose the state, nonce, PKCE verifier or return URL of a login (AS-27, PX-19).
func FuzzPendingStateCookie(f *testing.F) {
	g := fuzzStateGuard(f)
	sealed := []pendingLogin{{State: "st", Nonce: "n", Verifier: "v", ReturnTo: "/admin", RedirectURI: "https://app.test/.gatehouse/callback",
		Created: 1_800_000_000, Client: "web", Cookie: "gatehouse_auth"}}
	valid, err := g.codec.Encode("gatehouse_state", sealed)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"gatehouse_state=" + valid, "__Host-gatehouse_state=" + valid, "gatehouse_state=" + valid[:len(valid)-4],
		"gatehouse_state=" + strings.ToUpper(valid), `gatehouse_state="` + valid + `"`, "gatehouse_state=" + valid + "; gatehouse_state=x",
		"gatehouse_state=W3sicyI6InN0In1d", "gatehouse_state=", "gatehouse_state=" + strings.Repeat("A", 9000),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, header string, tls bool) {
		r := httptest.NewRequest(http.MethodGet, "https://app.test/.gatehouse/callback", nil)
		if !tls {
			r.TLS = nil
		}
		r.Header.Set("Cookie", header)
		list := g.pending(r)
		if list != nil && !reflect.DeepEqual(list, sealed) {
			t.Fatalf("%q decoded to logins the Guard never sealed: %+v", header, list)
		}
	})
}

// FuzzPendingRoundTrip: a pending login the Guard saves comes back unchanged from the cookie
// it sets, or the cookie is cleared when it would be too large; never a truncated login.
func FuzzPendingRoundTrip(f *testing.F) {
	f.Add("st", "n", "verifier", "/admin?x=1", "https://app.test/.gatehouse/callback", "web", "gatehouse_auth", int64(1_800_000_000))
	f.Add("", "", "", "", "", "", "", int64(0))
	f.Add("\x00\xff", "é", "\"", "//evil.test", "javascript:alert(1)", "cli", "__Host-gatehouse_auth", int64(-1))
	f.Add(strings.Repeat("s", 3000), "n", "v", "/", "u", "c", "k", int64(1))
	g := fuzzStateGuard(f)
	f.Fuzz(func(t *testing.T, state, nonce, verifier, returnTo, redirectURI, client, cookie string, created int64) {
		p := pendingLogin{State: state, Nonce: nonce, Verifier: verifier, ReturnTo: returnTo, RedirectURI: redirectURI,
			Created: created, Client: client, Cookie: cookie}
		r := httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
		w := httptest.NewRecorder()
		g.savePending(w, r, []pendingLogin{p})
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%d cookies", len(cookies))
		}
		c := cookies[0]
		if c.MaxAge < 0 {
			return // too large: cleared
		}
		r2 := httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
		r2.AddCookie(c)
		got := g.pending(r2)
		if len(got) != 1 || !reflect.DeepEqual(got[0], normalizePending(p)) {
			t.Fatalf("saved %+v, read %+v", p, got)
		}
	})
}

// normalizePending is p after a trip through encoding/json (the state cookie's serializer),
// which replaces each byte of invalid UTF-8 with U+FFFD.
func normalizePending(p pendingLogin) pendingLogin {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	var out pendingLogin
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// guardFixture is a Guard with a provider, a user who logged in, and her access token.
type guardFixture struct {
	g      *Guard
	at     string
	userID string
	cookie string // the session cookie holding at (sealed)
}

const fuzzSite = "https://app.test"

func newGuardFixture(tb testing.TB) *guardFixture {
	tb.Helper()
	ctx := context.Background()
	frozen := time.Now().Truncate(time.Second)
	now := func() time.Time { return frozen }
	s := memory.New()
	ring, err := keys.Load(ctx, s, keys.Algorithms, now)
	if err != nil {
		tb.Fatalf("keys: %v", err)
	}
	cb := fuzzSite + DefaultCallbackPath
	client, err := idp.NewClient(idp.ClientConfig{ID: "web", RedirectURIs: []string{cb}, Scopes: []string{"openid", "email", "read"}})
	if err != nil {
		tb.Fatal(err)
	}
	rl := tokens.NewRevocationList(now, 0)
	p, err := idp.New(idp.Config{Issuer: "https://login.test", TenantID: "t1", SignupMode: idp.SignupClosed}, s, ring,
		password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, 0), rl, []*idp.Client{client}, now, nil)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := p.CreateUser(ctx, idp.NewUser{Email: "alice@example.com", FirstName: "Alice", Groups: []string{"staff"}, EmailVerified: true})
	if err != nil {
		tb.Fatal(err)
	}
	verifier := secret.New(32)
	sum := sha256.Sum256([]byte(verifier))
	req, _, oerr := p.ParseAuthRequest(ctx, url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {cb},
		"scope": {"openid email read"}, "state": {"s"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}})
	if oerr != nil {
		tb.Fatal(oerr)
	}
	_, sess, err := p.StartSession(ctx, u, []string{"pwd"}, idp.SessionMeta{})
	if err != nil {
		tb.Fatal(err)
	}
	code, err := p.IssueCode(ctx, req, sess)
	if err != nil {
		tb.Fatal(err)
	}
	resp, oerr := p.ExchangeCode(ctx, client, code, cb, verifier)
	if oerr != nil {
		tb.Fatal(oerr)
	}
	headers, err := CompileHeaders(DefaultHeaders)
	if err != nil {
		tb.Fatal(err)
	}
	g := &Guard{Provider: p, ClientID: "web", Rule: policy.Rule{Scopes: []string{"read"}}, Headers: headers,
		CookieHashKey: ring.DeriveKey("protect-cookie-hmac"), CookieBlockKey: ring.DeriveKey("protect-cookie-aes"),
		CSRFKey: ring.DeriveKey("protect-csrf"), SessionKey: ring.DeriveKey("protect-session-v1")}
	if err := g.Init(); err != nil {
		tb.Fatal(err)
	}
	return &guardFixture{g: g, at: resp.AccessToken, userID: u.ID, cookie: sealFor(tb, g, "gatehouse_auth", resp.AccessToken, "x")}
}

// identityHeader reports a header name an upstream could read as identity, compared as
// proxies compare them: any case, '_' for '-' (PX-01, PX-02).
func identityHeader(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	if n == "x-user" {
		return true
	}
	for _, p := range []string{"x-user-", "x-remote-", "remote-user", "remote-email", "remote-groups", "remote-name",
		"x-forwarded-user", "x-forwarded-email", "x-forwarded-groups", "x-forwarded-preferred-username",
		"x-forwarded-access-token", "x-authenticated-", "x-gatehouse-", "x-auth-request-", "gatehouse-"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// FuzzGuardCredentials: whatever Cookie and Authorization headers and extra header lines a
// client sends to a protected route, Serve never panics and never answers 5xx, and
//   - no Gatehouse cookie is left in the request, whether it passes or not, and no bearer
//     Authorization reaches the upstream (PX-30);
//   - no identity header the client sent reaches the upstream, in any spelling; the only
//     identity headers left are the ones the Guard injected, for the user of the token
//     (PX-01, PX-02), and a Connection header does not name them (PX-04);
//   - a request passes only with the seeded valid access token, as the bearer token or the
//     session cookie sealed with it, never with both at once or with two session
//     cookies (JW-24, PX-27).
func FuzzGuardCredentials(f *testing.F) {
	fx := newGuardFixture(f)
	cookie := "gatehouse_auth"
	for _, s := range []struct{ cookie, authz, extra string }{
		{"", "Bearer " + fx.at, ""},
		{cookie + "=" + fx.cookie, "", ""},
		{cookie + "=" + fx.cookie, "", "X-User-Id: admin\nx_user_email: root@example.com\nConnection: X-User-Id, keep-alive"},
		{"", "Bearer " + fx.at, "X-USER-GROUPS: admins\nRemote-User: admin\nX-Forwarded-User: admin"},
		{cookie + "=" + fx.cookie + "; " + cookie + "=" + fx.cookie, "", ""},
		{cookie + "=" + fx.cookie, "Bearer " + fx.at, ""},
		{"", "bearer  " + fx.at, ""},
		{"", "Bearer " + fx.at + " extra", ""},
		{"", "Basic YWxpY2U6cHc=", "X-User-Id: admin"},
		{"", "Bearer " + fx.at[:len(fx.at)-2], ""},
		{cookie + "=~" + fx.at, "", ""},
		{cookie + "=" + fx.at + "~x", "", "Accept: text/html"},
		{cookie + "=" + fx.cookie[:len(fx.cookie)-1] + "A", "", ""},
		{"a=1; gatehouse_session=s; " + cookie + "=garbage~rt", "", "Accept: text/html"},
		{"", "", "Authorization: Bearer " + fx.at},
	} {
		f.Add(s.cookie, s.authz, s.extra)
	}
	// The harness is sound: the bearer seed passes.
	r := httptest.NewRequest(http.MethodGet, "http://app.test/docs", nil)
	r.Header.Set("Authorization", "Bearer "+fx.at)
	if id := fx.g.Serve(httptest.NewRecorder(), r); id == nil {
		f.Fatal("the valid access token is refused")
	}
	f.Fuzz(func(t *testing.T, cookies, authz, extra string) {
		r := httptest.NewRequest(http.MethodGet, "http://app.test/docs", nil)
		if cookies != "" {
			r.Header["Cookie"] = strings.Split(cookies, "\n")
		}
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		for _, line := range strings.Split(extra, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if ok && name != "" {
				r.Header[name] = append(r.Header[name], strings.TrimSpace(value))
			}
		}
		sentAuthz := slices.Clone(r.Header["Authorization"])
		sentCookies := slices.Clone(r.Header["Cookie"])
		w := httptest.NewRecorder()
		id := fx.g.Serve(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, c := range []string{cookie, "__Host-" + cookie, "gatehouse_state", "gatehouse_session"} {
			if _, found, _ := findCookie(r.Header["Cookie"], c); found {
				t.Fatalf("cookie %s forwarded: %q", c, r.Header["Cookie"])
			}
		}
		injected := map[string]string{}
		if id != nil {
			injected["X-User-Id"] = fx.userID
			injected["X-User-Email"] = "alice@example.com"
			injected["X-User-Name"] = "Alice"
			injected["X-User-Groups"] = "staff"
		}
		for name, vals := range r.Header {
			if !identityHeader(name) {
				continue
			}
			if want, ok := injected[name]; !ok || len(vals) != 1 || vals[0] != want {
				t.Fatalf("identity header %s: %q reaches the upstream (identity %v)", name, vals, id != nil)
			}
		}
		for _, v := range r.Header["Connection"] {
			for _, tok := range strings.Split(v, ",") {
				if identityHeader(strings.TrimSpace(tok)) && id != nil {
					t.Fatalf("Connection names %q", tok)
				}
			}
		}
		if id == nil {
			return // answered by the Guard: nothing goes upstream
		}
		for _, v := range r.Header["Authorization"] {
			if f := strings.Fields(v); len(f) > 0 && strings.EqualFold(f[0], "bearer") {
				t.Fatalf("bearer Authorization forwarded: %q", v)
			}
		}
		if id.Claims.Subject != fx.userID {
			t.Fatalf("identity %q", id.Claims.Subject)
		}
		viaBearer := len(sentAuthz) == 1 && strings.Contains(sentAuthz[0], fx.at)
		var viaCookie int
		for _, v := range sentCookies {
			for _, part := range strings.Split(v, ";") {
				if rest, ok := strings.CutPrefix(strings.TrimLeft(part, " "), cookie+"="); ok {
					viaCookie++
					if rest != fx.cookie {
						t.Fatalf("passed with session cookie %q", rest)
					}
				}
			}
		}
		switch {
		case viaBearer && viaCookie > 0:
			t.Fatalf("passed with both a bearer token and a session cookie: %q / %q", sentAuthz, sentCookies)
		case viaCookie > 1:
			t.Fatalf("passed with %d session cookies: %q", viaCookie, sentCookies)
		case !viaBearer && viaCookie == 0:
			t.Fatalf("passed without the token: %q / %q", sentAuthz, sentCookies)
		case viaBearer && len(sentAuthz) == 1:
			if tok := strings.TrimLeft(sentAuthz[0], " \t"); len(tok) < 7 || tok[6:7] != " " && tok[6:7] != "\t" || tok[7:] != fx.at {
				t.Fatalf("passed with Authorization %q", sentAuthz[0])
			}
		}
	})
}
