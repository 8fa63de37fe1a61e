package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// browser is one user agent: a portal session of the fixture's user and the cookies the
// portal set (the pushed request's binding, CSRF, ceremonies).
type agent struct {
	e       *env
	cookies map[string]*http.Cookie
}

func (e *env) agent() *agent {
	e.T.Helper()
	sec, _, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		e.T.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := e.cookie.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), sec); err != nil {
		e.T.Fatal(err)
	}
	b := &agent{e: e, cookies: map[string]*http.Cookie{}}
	b.keep(w)
	return b
}

func (b *agent) keep(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
}

// do sends r with the browser's cookies and keeps the ones set.
func (b *agent) do(r *http.Request) *httptest.ResponseRecorder {
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := b.e.do(r)
	b.keep(w)
	return w
}

func (b *agent) get(target string) *httptest.ResponseRecorder {
	return b.do(httptest.NewRequest(http.MethodGet, target, nil))
}

// push sends a pushed authorization request with client_secret_basic and returns the answer.
func (e *env) push(form url.Values, id, secret string) *httptest.ResponseRecorder {
	return e.post(PathPAR, form, id, secret)
}

// pushOK pushes form for the web client and returns its request_uri.
func (e *env) pushOK(form url.Values) string {
	e.T.Helper()
	w := e.push(form, "web", idptest.WebSecret)
	if w.Code != http.StatusCreated {
		e.T.Fatalf("push: status %d, want 201: %s", w.Code, w.Body)
	}
	var out struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		e.T.Fatal(err)
	}
	// RFC 9126 §2.2: "request_uri: The request URI corresponding to the authorization
	// request posted. This URI is a single-use reference to the respective request data in
	// the subsequent authorization request." expires_in: its lifetime in seconds.
	if !strings.HasPrefix(out.RequestURI, oauth.RequestURIPrefix) || len(out.RequestURI) < len(oauth.RequestURIPrefix)+32 || out.ExpiresIn != 60 {
		e.T.Fatalf("push answer %+v: want a urn:ietf:params:oauth:request_uri: with a random part and expires_in 60", out)
	}
	return out.RequestURI
}

func byRef(client, requestURI string) string {
	return PathAuthorize + "?" + url.Values{"client_id": {client}, "request_uri": {requestURI}}.Encode()
}

// errorPageCode checks an error page (no redirect) and its error code.
func errorPageCode(t *testing.T, w *httptest.ResponseRecorder, code string) {
	t.Helper()
	if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || !strings.Contains(w.Body.String(), code) {
		t.Fatalf("status %d, Location %q: want a 400 page naming %s: %s", w.Code, w.Header().Get("Location"), code, w.Body)
	}
}

// RFC 9126 §2.1 and §4, the happy path with a confidential client: the client pushes the
// request authenticated as at the token endpoint, sends the browser with only client_id and
// request_uri, and gets a code for its pushed redirect URI and state, which redeems at the
// token endpoint.
func TestPARHappyPath(t *testing.T) {
	e := newEnv(t)
	v, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB2, ch, "openid", "email")
	q.Set("state", "pushed-state")
	ru := e.pushOK(q)
	b := e.agent()
	loc := redirectParams(t, b.get(byRef("web", ru)))
	if loc.Get("state") != "pushed-state" || loc.Get("code") == "" || loc.Get("iss") != idptest.Issuer {
		t.Fatalf("authorization response %v", loc)
	}
	w := e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Get("code")},
		"redirect_uri": {idptest.WebCB2}, "code_verifier": {v}}, "web", idptest.WebSecret)
	if tok := decode(t, w); tok["id_token"] == nil {
		t.Fatalf("token answer %v", tok)
	}
	// RFC 9126 §4: "the client MUST only use a request_uri value once. Authorization
	// servers SHOULD treat request_uri values as one-time use". Replayed, even from the
	// same browser, it is refused without a redirect.
	errorPageCode(t, b.get(byRef("web", ru)), codeInvalidRequestURI)
}

