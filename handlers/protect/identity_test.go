package protect

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/tokens"
)

func headerMap(id *Identity) map[string]string {
	m := map[string]string{}
	for _, h := range id.headers {
		m[h.name] = h.values[0]
	}
	return m
}

func mustCompile(t testing.TB, specs []HeaderSpec) []HeaderSpec {
	t.Helper()
	out, err := CompileHeaders(specs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestClean: PX-05, RB-07 — values from claims lose every control character (no header
// splitting), keep other Unicode, and are capped at 4 KiB: a list keeps only whole leading
// elements, a single oversized value is dropped rather than truncated.
func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice\r\nX-User-Groups: admins", "AliceX-User-Groups: admins"},
		{"a\x00b\x7fc\td\ne", "abcde"},
		{"Zoë Ünïcødé", "Zoë Ünïcødé"},
		{"", ""},
		{strings.Repeat("x", maxValue), strings.Repeat("x", maxValue)},
		{strings.Repeat("x", maxValue+1), ""},
		{strings.Repeat("g,", 3000), strings.Repeat("g,", 2048)[:4095]},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%.40q) = %.40q (len %d), want %.40q (len %d)", tt.in, got, len(got), tt.want, len(tt.want))
		}
	}
}

// TestLongGroupListCutAtComma: RB-07, PX-05 — a group list longer than 4 KiB is cut after a
// whole group name, never inside one (a truncated name such as "admins-readonly" →
// "admins" would name another group).
func TestLongGroupListCutAtComma(t *testing.T) {
	var groups []string
	for i := 0; i < 400; i++ {
		groups = append(groups, "group-"+strings.Repeat("x", i%13)+"-readonly")
	}
	c := &tokens.AccessClaims{Subject: "u1", Groups: groups, ExpiresAt: 1}
	id := newIdentity(c, DefaultHeaders)
	v := headerMap(id)["X-User-Groups"]
	if v == "" || len(v) > maxValue {
		t.Fatalf("X-User-Groups has %d bytes", len(v))
	}
	got := strings.Split(v, ",")
	for i, g := range got {
		if g != groups[i] {
			t.Fatalf("element %d is %q, want %q: list cut inside a name", i, g, groups[i])
		}
	}
	if len(got) == len(groups) {
		t.Fatal("list not cut")
	}
	if lv, _ := id.Lookup("gatehouse.user.groups"); lv != v {
		t.Fatal("placeholder and header disagree")
	}
}

