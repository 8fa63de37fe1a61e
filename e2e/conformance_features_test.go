package e2e

// Feature tests of the OpenID Provider's recent additions: every claim of the token contract
// (/work/shared/seeds/id-tokens.txt) through the claims parameter, client credentials with
// resource indicators, revocation (RFC 7009), introspection (RFC 7662), back-channel logout,
// key rotation, per-client lifetimes and a truthful discovery document.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// cfHeaderTransport adds headers to every request (a browser's Accept-Language).
type cfHeaderTransport struct {
	base http.RoundTripper
	h    map[string]string
}

func (c cfHeaderTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range c.h {
		r.Header.Set(k, v)
	}
	return c.base.RoundTrip(r)
}

// cfLangBrowser logs email in through the login form with Accept-Language lang.
func cfLangBrowser(t *testing.T, e *Env, email, lang string) *Browser {
	t.Helper()
	b := NewBrowser(t)
	b.C.Transport = cfHeaderTransport{base: http.DefaultTransport, h: map[string]string{"Accept-Language": lang}}
	e.PortalLogin(b, email, Password)
	return b
}

// cfPlantSession starts a portal session for userID in-process (a user without a password
// cannot log in through the form) and gives browser b its cookie.
func cfPlantSession(t *testing.T, e *Env, b *Browser, userID string) {
	t.Helper()
	p := Provider(t)
	u, err := p.Store.GetUser(Ctx(t), userID)
	if err != nil {
		t.Fatal(err)
	}
	sec, _, err := p.Sessions.Start(Ctx(t), u, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	m := session.New(web.CookieName("session", false), p.Keys.DeriveKey("session-cookie-hmac"),
		p.Keys.DeriveKey("session-cookie-aes"), false, time.Hour)
	rec := httptest.NewRecorder()
	if err := m.Issue(rec, httptest.NewRequest(http.MethodGet, e.Issuer+"/", nil), sec); err != nil {
		t.Fatal(err)
	}
	iss, _ := url.Parse(e.Issuer)
	b.Jar.SetCookies(iss, rec.Result().Cookies())
}

// cfKind is the JSON type of a claim as the token contract names it.
func cfKind(v any) string {
	switch v.(type) {
	case string:
		return "String"
	case bool:
		return "Boolean"
	case json.Number, float64:
		return "Number"
	case []any:
		return "Array"
	case map[string]any:
		return "Object"
	}
	return "null"
}

// cfJSON re-decodes v (a claim) into a comparable Go value.
func cfJSON(t *testing.T, v any) any {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(j, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cfFullProfile is a profile setting every field of the token contract.
var cfFullProfile = map[string]any{
	"fname": "Ada", "mname": "King", "lname": "Lovelace", "username": "ada.l",
	"phone_number": "+14155550123", "phone_number_verified": true,
	"secondary_emails":        []map[string]any{{"value": "ada@work.test", "email_verified": false}},
	"secondary_phone_numbers": []map[string]any{{"value": "+442071234567", "phone_number_verified": true}},
	"birthday":                "1815-12-10",
	"address": map[string]any{"formatted": "12 St James's Square\nLondon", "street_address": "12 St James's Square",
		"locality": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
	"picture": "https://img.test/ada.png", "organization": "Analytical Engines Ltd",
	"roles": []string{"r-1", "r-2"}, "role_values": []string{"Admin", "Mathematician"},
	"permissions":      []string{"engines:read", "engines:write"},
	"external_user_id": "ext-u-1", "external_account_id": "ext-a-1",
	"custom_data": map[string]any{"plan": "gold", "seats": 5, "nested": map[string]any{"a": []any{1, 2}}},
}

// cfSetFullProfile sets cfFullProfile on the user, custom_app_data for rp-public and the data
// of groups staff and eng.
func cfSetFullProfile(t *testing.T, e *Env, id string) {
	t.Helper()
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+id, cfFullProfile); r.Status != http.StatusOK {
		t.Fatalf("patch profile: %s", r)
	}
	if r := e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/custom_app_data/rp-public", map[string]any{"theme": "dark", "level": 3}); r.Status != http.StatusOK {
		t.Fatalf("custom_app_data: %s", r)
	}
	for g, data := range map[string]any{"staff": map[string]any{"floor": 2, "building": "B"}, "eng": map[string]any{"floor": 5, "oncall": true}} {
		if r := e.Admin(http.MethodPut, "/gatehouse/groups/"+g, map[string]any{"custom_data": data}); r.Status != http.StatusOK {
			t.Fatalf("group %s: %s", g, r)
		}
	}
}

// cfSeedRequested are the claims the token contract lists as "can be requested".
var cfSeedRequested = []string{"fname", "mname", "lname", "email", "email_verified", "phone_number", "phone_number_verified",
	"username", "secondary_phone_numbers", "secondary_emails", "birthday", "address", "picture", "language", "roles",
	"role_values", "permissions", "created_at", "last_auth", "external_account_id", "external_user_id", "app_name",
	"custom_data", "custom_app_data", "custom_group_data"}

func TestFeatureSeedClaims(t *testing.T) {
	// Every claim of the token contract, requested with the claims parameter for the ID token
	// and for userinfo, comes back with the contract's name, JSON type and value.
	e, id, _ := cfStart(t)
	cfSetFullProfile(t, e, id)
	b := cfLangBrowser(t, e, cfUser, "fr-CH, fr;q=0.9, en;q=0.8")
	members := map[string]any{}
	for _, c := range cfSeedRequested {
		members[c] = nil
	}
	claims, _ := json.Marshal(map[string]any{"id_token": members, "userinfo": members})
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("claims", string(claims))
	tok := cfTokens(t, e, b, f)
	_, idc := cfMustVerify(t, e, cfStr(tok, "id_token"))
	info := e.Userinfo(cfStr(tok, "access_token")).JSON(t)
	user := e.Admin(http.MethodGet, "/gatehouse/users/"+id, nil).JSON(t)

	p := cfFullProfile
	want := map[string]struct {
		kind  string
		value any // nil: type only
	}{
		// Default claims.
		"sub": {"String", id}, "tid": {"String", nil}, "aud": {"String", "rp-public"}, "exp": {"Number", nil},
		"iat": {"Number", nil}, "iss": {"String", e.Issuer}, "auth_time": {"Number", nil}, "amr": {"Array", []any{"pwd"}},
		"acr": {"String", "aal1"}, "new_user": {"Boolean", false}, "groups": {"Array", []any{"staff", "eng"}},
		"organization": {"String", p["organization"]},
		// Requested claims.
		"fname": {"String", "Ada"}, "mname": {"String", "King"}, "lname": {"String", "Lovelace"},
		"email": {"String", cfUser}, "email_verified": {"Boolean", true},
		"phone_number": {"String", p["phone_number"]}, "phone_number_verified": {"Boolean", true},
		"username":                {"String", "ada.l"},
		"secondary_phone_numbers": {"Array", cfJSON(t, p["secondary_phone_numbers"])},
		"secondary_emails":        {"Array", cfJSON(t, p["secondary_emails"])},
		"birthday":                {"String", "1815-12-10"}, "address": {"Object", cfJSON(t, p["address"])},
		"picture": {"String", p["picture"]}, "language": {"String", "fr-CH"},
		"roles": {"Array", cfJSON(t, p["roles"])}, "role_values": {"Array", cfJSON(t, p["role_values"])},
		"permissions": {"Array", cfJSON(t, p["permissions"])}, "created_at": {"Number", nil}, "last_auth": {"Number", nil},
		"external_account_id": {"String", "ext-a-1"}, "external_user_id": {"String", "ext-u-1"},
		"app_name": {"String", "Public RP"}, "custom_data": {"Object", cfJSON(t, p["custom_data"])},
		"custom_app_data":   {"Object", map[string]any{"theme": "dark", "level": float64(3)}},
		"custom_group_data": {"Object", map[string]any{"staff": map[string]any{"floor": float64(2), "building": "B"}, "eng": map[string]any{"floor": float64(5), "oncall": true}}},
	}
	userinfoOnlyUser := map[string]bool{"tid": true, "aud": true, "exp": true, "iat": true, "iss": true, "auth_time": true,
		"amr": true, "acr": true, "new_user": true}
	for where, set := range map[string]map[string]any{"ID token": idc, "userinfo": info} {
		for name, w := range want {
			if where == "userinfo" && userinfoOnlyUser[name] {
				continue
			}
			v, ok := set[name]
			if !ok {
				t.Errorf("%s lacks %s", where, name)
				continue
			}
			if k := cfKind(v); k != w.kind {
				t.Errorf("%s: %s is %s (%v), the contract says %s", where, name, k, v, w.kind)
			}
			if w.value != nil && !reflect.DeepEqual(cfJSON(t, v), cfJSON(t, w.value)) {
				t.Errorf("%s: %s = %v, want %v", where, name, cfJSON(t, v), cfJSON(t, w.value))
			}
		}
	}
	created, _ := time.Parse(time.RFC3339Nano, cfStr(user, "created_at"))
	if cfNum(idc, "created_at") != created.Unix() {
		t.Errorf("created_at %v, user created %v", idc["created_at"], created)
	}
	if la := cfNum(idc, "last_auth"); la < cfNum(idc, "auth_time") || la > time.Now().Unix()+1 {
		t.Errorf("last_auth %d, auth_time %d", la, cfNum(idc, "auth_time"))
	}

	// app_name is the name of the client asking (the ID when it has none); custom_app_data is
	// that client's only.
	f = cfNewFlow("rp-two", "", e.RP+"/one", "openid")
	f.Params.Set("claims", `{"id_token":{"app_name":null,"custom_app_data":null}}`)
	_, two := cfMustVerify(t, e, cfStr(cfTokens(t, e, b, f), "id_token"))
	if two["app_name"] != "rp-two" {
		t.Errorf("app_name for a client without a name: %v", two["app_name"])
	}
	if _, ok := two["custom_app_data"]; ok {
		t.Errorf("rp-two got rp-public's custom_app_data: %v", two["custom_app_data"])
	}

	// language follows the latest login's Accept-Language.
	b2 := cfLangBrowser(t, e, cfUser, "de")
	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("claims", `{"id_token":{"language":null}}`)
	if _, c := cfMustVerify(t, e, cfStr(cfTokens(t, e, b2, f), "id_token")); c["language"] != "de" {
		t.Errorf("language after a login with Accept-Language de: %v", c["language"])
	}
}

func TestFeatureClaimsFields(t *testing.T) {
	// custom_data / custom_app_data / custom_group_data with fields return only those fields.
	e, id, b := cfStart(t)
	cfSetFullProfile(t, e, id)
	req := `{"custom_data":{"fields":["plan","seats","missing"]},"custom_app_data":{"fields":["theme"]},"custom_group_data":{"fields":["floor"]}}`
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("claims", `{"id_token":`+req+`,"userinfo":`+req+`}`)
	tok := cfTokens(t, e, b, f)
	_, idc := cfMustVerify(t, e, cfStr(tok, "id_token"))
	info := e.Userinfo(cfStr(tok, "access_token")).JSON(t)
	for where, set := range map[string]map[string]any{"ID token": idc, "userinfo": info} {
		for name, want := range map[string]any{
			"custom_data":       map[string]any{"plan": "gold", "seats": float64(5)},
			"custom_app_data":   map[string]any{"theme": "dark"},
			"custom_group_data": map[string]any{"staff": map[string]any{"floor": float64(2)}, "eng": map[string]any{"floor": float64(5)}},
		} {
			if got := cfJSON(t, set[name]); !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s with fields: %v, want %v", where, name, got, want)
			}
		}
	}
	// Only fields that do not exist: no claim at all.
	f = cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("claims", `{"id_token":{"custom_data":{"fields":["nope"]}}}`)
	if _, c := cfMustVerify(t, e, cfStr(cfTokens(t, e, b, f), "id_token")); c["custom_data"] != nil {
		t.Errorf("custom_data with unknown fields only: %v", c["custom_data"])
	}
}

func TestFeatureStandardScopes(t *testing.T) {
	// profile, email, phone and address release their OpenID claims (and the contract's
	// names) without a claims request.
	e, id, _ := cfStart(t)
	cfSetFullProfile(t, e, id)
	b := cfLangBrowser(t, e, cfUser, "en-GB")
	p := cfFullProfile
	byScope := map[string]map[string]any{
		"profile": {"name": "Ada King Lovelace", "given_name": "Ada", "middle_name": "King", "family_name": "Lovelace",
			"fname": "Ada", "mname": "King", "lname": "Lovelace", "preferred_username": "ada.l", "username": "ada.l",
			"picture": p["picture"], "birthdate": "1815-12-10", "birthday": "1815-12-10", "locale": "en-GB", "language": "en-GB",
			"updated_at": nil},
		"email":   {"email": cfUser, "email_verified": true},
		"phone":   {"phone_number": p["phone_number"], "phone_number_verified": true},
		"address": {"address": cfJSON(t, p["address"])},
	}
	for scope, claims := range byScope {
		tok := cfPublicTokens(t, e, b, "openid "+scope)
		_, idc := cfMustVerify(t, e, cfStr(tok, "id_token"))
		info := e.Userinfo(cfStr(tok, "access_token")).JSON(t)
		for where, set := range map[string]map[string]any{"ID token": idc, "userinfo": info} {
			for name, want := range claims {
				v, ok := set[name]
				switch {
				case !ok:
					t.Errorf("scope %s: %s lacks %s", scope, where, name)
				case want == nil:
					if cfKind(v) != "Number" {
						t.Errorf("scope %s: %s %s = %v", scope, where, name, v)
					}
				case !reflect.DeepEqual(cfJSON(t, v), cfJSON(t, want)):
					t.Errorf("scope %s: %s %s = %v, want %v", scope, where, name, v, want)
				}
			}
			// Nothing of the other scopes.
			for other, oc := range byScope {
				if other == scope {
					continue
				}
				for name := range oc {
					if _, ok := set[name]; ok && byScope[scope][name] == nil && name != "updated_at" {
						t.Errorf("scope %s: %s carries %s of scope %s", scope, where, name, other)
					}
				}
			}
		}
	}
}

func TestFeatureUsernameNeedsPassword(t *testing.T) {
	// username is defined only if a password was set for the user (token contract).
	e, id, b := cfStart(t)
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+id, map[string]any{"username": "ada.l"}); r.Status != http.StatusOK {
		t.Fatalf("patch: %s", r)
	}
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "nopw@example.test", "fname": "No", "lname": "Password"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create without password: %s", r)
	}
	nopw := r.JSON(t)["id"].(string)
	if r := e.Admin(http.MethodPatch, "/gatehouse/users/"+nopw, map[string]any{"username": "nopw"}); r.Status != http.StatusOK {
		t.Fatalf("patch: %s", r)
	}
	claims := `{"id_token":{"username":null},"userinfo":{"username":null}}`
	for _, c := range []struct {
		who  string
		b    *Browser
		want any
	}{{"user with a password", b, "ada.l"}, {"user without a password", nil, nil}} {
		br := c.b
		if br == nil {
			br = NewBrowser(t)
			cfPlantSession(t, e, br, nopw)
		}
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid profile")
		f.Params.Set("claims", claims)
		tok := cfTokens(t, e, br, f)
		_, idc := cfMustVerify(t, e, cfStr(tok, "id_token"))
		info := e.Userinfo(cfStr(tok, "access_token")).JSON(t)
		for where, set := range map[string]map[string]any{"ID token": idc, "userinfo": info} {
			if set["username"] != c.want || set["preferred_username"] != c.want {
				t.Errorf("%s: %s username %v preferred_username %v, want %v", c.who, where, set["username"], set["preferred_username"], c.want)
			}
		}
	}
}