// RFC 9126 §4 builds the authorization request on RFC 9101's request by reference, whose
// parameters are the referenced ones only (client_id must match): a redirect_uri, state,
// scope, prompt or approval_data added on the query changes nothing.
func TestPARQueryParametersIgnored(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	ru := e.pushOK(idptest.AuthQuery("web", idptest.WebCB, ch, "openid"))
	target := byRef("web", ru) + "&" + url.Values{"redirect_uri": {idptest.WebCB2}, "state": {"forged"},
		"scope": {"openid write"}, "prompt": {"none"}, "approval_data": {`{"type":"x"}`}}.Encode()
	w := e.agent().get(target)
	u, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || u.Scheme+"://"+u.Host+u.Path != idptest.WebCB || u.Query().Get("state") != "st" || u.Query().Get("code") == "" {
		t.Fatalf("status %d Location %q: want a code at the pushed redirect_uri with the pushed state", w.Code, w.Header().Get("Location"))
	}
}

// RFC 9126 §4 (with RFC 9101 §7's invalid_request_uri): a request_uri is the pushing
// client's only, expires ("An expired request_uri MUST be rejected as invalid"), and here
// belongs to the browser that first opened it; each failure is a page, never a redirect
// (the redirect URI cannot be trusted).
func TestPARRequestURIRefused(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	t.Run("another client's", func(t *testing.T) {
		ru := e.pushOK(q)
		errorPageCode(t, e.agent().get(byRef("rp", ru)), codeInvalidRequestURI)
		// Still usable by its own client: the refusal did not consume it.
		redirectParams(t, e.agent().get(byRef("web", ru)))
	})
	t.Run("expired", func(t *testing.T) {
		ru := e.pushOK(q)
		e.Clock.Advance(61 * time.Second)
		errorPageCode(t, e.agent().get(byRef("web", ru)), codeInvalidRequestURI)
	})
	t.Run("unknown", func(t *testing.T) {
		errorPageCode(t, e.agent().get(byRef("web", oauth.RequestURIPrefix+"guessed")), codeInvalidRequestURI)
		// A request object by reference (RFC 9101) is still unsupported: OIDC Core §6.2.
	})
	t.Run("another browser", func(t *testing.T) {
		ru := e.pushOK(q)
		// The first browser is sent to the login page (no session): it holds the request.
		first := &agent{e: e, cookies: map[string]*http.Cookie{}}
		if w := first.get(byRef("web", ru)); w.Code != http.StatusFound || !strings.Contains(w.Header().Get("Location"), PathLogin) {
			t.Fatalf("first browser: %d %q, want the login page", w.Code, w.Header().Get("Location"))
		}
		errorPageCode(t, e.agent().get(byRef("web", ru)), codeInvalidRequestURI)
	})
}

