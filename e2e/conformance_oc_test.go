package e2e

// One test per row of THREATS.md §1.1 (OpenID Foundation conformance-derived tests, OC-*).

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/module"
)

// cfAdapt adapts a Caddyfile whose gatehouse option has body (after issuer and storage) and
// validates it as loading would (module.ValidateJSON), without loading it: configuration
// errors are reported here.
func cfAdapt(t *testing.T, e *Env, body string) error {
	t.Helper()
	src := e.Render(Config{Gatehouse: body})
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return err
	}
	_, err = module.ValidateJSON(out)
	return err
}

// cfPortalLogout logs browser b out at the portal (confirmation form) and returns the answer
// to the POST.
func cfPortalLogout(t *testing.T, e *Env, b *Browser, query string) *Resp {
	t.Helper()
	page := b.Go(http.MethodGet, e.Issuer+"/logout"+query, nil, nil)
	if page.Status != http.StatusOK {
		t.Fatalf("logout page: %s", page)
	}
	form := url.Values{"csrf_token": {FormField(t, page, csrfRe)}}
	for _, name := range []string{"client_id", "post_logout_redirect_uri", "state"} {
		if m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(page.Body); m != nil {
			form.Set(name, FormField(t, page, regexp.MustCompile(`name="`+name+`" value="([^"]*)"`)))
		}
	}
	return b.Do(http.MethodPost, e.Issuer+"/logout", form)
}

func TestOC01_HappyPathIDTokenValidation(t *testing.T) {
	// OC-01 expects: "302 to R?code=…&state=S&iss=<issuer>; token JSON with token_type=Bearer,
	// no-store; id_token: iss==issuer (byte-exact), aud contains C, azp=C if multi-aud,
	// exp>now, iat present, nonce=N, sub ≤255 ASCII, at_hash correct if present, header kid
	// resolvable in /jwks, alg in id_token_signing_alg_values_supported".
	e, userID, b := cfStart(t)
	ru := e.RP + "/cb-basic"
	params := url.Values{"response_type": {"code"}, "client_id": {"rp-basic"}, "redirect_uri": {ru},
		"scope": {"openid"}, "state": {"S-oc01"}, "nonce": {"N-oc01"}}
	r := cfAuthorizeRaw(t, e, b, params)
	if r.Status != http.StatusFound {
		t.Fatalf("authorize: %s", r)
	}
	loc := r.Location(t)
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), ru+"?") || q.Get("code") == "" || q.Get("state") != "S-oc01" || q.Get("iss") != e.Issuer {
		t.Fatalf("authorization response %s: want %s?code=…&state=S-oc01&iss=%s", loc, ru, e.Issuer)
	}
	tr := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {ru}},
		"rp-basic", cfSecretBasic)
	if tr.Status != http.StatusOK {
		t.Fatalf("token: %s", tr)
	}
	if cc := tr.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token response Cache-Control %q", cc)
	}
	if ct := tr.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("token response Content-Type %q", ct)
	}
	tok := tr.JSON(t)
	if tok["token_type"] != "Bearer" || cfStr(tok, "access_token") == "" {
		t.Errorf("token response %v", tok)
	}
	idt := cfStr(tok, "id_token")
	hdr, c := cfMustVerify(t, e, idt)
	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(Get(t, e.Issuer+"/.well-known/openid-configuration", "").Body, &disc); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(disc.Algs, cfStr(hdr, "alg")) {
		t.Errorf("ID token alg %v not in id_token_signing_alg_values_supported %v", hdr["alg"], disc.Algs)
	}
	if cfStr(c, "iss") != e.Issuer {
		t.Errorf("iss %q, want exactly %q", c["iss"], e.Issuer)
	}
	switch aud := c["aud"].(type) {
	case string:
		if aud != "rp-basic" {
			t.Errorf("aud %q", aud)
		}
	case []any:
		if !slices.Contains(toStrings(aud), "rp-basic") || (len(aud) > 1 && c["azp"] != "rp-basic") {
			t.Errorf("aud %v azp %v", aud, c["azp"])
		}
	default:
		t.Errorf("aud %v", c["aud"])
	}
	now := time.Now().Unix()
	if exp := cfNum(c, "exp"); exp <= now {
		t.Errorf("exp %d not after now %d", exp, now)
	}
	if iat := cfNum(c, "iat"); iat == 0 || iat > now+1 {
		t.Errorf("iat %v", c["iat"])
	}
	if c["nonce"] != "N-oc01" {
		t.Errorf("nonce %v", c["nonce"])
	}
	sub := cfStr(c, "sub")
	if sub != userID || len(sub) > 255 || strings.ContainsFunc(sub, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		t.Errorf("sub %q (user %q): must be ≤255 printable ASCII", sub, userID)
	}
	if ah, ok := c["at_hash"]; ok && ah != cfSHA256Half(cfStr(tok, "access_token")) {
		t.Errorf("at_hash %v does not match the access token", ah)
	}
}

func TestOC02_MissingResponseType(t *testing.T) {
	// OC-02 expects: "redirect with error=invalid_request or unsupported_response_type
	// (+state, +iss) or error page; never a code".
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Del("response_type")
	r := cfAuthorizeRaw(t, e, b, f.Params)
	if r.Status == http.StatusFound {
		q := r.Location(t).Query()
		if (q.Get("error") != "invalid_request" && q.Get("error") != "unsupported_response_type") || q.Get("code") != "" ||
			q.Get("state") != f.Params.Get("state") || q.Get("iss") != e.Issuer {
			t.Errorf("missing response_type: %v", q)
		}
		return
	}
	cfErrorPage(t, "missing response_type", r, "")
}