func TestFeatureClaimsSubAndACR(t *testing.T) {
	// A claims request for sub with another user's value forces a login (prompt=none:
	// login_required); an essential acr that cannot be satisfied fails with access_denied.
	e, id, b := cfStart(t)
	other := e.CreateUser("other@example.test")
	for _, c := range []struct {
		sub, prompt, want string
	}{{other, "none", "login_required"}, {other, "", "login page"}, {id, "none", "code"}, {id, "", "code"}} {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("claims", `{"id_token":{"sub":{"value":"`+c.sub+`"}}}`)
		if c.prompt != "" {
			f.Params.Set("prompt", c.prompt)
		}
		r := b.Go(http.MethodGet, e.Issuer+"/authorize?"+f.Params.Encode(), nil, StopAt(e.RP))
		switch c.want {
		case "login_required":
			cfErrorRedirect(t, e, "sub of another user, prompt=none", r, e.RP+"/cb", f.Params.Get("state"), "login_required")
		case "login page":
			if r.Status != http.StatusOK || r.URL.Path != "/login" {
				t.Errorf("sub of another user: want the login page, got %s", r)
			}
		default:
			if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
				t.Errorf("sub of the logged-in user (prompt=%s): %s", c.prompt, r)
				continue
			}
			tr := f.redeem(e, r.Location(t).Query().Get("code"))
			if _, idc := cfMustVerify(t, e, cfStr(tr.JSON(t), "id_token")); idc["sub"] != id {
				t.Errorf("sub %v", idc["sub"])
			}
		}
	}
	for _, c := range []struct{ claims, want string }{
		{`{"id_token":{"acr":{"essential":true,"values":["urn:mace:incommon:iap:gold","aal3"]}}}`, "access_denied"},
		{`{"id_token":{"acr":{"essential":true,"value":"aal2"}}}`, "access_denied"},
		{`{"id_token":{"acr":{"essential":true,"values":["aal3","aal1"]}}}`, ""},
		{`{"id_token":{"acr":{"values":["aal3"]}}}`, ""},
		{`{"id_token":{"acr":{"essential":true}}}`, ""},
	} {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("claims", c.claims)
		r := cfAuthorizeRaw(t, e, b, f.Params)
		if c.want != "" {
			cfErrorRedirect(t, e, "claims "+c.claims, r, e.RP+"/cb", f.Params.Get("state"), c.want)
		} else if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
			t.Errorf("claims %s: %s", c.claims, r)
		}
	}
}

