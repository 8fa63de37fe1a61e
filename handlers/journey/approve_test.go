package journey_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	journeyh "github.com/gatehouse-dev/gatehouse/handlers/journey"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit/portaltest"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/journey"
	"github.com/gatehouse-dev/gatehouse/journey/device"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

const (
	bigPayment   = `{"type":"payment","amount":"9500.00","currency":"EUR","payee":"ACME GmbH","payment_method":"card 4242"}`
	smallPayment = `{"type":"payment","amount":"1.00","currency":"EUR","payee":"ACME GmbH","payment_method":"card 4242"}`
)

// approveEnv: a journey login → approve → complete answering the web client's requests,
// the user holding a passkey on a software authenticator.
type approveEnv struct {
	*portaltest.Env
	auth *softauthn.Authenticator
}

func newApproveEnv(t *testing.T, approveStep journey.StepConfig) *approveEnv {
	t.Helper()
	e := portaltest.New(t)
	env, err := journey.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	js, err := journey.Compile([]journey.Definition{{Name: "pay", Steps: []journey.StepConfig{
		{ID: "login", Type: "authenticate"}, approveStep, {ID: "done", Type: "complete"}}}}, env)
	if err != nil {
		t.Fatal(err)
	}
	eng := &journey.Engine{Journeys: js, Env: env, Store: e.Store, Users: e.P.Accounts, Now: e.Clock.Now,
		Approver: e.P.Approval, Devices: &device.Keeper{Key: e.Ring.DeriveKey("journey-device-cookie")}}
	h := &journeyh.Handler{Kit: e.Kit, Engine: eng, OAuth: e.P.OAuth, Issuer: "https://id.test"}
	e.Mount(h)
	// The start of an authorization request answered by the journey, as handlers/oidc does
	// for a pushed request with approval_data (validated and canonical here).
	e.Mux.HandleFunc("GET /test/authorize", func(w http.ResponseWriter, r *http.Request) {
		c, err := e.P.OAuth.Client(r.Context(), "web")
		if err != nil {
			t.Error(err)
			return
		}
		q := r.URL.Query()
		req := &oauth.AuthRequest{Client: c, RedirectURI: idptest.WebCB, Scopes: []string{"openid"}, State: "st",
			CodeChallenge: q.Get("challenge"), MaxAge: -1, Pushed: true}
		if tx := q.Get("tx"); tx != "" {
			req.ApprovalData = json.RawMessage(tx)
		}
		h.StartAuthorization(w, r, "pay", req, oauth.AuthParams{})
	})
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
	return &approveEnv{Env: e, auth: auth}
}

var requestRe = regexp.MustCompile(`data-request="([^"]+)"`)

// open starts the journey for tx in b, logs in, and returns the approval page and its
// request value (step=...&n=...).
func (e *approveEnv) open(b *portaltest.Browser, tx, challenge string) (page, request string) {
	e.T.Helper()
	r := b.Get("/test/authorize?" + url.Values{"tx": {tx}, "challenge": {challenge}}.Encode())
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login?") {
		e.T.Fatalf("start: %d %s", r.StatusCode, r.Location())
	}
	back, _ := url.Parse(r.Location())
	e.Clock.Advance(time.Second)
	b.LogIn()
	r = b.Get(back.Query().Get("return_to"))
	m := requestRe.FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || m == nil {
		e.T.Fatalf("approval page: %d %s", r.StatusCode, r.Body)
	}
	return r.Body, strings.ReplaceAll(m[1], "&amp;", "&")
}

func (e *approveEnv) begin(b *portaltest.Browser, request string) []byte {
	e.T.Helper()
	r := b.PostJSON(journeyh.PathApprovePasskey+"/begin", map[string]string{"request": request})
	if r.StatusCode != http.StatusOK {
		e.T.Fatalf("begin: %d %s", r.StatusCode, r.Body)
	}
	return []byte(r.Body)
}

