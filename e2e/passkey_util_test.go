package e2e

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Cookie names of the portal on plain http (no __Host- prefix).
const (
	pkSessionCookie  = "gatehouse_session"
	pkCeremonyCookie = "gatehouse_webauthn"
	pkMFACookie      = "gatehouse_mfa"
)

// pkStart starts Gatehouse on http://localhost:<port> (WebAuthn refuses IP addresses as RP
// IDs, so passkeys are off on the default 127.0.0.1 issuer) with open sign-up, the app client
// and the protected App site.
func pkStart(t *testing.T) *Env {
	t.Helper()
	return Start(t, Config{Localhost: true, Gatehouse: "signup open\n" + AppClient, Sites: AppSite})
}

// pkClient is one browser for the passkey API: a cookie jar (the ceremony, MFA and session
// cookies) and a software authenticator whose client reports the issuer's origin.
type pkClient struct {
	t    *testing.T
	e    *Env
	b    *Browser
	auth *softauthn.Authenticator
}

func pkNewClient(t *testing.T, e *Env) *pkClient {
	return &pkClient{t: t, e: e, b: NewBrowser(t), auth: softauthn.New(e.Issuer)}
}

// do sends an API request from the portal's own pages: JSON body (nil for none; []byte is
// sent as is) and Origin of the issuer, as a browser's fetch() would.
func (c *pkClient) do(method, path string, body any) *Resp {
	c.t.Helper()
	var req *http.Request
	if raw, ok := body.([]byte); ok {
		req = NewRequest(c.t, method, c.e.Issuer+path, raw)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = NewRequest(c.t, method, c.e.Issuer+path, body)
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", c.e.Issuer)
	}
	req.Header.Set("Accept", "application/json")
	return Do(c.t, c.b.C, req)
}

func (c *pkClient) post(path string, body any) *Resp {
	c.t.Helper()
	return c.do(http.MethodPost, path, body)
}

// begin posts to a begin endpoint and returns the options JSON (fatal unless 200).
func (c *pkClient) begin(path string, body any) []byte {
	c.t.Helper()
	r := c.post(path, body)
	if r.Status != http.StatusOK {
		c.t.Fatalf("POST %s: %s", path, r)
	}
	if c.cookie(pkCeremonyCookie) == "" {
		c.t.Fatalf("POST %s set no ceremony cookie", path)
	}
	return r.Body
}

// finish posts a credential response to a finish endpoint.
func (c *pkClient) finish(path string, cred []byte, extra map[string]any) *Resp {
	c.t.Helper()
	body := map[string]any{"credential": json.RawMessage(cred)}
	for k, v := range extra {
		body[k] = v
	}
	return c.post(path, body)
}

// cookie returns the value of a portal cookie in the jar.
func (c *pkClient) cookie(name string) string { return c.b.Cookie(c.e.Issuer, name) }