func TestFeatureClaimsRequestLimits(t *testing.T) {
	// RB-05: malformed, huge or deep claims parameters are invalid_request, quickly.
	e, _, b := cfStart(t)
	redirectErr := func(what, claims string) {
		t.Helper()
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("claims", claims)
		cfErrorRedirect(t, e, what, cfAuthorizeRaw(t, e, b, f.Params), e.RP+"/cb", f.Params.Get("state"), "invalid_request")
	}
	redirectErr("malformed", `{"id_token":{"name":null}`)
	redirectErr("depth 6", `{"id_token":{"x":{"value":[[[1]]]}}}`)
	redirectErr("depth 20", `{"id_token":{"x":{"value":`+strings.Repeat("[", 17)+strings.Repeat("]", 17)+`}}}`)
	many := map[string]any{}
	for i := range 65 {
		many["c"+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = nil
	}
	mj, _ := json.Marshal(map[string]any{"id_token": many})
	redirectErr("65 claims", string(mj))
	redirectErr("invalid UTF-16 escape is still JSON, but not an object", `"\ud800"`)

	start := time.Now()
	huge := map[string]string{
		"9 KB":           `{"id_token":{"x":{"value":"` + strings.Repeat("a", 9<<10) + `"}}}`,
		"nested 10000":   strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		"100k keys":      `{"id_token":{` + strings.Repeat(`"k":null,`, 100000) + `"k":null}}`,
		"5 MB":           `{"id_token":{"x":{"value":"` + strings.Repeat("a", 5<<20) + `"}}}`,
		"1e999999 value": `{"id_token":{"x":{"value":1e999999}}}`,
	}
	for name, claims := range huge {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("claims", claims)
		req := NewRequest(t, http.MethodPost, e.Issuer+"/authorize", f.Params)
		resp, err := b.C.Do(req)
		if err != nil {
			// The server may close the connection while a body over its limit is still
			// being sent: a refusal too.
			t.Logf("claims %s: %v", name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := &Resp{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: req.URL}
		if r.Status >= 500 {
			t.Errorf("claims %s: %s", name, r)
		}
		if name == "1e999999 value" {
			continue // a valid, small request: the value is only compared, never computed
		}
		if r.Status == http.StatusFound {
			if q := r.Location(t).Query(); q.Get("error") != "invalid_request" || q.Get("code") != "" {
				t.Errorf("claims %s: %v", name, q)
			}
		} else {
			cfErrorPage(t, "claims "+name, r, "invalid_request")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the oversized claims requests took %v", d)
	}
}

func TestFeatureCustomDataLimits(t *testing.T) {
	// RB-06: custom_data of 100 KB + 1 byte is refused with a clear error, exactly 100 KB is
	// accepted (bytes, multi-byte characters included), nesting 1000 is refused; the same for
	// custom_app_data and group data. Tokens stay small.
	e, id, b := cfStart(t)
	const limit = 100 * 1024
	// {"k":"<filler>"} of exactly n bytes, the filler ending with a 2-byte character.
	payload := func(n int) json.RawMessage {
		filler := n - len(`{"k":""}`) - 2
		return json.RawMessage(`{"k":"` + strings.Repeat("a", filler) + `é"}`)
	}
	if len(payload(limit)) != limit {
		t.Fatalf("harness: payload of %d bytes", len(payload(limit)))
	}
	deep := json.RawMessage(strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000))
	targets := map[string]func(json.RawMessage) *Resp{
		"custom_data": func(d json.RawMessage) *Resp {
			return e.Admin(http.MethodPatch, "/gatehouse/users/"+id, map[string]any{"custom_data": d})
		},
		"custom_app_data": func(d json.RawMessage) *Resp {
			return e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/custom_app_data/rp-public", d)
		},
		"group data": func(d json.RawMessage) *Resp {
			return e.Admin(http.MethodPut, "/gatehouse/groups/staff", map[string]any{"custom_data": d})
		},
	}
	for name, set := range targets {
		if r := set(payload(limit)); r.Status != http.StatusOK {
			t.Errorf("%s of exactly 100 KB: %s", name, truncate(r.String(), 300))
		}
		r := set(payload(limit + 1))
		if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_input" || !strings.Contains(cfStr(r.JSON(t), "message"), "102400") {
			t.Errorf("%s of 100 KB + 1: %s", name, truncate(r.String(), 300))
		}
		if r := set(deep); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_input" {
			t.Errorf("%s nested 1000 deep: %s", name, truncate(r.String(), 300))
		}
		for _, bad := range []string{`[1,2]`, `"text"`, `12`} {
			if r := set(json.RawMessage(bad)); r.Status != http.StatusBadRequest {
				t.Errorf("%s = %s: %s", name, bad, r)
			}
		}
	}
	// The accepted 100 KB stays out of access tokens (and so out of headers and cookies).
	f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
	f.Params.Set("claims", `{"userinfo":{"custom_data":null},"id_token":{"custom_data":null}}`)
	tok := cfTokens(t, e, b, f)
	if n := len(cfStr(tok, "access_token")); n > 4096 {
		t.Errorf("access token of %d bytes with a 100 KB custom_data", n)
	}
	if cd, _ := e.Userinfo(cfStr(tok, "access_token")).JSON(t)["custom_data"].(map[string]any); len(cfStr(cd, "k")) != limit-len(`{"k":""}`) {
		t.Errorf("userinfo custom_data k of %d bytes", len(cfStr(cd, "k")))
	}
}

func TestFeatureClientCredentials(t *testing.T) {
	// A confidential machine client gets an access token (no refresh, no ID token); openid is
	// refused, public clients are refused; the token passes a route's scope and audience
	// checks but carries no user headers (AS-30); resource sets aud (RFC 8707), an
	// unregistered resource is invalid_target; a route with another audience refuses it
	// (AS-25).
	e, _, _ := cfStart(t)
	cc := func(form url.Values, auth ...string) *Resp {
		t.Helper()
		form.Set("grant_type", "client_credentials")
		return e.Token(form, auth...)
	}
	r := cc(url.Values{"scope": {"read:docs"}}, "svc", cfSecretSvc)
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("client_credentials: %s", r)
	}
	tok := r.JSON(t)
	if tok["token_type"] != "Bearer" || tok["refresh_token"] != nil || tok["id_token"] != nil || tok["scope"] != "read:docs" || cfNum(tok, "expires_in") <= 0 {
		t.Errorf("client_credentials response %v", tok)
	}
	hdr, c := cfMustVerify(t, e, cfStr(tok, "access_token"))
	if hdr["typ"] != "at+jwt" || c["sub"] != "svc" || c["client_id"] != "svc" || c["aud"] != "svc" || c["gty"] != "client_credentials" ||
		c["sid"] != nil || c["groups"] != nil || c["email"] != nil {
		t.Errorf("client token header %v claims %v", hdr, c)
	}
	for name, form := range map[string]url.Values{
		"openid":         {"scope": {"openid read:docs"}},
		"offline_access": {"scope": {"offline_access"}},
		"unknown scope":  {"scope": {"admin"}},
	} {
		wantTokenError(t, "client_credentials "+name, cc(form, "svc", cfSecretSvc), http.StatusBadRequest, "invalid_scope")
	}
	wantTokenError(t, "client_credentials by a public client", cc(url.Values{"client_id": {"rp-public"}}), http.StatusBadRequest, "unauthorized_client")
	wantTokenError(t, "client_credentials by a client without the grant", cc(url.Values{}, "rp-basic", cfSecretBasic), http.StatusBadRequest, "unauthorized_client")
	wantTokenError(t, "client_credentials with a wrong secret", cc(url.Values{}, "svc", "wrong-secret-0123456789"), http.StatusUnauthorized, "invalid_client")
	wantTokenError(t, "client_credentials without authentication", cc(url.Values{"client_id": {"svc"}}), http.StatusUnauthorized, "invalid_client")

	// Resource indicators.
	r = cc(url.Values{"scope": {"read:docs"}, "resource": {"https://api.test"}}, "svc", cfSecretSvc)
	if r.Status != http.StatusOK {
		t.Fatalf("client_credentials with resource: %s", r)
	}
	at := cfStr(r.JSON(t), "access_token")
	if _, c := cfClaims(t, at); c["aud"] != "https://api.test" {
		t.Errorf("aud %v, want the resource", c["aud"])
	}
	for name, res := range map[string]string{"unregistered": "https://other.test", "relative": "/api", "with fragment": "https://api.test#x"} {
		wantTokenError(t, "resource "+name, cc(url.Values{"resource": {res}}, "svc", cfSecretSvc), http.StatusBadRequest, "invalid_target")
	}
	// At the gateway: scope and audience pass, no user headers (client-sent ones stripped).
	req := NewRequest(t, http.MethodGet, e.App+"/api/x", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	req.Header.Set("X-User-Id", "forged-admin")
	req.Header.Set("X-User-Groups", "admins")
	if resp := Do(t, API, req); resp.Status != http.StatusOK {
		t.Fatalf("machine token at the route bound to https://api.test: %s", resp)
	}
	rec := e.Upstream.Last(t)
	for _, h := range []string{"X-User-Id", "X-User-Email", "X-User-Name", "X-User-Groups"} {
		if v := rec.Values(h); len(v) != 0 {
			t.Errorf("machine token: the upstream received %s %v", h, v)
		}
	}
	for path, want := range map[string]int{"/aud/x": 401, "/docs": 401, "/admin/x": 401} {
		if r := Get(t, e.App+path, at); r.Status != want {
			t.Errorf("machine token (aud https://api.test) at %s: %s, want %d", path, r, want)
		}
	}
	noRes := cfStr(cc(url.Values{"scope": {"read:docs"}}, "svc", cfSecretSvc).JSON(t), "access_token")
	if r := Get(t, e.App+"/api/x", noRes); r.Status != http.StatusUnauthorized {
		t.Errorf("machine token with aud svc at the route bound to https://api.test: %s", r)
	}
	writeOnly := cfStr(cc(url.Values{"scope": {"write:docs"}, "resource": {"https://api.test"}}, "svc", cfSecretSvc).JSON(t), "access_token")
	if r := Get(t, e.App+"/api/x", writeOnly); r.Status != http.StatusForbidden || !strings.Contains(wwwAuth(r), "insufficient_scope") {
		t.Errorf("machine token without read:docs: %s", r)
	}
	if r := e.Userinfo(at); r.Status == http.StatusOK {
		t.Errorf("userinfo with a machine token: %s", r)
	}
}

func TestFeatureRevocation(t *testing.T) {
	// RFC 7009: a refresh token revokes its family and the family's access tokens at once
	// (userinfo and protected routes); an access token is revoked alone; another client's
	// token is an error and stays valid; an unknown token is 200.
	e, _, b := cfStart(t)
	revoke := func(form url.Values, auth ...string) *Resp {
		t.Helper()
		req := NewRequest(t, http.MethodPost, e.Issuer+"/revoke", form)
		if len(auth) == 2 {
			req.SetBasicAuth(url.QueryEscape(auth[0]), url.QueryEscape(auth[1]))
		}
		r := Do(t, API, req)
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("revoke: Cache-Control %q", cc)
		}
		return r
	}
	full := "openid email read:docs offline_access"

	// Refresh token: the whole family goes.
	tok := cfAppTokens(t, e, b, full)
	at1, rt1 := cfStr(tok, "access_token"), cfStr(tok, "refresh_token")
	r := e.Refresh("app", rt1)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	at2, rt2 := cfStr(r.JSON(t), "access_token"), cfStr(r.JSON(t), "refresh_token")
	for _, at := range []string{at1, at2} {
		cfAccepted(t, e, "before revocation", at)
		cfAccepted(t, e, "before revocation (cached)", at)
	}
	if r := revoke(url.Values{"token": {rt2}, "token_type_hint": {"refresh_token"}, "client_id": {"app"}}); r.Status != http.StatusOK {
		t.Fatalf("revoke refresh token: %s", r)
	}
	for name, at := range map[string]string{"first access token": at1, "refreshed access token": at2} {
		cfRejected(t, e, name+" after its refresh token was revoked", at)
	}
	wantTokenError(t, "the revoked refresh token", e.Refresh("app", rt2), http.StatusBadRequest, "invalid_grant")

	// Access token alone.
	tok = cfAppTokens(t, e, b, full)
	at, rt := cfStr(tok, "access_token"), cfStr(tok, "refresh_token")
	cfAccepted(t, e, "before revocation", at)
	cfAccepted(t, e, "before revocation (cached)", at)
	if r := revoke(url.Values{"token": {at}, "token_type_hint": {"access_token"}, "client_id": {"app"}}); r.Status != http.StatusOK {
		t.Fatalf("revoke access token: %s", r)
	}
	cfRejected(t, e, "revoked access token", at)
	r = e.Refresh("app", rt)
	if r.Status != http.StatusOK {
		t.Fatalf("the refresh token after only its access token was revoked: %s", r)
	}
	cfAccepted(t, e, "new access token of the same grant", cfStr(r.JSON(t), "access_token"))
	// Without a hint, an access token is found too.
	at3 := cfStr(cfAppTokens(t, e, b, full), "access_token")
	if r := revoke(url.Values{"token": {at3}, "client_id": {"app"}}); r.Status != http.StatusOK {
		t.Fatalf("revoke without hint: %s", r)
	}
	cfRejected(t, e, "access token revoked without hint", at3)

	// Another client's tokens: an error, and they stay valid.
	tok = cfAppTokens(t, e, b, full)
	at, rt = cfStr(tok, "access_token"), cfStr(tok, "refresh_token")
	for name, tk := range map[string]string{"access token": at, "refresh token": rt} {
		r := revoke(url.Values{"token": {tk}}, "rp-post", cfSecretPost)
		if r.Status != http.StatusBadRequest || cfStr(r.JSON(t), "error") == "" {
			t.Errorf("rp-post revoking app's %s: %s", name, r)
		}
		r = revoke(url.Values{"token": {tk}, "client_id": {"rp-public"}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("rp-public revoking app's %s: %s", name, r)
		}
	}
	cfAccepted(t, e, "access token another client tried to revoke", at)
	if r := e.Refresh("app", rt); r.Status != http.StatusOK {
		t.Errorf("refresh token another client tried to revoke: %s", r)
	}

	// Unknown tokens: 200 (RFC 7009 §2.2). Missing token, bad hint, bad client: errors.
	for _, tk := range []string{"unknown", "a.b.c", strings.Repeat("x", 100)} {
		if r := revoke(url.Values{"token": {tk}, "client_id": {"app"}}); r.Status != http.StatusOK {
			t.Errorf("revoke unknown token %q: %s", tk, r)
		}
	}
	if r := revoke(url.Values{"client_id": {"app"}}); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_request" {
		t.Errorf("revoke without token: %s", r)
	}
	if r := revoke(url.Values{"token": {"x"}, "token_type_hint": {"id_token"}, "client_id": {"app"}}); r.Status != http.StatusBadRequest ||
		r.JSON(t)["error"] != "unsupported_token_type" {
		t.Errorf("revoke with an unsupported hint: %s", r)
	}
	if r := revoke(url.Values{"token": {"x"}}, "rp-post", "wrong-secret-0123456789"); r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_client" {
		t.Errorf("revoke with a wrong secret: %s", r)
	}
	if r := Get(t, e.Issuer+"/revoke", ""); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET /revoke: %s", r)
	}
}