func (e *approveEnv) finish(b *portaltest.Browser, request string, assertion []byte) (redirect string) {
	e.T.Helper()
	r := b.PostJSON(journeyh.PathApprovePasskey+"/finish", map[string]any{"request": request, "credential": json.RawMessage(assertion)})
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if r.StatusCode != http.StatusOK {
		e.T.Fatalf("finish: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(e.T, &out)
	return out.RedirectTo
}

// idToken redeems the code of redirect and returns the verified ID token's claims.
func (e *approveEnv) idToken(redirect, verifier string) map[string]any {
	e.T.Helper()
	u, err := url.Parse(redirect)
	if err != nil || u.Query().Get("code") == "" {
		e.T.Fatalf("redirect %q carries no code", redirect)
	}
	resp, oerr := e.P.ExchangeCode(e.Ctx, e.Web, u.Query().Get("code"), idptest.WebCB, verifier)
	if oerr != nil {
		e.T.Fatalf("exchange: %v", oerr)
	}
	claims, err := e.P.Verifier.VerifyIDToken(resp.IDToken, false)
	if err != nil {
		e.T.Fatal(err)
	}
	raw, _ := json.Marshal(claims)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// Issue 19: "the user sees exactly those values on a hosted page and approves with a passkey
// (the WebAuthn challenge is bound to a hash of the transaction, so an approval cannot be
// replayed for a different amount) ... the ID token carries approval_data exactly as
// approved, and amr says how."
func TestApproveStepPasskey(t *testing.T) {
	e := newApproveEnv(t, journey.StepConfig{ID: "approve", Type: "approve"})
	v, ch := idptest.PKCE()
	b := e.Browser()
	page, request := e.open(b, bigPayment, ch)
	for _, want := range []string{"9500.00 EUR", "ACME GmbH", "card 4242", "data-passkey-approve"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the approval page must show %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "data-approve-send-code") {
		t.Fatal("codes are not allowed here: the page must not offer one")
	}
	assertion, err := e.auth.Get(e.begin(b, request))
	if err != nil {
		t.Fatal(err)
	}
	redirect := e.finish(b, request, assertion)
	if !strings.HasPrefix(redirect, idptest.WebCB+"?") {
		t.Fatalf("the approval must go back to the client: %q", redirect)
	}
	claims := e.idToken(redirect, v)
	var want map[string]any
	_ = json.Unmarshal([]byte(bigPayment), &want)
	if !reflect.DeepEqual(claims["approval_data"], want) {
		t.Fatalf("approval_data = %v, want %s", claims["approval_data"], bigPayment)
	}
	amr, _ := claims["amr"].([]any)
	if !slices.Contains(amr, any("pwd")) || !slices.Contains(amr, any("hwk")) && !slices.Contains(amr, any("webauthn")) {
		t.Fatalf("amr must say the login and the passkey approval: %v", amr)
	}
}

// Issue 19, attacks: "approving with a passkey assertion made for a different transaction".
// The same user runs two journeys: 1.00 EUR in one browser, 9500.00 EUR in the other. The
// assertion (and ceremony) of the small one must not approve the big one.
func TestApproveStepRefusesAssertionForAnotherTransaction(t *testing.T) {
	e := newApproveEnv(t, journey.StepConfig{ID: "approve", Type: "approve"})
	_, chBig := idptest.PKCE()
	big, small := e.Browser(), e.Browser()
	_, reqBig := e.open(big, bigPayment, chBig)
	_, reqSmall := e.open(small, smallPayment, chBig)
	e.begin(big, reqBig) // the big journey's own ceremony is open too
	smallAssertion, err := e.auth.Get(e.begin(small, reqSmall))
	if err != nil {
		t.Fatal(err)
	}
	// 1. The small transaction's assertion, with the big journey's own ceremony.
	if to := e.finish(big, reqBig, smallAssertion); strings.Contains(to, "code=") {
		t.Fatalf("an assertion for another transaction approved it: %s", to)
	}
	r := big.Get("/journey")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "9500.00 EUR") || !strings.Contains(r.Body, `class="error"`) {
		t.Fatalf("the big payment must be asked again with an error: %d %s", r.StatusCode, r.Body)
	}
	_, reqBig = e.pageRequest(r.Body)
	// 2. The small transaction's assertion with its own ceremony cookie, carried over.
	big.SetCookie("journey_approve", small.CookieValue("journey_approve"))
	if to := e.finish(big, reqBig, smallAssertion); strings.Contains(to, "code=") {
		t.Fatalf("another journey's ceremony approved this transaction: %s", to)
	}
	if r := big.Get("/journey"); !strings.Contains(r.Body, "9500.00 EUR") {
		t.Fatalf("the big payment must still wait for approval: %s", r.Body)
	}
}

func (e *approveEnv) pageRequest(body string) (string, string) {
	e.T.Helper()
	m := requestRe.FindStringSubmatch(body)
	if m == nil {
		e.T.Fatalf("no approval control: %s", body)
	}
	return body, strings.ReplaceAll(m[1], "&amp;", "&")
}

// Issue 19: "A declined or expired approval ends the journey with access_denied."
func TestApproveStepDeclineAndExpiry(t *testing.T) {
	e := newApproveEnv(t, journey.StepConfig{ID: "approve", Type: "approve"})
	_, ch := idptest.PKCE()
	b := e.Browser()
	_, request := e.open(b, bigPayment, ch)
	r := b.PostForm("/journey", url.Values{"request": {request}, "decision": {"decline"}})
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Location(), "error=access_denied") || strings.Contains(r.Location(), "code=") {
		t.Fatalf("decline: %d %s", r.StatusCode, r.Location())
	}
	_, request = e.open(b, bigPayment, ch)
	assertion, err := e.auth.Get(e.begin(b, request))
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(journey.ApproveTimeout + time.Second)
	if to := e.finish(b, request, assertion); !strings.Contains(to, "error=access_denied") || strings.Contains(to, "code=") {
		t.Fatalf("a late approval must end with access_denied: %s", to)
	}
}

// A code approves only where the step or the client allows it; amr then says eotp.
func TestApproveStepCode(t *testing.T) {
	e := newApproveEnv(t, journey.StepConfig{ID: "approve", Type: "approve"})
	_, ch := idptest.PKCE()
	b := e.Browser()
	_, request := e.open(b, bigPayment, ch)
	r := b.PostForm("/journey", url.Values{"request": {request}, "decision": {"send_code"}})
	if !strings.Contains(r.Body, "passkey") || e.Msgs.Count(e.User.Email) != 0 {
		t.Fatalf("a code must not be sent where not allowed: %d %s", r.StatusCode, r.Body)
	}

	e2 := newApproveEnv(t, journey.StepConfig{ID: "approve", Type: "approve", AllowOTP: true})
	v, ch := idptest.PKCE()
	b = e2.Browser()
	page, request := e2.open(b, bigPayment, ch)
	if !strings.Contains(page, "data-approve-send-code") {
		t.Fatalf("allow_otp: the page must offer a code:\n%s", page)
	}
	r = b.PostForm("/journey", url.Values{"request": {request}, "decision": {"send_code"}})
	_, request = e2.pageRequest(strings.Replace(r.Body, `name="request" value="`, `data-request="`, 1))
	code := e2.LastCode(e2.User.Email, "approval_code")
	// A mistyped code (too short) is a retry on the same page, not the end of the payment
	// (review: it used to end the journey with a 500).
	r = b.PostForm("/journey", url.Values{"request": {request}, "decision": {"code"}, "code": {code[:len(code)-1]}})
	if r.StatusCode >= 500 || r.StatusCode == http.StatusFound || !strings.Contains(r.Body, `name="request"`) {
		t.Fatalf("a mistyped code must show the page again: %d %s\n%.400s", r.StatusCode, r.Location(), r.Body)
	}
	_, request = e2.pageRequest(strings.Replace(r.Body, `name="request" value="`, `data-request="`, 1))
	r = b.PostForm("/journey", url.Values{"request": {request}, "decision": {"code"}, "code": {code}})
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Location(), "code=") {
		t.Fatalf("code approval: %d %s %s", r.StatusCode, r.Location(), r.Body)
	}
	claims := e2.idToken(r.Location(), v)
	amr, _ := claims["amr"].([]any)
	if !slices.Contains(amr, any("eotp")) {
		t.Fatalf("amr must say the code: %v", amr)
	}
}