// setCookie plants a portal cookie in the jar (an attacker replaying a captured value).
func (c *pkClient) setCookie(name, value string) {
	u, _ := url.Parse(c.e.Issuer)
	c.b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// session returns GET /api/v1/session's answer.
func (c *pkClient) session() *Resp {
	c.t.Helper()
	return c.do(http.MethodGet, "/api/v1/session", nil)
}

// amr returns the session's amr (fatal if there is no session).
func (c *pkClient) amr() []string {
	c.t.Helper()
	r := c.session()
	if r.Status != http.StatusOK {
		c.t.Fatalf("no session: %s", r)
	}
	return pkStrings(r.JSON(c.t)["amr"])
}

// signup creates an account with a new passkey of c's authenticator and returns the
// credential and the user ID (fatal on failure).
func (c *pkClient) signup(email string) (*softauthn.Credential, string) {
	c.t.Helper()
	pkResetSignupLimit(c.t)
	opts := c.begin("/api/v1/passkeys/signup/begin", map[string]string{"email": email, "fname": "Grace", "lname": "Hopper"})
	resp, cred, err := c.auth.Create(opts)
	if err != nil {
		c.t.Fatal(err)
	}
	r := c.finish("/api/v1/passkeys/signup/finish", resp, map[string]any{"name": "Laptop"})
	if r.Status != http.StatusCreated {
		c.t.Fatalf("passkey sign-up of %s: %s", email, r)
	}
	return cred, r.JSON(c.t)["user"].(map[string]any)["id"].(string)
}

// login logs in with a passkey: usernameless when email is "", identifier-first otherwise.
func (c *pkClient) login(email string, opts ...softauthn.AssertionOption) *Resp {
	c.t.Helper()
	var body any
	if email != "" {
		body = map[string]string{"email": email}
	}
	options := c.begin("/api/v1/passkeys/login/begin", body)
	resp, err := c.auth.Get(options, opts...)
	if err != nil {
		c.t.Fatalf("authenticator: %v", err)
	}
	return c.finish("/api/v1/passkeys/login/finish", resp, nil)
}

// addPasskey registers a passkey of auth for the session's user (fatal on failure).
func (c *pkClient) addPasskey(auth *softauthn.Authenticator, name string) (*softauthn.Credential, map[string]any) {
	c.t.Helper()
	opts := c.begin("/api/v1/passkeys/register/begin", nil)
	resp, cred, err := auth.Create(opts)
	if err != nil {
		c.t.Fatal(err)
	}
	r := c.finish("/api/v1/passkeys/register/finish", resp, map[string]any{"name": name})
	if r.Status != http.StatusCreated {
		c.t.Fatalf("add passkey: %s", r)
	}
	return cred, r.JSON(c.t)
}

// logout ends the session.
func (c *pkClient) logout() {
	c.t.Helper()
	if r := c.post("/api/v1/logout", []byte{}); r.Status != http.StatusNoContent {
		c.t.Fatalf("logout: %s", r)
	}
}

// passwordLogin posts the password step of a login.
func (c *pkClient) passwordLogin(email string) *Resp {
	c.t.Helper()
	return c.post("/api/v1/login/password", map[string]string{"email": email, "password": Password})
}

// pkRefused asserts that r has status and API error code, set no session cookie, and that
// the browser has no session.
func pkRefused(t *testing.T, c *pkClient, what string, r *Resp, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: HTTP %d, want %d: %s", what, r.Status, status, r)
		return
	}
	if code != "" {
		if got := r.JSON(t)["error"]; got != code {
			t.Errorf("%s: error %v, want %s", what, got, code)
		}
	}
	pkNoSessionCookie(t, what, r)
	if s := c.session(); s.Status != http.StatusUnauthorized {
		t.Errorf("%s: the browser has a session: %s", what, s)
	}
}

// pkNoSessionCookie asserts that r sets no session cookie with a value.
func pkNoSessionCookie(t *testing.T, what string, r *Resp) {
	t.Helper()
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, pkSessionCookie+"=") && !strings.HasPrefix(v, pkSessionCookie+"=;") {
			t.Errorf("%s: a session cookie was set: %s", what, v)
		}
	}
}

// pkID is the store ID of a credential (base64url of its credential ID).
func pkID(c *softauthn.Credential) string { return base64.RawURLEncoding.EncodeToString(c.ID) }

// pkStored returns the stored passkey and its decoded WebAuthn credential record.
func pkStored(t *testing.T, id string) (store.Passkey, webauthn.Credential) {
	t.Helper()
	pk, err := Provider(t).Store.GetPasskey(context.Background(), id)
	if err != nil {
		t.Fatalf("stored passkey %s: %v", id, err)
	}
	var c webauthn.Credential
	if err := json.Unmarshal(pk.Credential, &c); err != nil {
		t.Fatalf("decode stored passkey: %v", err)
	}
	return pk, c
}

// pkCeremony returns the stored ceremony record of the browser's ceremony cookie secret.
func pkCeremony(t *testing.T, sec string) (store.OneTimeCode, error) {
	t.Helper()
	return Provider(t).Store.GetOneTimeCode(context.Background(), secret.Hash(sec))
}

