package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestPasskeyLifecycle drives the passkey API the way the hosted pages do: sign-up with a
// passkey gives a working session; logout ends it; usernameless and identifier-first logins
// work; a second passkey is added with a fresh session; passkeys are listed, renamed and
// deleted — but not with a login older than 10 minutes (CR-19), and never the last one.
func TestPasskeyLifecycle(t *testing.T) {
	e := pkStart(t)
	c := pkNewClient(t, e)
	const email = "grace@example.com"

	// Sign-up: the options ask for a resident, user-verifying ES256-capable credential.
	opts := c.begin("/api/v1/passkeys/signup/begin", map[string]string{"email": email, "fname": "Grace", "lname": "Hopper"})
	pk := pkOptions(t, opts)
	if rp := pk["rp"].(map[string]any); rp["id"] != "localhost" {
		t.Errorf("rp.id = %v, want localhost", rp["id"])
	}
	sel, _ := pk["authenticatorSelection"].(map[string]any)
	if sel["residentKey"] != "required" || sel["userVerification"] != "required" {
		t.Errorf("authenticatorSelection = %v, want residentKey and userVerification required", sel)
	}
	if pk["user"].(map[string]any)["name"] != email {
		t.Errorf("user = %v", pk["user"])
	}
	resp, laptop, err := c.auth.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := c.finish("/api/v1/passkeys/signup/finish", resp, map[string]any{"name": "Laptop", "return_to": "/welcome"})
	if r.Status != http.StatusCreated {
		t.Fatalf("sign-up finish: %s", r)
	}
	body := r.JSON(t)
	userID := body["user"].(map[string]any)["id"].(string)
	if rt, _ := body["redirect_to"].(string); !strings.HasPrefix(rt, "/") || !strings.Contains(rt, "welcome") || body["user"].(map[string]any)["email"] != email {
		t.Errorf("sign-up answer: %s", r.Body)
	}
	if c.cookie(pkSessionCookie) == "" {
		t.Fatal("no session cookie after sign-up")
	}
	if c.cookie(pkCeremonyCookie) != "" {
		t.Error("the ceremony cookie outlived its ceremony")
	}
	if amr := c.amr(); !slices.Equal(amr, []string{"webauthn"}) {
		t.Errorf("session amr = %v, want [webauthn]", amr)
	}
	list := c.do(http.MethodGet, "/api/v1/passkeys", nil)
	if list.Status != http.StatusOK || !strings.Contains(string(list.Body), `"name":"Laptop"`) ||
		!strings.Contains(string(list.Body), pkID(laptop)) {
		t.Fatalf("passkey list: %s", list)
	}

	// Logout, then a usernameless login (discoverable credential, empty allowCredentials).
	c.logout()
	if s := c.session(); s.Status != http.StatusUnauthorized {
		t.Fatalf("session after logout: %s", s)
	}
	opts = c.begin("/api/v1/passkeys/login/begin", nil)
	if ids := pkAllowed(t, opts); len(ids) != 0 {
		t.Errorf("usernameless options list credentials: %v", ids)
	}
	if uv := pkOptions(t, opts)["userVerification"]; uv != "required" {
		t.Errorf("userVerification = %v, want required", uv)
	}
	resp, err = c.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.finish("/api/v1/passkeys/login/finish", resp, nil); r.Status != http.StatusOK {
		t.Fatalf("usernameless login: %s", r)
	}
	if amr := c.amr(); !slices.Equal(amr, []string{"webauthn"}) {
		t.Errorf("amr = %v", amr)
	}
	stored, cred := pkStored(t, pkID(laptop))
	if cred.Authenticator.SignCount != 1 || stored.UseCount != 1 || stored.LastUsedAt.IsZero() {
		t.Errorf("after one login: sign count %d, use count %d, last used %v", cred.Authenticator.SignCount, stored.UseCount, stored.LastUsedAt)
	}

	// Identifier-first login: the options list the account's credential.
	c.logout()
	opts = c.begin("/api/v1/passkeys/login/begin", map[string]string{"email": "  Grace@Example.com "})
	if ids := pkAllowed(t, opts); !slices.Equal(ids, []string{pkID(laptop)}) {
		t.Errorf("allowCredentials = %v, want [%s]", ids, pkID(laptop))
	}
	if resp, err = c.auth.Get(opts); err != nil {
		t.Fatal(err)
	}
	if r := c.finish("/api/v1/passkeys/login/finish", resp, nil); r.Status != http.StatusOK {
		t.Fatalf("identifier-first login: %s", r)
	}

	// A second passkey (another device), with the fresh session; the first is excluded.
	phone := softauthn.New(e.Issuer)
	opts = c.begin("/api/v1/passkeys/register/begin", nil)
	if ex, _ := pkOptions(t, opts)["excludeCredentials"].([]any); len(ex) != 1 {
		t.Errorf("excludeCredentials = %v, want the laptop's credential", ex)
	}
	if _, _, err := c.auth.Create(opts); err == nil {
		t.Error("the laptop registered twice despite excludeCredentials")
	}
	opts = c.begin("/api/v1/passkeys/register/begin", nil)
	resp, phoneCred, err := phone.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	r = c.finish("/api/v1/passkeys/register/finish", resp, map[string]any{"name": "Phone"})
	if r.Status != http.StatusCreated || r.JSON(t)["name"] != "Phone" || r.JSON(t)["id"] != pkID(phoneCred) {
		t.Fatalf("add passkey: %s", r)
	}
	c.logout()
	c2 := pkNewClient(t, e)
	c2.auth = phone
	if r := c2.login(""); r.Status != http.StatusOK {
		t.Fatalf("login with the second passkey: %s", r)
	}

	// Rename.
	r = c2.do(http.MethodPatch, "/api/v1/passkeys/"+pkID(phoneCred), map[string]string{"name": "Work phone"})
	if r.Status != http.StatusOK || r.JSON(t)["name"] != "Work phone" {
		t.Fatalf("rename: %s", r)
	}
	if r := c2.do(http.MethodPatch, "/api/v1/passkeys/"+pkID(phoneCred), map[string]string{"name": strings.Repeat("x", 65)}); r.Status != http.StatusBadRequest {
		t.Errorf("rename to 65 characters: %s", r)
	}
	if r := c2.do(http.MethodPatch, "/api/v1/passkeys/no-such-id", map[string]string{"name": "x"}); r.Status != http.StatusBadRequest {
		t.Errorf("rename of a missing passkey: %s", r)
	}
	// The account page's form (without JavaScript) renames too.
	page := c2.b.Do(http.MethodGet, e.Issuer+"/", nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "/account/passkeys/"+pkID(phoneCred)+"/rename") {
		t.Fatalf("account page without the passkey's rename form: %s", page)
	}
	form := url.Values{"csrf_token": {FormField(t, page, csrfRe)}, "name": {"Phone (form)"}}
	if r := c2.b.Do(http.MethodPost, e.Issuer+"/account/passkeys/"+pkID(phoneCred)+"/rename", form); r.Status != http.StatusSeeOther {
		t.Errorf("rename form: %s", r)
	}
	if pk, _ := pkStored(t, pkID(phoneCred)); pk.Name != "Phone (form)" {
		t.Errorf("name after the rename form: %q", pk.Name)
	}

	// A login older than 10 minutes can neither delete nor add a passkey (CR-19).
	AgeSessions(t, userID, 11*time.Minute)
	if r := c2.do(http.MethodDelete, "/api/v1/passkeys/"+pkID(phoneCred), nil); r.Status != http.StatusForbidden || r.JSON(t)["error"] != "reauthenticate" {
		t.Errorf("delete with a stale login: %s", r)
	}
	if r := c2.post("/api/v1/passkeys/register/begin", nil); r.Status != http.StatusForbidden || r.JSON(t)["error"] != "reauthenticate" {
		t.Errorf("add passkey with a stale login: %s", r)
	}
	if _, err := Provider(t).Store.GetPasskey(Ctx(t), pkID(phoneCred)); err != nil {
		t.Fatalf("the passkey was deleted with a stale login: %v", err)
	}

	// A fresh login deletes it; the last passkey of a passkey-only account cannot go.
	if r := c2.login(""); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	if r := c2.do(http.MethodDelete, "/api/v1/passkeys/"+pkID(phoneCred), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %s", r)
	}
	if r := c2.do(http.MethodDelete, "/api/v1/passkeys/"+pkID(laptop), nil); r.Status != http.StatusConflict || r.JSON(t)["error"] != "last_credential" {
		t.Errorf("delete of the last passkey: %s", r)
	}
	list = c2.do(http.MethodGet, "/api/v1/passkeys", nil)
	if strings.Contains(string(list.Body), pkID(phoneCred)) || !strings.Contains(string(list.Body), pkID(laptop)) {
		t.Errorf("list after delete: %s", list)
	}
	// The deleted passkey no longer logs in.
	c3 := pkNewClient(t, e)
	c3.auth = phone
	pkRefused(t, c3, "login with a deleted passkey", c3.login(""), http.StatusUnauthorized, "passkey_failed")
	// Without a session, nothing of this is reachable.
	anon := pkNewClient(t, e)
	for _, req := range []struct{ method, path string }{{"GET", "/api/v1/passkeys"}, {"POST", "/api/v1/passkeys/register/begin"},
		{"PATCH", "/api/v1/passkeys/" + pkID(laptop)}, {"DELETE", "/api/v1/passkeys/" + pkID(laptop)}} {
		var body any
		if req.method == http.MethodPatch {
			body = map[string]string{"name": "x"}
		}
		if r := anon.do(req.method, req.path, body); r.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %s", req.method, req.path, r)
		}
	}
}