func TestOC03_IDTokenAlwaysSigned(t *testing.T) {
	// OC-03 expects: "tokens signed RS256/ES256 with a published kid; none not advertised and
	// registration asking for it refused" (no dynamic registration: the configuration is
	// the registration, and id_token_alg none is refused at load).
	e, _, b := cfStart(t, `
		client rp-es {
			redirect_uri {{.RP}}/cb-es
			id_token_alg ES256
		}`)
	for client, want := range map[string]string{"rp-public": "RS256", "rp-es": "ES256"} {
		ru := e.RP + "/cb"
		if client == "rp-es" {
			ru = e.RP + "/cb-es"
		}
		tok := cfTokens(t, e, b, cfNewFlow(client, "", ru, "openid"))
		for _, name := range []string{"id_token", "access_token"} {
			hdr, _ := cfMustVerify(t, e, cfStr(tok, name))
			alg := cfStr(hdr, "alg")
			if alg == "" || strings.EqualFold(alg, "none") || strings.HasPrefix(alg, "HS") {
				t.Errorf("%s of %s: alg %q", name, client, alg)
			}
			if name == "id_token" && alg != want {
				t.Errorf("ID token of %s: alg %q, want %s", client, alg, want)
			}
		}
	}
	disc := Get(t, e.Issuer+"/.well-known/openid-configuration", "").JSON(t)
	for _, alg := range toStrings(disc["id_token_signing_alg_values_supported"]) {
		if strings.EqualFold(alg, "none") || strings.HasPrefix(alg, "HS") {
			t.Errorf("discovery advertises ID token alg %q", alg)
		}
	}
	for _, bad := range []string{"none", "None", "HS256", "RS512"} {
		err := cfAdapt(t, e, `
		client bad {
			redirect_uri https://rp.test/cb
			id_token_alg `+bad+`
		}`)
		if err == nil {
			t.Errorf("a client with id_token_alg %s was accepted", bad)
		}
	}
}

func TestOC04_UserinfoVariants(t *testing.T) {
	// OC-04 expects: "200 JSON, sub equals id_token sub; body form may be refused (warning
	// only). Expired/forged/ID-token-as-AT → 401 WWW-Authenticate: Bearer
	// error="invalid_token"".
	e, userID, b := cfStart(t)
	tok := cfPublicTokens(t, e, b, "openid email")
	at, idt := cfStr(tok, "access_token"), cfStr(tok, "id_token")
	_, c := cfMustVerify(t, e, idt)
	check := func(what string, r *Resp) {
		t.Helper()
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %s", what, r)
			return
		}
		if sub := r.JSON(t)["sub"]; sub != c["sub"] || sub != userID {
			t.Errorf("%s: sub %v, ID token sub %v", what, sub, c["sub"])
		}
	}
	check("GET with the Authorization header", e.Userinfo(at))
	req := NewRequest(t, http.MethodPost, e.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	check("POST with the Authorization header", Do(t, API, req))
	check("POST with access_token in the body", Do(t, API, NewRequest(t, http.MethodPost, e.Issuer+"/userinfo", url.Values{"access_token": {at}})))

	now := time.Now().Unix()
	expired := cfResign(t, at, func(m map[string]any) { m["iat"] = now - 900; m["exp"] = now - 300 })
	_, _, parts := splitJWT(t, at)
	forged := parts[0] + "." + b64json(t, map[string]any{"sub": "admin", "iss": e.Issuer}) + "." + parts[2]
	for name, bad := range map[string]string{"expired": expired, "forged": forged, "ID token": idt, "garbage": "abc"} {
		r := e.Userinfo(bad)
		if r.Status != http.StatusUnauthorized || !strings.HasPrefix(wwwAuth(r), "Bearer") || !strings.Contains(wwwAuth(r), `error="invalid_token"`) {
			t.Errorf("userinfo with the %s token: %s (WWW-Authenticate %q)", name, r, wwwAuth(r))
		}
	}
}

func TestOC05_NonceOptionalForCodeFlow(t *testing.T) {
	// OC-05 expects: "succeeds; id_token has no nonce".
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Del("nonce")
	tok := cfTokens(t, e, b, f)
	_, c := cfMustVerify(t, e, cfStr(tok, "id_token"))
	if _, ok := c["nonce"]; ok {
		t.Errorf("ID token carries nonce %v although the request had none", c["nonce"])
	}
}

func TestOC06_ScopeBoundClaims(t *testing.T) {
	// OC-06 expects: "claims only for granted scopes (email → email, email_verified);
	// order-independent; negative (ours): scope=openid must not leak email/groups". groups is
	// a default claim of Gatehouse's token contract (/work/shared/seeds/id-tokens.txt: "Default
	// claims are returned in the ID token without being requested"), so only the scope-bound
	// claims are checked for absence.
	e, id, b := cfStart(t)
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+id, map[string]any{"phone_number": "+14155550123",
		"address": map[string]any{"locality": "London", "country": "GB"}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %s", r)
	}
	scopeBound := map[string][]string{
		"email":   {"email", "email_verified"},
		"profile": {"name", "given_name", "family_name"},
		"phone":   {"phone_number", "phone_number_verified"},
		"address": {"address"},
	}
	for _, scope := range []string{"openid", "openid email", "email openid", "openid profile", "openid phone", "openid address",
		"address phone profile email openid"} {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", scope)
		// Shuffled parameter order.
		keys := []string{"scope", "state", "redirect_uri", "nonce", "code_challenge_method", "client_id", "code_challenge", "response_type"}
		if scope == "email openid" {
			slices.Reverse(keys)
		}
		var raw []string
		for _, k := range keys {
			raw = append(raw, k+"="+url.QueryEscape(f.Params.Get(k)))
		}
		r := b.Do(http.MethodGet, e.Issuer+"/authorize?"+strings.Join(raw, "&"), nil)
		if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
			t.Fatalf("scope %q: authorize %s", scope, r)
		}
		tr := f.redeem(e, r.Location(t).Query().Get("code"))
		if tr.Status != http.StatusOK {
			t.Fatalf("scope %q: token %s", scope, tr)
		}
		tok := tr.JSON(t)
		_, idc := cfMustVerify(t, e, cfStr(tok, "id_token"))
		info := e.Userinfo(cfStr(tok, "access_token")).JSON(t)
		granted := strings.Fields(scope)
		for s, claims := range scopeBound {
			for _, claim := range claims {
				for where, set := range map[string]map[string]any{"ID token": idc, "userinfo": info} {
					_, has := set[claim]
					if want := slices.Contains(granted, s); has != want {
						t.Errorf("scope %q: %s has %s = %v, want present=%v", scope, where, claim, has, want)
					}
				}
			}
		}
		if slices.Contains(granted, "email") && (idc["email"] != cfUser || idc["email_verified"] != true) {
			t.Errorf("scope %q: email %v verified %v", scope, idc["email"], idc["email_verified"])
		}
	}
}

