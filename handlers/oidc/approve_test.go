package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

const payment = `{"type":"payment","amount":"125.50","currency":"EUR","payee":"ACME GmbH","payment_method":"card 4242"}`

// approvalEnv is the endpoints with approvals on and the fixture's user holding a passkey
// on a software authenticator.
type approvalEnv struct {
	*env
	auth *softauthn.Authenticator
	msgs *idptest.Messenger
}

func newApprovalEnv(t *testing.T) *approvalEnv {
	e := newEnv(t)
	e.h.Approval = e.P.Approval
	msgs := &idptest.Messenger{}
	e.P.Codes.Messenger, e.P.Codes.EmailEnabled = msgs, true
	s := e.Session(sessions.Meta{})
	c, err := e.P.Passkey.BeginRegistration(e.Ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	auth := softauthn.New(idptest.Issuer)
	resp, _, err := auth.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Passkey.FinishRegistration(e.Ctx, s, c.Secret, "laptop", resp); err != nil {
		t.Fatal(err)
	}
	return &approvalEnv{env: e, auth: auth, msgs: msgs}
}

// pushPayment pushes a payment of the web client and returns its request_uri and verifier.
func (e *approvalEnv) pushPayment(tx string) (ru, verifier string) {
	e.T.Helper()
	v, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("approval_data", tx)
	return e.pushOK(q), v
}

var (
	csrfRe    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	requestRe = regexp.MustCompile(`data-request="([^"]+)"`)
)

// page opens the approval page of ru in b and returns its CSRF token and request value.
func (e *approvalEnv) page(b *agent, ru string) (csrf, request, body string) {
	e.T.Helper()
	w := b.get(byRef("web", ru))
	if w.Code != http.StatusOK {
		e.T.Fatalf("approval page: status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	body = w.Body.String()
	m, r := csrfRe.FindStringSubmatch(body), requestRe.FindStringSubmatch(body)
	if m == nil || r == nil {
		e.T.Fatalf("approval page without form or passkey control: %s", body)
	}
	return m[1], html.UnescapeString(r[1]), body
}

func (b *agent) postJSON(path string, v any) *httptest.ResponseRecorder {
	raw, _ := json.Marshal(v)
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	return b.do(r)
}

func (b *agent) postForm(path string, f url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(r)
}

// begin starts the passkey approval and returns the options JSON.
func (e *approvalEnv) begin(b *agent, request string) []byte {
	e.T.Helper()
	w := b.postJSON(PathApprovePasskey+"/begin", map[string]string{"request": request})
	if w.Code != http.StatusOK {
		e.T.Fatalf("begin: %d %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

func (e *approvalEnv) finish(b *agent, request string, assertion []byte) *httptest.ResponseRecorder {
	return b.postJSON(PathApprovePasskey+"/finish", map[string]any{"request": request, "credential": json.RawMessage(assertion)})
}

// idToken redeems the code of redirect (a URL) and returns the verified ID token's claims.
func (e *approvalEnv) idToken(redirect, verifier string) map[string]any {
	e.T.Helper()
	u, err := url.Parse(redirect)
	if err != nil || u.Query().Get("code") == "" {
		e.T.Fatalf("redirect %q carries no code", redirect)
	}
	w := e.post(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {idptest.WebCB}, "code_verifier": {verifier}}, "web", idptest.WebSecret)
	tok := decode(e.T, w)
	raw := tok["id_token"].(string)
	claims, err := e.P.Verifier.VerifyIDToken(raw, false)
	if err != nil {
		e.T.Fatal(err)
	}
	// "exactly as approved": the signed payload holds the canonical bytes.
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(payload), `"approval_data":`+payment) {
		e.T.Errorf("ID token payload %s does not carry approval_data %s verbatim", payload, payment)
	}
	return claims
}

// Issue 19: "the user sees exactly those values on a hosted page and approves with a
// passkey ...; the ID token carries approval_data exactly as approved, and amr says how."
func TestApprovalWithPasskey(t *testing.T) {
	e := newApprovalEnv(t)
	ru, v := e.pushPayment(payment)
	b := e.agent()
	_, request, body := e.page(b, ru)
	for _, want := range []string{"payment", "125.50 EUR", "ACME GmbH", "card 4242"} {
		if !strings.Contains(body, want) {
			t.Errorf("the approval page does not show %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "onclick") {
		t.Errorf("the approval page carries inline script")
	}
	resp, err := e.auth.Get(e.begin(b, request))
	if err != nil {
		t.Fatal(err)
	}
	w := e.finish(b, request, resp)
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
		t.Fatalf("finish: %d %s", w.Code, w.Body)
	}
	claims := e.idToken(out.RedirectTo, v)
	if tx, _ := claims["approval_data"].(map[string]any); tx["amount"] != "125.50" || tx["payee"] != "ACME GmbH" {
		t.Errorf("approval_data %v", claims["approval_data"])
	}
	var amr []string
	for _, a := range claims["amr"].([]any) {
		amr = append(amr, a.(string))
	}
	if !slices.Contains(amr, "webauthn") {
		t.Errorf("amr %v does not say the passkey approved", amr)
	}
	// The request is answered: the same request_uri cannot approve again.
	if w := e.finish(b, request, resp); w.Code == http.StatusOK {
		t.Errorf("second finish: %d %s", w.Code, w.Body)
	}
}

// Issue 19, attack: "approving with a passkey assertion made for a different transaction".
// The assertion the authenticator made for transaction B (another amount) is refused for
// transaction A, whether sent with A's ceremony or B's.
func TestApprovalAssertionForAnotherTransaction(t *testing.T) {
	e := newApprovalEnv(t)
	ruA, _ := e.pushPayment(payment)
	ruB, _ := e.pushPayment(strings.Replace(payment, "125.50", "9125.50", 1))
	b := e.agent()
	_, reqA, _ := e.page(b, ruA)
	_, reqB, _ := e.page(b, ruB)
	e.begin(b, reqA)
	cookieA := *b.cookies[approveCookieName()]
	optsB := e.begin(b, reqB)
	signedB, err := e.auth.Get(optsB)
	if err != nil {
		t.Fatal(err)
	}
	b.cookies[approveCookieName()] = &cookieA
	if w := e.finish(b, reqA, signedB); w.Code != http.StatusBadRequest {
		t.Errorf("B's assertion with A's ceremony: %d %s, want 400", w.Code, w.Body)
	}
	signedB, _ = e.auth.Get(e.begin(b, reqB)) // B's ceremony again, its cookie

	if w := e.finish(b, reqA, signedB); w.Code != http.StatusBadRequest {
		t.Errorf("B's assertion sent for A: %d %s, want 400", w.Code, w.Body)
	}
}

func approveCookieName() string { return "__Host-gatehouse_" + approveCeremonyCookie }

// Issue 19: "approval_data is accepted ONLY in a pushed request": on a plain /authorize it is
// refused with invalid_request naming it, whatever its content.
func TestApprovalDataOnPlainAuthorizeRefused(t *testing.T) {
	e := newApprovalEnv(t)
	_, ch := idptest.PKCE()
	for _, tx := range []string{payment, "not json"} {
		q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
		q.Set("approval_data", tx)
		loc := redirectParams(t, e.do(e.loggedIn(PathAuthorize+"?"+q.Encode())))
		if loc.Get("error") != codeInvalidRequest || !strings.Contains(loc.Get("error_description"), "approval_data") {
			t.Errorf("approval_data %q on /authorize: %v", tx, loc)
		}
	}
}

// Issue 19: "A declined or expired approval ends ... with access_denied" (RFC 6749
// §4.1.2.1: "The resource owner or authorization server denied the request").
func TestApprovalDeclinedOrExpired(t *testing.T) {
	e := newApprovalEnv(t)
	ru, _ := e.pushPayment(payment)
	b := e.agent()
	csrf, request, _ := e.page(b, ru)
	loc := redirectParams(t, b.postForm(PathApprove, url.Values{"csrf_token": {csrf}, "request": {request}, "decision": {"decline"}}))
	if loc.Get("error") != codeAccessDenied || loc.Get("state") != "st" {
		t.Errorf("declined: %v", loc)
	}
	// Without the page's CSRF token nothing happens.
	ru, _ = e.pushPayment(payment)
	_, request, _ = e.page(b, ru)
	if w := b.postForm(PathApprove, url.Values{"request": {request}, "decision": {"decline"}}); w.Code != http.StatusForbidden {
		t.Errorf("decline without CSRF token: %d", w.Code)
	}
	e.Clock.Advance(oauth.PushedFlowLifetime + time.Second)
	loc = redirectParams(t, b.get(byRef("web", ru)))
	if loc.Get("error") != codeAccessDenied {
		t.Errorf("expired: %v", loc)
	}
}

// Issue 19: "or, if the journey allows, an OTP" — here `approval { allow otp }`: a code
// sent to the user's verified address approves; amr eotp. Not allowed, the page offers no
// code and a forged send_code is refused.
func TestApprovalWithCode(t *testing.T) {
	e := newApprovalEnv(t)
	ru, v := e.pushPayment(payment)
	b := e.agent()
	csrf, request, body := e.page(b, ru)
	if strings.Contains(body, "data-approve-send-code") {
		t.Errorf("code offered without approval { allow otp }")
	}
	w := b.postForm(PathApprove, url.Values{"csrf_token": {csrf}, "request": {request}, "decision": {"send_code"}})
	if w.Code != http.StatusOK || e.msgs.Count(idptest.Alice) != 0 {
		t.Fatalf("send_code not allowed: %d, %d messages", w.Code, e.msgs.Count(idptest.Alice))
	}
	e.h.ApprovalOTP = true
	csrf, request, body = e.page(b, ru)
	if !strings.Contains(body, "data-approve-send-code") {
		t.Fatalf("no code offered with approval { allow otp }")
	}
	if w := b.postForm(PathApprove, url.Values{"csrf_token": {csrf}, "request": {request}, "decision": {"send_code"}}); w.Code != http.StatusOK {
		t.Fatalf("send_code: %d %s", w.Code, w.Body)
	}
	code := e.msgs.Last(t, idptest.Alice, otp.MsgApprovalCode).Vars.Code
	w = b.postForm(PathApprove, url.Values{"csrf_token": {csrf}, "request": {request}, "decision": {"code"}, "code": {code}})
	if w.Code != http.StatusFound {
		t.Fatalf("code: %d %s", w.Code, w.Body)
	}
	claims := e.idToken(w.Header().Get("Location"), v)
	amr, _ := json.Marshal(claims["amr"])
	if claims["approval_data"] == nil || !strings.Contains(string(amr), `"eotp"`) {
		t.Errorf("approval_data %v, amr %s", claims["approval_data"], amr)
	}
}