func TestFeatureIntrospection(t *testing.T) {
	// RFC 7662: active with scope, client_id, sub, exp for the caller's own tokens and for
	// tokens whose aud contains the caller; inactive for revoked, expired and foreign tokens;
	// public clients cannot introspect.
	e, userID, b := cfStart(t)
	introspect := func(tok string, auth ...string) map[string]any {
		t.Helper()
		req := NewRequest(t, http.MethodPost, e.Issuer+"/introspect", url.Values{"token": {tok}})
		req.SetBasicAuth(url.QueryEscape(auth[0]), url.QueryEscape(auth[1]))
		r := Do(t, API, req)
		if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("introspect: %s", r)
		}
		return r.JSON(t)
	}
	basic := []string{"rp-basic", cfSecretBasic}
	tok := cfTokens(t, e, b, cfNewFlow("rp-basic", cfSecretBasic, e.RP+"/cb-basic", "openid email offline_access"))
	at, rt := cfStr(tok, "access_token"), cfStr(tok, "refresh_token")
	_, atc := cfClaims(t, at)
	res := introspect(at, basic...)
	if res["active"] != true || res["scope"] != "openid email offline_access" || res["client_id"] != "rp-basic" || res["sub"] != userID ||
		cfNum(res, "exp") != cfNum(atc, "exp") || res["token_type"] != "Bearer" || res["iss"] != e.Issuer {
		t.Errorf("own access token: %v", res)
	}
	res = introspect(rt, basic...)
	if res["active"] != true || res["client_id"] != "rp-basic" || res["sub"] != userID || cfNum(res, "exp") <= time.Now().Unix() ||
		!strings.Contains(cfStr(res, "scope"), "offline_access") {
		t.Errorf("own refresh token: %v", res)
	}
	// A token whose audience is the caller (a resource server).
	f := cfNewFlow("app", "", e.RP+"/app-cb", "openid read:docs")
	f.Params.Set("resource", "urn:api")
	apiTok := cfStr(cfTokens(t, e, b, f), "access_token")
	if res := introspect(apiTok, "urn:api", cfSecretAPI); res["active"] != true || res["client_id"] != "app" || res["sub"] != userID ||
		res["scope"] != "openid read:docs" || cfNum(res, "exp") == 0 {
		t.Errorf("token for urn:api introspected by urn:api: %v", res)
	}
	// Inactive: foreign tokens (only active=false is revealed).
	for name, c := range map[string][]string{"rp-post on rp-basic's access token": {at, "rp-post", cfSecretPost},
		"rp-post on rp-basic's refresh token": {rt, "rp-post", cfSecretPost}, "urn:api on rp-basic's token": {at, "urn:api", cfSecretAPI},
		"rp-basic on app's token for urn:api": {apiTok, "rp-basic", cfSecretBasic}} {
		if res := introspect(c[0], c[1], c[2]); len(res) != 1 || res["active"] != false {
			t.Errorf("%s: %v, want only active=false", name, res)
		}
	}
	// Inactive: expired (signed in-process), garbage.
	now := time.Now().Unix()
	expired := cfResign(t, at, func(m map[string]any) { m["iat"] = now - 1200; m["exp"] = now - 600 })
	for name, tk := range map[string]string{"expired": expired, "garbage": "garbage", "jwt-shaped": "a.b.c"} {
		if res := introspect(tk, basic...); res["active"] != false {
			t.Errorf("%s token: %v", name, res)
		}
	}
	// Inactive: revoked; a rotated refresh token.
	r := e.Token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basic...)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	if res := introspect(rt, basic...); res["active"] != false {
		t.Errorf("rotated refresh token: %v", res)
	}
	rt2 := cfStr(r.JSON(t), "refresh_token")
	req := NewRequest(t, http.MethodPost, e.Issuer+"/revoke", url.Values{"token": {rt2}})
	req.SetBasicAuth("rp-basic", url.QueryEscape(cfSecretBasic))
	if r := Do(t, API, req); r.Status != http.StatusOK {
		t.Fatalf("revoke: %s", r)
	}
	for name, tk := range map[string]string{"revoked refresh token": rt2, "access token of the revoked grant": at} {
		if res := introspect(tk, basic...); res["active"] != false {
			t.Errorf("%s: %v", name, res)
		}
	}
	// Public clients cannot introspect.
	pub := Do(t, API, NewRequest(t, http.MethodPost, e.Issuer+"/introspect", url.Values{"token": {apiTok}, "client_id": {"app"}}))
	wantTokenError(t, "public client introspecting", pub, http.StatusUnauthorized, "invalid_client")
	wrong := NewRequest(t, http.MethodPost, e.Issuer+"/introspect", url.Values{"token": {apiTok}})
	wrong.SetBasicAuth("urn:api", "wrong-secret-0123456789")
	wantTokenError(t, "introspection with a wrong secret", Do(t, API, wrong), http.StatusUnauthorized, "invalid_client")
}