func TestOC07_ToleratedParameters(t *testing.T) {
	// OC-07 expects: "no error; unknown params ignored (RFC 6749 §3.1)" for display=page/popup,
	// ui_locales, claims_locales, login_hint, acr_values and an unknown parameter.
	e, _, b := cfStart(t)
	extras := []url.Values{
		{"display": {"page"}}, {"display": {"popup"}}, {"ui_locales": {"se"}}, {"claims_locales": {"se"}},
		{"login_hint": {"x"}}, {"acr_values": {"1 2"}}, {"extra": {"foobar"}},
		{"display": {"popup"}, "ui_locales": {"se"}, "claims_locales": {"se"}, "login_hint": {cfUser}, "acr_values": {"1 2"}, "extra": {"foobar"}},
	}
	for _, extra := range extras {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		for k, v := range extra {
			f.Params[k] = v
		}
		q := e.Authorize(b, f.Params)
		if q.Get("code") == "" || q.Get("error") != "" {
			t.Errorf("%v: %v", extra, q)
			continue
		}
		if r := f.redeem(e, q.Get("code")); r.Status != http.StatusOK {
			t.Errorf("%v: token %s", extra, r)
		}
	}
}

func TestOC08_PromptLogin(t *testing.T) {
	// OC-08 expects: "login UI shown again; new auth_time > old".
	e, _, b := cfStart(t)
	_, first := cfMustVerify(t, e, cfStr(cfPublicTokens(t, e, b, "openid"), "id_token"))
	WaitNextSecond()
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("prompt", "login")
	page := b.Go(http.MethodGet, e.Issuer+"/authorize?"+f.Params.Encode(), nil, StopAt(e.RP))
	if page.Status != http.StatusOK || page.URL.Path != "/login" {
		t.Fatalf("prompt=login with a session: want the login form, got %s", page)
	}
	r := e.SubmitLogin(b, page, cfUser, Password, StopAt(e.RP))
	code := r.Location(t).Query().Get("code")
	if r.Status != http.StatusFound || code == "" {
		t.Fatalf("after the new login: %s", r)
	}
	tr := f.redeem(e, code)
	if tr.Status != http.StatusOK {
		t.Fatalf("token: %s", tr)
	}
	_, second := cfMustVerify(t, e, cfStr(tr.JSON(t), "id_token"))
	if cfNum(second, "auth_time") <= cfNum(first, "auth_time") {
		t.Errorf("auth_time after prompt=login %d, before %d: want newer", cfNum(second, "auth_time"), cfNum(first, "auth_time"))
	}
}

func TestOC09_PromptNoneNotLoggedIn(t *testing.T) {
	// OC-09 expects: "immediate redirect to registered R with error=login_required (or
	// interaction_required/consent_required) + state; no UI, no code".
	e, _, _ := cfStart(t)
	fresh := NewBrowser(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("prompt", "none")
	r := cfAuthorizeRaw(t, e, fresh, f.Params)
	q := cfErrorRedirect(t, e, "prompt=none without a session", r, e.RP+"/cb", f.Params.Get("state"), "login_required")
	if q == nil {
		return
	}
	if strings.Contains(r.Header.Get("Location"), "/login") || len(r.Body) > 0 && bytes.Contains(r.Body, []byte("<form")) {
		t.Errorf("prompt=none showed UI: %s", r)
	}
}

func TestOC10_PromptNoneLoggedIn(t *testing.T) {
	// OC-10 expects: "code issued silently; same sub, same auth_time".
	e, _, b := cfStart(t)
	_, first := cfMustVerify(t, e, cfStr(cfPublicTokens(t, e, b, "openid"), "id_token"))
	WaitNextSecond()
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("prompt", "none")
	r := cfAuthorizeRaw(t, e, b, f.Params)
	if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
		t.Fatalf("prompt=none with a session: want a code at once, got %s", r)
	}
	tr := f.redeem(e, r.Location(t).Query().Get("code"))
	if tr.Status != http.StatusOK {
		t.Fatalf("token: %s", tr)
	}
	_, second := cfMustVerify(t, e, cfStr(tr.JSON(t), "id_token"))
	if second["sub"] != first["sub"] || cfNum(second, "auth_time") != cfNum(first, "auth_time") {
		t.Errorf("prompt=none: sub %v auth_time %v, first sub %v auth_time %v", second["sub"], second["auth_time"], first["sub"], first["auth_time"])
	}
}

func TestOC11_MaxAge1(t *testing.T) {
	// OC-11 expects: "forces re-authentication; id_token contains auth_time (newer)".
	e, _, b := cfStart(t)
	_, first := cfMustVerify(t, e, cfStr(cfPublicTokens(t, e, b, "openid"), "id_token"))
	time.Sleep(2 * time.Second)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("max_age", "1")
	page := b.Go(http.MethodGet, e.Issuer+"/authorize?"+f.Params.Encode(), nil, StopAt(e.RP))
	if page.Status != http.StatusOK || page.URL.Path != "/login" {
		t.Fatalf("max_age=1 two seconds after login: want the login form, got %s", page)
	}
	r := e.SubmitLogin(b, page, cfUser, Password, StopAt(e.RP))
	if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
		t.Fatalf("after the new login: %s (hops %v)", r, r.Hops)
	}
	tr := f.redeem(e, r.Location(t).Query().Get("code"))
	if tr.Status != http.StatusOK {
		t.Fatalf("token: %s", tr)
	}
	_, second := cfMustVerify(t, e, cfStr(tr.JSON(t), "id_token"))
	if _, ok := second["auth_time"]; !ok || cfNum(second, "auth_time") <= cfNum(first, "auth_time") {
		t.Errorf("auth_time %v after max_age=1, first %v: want present and newer", second["auth_time"], first["auth_time"])
	}
}