// pkUserExists reports whether an account with email exists.
func pkUserExists(t *testing.T, email string) bool {
	t.Helper()
	_, err := Provider(t).Store.GetUserByEmail(context.Background(), email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// pkDeleteUser deletes the account with email.
func pkDeleteUser(t *testing.T, email string) {
	t.Helper()
	ctx := context.Background()
	u, err := Provider(t).Store.GetUserByEmail(ctx, email)
	if err == nil {
		err = Provider(t).Store.DeleteUser(ctx, u.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// pkOptions decodes options JSON.
func pkOptions(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("options are not JSON: %v\n%s", err, raw)
	}
	pk, ok := m["publicKey"].(map[string]any)
	if !ok {
		t.Fatalf("options without publicKey: %s", raw)
	}
	return pk
}

// pkAllowed returns the credential IDs of request options' allowCredentials.
func pkAllowed(t *testing.T, raw []byte) []string {
	t.Helper()
	var ids []string
	list, _ := pkOptions(t, raw)["allowCredentials"].([]any)
	for _, d := range list {
		ids = append(ids, d.(map[string]any)["id"].(string))
	}
	return ids
}

// pkShape describes a JSON value's structure: object keys with the shapes of their values,
// array lengths with element shapes, and the kinds (and, for strings, lengths) of scalars.
func pkShape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s:%s,", k, pkShape(x[k]))
		}
		return b.String() + "}"
	case []any:
		var b strings.Builder
		fmt.Fprintf(&b, "[%d:", len(x))
		for _, e := range x {
			b.WriteString(pkShape(e) + ",")
		}
		return b.String() + "]"
	case string:
		return fmt.Sprintf("string(%d)", len(x))
	case nil:
		return "null"
	default:
		return reflect.TypeOf(v).Kind().String()
	}
}

func pkHas(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range list {
			found = found || v == w
		}
		if !found {
			return false
		}
	}
	return true
}