func TestFeatureBackchannelLogout(t *testing.T) {
	// A client with backchannel_logout_uri receives a POST with a logout_token after portal
	// logout and after an administrator disables the user: signed with a key of /jwks, typ
	// logout+jwt, iss, aud, iat, jti, the ID token's sid, the events member, no nonce.
	rp := cfListen(t)
	e, _, b := cfStart(t, `
		client rp-bc {
			name "Back-channel RP"
			redirect_uri {{.RP}}/cb-bc
			backchannel_logout_uri `+rp.URL()+`/backchannel
		}`)
	check := func(what string, req cfRecorded, idt string, userID string) {
		t.Helper()
		if req.Method != http.MethodPost || req.Path != "/backchannel" ||
			!strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			t.Errorf("%s: %s %s (Content-Type %q)", what, req.Method, req.Path, req.Header.Get("Content-Type"))
		}
		lt := req.Form.Get("logout_token")
		hdr, c, err := cfVerify(t, e, lt)
		if err != nil {
			t.Fatalf("%s: logout token does not verify with /jwks: %v", what, err)
		}
		_, idc := cfClaims(t, idt)
		ev, _ := c["events"].(map[string]any)
		_, hasEvent := ev["http://schemas.openid.net/event/backchannel-logout"].(map[string]any)
		now := time.Now().Unix()
		switch {
		case hdr["typ"] != "logout+jwt":
			t.Errorf("%s: typ %v", what, hdr["typ"])
		case c["iss"] != e.Issuer:
			t.Errorf("%s: iss %v", what, c["iss"])
		case c["aud"] != "rp-bc" && !slices.Contains(toStrings(c["aud"]), "rp-bc"):
			t.Errorf("%s: aud %v", what, c["aud"])
		case cfNum(c, "iat") < now-60 || cfNum(c, "iat") > now+5:
			t.Errorf("%s: iat %v", what, c["iat"])
		case cfStr(c, "jti") == "":
			t.Errorf("%s: no jti", what)
		case c["sid"] == nil || c["sid"] != idc["sid"]:
			t.Errorf("%s: sid %v, ID token sid %v", what, c["sid"], idc["sid"])
		case c["sub"] != nil && c["sub"] != userID:
			t.Errorf("%s: sub %v", what, c["sub"])
		case !hasEvent:
			t.Errorf("%s: events %v", what, c["events"])
		case c["nonce"] != nil:
			t.Errorf("%s: nonce %v", what, c["nonce"])
		}
	}
	id := e.Admin(http.MethodGet, "/gatehouse/users/"+cfUser, nil).JSON(t)["id"].(string)
	idt := cfStr(cfTokens(t, e, b, cfNewFlow("rp-bc", "", e.RP+"/cb-bc", "openid")), "id_token")
	cfPortalLogout(t, e, b, "")
	if !rp.wait(1, 10*time.Second) {
		t.Fatal("no back-channel logout after portal logout")
	}
	check("portal logout", rp.Requests()[0], idt, id)

	// Disabled by an administrator.
	dis := e.CreateUser("dis@example.test")
	db := NewBrowser(t)
	e.PortalLogin(db, "dis@example.test", Password)
	idt2 := cfStr(cfTokens(t, e, db, cfNewFlow("rp-bc", "", e.RP+"/cb-bc", "openid")), "id_token")
	if r := e.Admin(http.MethodPost, "/gatehouse/users/"+dis+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %s", r)
	}
	if !rp.wait(2, 10*time.Second) {
		t.Fatal("no back-channel logout after the user was disabled")
	}
	check("user disabled", rp.Requests()[1], idt2, dis)
	if l1, l2 := rp.Requests()[0].Form.Get("logout_token"), rp.Requests()[1].Form.Get("logout_token"); l1 == l2 {
		t.Errorf("two logouts, one token")
	}

	// A session that never used rp-bc notifies nobody.
	e.CreateUser("quiet@example.test")
	qb := NewBrowser(t)
	e.PortalLogin(qb, "quiet@example.test", Password)
	cfPublicTokens(t, e, qb, "openid")
	cfPortalLogout(t, e, qb, "")
	time.Sleep(500 * time.Millisecond)
	if n := len(rp.Requests()); n != 2 {
		t.Errorf("%d back-channel logouts, want 2 (a session without rp-bc notified it)", n)
	}
	d := Get(t, e.Issuer+"/.well-known/openid-configuration", "").JSON(t)
	if d["backchannel_logout_supported"] != true || d["backchannel_logout_session_supported"] != true {
		t.Errorf("discovery: backchannel_logout_supported %v session %v", d["backchannel_logout_supported"], d["backchannel_logout_session_supported"])
	}
}