func TestOC12_MaxAge10000(t *testing.T) {
	// OC-12 expects: "no re-login; auth_time present and unchanged" (first max_age=15000, then
	// max_age=10000).
	e, _, b := cfStart(t)
	var authTimes []int64
	for i, ma := range []string{"15000", "10000"} {
		if i > 0 {
			WaitNextSecond()
		}
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("max_age", ma)
		r := cfAuthorizeRaw(t, e, b, f.Params)
		if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
			t.Fatalf("max_age=%s with a fresh session: want a code without login, got %s", ma, r)
		}
		tr := f.redeem(e, r.Location(t).Query().Get("code"))
		if tr.Status != http.StatusOK {
			t.Fatalf("token: %s", tr)
		}
		_, c := cfMustVerify(t, e, cfStr(tr.JSON(t), "id_token"))
		if _, ok := c["auth_time"]; !ok {
			t.Errorf("max_age=%s: ID token without auth_time", ma)
		}
		authTimes = append(authTimes, cfNum(c, "auth_time"))
	}
	if authTimes[0] != authTimes[1] {
		t.Errorf("auth_time changed without a login: %v", authTimes)
	}
}

func TestOC13_IDTokenHint(t *testing.T) {
	// OC-13 expects: "valid hint: silent success same sub; mismatching user → login_required;
	// bad signature → error, never treated as authentication" (ours: hint for another user,
	// tampered signature, foreign issuer).
	e, userID, b := cfStart(t)
	idt := cfStr(cfPublicTokens(t, e, b, "openid"), "id_token")

	e.CreateUser("bob@example.test")
	ob := NewBrowser(t)
	e.PortalLogin(ob, "bob@example.test", Password)
	otherIDT := cfStr(cfPublicTokens(t, e, ob, "openid"), "id_token")

	hinted := func(hint string) (*cfFlow, *Resp) {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("prompt", "none")
		f.Params.Set("id_token_hint", hint)
		return f, cfAuthorizeRaw(t, e, b, f.Params)
	}
	f, r := hinted(idt)
	if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
		t.Fatalf("valid id_token_hint with prompt=none: %s", r)
	}
	tr := f.redeem(e, r.Location(t).Query().Get("code"))
	if _, c := cfMustVerify(t, e, cfStr(tr.JSON(t), "id_token")); c["sub"] != userID {
		t.Errorf("silent re-authentication: sub %v, want %s", c["sub"], userID)
	}
	f, r = hinted(otherIDT)
	cfErrorRedirect(t, e, "hint of another user", r, e.RP+"/cb", f.Params.Get("state"), "login_required")
	// A valid hint is no authentication by itself: without a session, login_required.
	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("prompt", "none")
	f.Params.Set("id_token_hint", idt)
	cfErrorRedirect(t, e, "valid hint without a session", cfAuthorizeRaw(t, e, NewBrowser(t), f.Params), e.RP+"/cb", f.Params.Get("state"), "login_required")

	_, payload, parts := splitJWT(t, idt)
	tampered := parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-6] + "AAAAAA"
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := cfClaims(t, idt)
	foreign := map[string]any{}
	for k, v := range payload {
		foreign[k] = v
	}
	foreign["iss"] = "https://evil.test"
	realKeyForeignIss, _ := json.Marshal(foreign)
	key := cfSigner(t, "RS256")
	for name, hint := range map[string]string{
		"tampered signature":               tampered,
		"attacker key with the real kid":   rsaJWT(t, hdr, payload, attacker),
		"foreign issuer, attacker key":     rsaJWT(t, hdr, foreign, attacker),
		"foreign issuer, real key":         cfSignRaw(t, key, "RS256", cfHeader(key, "JWT"), string(realKeyForeignIss)),
		"payload of another user, our sig": parts[0] + "." + strings.Split(otherIDT, ".")[1] + "." + parts[2],
	} {
		f, r := hinted(hint)
		if r.Status != http.StatusFound {
			cfErrorPage(t, name, r, "")
			continue
		}
		q := r.Location(t).Query()
		if q.Get("code") != "" || q.Get("error") == "" || q.Get("state") != f.Params.Get("state") {
			t.Errorf("id_token_hint with %s: %v, want an error and no code", name, q)
		}
	}
}

func TestOC14_CodeReuseImmediate(t *testing.T) {
	// OC-14 expects: "2nd → 400 invalid_grant".
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-basic", cfSecretBasic, e.RP+"/cb-basic", "openid")
	code := e.Authorize(b, f.Params).Get("code")
	if r := f.redeem(e, code); r.Status != http.StatusOK {
		t.Fatalf("first redemption: %s", r)
	}
	r := f.redeem(e, code)
	wantTokenError(t, "second redemption", r, http.StatusBadRequest, "invalid_grant")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
}

func TestOC15_CodeReuseAfter30SecondsRevokes(t *testing.T) {
	// OC-15 expects: "2nd → invalid_grant; AT and RT from the 1st redemption revoked (401 /
	// invalid_grant)" (redeem; wait 30 s; redeem again).
	if testing.Short() {
		t.Skip("waits 30 seconds")
	}
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid offline_access")
	code := e.Authorize(b, f.Params).Get("code")
	r1 := f.redeem(e, code)
	if r1.Status != http.StatusOK {
		t.Fatalf("first redemption: %s", r1)
	}
	tok := r1.JSON(t)
	time.Sleep(30 * time.Second)
	wantTokenError(t, "redemption 30 s later", f.redeem(e, code), http.StatusBadRequest, "invalid_grant")
	if r := e.Userinfo(cfStr(tok, "access_token")); r.Status != http.StatusUnauthorized {
		t.Errorf("access token of the first redemption after the replay: %s", r)
	}
	wantTokenError(t, "refresh token of the first redemption after the replay", e.Refresh("rp-public", cfStr(tok, "refresh_token")),
		http.StatusBadRequest, "invalid_grant")
}

func TestOC16_UnregisteredRedirectURI(t *testing.T) {
	// OC-16 expects: "error page, no redirect" for redirect_uri=https://evil.test/cb.
	e, _, b := cfStart(t)
	for _, client := range []string{"rp-public", "rp-basic"} {
		for _, prompt := range []string{"", "none"} {
			f := cfNewFlow(client, "", "https://evil.test/cb", "openid")
			if prompt != "" {
				f.Params.Set("prompt", prompt)
			}
			r := cfAuthorizeRaw(t, e, b, f.Params)
			cfErrorPage(t, client+" with https://evil.test/cb prompt="+prompt, r, "invalid_request")
			if bytes.Contains(r.Body, []byte(`href="https://evil.test`)) || bytes.Contains(r.Body, []byte(`action="https://evil.test`)) {
				t.Errorf("error page links to the unregistered URI: %s", r)
			}
		}
	}
}