// pkProvider is an identity provider for issuer on an in-memory store, built like the Caddy
// app builds it, for the rows whose domains (portal.test, evil.test) cannot be served on
// loopback: its passkey ceremonies are driven through the idp API directly.
func pkProvider(t *testing.T, issuer string) *idp.Provider {
	t.Helper()
	ctx := context.Background()
	s, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ring, err := keys.Load(ctx, s, keys.Algorithms, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := idp.New(idp.Config{Issuer: issuer, SignupMode: idp.SignupOpen}, s, ring,
		password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, 0), tokens.NewRevocationList(time.Now, 0), nil, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.PasskeysEnabled() {
		t.Fatalf("passkeys are off for issuer %s", issuer)
	}
	return p
}

// pkDirectSignup signs up email on p with auth (attested with opts) and returns the error of
// FinishPasskeySignup.
func pkDirectSignup(t *testing.T, p *idp.Provider, auth *softauthn.Authenticator, email string, opts ...softauthn.AttestationOption) (*softauthn.Credential, error) {
	t.Helper()
	ctx := context.Background()
	c, err := p.Passkey.BeginSignup(ctx, account.NewUser{Email: email}, "", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c.Options)
	resp, cred, err := auth.Create(raw, opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Passkey.FinishSignup(ctx, c.Secret, resp, "")
	return cred, err
}

// pkDirectLogin runs a usernameless login on p with auth and returns FinishPasskeyLogin's
// error.
func pkDirectLogin(t *testing.T, p *idp.Provider, auth *softauthn.Authenticator, opts ...softauthn.AssertionOption) error {
	t.Helper()
	ctx := context.Background()
	c, err := p.Passkey.BeginLogin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c.Options)
	resp, err := auth.Get(raw, opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Passkey.FinishLogin(ctx, c.Secret, resp)
	return err
}

// pkStrings converts a decoded JSON array of strings.
func pkStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// pkUpdateCeremony rewrites the stored ceremony record of secret sec.
func pkUpdateCeremony(t *testing.T, sec string, update func(store.OneTimeCode) (store.OneTimeCode, error)) {
	t.Helper()
	if _, err := Provider(t).Store.UpdateOneTimeCode(context.Background(), secret.Hash(sec), update); err != nil {
		t.Fatalf("update ceremony: %v", err)
	}
}

// pkResetSignupLimit resets the sign-up limit of the loopback client IP (30 an hour), which
// the attack tests, signing up from one address many times, would otherwise exhaust.
func pkResetSignupLimit(t *testing.T) {
	t.Helper()
	if err := Provider(t).Store.ResetCounter(context.Background(), "signup:ip:127.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

// pkAttackEnv starts Gatehouse with one passkey account (and its browser) for the attack
// tests.
func pkAttackEnv(t *testing.T) (*Env, *pkClient, *softauthn.Credential, string) {
	t.Helper()
	e := pkStart(t)
	owner := pkNewClient(t, e)
	cred, userID := owner.signup("victim@example.com")
	owner.logout()
	return e, owner, cred, userID
}

// pkLoginAttempt runs a usernameless login of auth's first credential in a new browser with
// opts applied to the assertion, and returns the browser and the finish answer.
func pkLoginAttempt(t *testing.T, e *Env, auth *softauthn.Authenticator, email string, opts ...softauthn.AssertionOption) (*pkClient, *Resp) {
	t.Helper()
	c := pkNewClient(t, e)
	c.auth = auth
	return c, c.login(email, opts...)
}

// pkSignupAttempt runs a passkey sign-up of email in a new browser with opts applied to the
// attestation and returns the browser and the finish answer.
func pkSignupAttempt(t *testing.T, e *Env, email string, opts ...softauthn.AttestationOption) (*pkClient, *Resp) {
	t.Helper()
	pkResetSignupLimit(t)
	c := pkNewClient(t, e)
	options := c.begin("/api/v1/passkeys/signup/begin", map[string]string{"email": email})
	resp, _, err := c.auth.Create(options, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, c.finish("/api/v1/passkeys/signup/finish", resp, nil)
}

// pkSignupRefused asserts that a sign-up attempt was refused with status and code and left
// neither a session nor an account behind.
func pkSignupRefused(t *testing.T, e *Env, what, email string, status int, code string, opts ...softauthn.AttestationOption) {
	t.Helper()
	c, r := pkSignupAttempt(t, e, email, opts...)
	pkRefused(t, c, what, r, status, code)
	if pkUserExists(t, email) {
		t.Errorf("%s: the account %s was created", what, email)
		pkDeleteUser(t, email) // so that the next attempt can run
	}
}

// pkCBORBytes is the CBOR head of a byte string of length n (RFC 8949 §3).
func pkCBORBytes(n uint64) []byte {
	switch {
	case n < 24:
		return []byte{0x40 | byte(n)}
	case n < 1<<8:
		return []byte{0x58, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{0x59}, uint16(n))
	case n < 1<<32:
		return binary.BigEndian.AppendUint32([]byte{0x5a}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{0x5b}, n)
}

// pkAttObj hand-encodes an attestation object {fmt: "none", attStmt, authData} whose
// attStmt is the raw CBOR attStmt and whose authData byte string is head + body.
func pkAttObj(attStmt, head, body []byte) []byte {
	b := []byte{0xa3, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e', 0x67, 'a', 't', 't', 'S', 't', 'm', 't'}
	b = append(b, attStmt...)
	b = append(b, 0x68, 'a', 'u', 't', 'h', 'D', 'a', 't', 'a')
	b = append(b, head...)
	return append(b, body...)
}

// pkHonestAuthData is the authenticator data an honest authenticator would attest.
func pkHonestAuthData(a *softauthn.Attestation) []byte {
	return append(softauthn.AuthData(a.RPID, a.Flags, a.SignCount), softauthn.AttestedCredentialData(a.AAGUID, a.CredentialID, a.COSEKey)...)
}