func TestFeatureKeyRotation(t *testing.T) {
	// POST /gatehouse/keys/rotate {"alg":"RS256","immediate":true}: new ID tokens carry the new
	// kid, tokens signed before still verify (old kid still in /jwks), JWKS kids distinct and
	// without private members (OC-26); DELETE the old key: tokens it signed stop verifying
	// (JW-23).
	e, _, b := cfStart(t)
	old := cfAppTokens(t, e, b)
	oldHdr, _ := cfMustVerify(t, e, cfStr(old, "id_token"))
	oldKid := cfStr(oldHdr, "kid")
	cfAccepted(t, e, "old access token", cfStr(old, "access_token"))
	cfAccepted(t, e, "old access token (cached)", cfStr(old, "access_token"))

	if r := e.Admin(http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"alg": "RS256", "immediate": false}); r.Status != http.StatusOK {
		t.Fatalf("rotate (prepublish): %s", r)
	}
	if h, _ := cfMustVerify(t, e, cfStr(cfPublicTokens(t, e, b, "openid"), "id_token")); h["kid"] != oldKid {
		t.Errorf("a pre-published key signs already: kid %v", h["kid"])
	}
	r := e.Admin(http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"alg": "RS256", "immediate": true})
	if r.Status != http.StatusOK {
		t.Fatalf("rotate: %s", r)
	}
	created, _ := r.JSON(t)["created"].([]any)
	if len(created) != 1 {
		t.Fatalf("rotate created %v", r.JSON(t)["created"])
	}
	newKid := cfStr(created[0].(map[string]any), "kid")
	set, raw := cfJWKS(t, e)
	kids := map[string]bool{}
	for _, k := range set {
		if kids[k.Kid] {
			t.Errorf("kid %s twice in /jwks", k.Kid)
		}
		kids[k.Kid] = true
		if k.Kid == "" || k.Alg == "" || k.Use != "sig" {
			t.Errorf("JWK %+v", k)
		}
	}
	for _, k := range raw {
		for _, p := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[p]; ok {
				t.Errorf("JWK %v publishes %q", k["kid"], p)
			}
		}
	}
	if !kids[oldKid] || !kids[newKid] {
		t.Errorf("after rotation: old %v new %v in /jwks", kids[oldKid], kids[newKid])
	}
	fresh := cfAppTokens(t, e, b)
	for _, name := range []string{"id_token", "access_token"} {
		if h, _ := cfMustVerify(t, e, cfStr(fresh, name)); h["kid"] != newKid {
			t.Errorf("new %s kid %v, want %s", name, h["kid"], newKid)
		}
	}
	cfMustVerify(t, e, cfStr(old, "id_token"))
	cfAccepted(t, e, "access token of the previous key", cfStr(old, "access_token"))
	if r := e.Userinfo(cfStr(old, "access_token")); r.Status != http.StatusOK {
		t.Errorf("userinfo with the previous key's token: %s", r)
	}
	list, _ := e.Admin(http.MethodGet, "/gatehouse/keys", nil).JSON(t)["keys"].([]any)
	for _, k := range list {
		m := k.(map[string]any)
		if m["kid"] == newKid && m["signing"] != true || m["kid"] == oldKid && m["signing"] != false {
			t.Errorf("GET /gatehouse/keys: %v", m)
		}
	}

	// The signing key cannot be deleted; unknown kids are an error; the old key can.
	if r := e.Admin(http.MethodDelete, "/gatehouse/keys/"+newKid, nil); r.Status != http.StatusConflict {
		t.Errorf("deleting the signing key: %s", r)
	}
	if r := e.Admin(http.MethodDelete, "/gatehouse/keys/no-such-kid", nil); r.Status < 400 {
		t.Errorf("deleting an unknown key: %s", r)
	}
	if r := e.Admin(http.MethodDelete, "/gatehouse/keys/"+oldKid, nil); r.Status != http.StatusNoContent {
		t.Fatalf("deleting the old key: %s", r)
	}
	if _, _, err := cfVerify(t, e, cfStr(old, "id_token")); err == nil {
		t.Errorf("the old ID token still verifies after its key was deleted")
	}
	cfRejected(t, e, "access token of the deleted key", cfStr(old, "access_token"))
	cfAccepted(t, e, "access token of the new key", cfStr(fresh, "access_token"))
	if r := e.Admin(http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"alg": "HS256"}); r.Status != http.StatusBadRequest {
		t.Errorf("rotate with alg HS256: %s", r)
	}
}