func TestOC17_MissingRedirectURIWithSeveralRegistered(t *testing.T) {
	// OC-17 expects: "error page, no redirect" (client has 2 URIs; redirect_uri omitted).
	e, _, b := cfStart(t)
	for _, prompt := range []string{"", "none"} {
		f := cfNewFlow("rp-two", "", "", "openid")
		f.Params.Del("redirect_uri")
		if prompt != "" {
			f.Params.Set("prompt", prompt)
		}
		cfErrorPage(t, "no redirect_uri, two registered, prompt="+prompt, cfAuthorizeRaw(t, e, b, f.Params), "invalid_request")
	}
}

func TestOC18_RedirectURIQueryComponent(t *testing.T) {
	// OC-18 expects: "OK succeeds; mismatch/added → error page; fragment URIs refused at
	// registration/config load" (registered https://rp/cb?x=1; ?x=1 OK, ?x=2 mismatch,
	// registered without query but ?y=1 added).
	e, _, b := cfStart(t)
	ok := e.RP + "/q?x=1"
	f := cfNewFlow("rp-query", "", ok, "openid")
	r := cfAuthorizeRaw(t, e, b, f.Params)
	if r.Status != http.StatusFound {
		t.Fatalf("registered URI with query: %s", r)
	}
	loc := r.Location(t)
	q := loc.Query()
	if loc.Path != "/q" || q.Get("x") != "1" || q.Get("code") == "" || q.Get("state") != f.Params.Get("state") {
		t.Errorf("registered URI with query: redirected to %s, want %s plus code and state", loc, ok)
	}
	if tr := f.redeem(e, q.Get("code")); tr.Status != http.StatusOK {
		t.Errorf("token with the query redirect_uri: %s", tr)
	}
	for _, bad := range []string{e.RP + "/q?x=2", e.RP + "/q", e.RP + "/q?x=1&y=1", e.RP + "/q?y=1&x=1", e.RP + "/plain?y=1",
		e.RP + "/plain?", e.RP + "/q?x=1#f"} {
		f := cfNewFlow("rp-query", "", bad, "openid")
		cfErrorPage(t, "redirect_uri "+bad, cfAuthorizeRaw(t, e, b, f.Params), "invalid_request")
	}
	for _, frag := range []string{"https://rp.test/cb#frag", "https://rp.test/cb#", "http://127.0.0.1:9/cb#x"} {
		if err := cfAdapt(t, e, `
		client frag {
			redirect_uri `+frag+`
		}`); err == nil {
			t.Errorf("redirect_uri %s with a fragment was accepted at config load", frag)
		}
	}
}

func TestOC19_PostToAuthorizationEndpoint(t *testing.T) {
	// OC-19 expects: "works like GET (plus CSRF-safe: it's a navigation, no state change
	// before login)".
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	r := b.Do(http.MethodPost, e.Issuer+"/authorize", f.Params)
	if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
		t.Fatalf("POST /authorize with a session: %s", r)
	}
	if tr := f.redeem(e, r.Location(t).Query().Get("code")); tr.Status != http.StatusOK {
		t.Errorf("token after POST /authorize: %s", tr)
	}
	// Without a session: the login page, then the same request completes.
	nb := NewBrowser(t)
	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	page := nb.Go(http.MethodPost, e.Issuer+"/authorize", f.Params, StopAt(e.RP))
	if page.Status != http.StatusOK || page.URL.Path != "/login" {
		t.Fatalf("POST /authorize without a session: want the login page, got %s", page)
	}
	if nb.Cookie(e.Issuer, "gatehouse_session") != "" {
		t.Errorf("POST /authorize created a session before login")
	}
	r = e.SubmitLogin(nb, page, cfUser, Password, StopAt(e.RP))
	if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" || r.Location(t).Query().Get("state") != f.Params.Get("state") {
		t.Fatalf("after login: %s", r)
	}
	if tr := f.redeem(e, r.Location(t).Query().Get("code")); tr.Status != http.StatusOK {
		t.Errorf("token: %s", tr)
	}
}

func TestOC20_ClientSecretPostAndNegatives(t *testing.T) {
	// OC-20 expects: "success for registered method; wrong/duplicated → 401 invalid_client
	// (+WWW-Authenticate for Basic)". Two methods in one request are refused with 400
	// invalid_request, the code RFC 6749 §5.2 gives for "utilizes more than one mechanism
	// for authenticating the client".
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-post", cfSecretPost, e.RP+"/cb-post", "openid")
	code := e.Authorize(b, f.Params).Get("code")
	form := f.tokenForm(code)
	form.Set("client_id", "rp-post")
	form.Set("client_secret", cfSecretPost)
	r := e.Token(form)
	if r.Status != http.StatusOK {
		t.Fatalf("client_secret_post: %s", r)
	}
	cfMustVerify(t, e, cfStr(r.JSON(t), "id_token"))

	code = e.Authorize(b, f.Params).Get("code")
	form = f.tokenForm(code)
	form.Set("client_id", "rp-post")
	form.Set("client_secret", "wrong-secret-0123456789")
	wantTokenError(t, "client_secret_post with a wrong secret", e.Token(form), http.StatusUnauthorized, "invalid_client")
	form.Set("client_secret", cfSecretPost)
	wantTokenError(t, "secret in the header and the body", e.Token(form, "rp-post", cfSecretPost), http.StatusBadRequest, "invalid_request")
	form.Del("client_secret")
	r = e.Token(form, "rp-post", "wrong-secret-0123456789")
	wantTokenError(t, "client_secret_basic with a wrong secret", r, http.StatusUnauthorized, "invalid_client")
	if !strings.HasPrefix(wwwAuth(r), "Basic") {
		t.Errorf("invalid_client with Basic: WWW-Authenticate %q", wwwAuth(r))
	}
	// No authentication at all for a confidential client ("none" is not its method).
	wantTokenError(t, "confidential client without a secret", e.Token(form), http.StatusUnauthorized, "invalid_client")
	// A public client presenting a secret.
	pf := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	pform := pf.tokenForm(e.Authorize(b, pf.Params).Get("code"))
	pform.Set("client_secret", "made-up-secret-0123456789")
	wantTokenError(t, "public client with a secret", e.Token(pform), http.StatusUnauthorized, "invalid_client")
	// Unknown client.
	form.Set("client_id", "no-such-client")
	form.Set("client_secret", cfSecretPost)
	wantTokenError(t, "unknown client", e.Token(form), http.StatusUnauthorized, "invalid_client")
}