// RFC 9126 §2.1: "1. Authenticate the client in the same way as at the token endpoint";
// "2. Reject the request if the request_uri authorization request parameter is provided";
// "3. Validate the pushed request as it would an authorization request sent to the
// authorization endpoint"; §2.3: errors in the token endpoint's format.
func TestPARPushRefused(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	oauthError(t, e.push(q, "", ""), http.StatusUnauthorized, codeInvalidClient)
	oauthError(t, e.push(q, "web", "wrong-secret-wrong"), http.StatusUnauthorized, codeInvalidClient)
	withRU := url.Values{}
	for k, v := range q {
		withRU[k] = v
	}
	withRU.Set("request_uri", oauth.RequestURIPrefix+"nested")
	oauthError(t, e.push(withRU, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidRequest)
	bad := idptest.AuthQuery("web", "https://attacker.test/cb", ch, "openid")
	oauthError(t, e.push(bad, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidRequest)
	scope := idptest.AuthQuery("web", idptest.WebCB, ch, "openid admin")
	oauthError(t, e.push(scope, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidScope)
	badTx := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	badTx.Set("approval_data", `{"type":"payment","amount":"1e3","currency":"EUR","payee":"x"}`)
	if out := oauthError(t, e.push(badTx, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidRequest); !strings.Contains(out["error_description"], "approval_data") {
		t.Errorf("invalid approval_data: description %q does not name approval_data", out["error_description"])
	}
	if w := e.do(httptest.NewRequest(http.MethodGet, PathPAR, nil)); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /par: %d, want 405", w.Code)
	}
	// A public client authenticates at the token endpoint with its client_id alone
	// (method none): so it may push, but its parameters are not trusted input.
	pub := idptest.AuthQuery("cli", idptest.CliCB, ch, "openid")
	w := e.post(PathPAR, pub, "", "")
	if w.Code != http.StatusCreated {
		t.Fatalf("public client push: %d %s", w.Code, w.Body)
	}
}

// RFC 9126 §4, with the metadata of §5 and §6: require_pushed_authorization_requests — "the authorization server will
// refuse, using the invalid_request error code, to process any request to the authorization
// endpoint that does not have a request_uri parameter with a value obtained from the PAR
// endpoint"; the same request pushed works.
func TestPARRequired(t *testing.T) {
	e := newEnv(t)
	e.P.OAuth.RequirePushedRequests = true
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	loc := redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode())))
	if loc.Get("error") != codeInvalidRequest || !strings.Contains(loc.Get("error_description"), "push") {
		t.Fatalf("plain request of a client that must push: %v", loc)
	}
	ru := e.pushOK(q)
	if loc := redirectParams(t, e.agent().get(byRef("web", ru))); loc.Get("code") == "" {
		t.Fatalf("pushed request: %v", loc)
	}
}

// RFC 9126 §5: the metadata advertise the endpoint and whether pushing is required.
func TestPARDiscovery(t *testing.T) {
	for _, required := range []bool{false, true} {
		e := newEnv(t)
		e.h.RequirePushed = required
		e.h.discovery = e.h.buildDiscovery()
		d := decode(t, e.do(httptest.NewRequest(http.MethodGet, PathDiscovery, nil)))
		if d["pushed_authorization_request_endpoint"] != idptest.Issuer+PathPAR || d["require_pushed_authorization_requests"] != required {
			t.Errorf("required=%v: pushed_authorization_request_endpoint %v, require_pushed_authorization_requests %v",
				required, d["pushed_authorization_request_endpoint"], d["require_pushed_authorization_requests"])
		}
	}
}

// The contract the journey engine reads (oauth.AuthRequest.Pushed, PushedParams): a request
// pushed by an authenticated confidential client is Pushed with all its parameters; a
// public client's push (no authentication: RFC 9126 §2 applies the token endpoint's rules,
// where a public client only names itself) is loaded but not Pushed, its parameters being
// no more trustworthy than the browser's.
func TestPARPushedContract(t *testing.T) {
	e := newEnv(t)
	_, ch := idptest.PKCE()
	for _, tc := range []struct {
		client, id, secret, cb string
		pushed                 bool
	}{
		{"web", "web", idptest.WebSecret, idptest.WebCB, true},
		{"cli", "", "", idptest.CliCB, false},
	} {
		q := idptest.AuthQuery(tc.client, tc.cb, ch, "openid")
		q.Set("external_user_id", "ext-42")
		w := e.push(q, tc.id, tc.secret)
		var out oauth.PushedRequest
		if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("%s push: %d %s", tc.client, w.Code, w.Body)
		}
		p, oerr := e.P.OAuth.OpenPushed(e.Ctx, tc.client, out.RequestURI, "browser-secret-0123456789abcdef0123")
		if oerr != nil {
			t.Fatal(oerr)
		}
		req, _, aerr := e.h.parseRequest(e.Ctx, p.Params, p, out.RequestURI)
		if aerr != nil {
			t.Fatal(aerr)
		}
		if req.Pushed != tc.pushed || (req.PushedParams.Get("external_user_id") == "ext-42") != tc.pushed || req.PushedRequestURI != out.RequestURI {
			t.Errorf("%s: Pushed %v, PushedParams %v, want Pushed %v", tc.client, req.Pushed, req.PushedParams, tc.pushed)
		}
	}
}