// TestPasskeyPasswordMFA: once a password user has a passkey, the password alone no longer
// logs in: POST /api/v1/login/password answers mfa_required with no session, and the
// session starts only when the passkey confirms it; its amr (session API and ID token) is
// pwd, webauthn, mfa and its acr aal2. A password session also steps up with the passkey.
func TestPasskeyPasswordMFA(t *testing.T) {
	e := pkStart(t)
	const email = "ada@example.com"
	e.CreateUser(email)
	c := pkNewClient(t, e)

	// No passkey yet: the password logs in; add a passkey with that fresh session.
	r := c.passwordLogin(email)
	if r.Status != http.StatusOK || r.JSON(t)["mfa_required"] == true {
		t.Fatalf("password login: %s", r)
	}
	if amr := c.amr(); !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("amr = %v", amr)
	}
	c.addPasskey(c.auth, "Laptop")

	// Step-up of the password session with the passkey.
	opts := c.begin("/api/v1/passkeys/mfa/begin", nil)
	resp, err := c.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	before := c.cookie(pkSessionCookie)
	if r := c.finish("/api/v1/passkeys/mfa/finish", resp, nil); r.Status != http.StatusOK {
		t.Fatalf("step-up: %s", r)
	}
	if amr := c.amr(); !pkHas(amr, "pwd", "webauthn", "mfa") {
		t.Errorf("amr after step-up = %v", amr)
	}
	if c.cookie(pkSessionCookie) == before {
		t.Error("the session was not replaced at the step-up (PX-25)")
	}
	c.logout()

	// Password step: no session, an MFA cookie, and the way to the MFA page.
	r = c.passwordLogin(email)
	if r.Status != http.StatusOK {
		t.Fatalf("password step: %s", r)
	}
	if j := r.JSON(t); j["mfa_required"] != true || !strings.HasPrefix(j["redirect_to"].(string), "/login/mfa") {
		t.Fatalf("password step of a passkey user: %s", r.Body)
	}
	pkNoSessionCookie(t, "password step", r)
	if s := c.session(); s.Status != http.StatusUnauthorized {
		t.Fatalf("a session exists before the second factor: %s", s)
	}
	if c.cookie(pkMFACookie) == "" {
		t.Fatal("no MFA cookie after the password step")
	}
	if p := c.b.Do(http.MethodGet, e.Issuer+"/login/mfa", nil); p.Status != http.StatusOK {
		t.Errorf("MFA page: %s", p)
	}

	// Second factor.
	pendingSecret := c.cookie(pkMFACookie)
	opts = c.begin("/api/v1/passkeys/mfa/begin", nil)
	if ids := pkAllowed(t, opts); len(ids) != 1 {
		t.Errorf("MFA allowCredentials = %v", ids)
	}
	if resp, err = c.auth.Get(opts); err != nil {
		t.Fatal(err)
	}
	r = c.finish("/api/v1/passkeys/mfa/finish", resp, nil)
	if r.Status != http.StatusOK || c.cookie(pkSessionCookie) == "" {
		t.Fatalf("MFA finish: %s", r)
	}
	if c.cookie(pkMFACookie) != "" {
		t.Error("the MFA cookie outlived the login")
	}
	amr := c.amr()
	if !pkHas(amr, "pwd", "webauthn", "mfa") {
		t.Errorf("session amr = %v, want pwd, webauthn, mfa", amr)
	}
	tok := e.T(t).Tokens(c.b, "app", e.RP+"/app-cb", "openid email")
	claims := JWTClaims(t, tok["id_token"].(string))
	if got := pkStrings(claims["amr"]); !pkHas(got, "pwd", "webauthn", "mfa") {
		t.Errorf("ID token amr = %v, want pwd, webauthn, mfa", got)
	}
	if claims["acr"] != "aal2" {
		t.Errorf("ID token acr = %v, want aal2", claims["acr"])
	}
	// The pending login was consumed: the captured MFA cookie, planted back, gives nothing.
	c.logout()
	c.setCookie(pkMFACookie, pendingSecret)
	if r := c.post("/api/v1/passkeys/mfa/begin", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("MFA begin with a used pending login: %s", r)
	}
}