func TestOC21_ClaimsParameter(t *testing.T) {
	// OC-21 expects: "success; name returned; never returns claims outside consent/policy; a
	// requested sub value that differs from the user → error/no token, never a token for
	// "admin"; malformed JSON → invalid_request".
	e, id, b := cfStart(t)
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+id, map[string]any{"custom_data": map[string]any{"plan": "gold"}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %s", r)
	}
	if r := e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/custom_app_data/rp-basic", map[string]any{"secret_of_basic": 1}); r.Status != http.StatusOK {
		t.Fatalf("custom_app_data: %s", r)
	}
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("claims", `{"userinfo":{"name":{"essential":true},"custom_app_data":null,"no_such_claim":null},`+
		`"id_token":{"groups":null,"custom_data":null,"no_such_claim":{"essential":true}}}`)
	tok := cfTokens(t, e, b, f)
	_, idc := cfMustVerify(t, e, cfStr(tok, "id_token"))
	info := e.Userinfo(cfStr(tok, "access_token")).JSON(t)
	if info["name"] != "Ada Lovelace" {
		t.Errorf("userinfo name %v, want the essential claim", info["name"])
	}
	if _, ok := idc["name"]; ok {
		t.Errorf("the ID token carries name, requested for userinfo only")
	}
	if cd, _ := idc["custom_data"].(map[string]any); cd["plan"] != "gold" {
		t.Errorf("ID token custom_data %v", idc["custom_data"])
	}
	if !slices.Equal(toStrings(idc["groups"]), []string{"staff", "eng"}) {
		t.Errorf("ID token groups %v", idc["groups"])
	}
	for where, set := range map[string]map[string]any{"ID token": idc, "userinfo": info} {
		if _, ok := set["no_such_claim"]; ok {
			t.Errorf("%s carries an unknown claim", where)
		}
	}
	if _, ok := info["custom_app_data"]; ok {
		t.Errorf("userinfo for rp-public returned rp-basic's custom_app_data: %v", info["custom_app_data"])
	}

	// sub with another value: never a token for "admin".
	for _, prompt := range []string{"none", ""} {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("claims", `{"id_token":{"sub":{"value":"admin"}}}`)
		if prompt != "" {
			f.Params.Set("prompt", prompt)
			cfErrorRedirect(t, e, "sub=admin with prompt=none", cfAuthorizeRaw(t, e, b, f.Params), e.RP+"/cb", f.Params.Get("state"), "login_required")
			continue
		}
		r := b.Go(http.MethodGet, e.Issuer+"/authorize?"+f.Params.Encode(), nil, StopAt(e.RP))
		if r.Status != http.StatusOK || r.URL.Path != "/login" {
			t.Errorf("sub=admin: want the login page (only admin's session may answer), got %s", r)
		}
	}
	for _, bad := range []string{`{"id_token":`, `[1]`, `"x"`, `{"id_token":{"name":{"essential":"yes"}}}`,
		`{"id_token":{"name":{"unknown_member":1}}}`, `{"id_token":[]}`} {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("claims", bad)
		cfErrorRedirect(t, e, "claims "+bad, cfAuthorizeRaw(t, e, b, f.Params), e.RP+"/cb", f.Params.Get("state"), "invalid_request")
	}
}

func TestOC22_RequestObjectsRefused(t *testing.T) {
	// OC-22 expects: "if unsupported: request_not_supported / request_uri_not_supported — must
	// not silently ignore; ... no outbound fetch to arbitrary request_uri (SSRF)".
	e, _, b := cfStart(t)
	attacker := cfListen(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("request", b64json(t, map[string]any{"alg": "none"})+"."+
		b64json(t, map[string]any{"redirect_uri": "https://evil.test/cb", "client_id": "rp-public"})+".")
	r := cfAuthorizeRaw(t, e, b, f.Params)
	cfErrorRedirect(t, e, "request object", r, e.RP+"/cb", f.Params.Get("state"), "request_not_supported")
	f.Params.Del("request")
	f.Params.Set("request_uri", attacker.URL()+"/ro")
	r = cfAuthorizeRaw(t, e, b, f.Params)
	cfErrorRedirect(t, e, "request_uri", r, e.RP+"/cb", f.Params.Get("state"), "request_uri_not_supported")
	time.Sleep(200 * time.Millisecond)
	if n := len(attacker.Requests()); n != 0 {
		t.Errorf("the request_uri was fetched %d times (SSRF)", n)
	}
	disc := Get(t, e.Issuer+"/.well-known/openid-configuration", "").JSON(t)
	if disc["request_parameter_supported"] != false || disc["request_uri_parameter_supported"] != false {
		t.Errorf("discovery: request_parameter_supported %v request_uri_parameter_supported %v",
			disc["request_parameter_supported"], disc["request_uri_parameter_supported"])
	}
}

func TestOC23_RefreshToken(t *testing.T) {
	// OC-23 expects: "A: 200, new AT, id_token (if any) same iss/sub/aud, newer iat; B: 400
	// invalid_grant".
	e, _, b := cfStart(t)
	tok := cfPublicTokens(t, e, b, "openid offline_access")
	_, first := cfMustVerify(t, e, cfStr(tok, "id_token"))
	WaitNextSecond()
	// B (a confidential client, properly authenticated) cannot use A's refresh token.
	wantTokenError(t, "A's refresh token at B", e.Token(url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {cfStr(tok, "refresh_token")}}, "rp-basic", cfSecretBasic), http.StatusBadRequest, "invalid_grant")
	wantTokenError(t, "A's refresh token at public B", e.Refresh("rp-two", cfStr(tok, "refresh_token")), http.StatusBadRequest, "invalid_grant")
	r := e.Refresh("rp-public", cfStr(tok, "refresh_token"))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	t2 := r.JSON(t)
	if cfStr(t2, "access_token") == "" || cfStr(t2, "access_token") == cfStr(tok, "access_token") {
		t.Errorf("refresh did not issue a new access token")
	}
	_, second := cfMustVerify(t, e, cfStr(t2, "id_token"))
	for _, k := range []string{"iss", "sub", "aud"} {
		if second[k] != first[k] {
			t.Errorf("refreshed ID token %s %v, first %v", k, second[k], first[k])
		}
	}
	if cfNum(second, "iat") <= cfNum(first, "iat") {
		t.Errorf("refreshed ID token iat %v, first %v: want newer", second["iat"], first["iat"])
	}
	if e.Userinfo(cfStr(t2, "access_token")).Status != http.StatusOK {
		t.Errorf("refreshed access token refused at /userinfo")
	}
}