func TestFeaturePerClientLifetimes(t *testing.T) {
	// A client with access_token_lifetime 2m gets expires_in 120 and exp-iat 120; the other
	// lifetimes are per client too, and a client lifetime longer than the default works.
	e, _, b := cfStart(t, `
		client rp-life {
			redirect_uri {{.RP}}/cb-life
			access_token_lifetime 2m
			id_token_lifetime 5m
		}
		client rp-long {
			redirect_uri {{.RP}}/cb-long
			scopes openid read:docs offline_access
			access_token_lifetime 30m
		}
		client svc-life {
			secret svc-life-secret-0123456789
			grant_types client_credentials
			scopes read:docs
			access_token_lifetime 90s
		}`)
	tok := cfTokens(t, e, b, cfNewFlow("rp-life", "", e.RP+"/cb-life", "openid offline_access"))
	check := func(what string, tok map[string]any, atLife, idLife int64) {
		t.Helper()
		if cfNum(tok, "expires_in") != atLife {
			t.Errorf("%s: expires_in %v, want %d", what, tok["expires_in"], atLife)
		}
		_, c := cfMustVerify(t, e, cfStr(tok, "access_token"))
		if d := cfNum(c, "exp") - cfNum(c, "iat"); d != atLife {
			t.Errorf("%s: access token exp-iat %d, want %d", what, d, atLife)
		}
		if idLife > 0 {
			_, c := cfMustVerify(t, e, cfStr(tok, "id_token"))
			if d := cfNum(c, "exp") - cfNum(c, "iat"); d != idLife {
				t.Errorf("%s: ID token exp-iat %d, want %d", what, d, idLife)
			}
		}
		if r := e.Userinfo(cfStr(tok, "access_token")); tok["id_token"] != nil && r.Status != http.StatusOK {
			t.Errorf("%s: userinfo %s", what, r)
		}
	}
	check("rp-life", tok, 120, 300)
	r := e.Refresh("rp-life", cfStr(tok, "refresh_token"))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	check("rp-life refreshed", r.JSON(t), 120, 300)
	check("rp-public (defaults)", cfPublicTokens(t, e, b, "openid"), 600, 3600)
	r = e.Token(url.Values{"grant_type": {"client_credentials"}, "scope": {"read:docs"}}, "svc-life", "svc-life-secret-0123456789")
	if r.Status != http.StatusOK {
		t.Fatalf("client_credentials: %s", r)
	}
	check("svc-life", r.JSON(t), 90, 0)
	long := cfTokens(t, e, b, cfNewFlow("rp-long", "", e.RP+"/cb-long", "openid"))
	check("rp-long (30m)", long, 1800, 3600)
}