// TestCR08PasskeyUserEnumeration — CR-08 "Enumeration side channels: … WebAuthn
// allowCredentials list for unknown username …; expected: uniform responses; fake
// allowCredentials or discoverable-credential flow" (and CR-06, passkey "username-first").
// Identifier-first options for an unknown email, for an account without a passkey and for an
// account with one passkey have the same status, cookies and JSON shape, each with one
// allowCredentials entry; the fake one is stable for an email across calls and differs
// between emails.
func TestCR08PasskeyUserEnumeration(t *testing.T) {
	e := pkStart(t)
	owner := pkNewClient(t, e)
	owner.signup("known@example.com")
	e.CreateUser("nopasskey@example.com")

	begin := func(email string) *Resp {
		c := pkNewClient(t, e)
		r := c.post("/api/v1/passkeys/login/begin", map[string]string{"email": email})
		if r.Status != http.StatusOK {
			t.Fatalf("login begin for %s: %s", email, r)
		}
		return r
	}
	shape := func(r *Resp) string {
		var names []string
		for _, sc := range r.Header.Values("Set-Cookie") {
			name, _, _ := strings.Cut(sc, "=")
			attrs := sc[strings.Index(sc, ";"):]
			names = append(names, name+attrs)
		}
		return pkShape(r.JSON(t)) + " cookies " + strings.Join(names, "|")
	}
	known := begin("known@example.com")
	want := shape(known)
	for _, email := range []string{"unknown@example.com", "nopasskey@example.com", "Unknown@Example.com "} {
		r := begin(email)
		if got := shape(r); got != want {
			t.Errorf("options for %s differ in shape from a passkey owner's:\n got %s\nwant %s", email, got, want)
		}
		if ct := r.Header.Get("Content-Type"); ct != known.Header.Get("Content-Type") {
			t.Errorf("%s: Content-Type %q", email, ct)
		}
	}
	a1 := pkAllowed(t, begin("unknown@example.com").Body)
	a2 := pkAllowed(t, begin("unknown@example.com").Body)
	a3 := pkAllowed(t, begin("UNKNOWN@example.com").Body)
	other := pkAllowed(t, begin("someone-else@example.com").Body)
	if len(a1) != 1 || !slices.Equal(a1, a2) || !slices.Equal(a1, a3) {
		t.Errorf("fake allowCredentials not stable for one email: %v %v %v", a1, a2, a3)
	}
	if slices.Equal(a1, other) {
		t.Errorf("two unknown emails got the same fake credential %v", a1)
	}
	// Answering the fake list with some real passkey fails like a wrong passkey does.
	c := pkNewClient(t, e)
	opts := c.begin("/api/v1/passkeys/login/begin", map[string]string{"email": "unknown@example.com"})
	if _, err := owner.auth.Get(opts); err == nil {
		t.Fatal("the fake credential matched a real one")
	}
	resp, err := owner.auth.GetWith(owner.auth.Credentials()[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, c, "real passkey for an unknown email", c.finish("/api/v1/passkeys/login/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")
}

// TestCR18PasskeyMFAPending — CR-18 "MFA bypass by forced browsing: after password step (MFA
// pending), request protected routes, /authorize, /token, /portal directly; drop the MFA
// POST; expected: denied; "mfa_pending" session can only reach MFA endpoints".
func TestCR18PasskeyMFAPending(t *testing.T) {
	e := pkStart(t)
	c := pkNewClient(t, e)
	_, userID := c.signup("pending@example.com")
	c.logout()
	// Give the passkey account a password too (the admin API), so that a password step exists.
	if r := e.Admin(http.MethodPut, "/gatehouse/users/"+userID+"/password", map[string]any{"password": Password}); r.Status/100 != 2 {
		t.Fatalf("set password: %s", r)
	}
	WaitNextSecond() // setting a password revokes the user's tokens of this second

	pending := pkNewClient(t, e)
	pending.auth = c.auth
	r := pending.passwordLogin("pending@example.com")
	if r.Status != http.StatusOK || r.JSON(t)["mfa_required"] != true {
		t.Fatalf("password step: %s", r)
	}
	mfa := pending.cookie(pkMFACookie)
	if mfa == "" {
		t.Fatal("no MFA cookie")
	}
	// Start the second factor, then drop it: none of these treat the browser as logged in.
	pending.begin("/api/v1/passkeys/mfa/begin", nil)
	hits := e.Upstream.Count()
	checks := func(stage string) {
		t.Helper()
		if s := pending.session(); s.Status != http.StatusUnauthorized {
			t.Errorf("%s: session API: %s", stage, s)
		}
		if p := pending.b.Do(http.MethodGet, e.Issuer+"/", nil); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
			t.Errorf("%s: account page: %s", stage, p)
		}
		params, _ := AuthParams("app", e.RP+"/app-cb", "openid")
		params.Set("prompt", "none")
		p := pending.b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil)
		if loc := p.Header.Get("Location"); p.Status != http.StatusFound || !strings.Contains(loc, "error=login_required") || strings.Contains(loc, "code=") {
			t.Errorf("%s: /authorize prompt=none: %s (Location %s)", stage, p, loc)
		}
		params.Del("prompt")
		p = pending.b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil)
		if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
			t.Errorf("%s: /authorize did not ask for a login: %s (Location %s)", stage, p, loc)
		}
		p = pending.b.Go(http.MethodGet, e.App+"/docs", nil, nil)
		if p.Status != http.StatusOK || p.URL.Path != "/login" || e.Upstream.Count() != hits {
			t.Errorf("%s: protected route reached the upstream or skipped the login: %s (hops %v)", stage, p, p.Hops)
		}
		if r := pending.do(http.MethodGet, "/api/v1/passkeys", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: passkey list: %s", stage, r)
		}
		// What the pending login can reach: the MFA page.
		if p := pending.b.Do(http.MethodGet, e.Issuer+"/login/mfa", nil); p.Status != http.StatusOK {
			t.Errorf("%s: MFA page: %s", stage, p)
		}
		if r := pending.post("/api/v1/passkeys/register/begin", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: register begin: %s", stage, r)
		}
		tr := e.T(t).Token(url.Values{"grant_type": {"authorization_code"}, "code": {mfa}, "client_id": {"app"},
			"redirect_uri": {e.RP + "/app-cb"}, "code_verifier": {strings.Repeat("a", 43)}})
		if tr.Status != http.StatusBadRequest || !strings.Contains(string(tr.Body), "invalid_grant") {
			t.Errorf("%s: the MFA secret redeemed at /token: %s", stage, tr)
		}
	}
	checks("MFA pending")

	// The MFA secret planted as a session cookie is no session either.
	forged := pkNewClient(t, e)
	forged.setCookie(pkSessionCookie, mfa)
	if s := forged.session(); s.Status != http.StatusUnauthorized {
		t.Errorf("MFA secret as session cookie: %s", s)
	}
	// A failed second factor leaves the login pending, still without a session.
	opts := pending.begin("/api/v1/passkeys/mfa/begin", nil)
	resp, err := pending.auth.Get(opts, func(a *softauthn.Assertion) { a.Signature = []byte{0x30, 0x06, 2, 1, 1, 2, 1, 1} })
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, pending, "bad second factor", pending.finish("/api/v1/passkeys/mfa/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")
	checks("after a failed second factor")

	// Completing the second factor logs in.
	opts = pending.begin("/api/v1/passkeys/mfa/begin", nil)
	if resp, err = pending.auth.Get(opts); err != nil {
		t.Fatal(err)
	}
	if r := pending.finish("/api/v1/passkeys/mfa/finish", resp, nil); r.Status != http.StatusOK {
		t.Fatalf("MFA finish: %s", r)
	}
	if p := pending.b.Go(http.MethodGet, e.App+"/docs", nil, nil); p.Status != http.StatusOK || e.Upstream.Count() != hits+1 {
		t.Errorf("protected route after MFA: %s (hops %v)", p, p.Hops)
	}
}