func TestOC24_ValidPKCEAccepted(t *testing.T) {
	// OC-24 expects: "success" (S256 challenge + verifier).
	e, _, b := cfStart(t)
	for _, f := range []*cfFlow{cfNewFlow("rp-public", "", e.RP+"/cb", "openid"),
		cfNewFlow("rp-basic", cfSecretBasic, e.RP+"/cb-basic", "openid"), cfNewFlow("rp-pkce", "pkce-secret-0123456789abcdef", e.RP+"/cb-pkce", "openid")} {
		if f.Params.Get("code_challenge") != cfS256(f.Verifier) || f.Params.Get("code_challenge_method") != "S256" {
			t.Fatal("harness: AuthParams must use S256")
		}
		tok := cfTokens(t, e, b, f)
		cfMustVerify(t, e, cfStr(tok, "id_token"))
	}
}

func TestOC25_DiscoveryDocument(t *testing.T) {
	// OC-25 expects: "issuer equals configured issuer exactly and the URL prefix; required
	// fields present; response_types_supported = ["code"]; code_challenge_methods_supported ⊇
	// S256 (no plain); id_token_signing_alg_values_supported excludes none;
	// authorization_response_iss_parameter_supported: true; all https; Host header ignored".
	// (The test issuer is http on loopback, which Gatehouse allows for development only.)
	e, _, _ := cfStart(t)
	r := Get(t, e.Issuer+"/.well-known/openid-configuration", "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("discovery: %s", r)
	}
	d := r.JSON(t)
	if d["issuer"] != e.Issuer {
		t.Errorf("issuer %v, want exactly %s", d["issuer"], e.Issuer)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "response_types_supported",
		"subject_types_supported", "id_token_signing_alg_values_supported", "scopes_supported", "claims_supported"} {
		if _, ok := d[k]; !ok {
			t.Errorf("discovery lacks %s", k)
		}
	}
	for k, v := range d {
		if s, ok := v.(string); ok && (strings.HasSuffix(k, "_endpoint") || k == "jwks_uri") && !strings.HasPrefix(s, e.Issuer+"/") {
			t.Errorf("%s %q is not under the issuer", k, s)
		}
	}
	if !slices.Equal(toStrings(d["response_types_supported"]), []string{"code"}) {
		t.Errorf("response_types_supported %v", d["response_types_supported"])
	}
	if pk := toStrings(d["code_challenge_methods_supported"]); !slices.Contains(pk, "S256") || slices.Contains(pk, "plain") {
		t.Errorf("code_challenge_methods_supported %v", pk)
	}
	for _, a := range toStrings(d["id_token_signing_alg_values_supported"]) {
		if strings.EqualFold(a, "none") {
			t.Errorf("id_token_signing_alg_values_supported has none")
		}
	}
	if d["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported %v", d["authorization_response_iss_parameter_supported"])
	}
	if !slices.Contains(toStrings(d["scopes_supported"]), "openid") {
		t.Errorf("scopes_supported %v", d["scopes_supported"])
	}
	// Host and forwarded-host headers are ignored.
	req := NewRequest(t, http.MethodGet, e.Issuer+"/.well-known/openid-configuration", nil)
	req.Header.Set("X-Forwarded-Host", "evil.test")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Forwarded", "host=evil.test;proto=https")
	if r := Do(t, API, req); !bytes.Equal(r.Body, Get(t, e.Issuer+"/.well-known/openid-configuration", "").Body) {
		t.Errorf("forwarded host headers changed the discovery document: %s", r)
	}
	raw := RawRequest(t, strings.TrimPrefix(e.Issuer, "http://"), "GET /.well-known/openid-configuration HTTP/1.1\nHost: evil.test\nConnection: close\n\n")
	if bytes.Contains(raw.Body, []byte("evil.test")) {
		t.Errorf("Host: evil.test is reflected in the discovery document: %s", raw)
	}
}

func TestOC26_KeyRotation(t *testing.T) {
	// OC-26 expects: "new kid present, old kid kept for overlap; all kids distinct; tokens
	// signed with old key validate until expiry; no private members (d,p,q,dp,dq,qi,k) ever
	// published".
	e, _, b := cfStart(t)
	before, _ := cfJWKS(t, e)
	tok := cfPublicTokens(t, e, b, "openid")
	oldHdr, _ := cfMustVerify(t, e, cfStr(tok, "id_token"))
	oldKid := cfStr(oldHdr, "kid")
	r := e.Admin(http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"alg": "RS256", "immediate": true})
	if r.Status != http.StatusOK {
		t.Fatalf("rotate: %s", r)
	}
	after, raw := cfJWKS(t, e)
	seen := map[string]bool{}
	for _, k := range after {
		if seen[k.Kid] {
			t.Errorf("kid %s published twice", k.Kid)
		}
		seen[k.Kid] = true
	}
	if !seen[oldKid] || len(after) != len(before)+1 {
		t.Errorf("after rotation: %d keys (before %d), old kid present %v", len(after), len(before), seen[oldKid])
	}
	for _, k := range raw {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS publishes private member %q of %v", private, k["kid"])
			}
		}
	}
	newHdr, _ := cfMustVerify(t, e, cfStr(cfPublicTokens(t, e, b, "openid"), "id_token"))
	if cfStr(newHdr, "kid") == oldKid || !seen[cfStr(newHdr, "kid")] {
		t.Errorf("new ID token kid %v (old %s): want the new published key", newHdr["kid"], oldKid)
	}
	// Tokens signed before the rotation still verify.
	cfMustVerify(t, e, cfStr(tok, "id_token"))
	if r := e.Userinfo(cfStr(tok, "access_token")); r.Status != http.StatusOK {
		t.Errorf("access token signed with the previous key: %s", r)
	}
}