// A request carrying a transaction, answered by a journey without an approve step, gets
// access_denied: the code never carries an unapproved approval_data.
func TestJourneyWithoutApproveRefusesTransaction(t *testing.T) {
	e := newApproveEnv(t, journey.StepConfig{ID: "approve", Type: "branch", // no approve step
		Branches: []journey.BranchConfig{{If: "false", Goto: "done"}}})
	_, ch := idptest.PKCE()
	b := e.Browser()
	r := b.Get("/test/authorize?" + url.Values{"tx": {bigPayment}, "challenge": {ch}}.Encode())
	back, _ := url.Parse(r.Location())
	e.Clock.Advance(time.Second)
	b.LogIn()
	r = b.Get(back.Query().Get("return_to"))
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Location(), "error=access_denied") || strings.Contains(r.Location(), "code=") {
		t.Fatalf("a transaction nobody approved: %d %s", r.StatusCode, r.Location())
	}
	// Without a transaction the same journey issues a code.
	r = b.Get("/test/authorize?" + url.Values{"challenge": {ch}}.Encode())
	back, _ = url.Parse(r.Location())
	e.Clock.Advance(time.Second)
	b.LogIn()
	if r = b.Get(back.Query().Get("return_to")); r.StatusCode != http.StatusFound || !strings.Contains(r.Location(), "code=") {
		t.Fatalf("no transaction: %d %s", r.StatusCode, r.Location())
	}
}