// TestCR20OriginCheck — CR-20 "WebAuthn origin check: assertion whose clientDataJSON.origin is
// https://evil.test, http://portal.test, https://sub.portal.test (not allowed), null;
// expected: rejected" (WebAuthn L2 §7.2 step 13). On the running portal
// (http://localhost:<port>) the row's origins, their local equivalents (other scheme, other
// port, a subdomain, the IP address) and null are refused for usernameless and
// identifier-first logins and sign-ups, with no session or account; a step-up and a new
// passkey from another origin are refused too; and a provider whose portal is
// https://portal.test refuses the row's origins verbatim.
func TestCR20OriginCheck(t *testing.T) {
	e, owner, _, _ := pkAttackEnv(t)
	port := strings.TrimPrefix(e.Issuer, "http://localhost:")
	bad := []string{"https://evil.test", "http://portal.test", "https://sub.portal.test", "null", "",
		"https://localhost:" + port, "http://localhost:1", "http://sub.localhost:" + port, "http://127.0.0.1:" + port,
		e.Issuer + ".evil.test", "http://localhost", "http://localhost:" + port + "@evil.test", "http://evil.test#" + e.Issuer}
	for _, origin := range bad {
		set := func(a *softauthn.Assertion) { a.ClientData.Origin = origin }
		c, r := pkLoginAttempt(t, e, owner.auth, "", set)
		pkRefused(t, c, "login from origin "+origin, r, http.StatusUnauthorized, "passkey_failed")
		c, r = pkLoginAttempt(t, e, owner.auth, "victim@example.com", set)
		pkRefused(t, c, "identifier-first login from origin "+origin, r, http.StatusUnauthorized, "passkey_failed")
		pkSignupRefused(t, e, "sign-up from origin "+origin, "new@example.com", http.StatusUnauthorized, "passkey_failed",
			func(a *softauthn.Attestation) { a.ClientData.Origin = origin })
	}
	// A cross-origin iframe (crossOrigin true, with a top origin) is refused too.
	c, r := pkLoginAttempt(t, e, owner.auth, "", func(a *softauthn.Assertion) {
		a.ClientData.CrossOrigin, a.ClientData.TopOrigin = true, "https://evil.test"
	})
	pkRefused(t, c, "cross-origin iframe", r, http.StatusUnauthorized, "passkey_failed")
	// The honest origin still works: the refusals above were about the origin.
	if _, r := pkLoginAttempt(t, e, owner.auth, ""); r.Status != http.StatusOK {
		t.Fatalf("honest login: %s", r)
	}
	// A step-up and a new passkey from another origin are refused as well.
	if r := owner.login(""); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	resp, err := owner.auth.Get(owner.begin("/api/v1/passkeys/mfa/begin", nil), func(a *softauthn.Assertion) { a.ClientData.Origin = "https://evil.test" })
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.finish("/api/v1/passkeys/mfa/finish", resp, nil); r.Status != http.StatusUnauthorized || pkHas(owner.amr(), "mfa") {
		t.Errorf("step-up from https://evil.test: %s", r)
	}
	resp, _, err = softauthn.New("https://evil.test").Create(owner.begin("/api/v1/passkeys/register/begin", nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.finish("/api/v1/passkeys/register/finish", resp, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("new passkey from https://evil.test: %s", r)
	}

	// The row verbatim, against a portal at https://portal.test.
	p := pkProvider(t, "https://portal.test")
	auth := softauthn.New("https://portal.test")
	if _, err := pkDirectSignup(t, p, auth, "row@portal.test"); err != nil {
		t.Fatalf("honest sign-up at https://portal.test: %v", err)
	}
	for _, origin := range []string{"https://evil.test", "http://portal.test", "https://sub.portal.test", "null"} {
		if err := pkDirectLogin(t, p, auth, func(a *softauthn.Assertion) { a.ClientData.Origin = origin }); err == nil {
			t.Errorf("portal.test accepted an assertion from origin %s", origin)
		}
		other := softauthn.New(origin)
		if _, err := pkDirectSignup(t, p, other, "x-"+strings.NewReplacer(":", "", "/", "").Replace(origin)+"@portal.test"); err == nil {
			t.Errorf("portal.test accepted a registration from origin %s", origin)
		}
	}
	if err := pkDirectLogin(t, p, auth); err != nil {
		t.Fatalf("honest login at https://portal.test: %v", err)
	}
}

// TestCR21RPIDHash — CR-21 "WebAuthn RP ID hash: authenticatorData.rpIdHash = SHA-256("evil.test")
// or parent domain not configured; expected: rejected" (WebAuthn L2 §7.2 step 15). The
// assertion is otherwise genuine (right origin, validly signed over the altered data); only
// the hash differs. On the running portal (RP ID localhost) near-misses are refused too; a
// provider whose RP ID is login.portal.test refuses its parent domain portal.test.
func TestCR21RPIDHash(t *testing.T) {
	e, owner, _, _ := pkAttackEnv(t)
	port := strings.TrimPrefix(e.Issuer, "http://localhost:")
	for _, rpID := range []string{"evil.test", "portal.test", "", "localhost:" + port, "LOCALHOST", "localhost.", "127.0.0.1", "sub.localhost"} {
		c, r := pkLoginAttempt(t, e, owner.auth, "", func(a *softauthn.Assertion) { a.RPID = rpID })
		pkRefused(t, c, "login with rpIdHash of "+rpID, r, http.StatusUnauthorized, "passkey_failed")
		pkSignupRefused(t, e, "sign-up with rpIdHash of "+rpID, "new@example.com", http.StatusUnauthorized, "passkey_failed",
			func(a *softauthn.Attestation) { a.RPID = rpID })
	}

	// Second factor after a password, with the wrong hash.
	e.CreateUser("pwd@example.com")
	c := pkNewClient(t, e)
	if r := c.passwordLogin("pwd@example.com"); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	c.addPasskey(c.auth, "Key")
	c.logout()
	if r := c.passwordLogin("pwd@example.com"); r.JSON(t)["mfa_required"] != true {
		t.Fatal(r)
	}
	resp, err := c.auth.Get(c.begin("/api/v1/passkeys/mfa/begin", nil), func(a *softauthn.Assertion) { a.RPID = "evil.test" })
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, c, "second factor with rpIdHash of evil.test", c.finish("/api/v1/passkeys/mfa/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")

	// A parent domain that is not the configured RP ID.
	p := pkProvider(t, "https://login.portal.test")
	auth := softauthn.New("https://login.portal.test")
	if _, err := pkDirectSignup(t, p, auth, "row@portal.test"); err != nil {
		t.Fatalf("honest sign-up: %v", err)
	}
	for _, rpID := range []string{"portal.test", "evil.test", "test"} {
		if err := pkDirectLogin(t, p, auth, func(a *softauthn.Assertion) { a.RPID = rpID }); err == nil {
			t.Errorf("login.portal.test accepted rpIdHash of %s", rpID)
		}
		if _, err := pkDirectSignup(t, p, softauthn.New("https://login.portal.test"), "p-"+rpID+"@portal.test",
			func(a *softauthn.Attestation) { a.RPID = rpID }); err == nil {
			t.Errorf("login.portal.test registered a credential with rpIdHash of %s", rpID)
		}
	}
}

// TestCR22ChallengeReplay — CR-22 "WebAuthn challenge replay / binding: replay a captured valid
// assertion; use a challenge issued to another session/user; use after expiry; expected:
// rejected; challenge single-use, session-bound, short TTL, deleted from Badger on use"
// (WebAuthn L2 §7.2 step 12, §13.4.3), with RB-08 (parallel finishes: exactly one wins).
func TestCR22ChallengeReplay(t *testing.T) {
	e, owner, _, _ := pkAttackEnv(t)

	// A valid login, captured: the ceremony record exists until the finish and is gone after.
	c := pkNewClient(t, e)
	c.auth = owner.auth
	opts := c.begin("/api/v1/passkeys/login/begin", nil)
	sec := c.cookie(pkCeremonyCookie)
	rec, err := pkCeremony(t, sec)
	if err != nil {
		t.Fatalf("ceremony record before the finish: %v", err)
	}
	if ttl := rec.ExpiresAt.Sub(rec.CreatedAt); ttl <= 0 || ttl > 5*time.Minute {
		t.Errorf("ceremony TTL %v, want at most 5 minutes", ttl)
	}
	captured, err := c.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.finish("/api/v1/passkeys/login/finish", captured, nil); r.Status != http.StatusOK {
		t.Fatalf("genuine login: %s", r)
	}
	if _, err := pkCeremony(t, sec); err == nil {
		t.Error("the ceremony record is still in Badger after its use")
	}
	// Replays: in the same browser (its ceremony cookie is gone), in a new one, and with the
	// captured ceremony cookie planted back.
	c.logout()
	pkRefused(t, c, "replay in the same browser", c.finish("/api/v1/passkeys/login/finish", captured, nil), http.StatusBadRequest, "ceremony_expired")
	thief := pkNewClient(t, e)
	pkRefused(t, thief, "replay without a ceremony", thief.finish("/api/v1/passkeys/login/finish", captured, nil), http.StatusBadRequest, "ceremony_expired")
	thief.setCookie(pkCeremonyCookie, sec)
	pkRefused(t, thief, "replay with the captured ceremony cookie", thief.finish("/api/v1/passkeys/login/finish", captured, nil), http.StatusBadRequest, "ceremony_expired")
	// A fresh ceremony does not take an assertion of an old challenge.
	thief.begin("/api/v1/passkeys/login/begin", nil)
	pkRefused(t, thief, "old assertion in a new ceremony", thief.finish("/api/v1/passkeys/login/finish", captured, nil), http.StatusUnauthorized, "passkey_failed")

	// A challenge issued to another browser: B answers A's challenge with B's own ceremony.
	a, b := pkNewClient(t, e), pkNewClient(t, e)
	optsA := a.begin("/api/v1/passkeys/login/begin", nil)
	b.begin("/api/v1/passkeys/login/begin", nil)
	secB := b.cookie(pkCeremonyCookie)
	respA, err := owner.auth.Get(optsA)
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, b, "challenge of another browser", b.finish("/api/v1/passkeys/login/finish", respA, nil), http.StatusUnauthorized, "passkey_failed")
	if _, err := pkCeremony(t, secB); err == nil {
		t.Error("a failed finish left its ceremony usable")
	}
	// A's ceremony is untouched by B's attempt and still works, once.
	if r := a.finish("/api/v1/passkeys/login/finish", respA, nil); r.Status != http.StatusOK {
		t.Fatalf("A's own login: %s", r)
	}

	// A ceremony bound to another user's session: user B finishes a registration begun in
	// A's session with A's ceremony cookie; nothing is added to either account.
	owner.login("")
	regOpts := owner.begin("/api/v1/passkeys/register/begin", nil)
	regSec := owner.cookie(pkCeremonyCookie)
	mallory := pkNewClient(t, e)
	mallory.signup("mallory@example.com")
	mallory.setCookie(pkCeremonyCookie, regSec)
	resp, _, err := softauthn.New(e.Issuer).Create(regOpts)
	if err != nil {
		t.Fatal(err)
	}
	if r := mallory.finish("/api/v1/passkeys/register/finish", resp, nil); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "ceremony_expired" {
		t.Errorf("registration ceremony of another session: %s", r)
	}
	for _, who := range []*pkClient{owner, mallory} {
		if list := who.do(http.MethodGet, "/api/v1/passkeys", nil); strings.Count(string(list.Body), `"id"`) != 1 {
			t.Errorf("a passkey was added by a foreign ceremony: %s", list)
		}
	}

	// An MFA ceremony bound to another pending login: a second-factor challenge of user X
	// cannot complete Y's pending password login.
	e.CreateUser("x@example.com")
	e.CreateUser("y@example.com")
	x, y := pkNewClient(t, e), pkNewClient(t, e)
	for _, p := range []struct {
		c     *pkClient
		email string
	}{{x, "x@example.com"}, {y, "y@example.com"}} {
		p.c.passwordLogin(p.email)
		p.c.addPasskey(p.c.auth, "Key")
		p.c.logout()
		if r := p.c.passwordLogin(p.email); r.JSON(t)["mfa_required"] != true {
			t.Fatal(r)
		}
	}
	xOpts := x.begin("/api/v1/passkeys/mfa/begin", nil)
	xResp, err := x.auth.Get(xOpts)
	if err != nil {
		t.Fatal(err)
	}
	y.setCookie(pkCeremonyCookie, x.cookie(pkCeremonyCookie))
	pkRefused(t, y, "second factor of another pending login", y.finish("/api/v1/passkeys/mfa/finish", xResp, nil), http.StatusBadRequest, "ceremony_expired")

	// Expiry: of the ceremony record, and of the challenge inside it (the WebAuthn timeout).
	old := pkNewClient(t, e)
	old.auth = owner.auth
	opts = old.begin("/api/v1/passkeys/login/begin", nil)
	pkUpdateCeremony(t, old.cookie(pkCeremonyCookie), func(r store.OneTimeCode) (store.OneTimeCode, error) {
		r.ExpiresAt = time.Now().Add(-time.Second)
		return r, nil
	})
	resp, err = old.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, old, "expired ceremony", old.finish("/api/v1/passkeys/login/finish", resp, nil), http.StatusBadRequest, "ceremony_expired")
	opts = old.begin("/api/v1/passkeys/login/begin", nil)
	pkUpdateCeremony(t, old.cookie(pkCeremonyCookie), func(r store.OneTimeCode) (store.OneTimeCode, error) {
		var sd map[string]any
		if err := json.Unmarshal([]byte(r.Data["session_data"]), &sd); err != nil {
			return r, err
		}
		sd["expires"] = time.Now().Add(-time.Second).Format(time.RFC3339Nano)
		raw, _ := json.Marshal(sd)
		r.Data["session_data"] = string(raw)
		return r, nil
	})
	if resp, err = old.auth.Get(opts); err != nil {
		t.Fatal(err)
	}
	pkRefused(t, old, "expired challenge", old.finish("/api/v1/passkeys/login/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")

	// RB-08: ten parallel finishes of one ceremony (same cookie, same assertion): one login.
	racer := pkNewClient(t, e)
	opts = racer.begin("/api/v1/passkeys/login/begin", nil)
	raceSec := racer.cookie(pkCeremonyCookie)
	resp, err = owner.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"credential": json.RawMessage(resp)})
	statuses := make(chan int, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, e.Issuer+"/api/v1/passkeys/login/finish", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", e.Issuer)
			req.AddCookie(&http.Cookie{Name: pkCeremonyCookie, Value: raceSec})
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Errorf("parallel finish answered %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d of 10 parallel finishes of one ceremony logged in, want exactly 1", ok)
	}
}