func TestOC27_RPInitiatedLogout(t *testing.T) {
	// OC-27 expects: "bad/unregistered/query-added URI → no redirect (logged-out page only);
	// tampered hint → error, no redirect; valid → session ended, redirect with state".
	e, _, b := cfStart(t)
	tok := cfPublicTokens(t, e, b, "openid")
	idt := cfStr(tok, "id_token")
	basicIDT := cfStr(cfTokens(t, e, b, cfNewFlow("rp-basic", cfSecretBasic, e.RP+"/cb-basic", "openid")), "id_token")
	bye := e.RP + "/bye"
	noRedirect := func(what string, query url.Values) {
		t.Helper()
		r := b.Do(http.MethodGet, e.Issuer+"/logout?"+query.Encode(), nil)
		if r.Header.Get("Location") != "" {
			t.Errorf("%s: redirected to %s", what, r.Header.Get("Location"))
		}
		if m := regexp.MustCompile(`name="post_logout_redirect_uri" value="([^"]*)"`).FindSubmatch(r.Body); m != nil {
			t.Errorf("%s: the confirmation form would redirect to %s", what, m[1])
		}
	}
	for name, uri := range map[string]string{"unregistered": "https://evil.test/bye", "query added": bye + "?x=1",
		"trailing slash": bye + "/", "other client's URI": e.RP + "/bye-basic"} {
		noRedirect(name, url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {uri}, "state": {"s"}})
	}
	noRedirect("hint of another client", url.Values{"id_token_hint": {basicIDT}, "post_logout_redirect_uri": {bye}, "state": {"s"}})
	_, _, parts := splitJWT(t, idt)
	tampered := parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-6] + "AAAAAA"
	r := b.Do(http.MethodGet, e.Issuer+"/logout?"+url.Values{"id_token_hint": {tampered}, "post_logout_redirect_uri": {bye}}.Encode(), nil)
	if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Errorf("tampered id_token_hint: %s", r)
	}
	// A forged confirmation POST naming an unregistered target does not redirect either.
	page := b.Go(http.MethodGet, e.Issuer+"/logout", nil, nil)
	forged := b.Do(http.MethodPost, e.Issuer+"/logout", url.Values{"csrf_token": {FormField(t, page, csrfRe)},
		"client_id": {"rp-public"}, "post_logout_redirect_uri": {"https://evil.test/bye"}, "state": {"s"}})
	if forged.Header.Get("Location") != "" {
		t.Errorf("forged logout POST redirected to %s", forged.Header.Get("Location"))
	}

	// The valid case, in a new session.
	b2 := NewBrowser(t)
	e.PortalLogin(b2, cfUser, Password)
	tok2 := cfPublicTokens(t, e, b2, "openid")
	r = cfPortalLogout(t, e, b2, "?"+url.Values{"id_token_hint": {cfStr(tok2, "id_token")}, "post_logout_redirect_uri": {bye},
		"state": {"st-27"}}.Encode())
	if r.Status != http.StatusSeeOther && r.Status != http.StatusFound || r.Header.Get("Location") != bye+"?state=st-27" {
		t.Fatalf("RP-initiated logout: %s (Location %q)", r, r.Header.Get("Location"))
	}
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("prompt", "none")
	cfErrorRedirect(t, e, "prompt=none after logout", cfAuthorizeRaw(t, e, b2, f.Params), e.RP+"/cb", f.Params.Get("state"), "login_required")
	if r := e.Userinfo(cfStr(tok2, "access_token")); r.Status != http.StatusUnauthorized {
		t.Errorf("access token after logout: %s", r)
	}

	// Without state: the registered URI as is. Without parameters, or with only state: the
	// logout happens, no redirect.
	b3 := NewBrowser(t)
	e.PortalLogin(b3, cfUser, Password)
	tok3 := cfPublicTokens(t, e, b3, "openid")
	r = cfPortalLogout(t, e, b3, "?"+url.Values{"id_token_hint": {cfStr(tok3, "id_token")}, "post_logout_redirect_uri": {bye}}.Encode())
	if r.Header.Get("Location") != bye {
		t.Errorf("logout without state: %s (Location %q)", r, r.Header.Get("Location"))
	}
	for _, q := range []string{"", "?state=only"} {
		b4 := NewBrowser(t)
		e.PortalLogin(b4, cfUser, Password)
		r := cfPortalLogout(t, e, b4, q)
		if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
			t.Errorf("logout with %q: %s", q, r)
		}
		if r := b4.Do(http.MethodGet, e.Issuer+"/api/v1/session", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("session after logout with %q: %s", q, r)
		}
	}
}

func TestOC28_PKCENegatives(t *testing.T) {
	// OC-28 expects: "invalid_grant; invalid_grant; invalid_request; invalid_request (if
	// S256-only policy)" for: no code_verifier; wrong verifier; no challenge for a public
	// client; code_challenge_method=plain.
	e, _, b := cfStart(t)
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	form := f.tokenForm(e.Authorize(b, f.Params).Get("code"))
	form.Del("code_verifier")
	wantTokenError(t, "no code_verifier", e.Token(form), http.StatusBadRequest, "invalid_grant")
	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	form = f.tokenForm(e.Authorize(b, f.Params).Get("code"))
	form.Set("code_verifier", oauth2.GenerateVerifier())
	wantTokenError(t, "wrong code_verifier", e.Token(form), http.StatusBadRequest, "invalid_grant")

	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Del("code_challenge")
	f.Params.Del("code_challenge_method")
	cfErrorRedirect(t, e, "public client without code_challenge", cfAuthorizeRaw(t, e, b, f.Params), e.RP+"/cb", f.Params.Get("state"), "invalid_request")
	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("code_challenge", f.Verifier)
	f.Params.Set("code_challenge_method", "plain")
	cfErrorRedirect(t, e, "code_challenge_method=plain", cfAuthorizeRaw(t, e, b, f.Params), e.RP+"/cb", f.Params.Get("state"), "invalid_request")
}