func TestFeatureDiscoveryCompleteAndTrue(t *testing.T) {
	// Every advertised endpoint answers; revocation and introspection endpoints and auth
	// methods are present; claims_parameter_supported and backchannel_logout_supported are
	// true; grant types include client_credentials; no none ID token algorithm; response types
	// only code; what is advertised works.
	e, _, b := cfStart(t, `
		client rp-es {
			redirect_uri {{.RP}}/cb-es
			id_token_alg ES256
		}
		client rp-ed {
			redirect_uri {{.RP}}/cb-ed
			id_token_alg EdDSA
		}`)
	d := Get(t, e.Issuer+"/.well-known/openid-configuration", "").JSON(t)
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint",
		"revocation_endpoint", "introspection_endpoint"} {
		u := cfStr(d, k)
		if u == "" {
			t.Errorf("discovery lacks %s", k)
			continue
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			r := Do(t, API, NewRequest(t, method, u, url.Values{}))
			if r.Status == http.StatusNotFound || r.Status >= 500 {
				t.Errorf("%s %s (%s): %s", method, u, k, r)
			}
		}
	}
	want := map[string]string{"revocation_endpoint": "/revoke", "introspection_endpoint": "/introspect", "end_session_endpoint": "/logout"}
	for k, p := range want {
		if d[k] != e.Issuer+p {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	for _, k := range []string{"token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		m := toStrings(d[k])
		if !slices.Contains(m, "client_secret_basic") || !slices.Contains(m, "client_secret_post") || !slices.Contains(m, "none") {
			t.Errorf("%s %v", k, m)
		}
	}
	if m := toStrings(d["introspection_endpoint_auth_methods_supported"]); !slices.Contains(m, "client_secret_basic") || slices.Contains(m, "none") {
		t.Errorf("introspection_endpoint_auth_methods_supported %v (public clients cannot introspect)", m)
	}
	for _, k := range []string{"claims_parameter_supported", "backchannel_logout_supported", "authorization_response_iss_parameter_supported"} {
		if d[k] != true {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	for _, k := range []string{"request_parameter_supported", "request_uri_parameter_supported"} {
		if d[k] != false {
			t.Errorf("%s = %v (request objects are refused)", k, d[k])
		}
	}
	gt := toStrings(d["grant_types_supported"])
	for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
		if !slices.Contains(gt, g) {
			t.Errorf("grant_types_supported %v lacks %s", gt, g)
		}
	}
	if slices.Contains(gt, "password") || slices.Contains(gt, "implicit") {
		t.Errorf("grant_types_supported %v", gt)
	}
	if !slices.Equal(toStrings(d["response_types_supported"]), []string{"code"}) {
		t.Errorf("response_types_supported %v", d["response_types_supported"])
	}
	algs := toStrings(d["id_token_signing_alg_values_supported"])
	if !slices.Contains(algs, "RS256") {
		t.Errorf("id_token_signing_alg_values_supported %v lacks RS256", algs)
	}
	for _, a := range algs {
		if strings.EqualFold(a, "none") {
			t.Errorf("id_token_signing_alg_values_supported has none")
		}
	}
	// Each advertised algorithm is really used (per client).
	for client, alg := range map[string]string{"rp-public": "RS256", "rp-es": "ES256", "rp-ed": "EdDSA"} {
		ru := map[string]string{"rp-public": "/cb", "rp-es": "/cb-es", "rp-ed": "/cb-ed"}[client]
		h, c := cfMustVerify(t, e, cfStr(cfTokens(t, e, b, cfNewFlow(client, "", e.RP+ru, "openid")), "id_token"))
		if h["alg"] != alg || !slices.Contains(algs, alg) {
			t.Errorf("%s: ID token alg %v, advertised %v", client, h["alg"], algs)
		}
		if !slices.Contains(toStrings(d["acr_values_supported"]), cfStr(c, "acr")) {
			t.Errorf("acr %v not in acr_values_supported %v", c["acr"], d["acr_values_supported"])
		}
	}
	// Every claim of the token contract is listed.
	cs := toStrings(d["claims_supported"])
	for _, c := range append(slices.Clone(cfSeedRequested), "sub", "tid", "aud", "exp", "iat", "iss", "auth_time", "amr", "acr",
		"new_user", "groups", "organization") {
		if !slices.Contains(cs, c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if !slices.Equal(toStrings(d["code_challenge_methods_supported"]), []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported %v", d["code_challenge_methods_supported"])
	}
	// Advertised prompt values are accepted.
	for _, p := range toStrings(d["prompt_values_supported"]) {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid")
		f.Params.Set("prompt", p)
		r := b.Go(http.MethodGet, e.Issuer+"/authorize?"+f.Params.Encode(), nil, StopAt(e.RP))
		if r.Status == http.StatusFound && r.Location(t).Query().Get("error") != "" {
			t.Errorf("advertised prompt=%s: %v", p, r.Location(t).Query())
		}
	}
	// Advertised scopes are known.
	for _, s := range toStrings(d["scopes_supported"]) {
		f := cfNewFlow("rp-public", "", e.RP+"/cb", "openid "+s)
		if q := e.Authorize(b, f.Params); q.Get("error") != "" {
			t.Errorf("advertised scope %s: %v", s, q)
		}
	}
}