// TestCR23CeremonyType — CR-23 "WebAuthn ceremony type: clientDataJSON.type = "webauthn.create"
// in authentication (and vice versa); expected: rejected" (WebAuthn L2 §7.1 step 7, §7.2
// step 11). Also refused: other type strings, a ceremony of one kind finished at another
// kind's endpoint, and a registration response posted as an assertion.
func TestCR23CeremonyType(t *testing.T) {
	e, owner, _, _ := pkAttackEnv(t)
	for _, typ := range []string{softauthn.TypeCreate, "", "WEBAUTHN.GET", "webauthn.get ", "payment.get"} {
		c, r := pkLoginAttempt(t, e, owner.auth, "", func(a *softauthn.Assertion) { a.ClientData.Type = typ })
		pkRefused(t, c, "login with type "+typ, r, http.StatusUnauthorized, "passkey_failed")
	}
	for _, typ := range []string{softauthn.TypeGet, "", "webauthn.create2"} {
		pkSignupRefused(t, e, "sign-up with type "+typ, "new@example.com", http.StatusUnauthorized, "passkey_failed",
			func(a *softauthn.Attestation) { a.ClientData.Type = typ })
	}
	// Step-up / second factor with the creation type.
	owner.login("")
	resp, err := owner.auth.Get(owner.begin("/api/v1/passkeys/mfa/begin", nil), func(a *softauthn.Assertion) { a.ClientData.Type = softauthn.TypeCreate })
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.finish("/api/v1/passkeys/mfa/finish", resp, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("step-up with type webauthn.create: %s", r)
	}
	if amr := owner.amr(); pkHas(amr, "mfa") {
		t.Errorf("the step-up succeeded: amr %v", amr)
	}
	// Adding a passkey with the authentication type.
	opts := owner.begin("/api/v1/passkeys/register/begin", nil)
	resp, _, err = softauthn.New(e.Issuer).Create(opts, func(a *softauthn.Attestation) { a.ClientData.Type = softauthn.TypeGet })
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.finish("/api/v1/passkeys/register/finish", resp, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("registration with type webauthn.get: %s", r)
	}
	owner.logout()

	// Ceremony kinds do not mix: a sign-up ceremony finished as a login and the reverse.
	c := pkNewClient(t, e)
	c.auth = owner.auth
	signupOpts := c.begin("/api/v1/passkeys/signup/begin", map[string]string{"email": "kind@example.com"})
	signupSec := c.cookie(pkCeremonyCookie)
	loginOpts := pkNewClient(t, e).begin("/api/v1/passkeys/login/begin", nil)
	resp, err = owner.auth.Get(loginOpts)
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, c, "login finished with a sign-up ceremony", c.finish("/api/v1/passkeys/login/finish", resp, nil), http.StatusBadRequest, "ceremony_expired")
	if _, err := pkCeremony(t, signupSec); err == nil {
		t.Error("the misused sign-up ceremony is still usable")
	}
	c.begin("/api/v1/passkeys/login/begin", nil)
	created, _, err := softauthn.New(e.Issuer).Create(signupOpts)
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, c, "sign-up finished with a login ceremony", c.finish("/api/v1/passkeys/signup/finish", created, nil), http.StatusBadRequest, "ceremony_expired")
	// A registration response posted as an assertion (and the reverse) is refused.
	c.begin("/api/v1/passkeys/login/begin", nil)
	if r := c.finish("/api/v1/passkeys/login/finish", created, nil); r.Status/100 != 4 || c.session().Status != http.StatusUnauthorized {
		t.Errorf("attestation posted as an assertion: %s", r)
	}
	c.begin("/api/v1/passkeys/signup/begin", map[string]string{"email": "kind2@example.com"})
	if r := c.finish("/api/v1/passkeys/signup/finish", resp, nil); r.Status/100 != 4 || pkUserExists(t, "kind2@example.com") {
		t.Errorf("assertion posted as an attestation: %s", r)
	}
}