// TestIdentityHeaders: PX-01 (c) — a header whose value is empty for this user (no email
// scope, no name) is not injected, so the stripped client value is not replaced by
// anything; values are cleaned of control characters (PX-05); templates combine values.
func TestIdentityHeaders(t *testing.T) {
	c := &tokens.AccessClaims{Subject: "u1", ClientID: "web", Scope: "openid read", Name: "Eve\r\nX-Admin: 1",
		Groups: []string{"staff", "admins"}, Audience: tokens.Audience{"web", "api"}, AMR: []string{"pwd", "otp"},
		ExpiresAt: 1700000000, AuthTime: 1699990000, SessionID: "s1"}
	specs := mustCompile(t, append(append([]HeaderSpec{}, DefaultHeaders...),
		HeaderSpec{Name: "x-who", Template: "{gatehouse.user.name} <{gatehouse.user.email}>"},
		HeaderSpec{Name: "X-Scope", Template: "{gatehouse.token.scope}"},
		HeaderSpec{Name: "X-Verified", Template: "{gatehouse.user.email_verified}"},
		HeaderSpec{Name: "X-Static", Template: "fixed"},
	))
	id := newIdentity(c, specs)
	h := headerMap(id)
	want := map[string]string{
		"X-User-Id": "u1", "X-User-Name": "EveX-Admin: 1", "X-User-Groups": "staff,admins",
		"X-Who": "EveX-Admin: 1 <>", "X-Scope": "openid read", "X-Static": "fixed",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
	for _, absent := range []string{"X-User-Email", "X-Verified"} {
		if _, ok := h[absent]; ok {
			t.Errorf("%s injected with %q for a user without an email", absent, h[absent])
		}
	}
	if len(h) != len(want) {
		t.Errorf("headers = %v", h)
	}
	for k, v := range map[string]string{
		"gatehouse.user.id": "u1", "gatehouse.user.email": "", "gatehouse.user.email_verified": "",
		"gatehouse.token.audience": "web,api", "gatehouse.auth.amr": "pwd,otp", "gatehouse.token.expires": "1700000000",
		"gatehouse.auth.time": "1699990000", "gatehouse.session.id": "s1", "gatehouse.token.client_id": "web",
	} {
		got, ok := id.Lookup(k)
		if !ok || got != v {
			t.Errorf("Lookup(%s) = %v, %v; want %q", k, got, ok, v)
		}
	}
	if _, ok := id.Lookup("http.request.host"); ok {
		t.Error("Lookup answers for a non-gatehouse placeholder")
	}
	for k := range Placeholders {
		if _, ok := id.Lookup(k); !ok {
			t.Errorf("documented placeholder %s has no value", k)
		}
	}
	if id.SubjectValue != "u1" {
		t.Errorf("SubjectValue = %v", id.SubjectValue)
	}
	// With the email scope, email_verified is rendered.
	c2 := *c
	c2.Email, c2.EmailVerified = "eve@example.com", true
	if h := headerMap(newIdentity(&c2, specs)); h["X-User-Email"] != "eve@example.com" || h["X-Verified"] != "true" {
		t.Errorf("with email: %v", h)
	}
	// The injected value slice has capacity 1, so a later handler's append copies instead of
	// writing into the cached identity.
	for _, hv := range id.headers {
		if cap(hv.values) != 1 {
			t.Fatalf("%s value slice has capacity %d", hv.name, cap(hv.values))
		}
	}
	if !id.expired(time.Unix(1700000000, 0)) || id.expired(time.Unix(1699999999, 0)) {
		t.Fatal("expired() boundary wrong")
	}
}

// TestCompileHeaders: header names must be tokens of letters, digits and '-' (no '_',
// which proxies may fold into '-', PX-02) and templates may only use the documented
// gatehouse placeholders (PX-05); names are canonicalised.
func TestCompileHeaders(t *testing.T) {
	bad := []struct {
		spec HeaderSpec
		want string
	}{
		{HeaderSpec{Name: "", Template: "x"}, "header name"},
		{HeaderSpec{Name: "X User", Template: "x"}, "header name"},
		{HeaderSpec{Name: "X_User", Template: "x"}, "header name"},
		{HeaderSpec{Name: "X-User:", Template: "x"}, "header name"},
		{HeaderSpec{Name: "X-Üser", Template: "x"}, "header name"},
		{HeaderSpec{Name: "X-A\r\nB", Template: "x"}, "header name"},
		{HeaderSpec{Name: "X-A", Template: "{gatehouse.user.nope}"}, "{gatehouse.user.nope}"},
		{HeaderSpec{Name: "X-A", Template: "{http.request.header.Authorization}"}, "unknown placeholder"},
		{HeaderSpec{Name: "X-A", Template: "{env.SECRET}"}, "unknown placeholder"},
		{HeaderSpec{Name: "X-A", Template: "{gatehouse.user.id} {}"}, "unknown placeholder"},
		{HeaderSpec{Name: "X-A", Template: "{ gatehouse.user.id}"}, "unknown placeholder"},
	}
	for _, tt := range bad {
		_, err := CompileHeaders([]HeaderSpec{{Name: "X-Ok", Template: "{gatehouse.user.id}"}, tt.spec})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CompileHeaders(%+v) = %v, want an error containing %q", tt.spec, err, tt.want)
		}
	}
	out := mustCompile(t, []HeaderSpec{{Name: "x-user-email", Template: "{gatehouse.user.email}"}, {Name: "X-LITERAL", Template: "a {b"}})
	if out[0].Name != "X-User-Email" || out[1].Name != "X-Literal" || out[1].Template != "a {b" {
		t.Fatalf("compiled = %+v", out)
	}
}