// TestCR24PresenceVerificationFlags — CR-24 "User presence / verification flags:
// authenticatorData flags UP=0; UV=0 when passwordless/MFA policy requires UV; expected:
// rejected" (WebAuthn L2 §7.2 steps 16–17). Gatehouse requires UV for every ceremony
// (passwordless login, second factor, step-up, registration). Inconsistent backup flags
// (BS without BE, BE changed since registration) are refused too.
func TestCR24PresenceVerificationFlags(t *testing.T) {
	e, owner, _, _ := pkAttackEnv(t)
	flagCases := map[string]func(byte) byte{
		"UP=0":            func(f byte) byte { return f &^ softauthn.FlagUP },
		"UV=0":            func(f byte) byte { return f &^ softauthn.FlagUV },
		"UP=0 UV=0":       func(f byte) byte { return f &^ (softauthn.FlagUP | softauthn.FlagUV) },
		"UV=1 UP=0":       func(f byte) byte { return f&^softauthn.FlagUP | softauthn.FlagUV },
		"BS=1 BE=0":       func(f byte) byte { return f&^softauthn.FlagBE | softauthn.FlagBS },
		"no flags at all": func(byte) byte { return 0 },
	}
	for name, flags := range flagCases {
		for _, email := range []string{"", "victim@example.com"} {
			c, r := pkLoginAttempt(t, e, owner.auth, email, func(a *softauthn.Assertion) { a.Flags = flags(a.Flags) })
			pkRefused(t, c, "login with "+name+" (email "+email+")", r, http.StatusUnauthorized, "passkey_failed")
		}
		pkSignupRefused(t, e, "sign-up with "+name, "new@example.com", http.StatusUnauthorized, "passkey_failed",
			func(a *softauthn.Attestation) { a.Flags = flags(a.Flags&^softauthn.FlagAT) | softauthn.FlagAT })
	}
	// BE may not change after registration (a synced passkey turned device-bound).
	c, r := pkLoginAttempt(t, e, owner.auth, "", func(a *softauthn.Assertion) { a.Flags &^= softauthn.FlagBE | softauthn.FlagBS })
	pkRefused(t, c, "login with BE cleared", r, http.StatusUnauthorized, "passkey_failed")

	// The second factor after a password, and the step-up of a session, require UV too.
	e.CreateUser("pwd@example.com")
	p := pkNewClient(t, e)
	p.passwordLogin("pwd@example.com")
	p.addPasskey(p.auth, "Key")
	noUV := func(a *softauthn.Assertion) { a.Flags &^= softauthn.FlagUV }
	resp, err := p.auth.Get(p.begin("/api/v1/passkeys/mfa/begin", nil), noUV)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.finish("/api/v1/passkeys/mfa/finish", resp, nil); r.Status != http.StatusUnauthorized || pkHas(p.amr(), "mfa") {
		t.Errorf("step-up without UV: %s (amr %v)", r, p.amr())
	}
	opts := p.begin("/api/v1/passkeys/register/begin", nil)
	resp, _, err = softauthn.New(e.Issuer).Create(opts, func(a *softauthn.Attestation) { a.Flags &^= softauthn.FlagUV })
	if err != nil {
		t.Fatal(err)
	}
	if r := p.finish("/api/v1/passkeys/register/finish", resp, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("adding a passkey without UV: %s", r)
	}
	p.logout()
	if r := p.passwordLogin("pwd@example.com"); r.JSON(t)["mfa_required"] != true {
		t.Fatal(r)
	}
	for _, opt := range []softauthn.AssertionOption{noUV, func(a *softauthn.Assertion) { a.Flags &^= softauthn.FlagUP }} {
		resp, err := p.auth.Get(p.begin("/api/v1/passkeys/mfa/begin", nil), opt)
		if err != nil {
			t.Fatal(err)
		}
		pkRefused(t, p, "second factor without UV or UP", p.finish("/api/v1/passkeys/mfa/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")
	}
}

// TestCR25SignCountRegression — CR-25 "signCount regression (cloned authenticator): stored count
// 10; assertion with 10 or 5 (non-zero); also both zero; expected: non-zero and ≤ stored →
// reject or step-up + alert; stored counter not lowered; 0/0 allowed" (WebAuthn L2 §6.1.1).
func TestCR25SignCountRegression(t *testing.T) {
	e, owner, cred, _ := pkAttackEnv(t)
	count := func(id string) uint32 {
		_, c := pkStored(t, id)
		return c.Authenticator.SignCount
	}
	setCount := func(n uint32) softauthn.AssertionOption {
		return func(a *softauthn.Assertion) { a.SignCount = n }
	}
	if _, r := pkLoginAttempt(t, e, owner.auth, "", setCount(10)); r.Status != http.StatusOK {
		t.Fatalf("login with count 10: %s", r)
	}
	if got := count(pkID(cred)); got != 10 {
		t.Fatalf("stored count %d, want 10", got)
	}
	uses := func() int { pk, _ := pkStored(t, pkID(cred)); return pk.UseCount }
	before := uses()
	// A clone replays the count: equal, lower, and back to zero.
	clone := softauthn.New(e.Issuer)
	clone.Add(cred.Clone())
	for _, n := range []uint32{10, 5, 1, 0} {
		for _, email := range []string{"", "victim@example.com"} {
			c, r := pkLoginAttempt(t, e, clone, email, setCount(n))
			pkRefused(t, c, "login with count "+strconv.Itoa(int(n))+" after 10", r, http.StatusUnauthorized, "passkey_failed")
			if got := count(pkID(cred)); got != 10 {
				t.Fatalf("count %d after a refused count %d: the stored counter was lowered", got, n)
			}
		}
	}
	if uses() != before {
		t.Errorf("refused logins were recorded as uses")
	}
	if _, r := pkLoginAttempt(t, e, owner.auth, "", setCount(11)); r.Status != http.StatusOK {
		t.Fatalf("login with count 11: %s", r)
	}
	if got := count(pkID(cred)); got != 11 {
		t.Errorf("stored count %d, want 11", got)
	}
	// The regression was reported (the "alert" of the row).
	if log, err := os.ReadFile(e.LogFile); err != nil || !bytes.Contains(log, []byte("signature counter regression")) {
		t.Errorf("no warning about the counter regression in the server log (%v)", err)
	}
	// The second factor checks the counter too.
	if r := owner.login("", setCount(12)); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	resp, err := clone.Get(owner.begin("/api/v1/passkeys/mfa/begin", nil), setCount(12))
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.finish("/api/v1/passkeys/mfa/finish", resp, nil); r.Status != http.StatusUnauthorized || pkHas(owner.amr(), "mfa") {
		t.Errorf("step-up with a repeated count: %s", r)
	}
	if got := count(pkID(cred)); got != 12 {
		t.Errorf("stored count %d, want 12", got)
	}

	// A passkey without a counter (synced passkeys send 0): 0 after 0 is fine, every time.
	synced := pkNewClient(t, e)
	synced.auth.ZeroCounter = true
	zcred, _ := synced.signup("synced@example.com")
	synced.logout()
	for i := range 3 {
		if r := synced.login(""); r.Status != http.StatusOK {
			t.Fatalf("zero-counter login %d: %s", i, r)
		}
		synced.logout()
	}
	pk, zc := pkStored(t, pkID(zcred))
	if zc.Authenticator.SignCount != 0 || pk.UseCount != 3 {
		t.Errorf("zero-counter passkey: stored count %d, uses %d; want 0, 3", zc.Authenticator.SignCount, pk.UseCount)
	}
	// Once a counter appeared, it must go on rising.
	if r := synced.login("", setCount(3)); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	synced.logout()
	if r := synced.login(""); r.Status != http.StatusUnauthorized {
		t.Errorf("count 0 after 3: %s", r)
	}
}

// TestCR26CredentialUserBinding — CR-26 "Credential/user binding: assertion with credential ID
// of user B while logging in as A; userHandle mismatch; register a credential ID already bound
// to another user; expected: rejected" (WebAuthn L2 §7.2 steps 5–6; §7.1 step 22).
func TestCR26CredentialUserBinding(t *testing.T) {
	e, alice, aliceCred, aliceID := pkAttackEnv(t) // A: victim@example.com
	bob := pkNewClient(t, e)
	bobCred, _ := bob.signup("bob@example.com")
	bob.logout()

	// Identifier-first login as A answered with B's credential (B's own key and handle).
	c := pkNewClient(t, e)
	opts := c.begin("/api/v1/passkeys/login/begin", map[string]string{"email": "victim@example.com"})
	resp, err := bob.auth.GetWith(bobCred, opts)
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, c, "B's credential in A's login", c.finish("/api/v1/passkeys/login/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")

	// User handle mismatches: A's credential naming B, naming nobody, or no handle at all.
	for name, handle := range map[string][]byte{"B's handle": bobCred.UserHandle, "unknown handle": []byte("0123456789abcdef"), "empty handle": {}} {
		c, r := pkLoginAttempt(t, e, alice.auth, "", func(a *softauthn.Assertion) { a.UserHandle = handle })
		pkRefused(t, c, name, r, http.StatusUnauthorized, "passkey_failed")
	}
	c, r := pkLoginAttempt(t, e, alice.auth, "", func(a *softauthn.Assertion) { a.UserHandle = nil })
	pkRefused(t, c, "no user handle", r, http.StatusUnauthorized, "passkey_failed")
	// A's credential ID and user handle signed with B's key: the signature does not verify.
	c, r = pkLoginAttempt(t, e, bob.auth, "", func(a *softauthn.Assertion) {
		a.CredentialID, a.UserHandle = aliceCred.ID, aliceCred.UserHandle
	})
	pkRefused(t, c, "A's credential ID signed by B", r, http.StatusUnauthorized, "passkey_failed")

	// Second factor of A's password login answered with B's credential.
	if r := e.Admin(http.MethodPut, "/gatehouse/users/"+aliceID+"/password", map[string]any{"password": Password}); r.Status/100 != 2 {
		t.Fatal(r)
	}
	WaitNextSecond()
	m := pkNewClient(t, e)
	if r := m.passwordLogin("victim@example.com"); r.JSON(t)["mfa_required"] != true {
		t.Fatal(r)
	}
	resp, err = bob.auth.GetWith(bobCred, m.begin("/api/v1/passkeys/mfa/begin", nil))
	if err != nil {
		t.Fatal(err)
	}
	pkRefused(t, m, "B's credential as A's second factor", m.finish("/api/v1/passkeys/mfa/finish", resp, nil), http.StatusUnauthorized, "passkey_failed")

	// Registering a credential ID already bound to A: by B adding a passkey, and by a sign-up.
	bob.login("")
	opts = bob.begin("/api/v1/passkeys/register/begin", nil)
	resp, _, err = softauthn.New(e.Issuer).Create(opts, func(a *softauthn.Attestation) { a.CredentialID = aliceCred.ID })
	if err != nil {
		t.Fatal(err)
	}
	if r := bob.finish("/api/v1/passkeys/register/finish", resp, nil); r.Status != http.StatusBadRequest {
		t.Errorf("B registering A's credential ID: %s", r)
	}
	pkSignupRefused(t, e, "sign-up with A's credential ID", "eve@example.com", http.StatusBadRequest, "invalid_input",
		func(a *softauthn.Attestation) { a.CredentialID = aliceCred.ID })
	stored, _ := pkStored(t, pkID(aliceCred))
	if stored.UserID != aliceID {
		t.Fatalf("A's credential now belongs to %s", stored.UserID)
	}
	if _, r := pkLoginAttempt(t, e, alice.auth, ""); r.Status != http.StatusOK {
		t.Errorf("A's passkey stopped working: %s", r)
	}
	// B cannot rename or delete A's passkey either.
	if r := bob.do(http.MethodPatch, "/api/v1/passkeys/"+pkID(aliceCred), map[string]string{"name": "pwned"}); r.Status != http.StatusBadRequest {
		t.Errorf("B renaming A's passkey: %s", r)
	}
	if r := bob.do(http.MethodDelete, "/api/v1/passkeys/"+pkID(aliceCred), nil); r.Status != http.StatusBadRequest {
		t.Errorf("B deleting A's passkey: %s", r)
	}
	if stored, _ := pkStored(t, pkID(aliceCred)); stored.Name != "Laptop" {
		t.Errorf("A's passkey was renamed to %q", stored.Name)
	}
}

// TestCR27MalformedAttestation — CR-27 "Malformed attestation / COSE: huge CBOR, unknown COSE
// alg, truncated authData, RSA key 512-bit; expected: 400, no panic, algorithms
// allow-listed" (WebAuthn L2 §7.1). Every malformed registration (sign-up and adding a
// passkey) is answered 400 without an account, a passkey or a session; malformed assertions
// get 400 too; allow-listed keys (ES256, EdDSA, RSA-2048) still register; and the server goes
// on serving.
func TestCR27MalformedAttestation(t *testing.T) {
	e := pkStart(t)
	mustCOSE := func(pub any, alg int64) []byte {
		b, err := softauthn.COSEKey(pub, alg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mustCBOR := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecRaw, _ := ec.PublicKey.Bytes()
	offCurveY := append([]byte{}, ecRaw[33:]...)
	offCurveY[31] ^= 1
	p1, _ := rand.Prime(rand.Reader, 256)
	p2, _ := rand.Prime(rand.Reader, 256)
	rsa512 := &rsa.PublicKey{N: new(big.Int).Mul(p1, p2), E: 65537}
	if rsa512.N.BitLen() < 511 {
		t.Fatalf("modulus of %d bits", rsa512.N.BitLen())
	}
	nested := append(bytes.Repeat([]byte{0x81}, 10000), 0x00)

	key := func(k []byte) softauthn.AttestationOption { return func(a *softauthn.Attestation) { a.COSEKey = k } }
	authData := func(f func(full []byte) []byte) softauthn.AttestationOption {
		return func(a *softauthn.Attestation) { a.AuthData = f(pkHonestAuthData(a)) }
	}
	attObj := func(f func(a *softauthn.Attestation) []byte) softauthn.AttestationOption {
		return func(a *softauthn.Attestation) { a.AttestationObject = f(a) }
	}
	cases := []struct {
		name   string
		code   string
		opt    softauthn.AttestationOption
		status int
	}{
		// Huge CBOR.
		{"attStmt of 40 KB", "invalid_credential", func(a *softauthn.Attestation) { a.AttStmt = map[string]any{"x": make([]byte, 40<<10)} }, 400},
		{"body over 64 KB", "invalid_request", func(a *softauthn.Attestation) { a.AttStmt = map[string]any{"x": make([]byte, 60<<10)} }, 400},
		{"authData claiming 4 GiB", "invalid_credential", attObj(func(a *softauthn.Attestation) []byte {
			return pkAttObj([]byte{0xa0}, pkCBORBytes(1<<32), pkHonestAuthData(a))
		}), 400},
		{"authData claiming 2^63 bytes", "invalid_credential", attObj(func(a *softauthn.Attestation) []byte {
			return pkAttObj([]byte{0xa0}, []byte{0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil)
		}), 400},
		{"attStmt nested 10000 deep", "invalid_credential", attObj(func(a *softauthn.Attestation) []byte {
			ad := pkHonestAuthData(a)
			return pkAttObj(append([]byte{0xa1, 0x61, 'x'}, nested...), pkCBORBytes(uint64(len(ad))), ad)
		}), 400},
		{"attStmt array claiming 2^31 items", "invalid_credential", attObj(func(a *softauthn.Attestation) []byte {
			ad := pkHonestAuthData(a)
			return pkAttObj([]byte{0xa1, 0x61, 'x', 0x9a, 0x80, 0, 0, 0}, pkCBORBytes(uint64(len(ad))), ad)
		}), 400},
		{"COSE key nested 10000 deep", "invalid_credential", key(append([]byte{0xa1, 0x01}, nested...)), 400},
		{"attestation object not CBOR", "invalid_credential", attObj(func(*softauthn.Attestation) []byte { return []byte("{}") }), 400},
		{"attestation format none with a statement", "", func(a *softauthn.Attestation) { a.AttStmt = map[string]any{"sig": []byte{1}} }, 401},
		// Unknown or not allow-listed COSE algorithms, and keys contradicting their alg.
		{"unknown alg -9999", "invalid_credential", key(mustCOSE(&ec.PublicKey, -9999)), 400},
		{"alg 0", "invalid_credential", key(mustCOSE(&ec.PublicKey, 0)), 400},
		{"RS1 (not offered)", "invalid_credential", key(mustCOSE(&ec.PublicKey, -65535)), 400},
		{"EC2 key labelled RS256", "invalid_credential", key(mustCOSE(&ec.PublicKey, softauthn.AlgRS256)), 400},
		{"EC2 key labelled EdDSA", "invalid_credential", key(mustCOSE(&ec.PublicKey, softauthn.AlgEdDSA)), 400},
		{"EC2 point off the curve", "invalid_credential", key(mustCBOR(map[int]any{1: 2, 3: -7, -1: 1, -2: ecRaw[1:33], -3: offCurveY})), 400},
		{"EC2 on P-384 labelled ES256", "invalid_credential", key(mustCBOR(map[int]any{1: 2, 3: -7, -1: 2, -2: ecRaw[1:33], -3: ecRaw[33:]})), 400},
		{"OKP of 31 bytes", "invalid_credential", key(mustCBOR(map[int]any{1: 1, 3: -8, -1: 6, -2: make([]byte, 31)})), 400},
		{"unknown key type", "invalid_credential", key(mustCBOR(map[int]any{1: 99, 3: -7})), 400},
		{"COSE key without alg", "invalid_credential", key(mustCBOR(map[int]any{1: 2, -1: 1, -2: ecRaw[1:33], -3: ecRaw[33:]})), 400},
		{"RSA 512-bit", "invalid_credential", key(mustCOSE(rsa512, softauthn.AlgRS256)), 400},
		{"RSA 512-bit PS256", "invalid_credential", key(mustCOSE(rsa512, -37)), 400},
		{"RSA key labelled ES256", "invalid_credential", key(mustCOSE(rsa512, softauthn.AlgES256)), 400},
		// Truncated or padded authenticator data.
		{"authData empty", "invalid_credential", authData(func([]byte) []byte { return []byte{} }), 400},
		{"authData of 36 bytes", "invalid_credential", authData(func(f []byte) []byte { return f[:36] }), 400},
		{"authData with AT but no attested data", "invalid_credential", authData(func(f []byte) []byte { return f[:37] }), 400},
		{"authData cut in the AAGUID", "invalid_credential", authData(func(f []byte) []byte { return f[:45] }), 400},
		{"authData cut in the credential ID", "invalid_credential", authData(func(f []byte) []byte { return f[:37+18+10] }), 400},
		{"authData cut in the COSE key", "invalid_credential", authData(func(f []byte) []byte { return f[:len(f)-5] }), 400},
		{"authData with trailing bytes", "invalid_credential", authData(func(f []byte) []byte { return append(f, 0xde, 0xad) }), 400},
		{"credential ID length past the end", "invalid_credential", authData(func(f []byte) []byte {
			binary.BigEndian.PutUint16(f[53:55], 0x03ff)
			return f
		}), 400},
		{"authData without the AT flag", "invalid_credential", func(a *softauthn.Attestation) {
			a.AuthData = softauthn.AuthData(a.RPID, a.Flags&^softauthn.FlagAT, 0)
		}, 400},
		// Malformed JSON around it.
		{"id not base64url", "invalid_credential", func(a *softauthn.Attestation) { a.ID = "not base64!" }, 400},
		{"id and rawId differ", "invalid_credential", func(a *softauthn.Attestation) { a.ID = "AAAA" }, 400},
		{"type not public-key", "invalid_credential", func(a *softauthn.Attestation) { a.Type = "password" }, 400},
		{"clientDataJSON not JSON", "invalid_credential", func(a *softauthn.Attestation) { a.ClientDataJSON = []byte{0xff, 0x00} }, 400},
		{"response missing", "invalid_credential", func(a *softauthn.Attestation) {
			a.EditJSON = func(m map[string]any) { delete(m, "response") }
		}, 400},
		{"response of the wrong JSON type", "invalid_credential", func(a *softauthn.Attestation) {
			a.EditJSON = func(m map[string]any) { m["response"] = []any{1, 2} }
		}, 400},
	}
	for _, tc := range cases {
		code := tc.code
		if tc.status == http.StatusUnauthorized {
			code = "passkey_failed"
		}
		pkSignupRefused(t, e, "sign-up with "+tc.name, "new@example.com", tc.status, code, tc.opt)
	}

	// Adding a passkey: the same checks.
	owner := pkNewClient(t, e)
	owner.signup("owner@example.com")
	for _, tc := range cases {
		opts := owner.begin("/api/v1/passkeys/register/begin", nil)
		resp, _, err := softauthn.New(e.Issuer).Create(opts, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if r := owner.finish("/api/v1/passkeys/register/finish", resp, nil); r.Status != tc.status {
			t.Errorf("adding a passkey with %s: %s", tc.name, r)
		}
	}
	if list := owner.do(http.MethodGet, "/api/v1/passkeys", nil); strings.Count(string(list.Body), `"id"`) != 1 {
		t.Errorf("malformed passkeys were added: %s", list)
	}

	// Malformed assertions: 400 too.
	owner.logout()
	badAssertions := map[string]softauthn.AssertionOption{
		"authData of 36 bytes": func(a *softauthn.Assertion) {
			a.AuthData = softauthn.AuthData(a.RPID, a.Flags, a.SignCount)[:36]
		},
		"authData with trailing bytes": func(a *softauthn.Assertion) {
			a.AuthData = append(softauthn.AuthData(a.RPID, a.Flags, a.SignCount), 1, 2, 3)
		},
		"ED flag with garbage extensions": func(a *softauthn.Assertion) {
			a.Flags |= softauthn.FlagED
			a.Extensions = append([]byte{0xa1, 0x61, 'x'}, nested...)
		},
		"assertion of 40 KB": func(a *softauthn.Assertion) {
			a.ClientExtensionResults = map[string]any{"x": strings.Repeat("a", 40<<10)}
		},
		"clientDataJSON not JSON": func(a *softauthn.Assertion) { a.ClientDataJSON = []byte("{") },
		"rawId missing": func(a *softauthn.Assertion) {
			a.EditJSON = func(m map[string]any) { delete(m, "rawId"); delete(m, "id") }
		},
	}
	for name, opt := range badAssertions {
		c, r := pkLoginAttempt(t, e, owner.auth, "", opt)
		pkRefused(t, c, "login with "+name, r, http.StatusBadRequest, "invalid_credential")
	}
	c := pkNewClient(t, e)
	c.begin("/api/v1/passkeys/login/begin", nil)
	pkRefused(t, c, "credential of the wrong JSON type", c.post("/api/v1/passkeys/login/finish", []byte(`{"credential": 7}`)), http.StatusBadRequest, "")
	c.begin("/api/v1/passkeys/login/begin", nil)
	pkRefused(t, c, "no credential", c.post("/api/v1/passkeys/login/finish", []byte(`{}`)), http.StatusBadRequest, "invalid_credential")

	// Allow-listed keys still register and log in: ES256 (above), EdDSA and RSA-2048.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaAuth := pkNewClient(t, e)
	pkResetSignupLimit(t)
	options := rsaAuth.begin("/api/v1/passkeys/signup/begin", map[string]string{"email": "rsa@example.com"})
	resp, _, err := rsaAuth.auth.Create(options, func(a *softauthn.Attestation) {
		a.Credential.Key, a.Credential.Alg = rsaKey, softauthn.AlgRS256
		a.COSEKey = mustCOSE(&rsaKey.PublicKey, softauthn.AlgRS256)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := rsaAuth.finish("/api/v1/passkeys/signup/finish", resp, nil); r.Status != http.StatusCreated {
		t.Fatalf("RSA-2048 sign-up: %s", r)
	}
	rsaAuth.logout()
	if r := rsaAuth.login(""); r.Status != http.StatusOK {
		t.Errorf("RSA-2048 login: %s", r)
	}

	// The server kept serving: an honest sign-up and the owner's login work, and nothing
	// panicked.
	if _, r := pkSignupAttempt(t, e, "after@example.com"); r.Status != http.StatusCreated {
		t.Errorf("honest sign-up after the attacks: %s", r)
	}
	if _, r := pkLoginAttempt(t, e, owner.auth, "owner@example.com"); r.Status != http.StatusOK {
		t.Errorf("login after the attacks: %s", r)
	}
	if log, err := os.ReadFile(e.LogFile); err == nil && bytes.Contains(bytes.ToLower(log), []byte("panic")) {
		t.Errorf("the server log mentions a panic:\n%s", truncate(string(log), 4000))
	}
}
