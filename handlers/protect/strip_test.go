package protect

import (
	"net/http"
	"strings"
	"testing"
)

// TestManagedNames: PX-01, PX-02, PX-11, PX-12 — every identity, path-override,
// method-override and client-certificate header the stripper manages is recognised whatever
// its case and whether written with '-' or '_', plus every name under the managed prefixes
// and the names a route adds; ordinary headers are left alone.
func TestManagedNames(t *testing.T) {
	s := newStripper(nil, []string{"X-Legacy-User", "x_tenant"})
	managed := []string{
		"X-User-Id", "x-user-id", "X-USER-ID", "X_User_Id", "X-User_Id", "X_USER_ID", "x_user_id",
		"X-User-Email", "X-User-Groups", "X-User-Name", "X-User", "x_user",
		"X-User-Anything-New", "X-Gatehouse-Debug", "Gatehouse-Session", "gatehouse_session",
		"X-Auth-Request-User", "X_Auth_Request_Email", "X-Remote-User", "x-remote-groups",
		"Remote-User", "remote_user", "REMOTE-EMAIL", "Remote-Groups", "Remote-Name",
		"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
		"X-Forwarded-Access-Token", "X-Authenticated-User", "X-Authenticated-Userid", "x_authenticated_groups",
		"X-Original-URL", "x-original-url", "X-Rewrite-URL", "X-Forwarded-Uri", "X-Forwarded-Prefix",
		"X-HTTP-Method-Override", "X-Http-Method", "X-Method-Override",
		"X-SSL-Client-Cert", "X-Client-Cert", "X-Forwarded-Client-Cert", "SSL-Client-Cert", "ssl_client_verify",
		"X-SSL-Client-Verify", "X-Client-Verify",
		"X-Legacy-User", "x_legacy_user", "X-Tenant", "X_TENANT",
		"X-User-" + strings.Repeat("a", 200), // longer than the stack buffer
		"X_USER_" + strings.Repeat("B", 200),
		"REMOTE_USER",
	}
	for _, n := range managed {
		if !s.managed(n) {
			t.Errorf("%q is not managed", n)
		}
	}
	for _, n := range []string{
		"Content-Type", "Authorization", "Cookie", "X-Request-Id", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Users", "X-Userinfo", "Remote-Addr", "X-Gatehousex", "Accept", "X-" + strings.Repeat("a", 300),
		"X-Tenant-Id", "", "-",
	} {
		if s.managed(n) {
			t.Errorf("%q is managed but should pass", n)
		}
	}
}

// TestManagedDoesNotAllocate: the per-request name check is allocation-free for ordinary
// header names (the stripper runs on every request).
func TestManagedDoesNotAllocate(t *testing.T) {
	s := newStripper(nil, nil)
	allocs := testing.AllocsPerRun(100, func() {
		_ = s.managed("X_User_Id")
		_ = s.managed("Content-Type")
		_ = s.managed("X-Auth-Request-Email")
	})
	if allocs != 0 {
		t.Fatalf("managed allocates %.0f times per run", allocs)
	}
}

// TestStripHeaders: PX-01, PX-02, PX-03 — strip deletes every managed header from the raw
// header map, including non-canonical keys (as HTTP/2 or a lax client can produce) and
// duplicate values, and keeps the rest untouched.
func TestStripHeaders(t *testing.T) {
	s := newStripper(nil, nil)
	h := http.Header{
		"X-User-Id":        {"admin"},
		"x-user-id":        {"admin2"},
		"X_user_groups":    {"admins"},
		"X-User-Groups":    {"a", "b"},
		"Remote-User":      {"root"},
		"X-Original-Url":   {"/admin"},
		"X-Forwarded-User": {"ceo"},
		"Content-Type":     {"text/plain"},
		"X-Request-Id":     {"r1"},
		"X-Forwarded-For":  {"10.0.0.1"},
	}
	s.strip(h)
	if len(h) != 3 || h.Get("Content-Type") != "text/plain" || h.Get("X-Request-Id") != "r1" || h.Get("X-Forwarded-For") != "10.0.0.1" {
		t.Fatalf("after strip: %v", h)
	}
}

// TestStripConnection: PX-04 (CVE-2021-32813, CVE-2024-45410) — a Connection header naming
// managed headers would make the reverse proxy drop the identity headers the guard injects
// as hop-by-hop; those names are removed from Connection, others kept, and an emptied
// Connection header is removed.
func TestStripConnection(t *testing.T) {
	s := newStripper(nil, nil)
	tests := []struct {
		in   []string
		want []string // nil: header removed
	}{
		{[]string{"close, X-User-Id, X-User-Groups, X-Forwarded-For"}, []string{"close, X-Forwarded-For"}},
		{[]string{"X-User-Id"}, nil},
		{[]string{"x_user_email,  Remote-User ,"}, nil},
		{[]string{"keep-alive", "X-User-Name, Upgrade"}, []string{"keep-alive, Upgrade"}},
		{[]string{"close"}, []string{"close"}},
		{[]string{"close, Upgrade"}, []string{"close, Upgrade"}},
	}
	for _, tt := range tests {
		h := http.Header{"Connection": append([]string{}, tt.in...)}
		s.strip(h)
		got, ok := h["Connection"]
		if tt.want == nil {
			if ok {
				t.Errorf("Connection %q: kept as %q, want removed", tt.in, got)
			}
			continue
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Connection %q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestStripCookies: PX-30 — Gatehouse's cookies (session and state, plain, __Host- and
// __Secure- variants) never reach the upstream, which could otherwise replay them; the
// application's own cookies pass in order.
func TestStripCookies(t *testing.T) {
	tests := []struct {
		in   []string
		want []string // nil: header removed
	}{
		{[]string{"a=1; gatehouse_auth=x; b=2"}, []string{"a=1; b=2"}},
		{[]string{"__Host-gatehouse_auth=x; app=1"}, []string{"app=1"}},
		{[]string{"__Secure-gatehouse_state=x;app=1;gatehouse_csrf=y"}, []string{"app=1"}},
		{[]string{"gatehouse_auth=x"}, nil},
		{[]string{"gatehouse_auth=x", "gatehouse_state=y"}, nil},
		{[]string{"a=1", "gatehouse_auth=x; b=2", "c=3"}, []string{"a=1; b=2; c=3"}},
		{[]string{" gatehouse_auth =x; a=1"}, []string{"a=1"}},
		{[]string{"xgatehouse_a=1; my_gatehouse_b=2"}, []string{"xgatehouse_a=1; my_gatehouse_b=2"}},
		{[]string{"a=gatehouse_value"}, []string{"a=gatehouse_value"}},
		{[]string{"a=1; b=2"}, []string{"a=1; b=2"}},
		{[]string{"gatehouse_auth=x; gatehouse_auth=y; z=1"}, []string{"z=1"}},
	}
	for _, tt := range tests {
		h := http.Header{"Cookie": append([]string{}, tt.in...)}
		stripCookies(h)
		got, ok := h["Cookie"]
		if tt.want == nil {
			if ok {
				t.Errorf("Cookie %q: kept as %q, want removed", tt.in, got)
			}
			continue
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Cookie %q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	h := http.Header{"X": {"y"}}
	stripCookies(h) // no Cookie header: nothing happens
	if len(h) != 1 {
		t.Fatal("stripCookies changed a request without cookies")
	}
	// No Gatehouse cookie: no allocation.
	plain := http.Header{"Cookie": {"a=1; b=2; session=xyz"}}
	if n := testing.AllocsPerRun(100, func() { stripCookies(plain) }); n != 0 {
		t.Fatalf("stripCookies allocates %.0f times without a Gatehouse cookie", n)
	}
}

// TestFindCookie: the guard's cookie is found across several Cookie headers by exact name;
// a cookie whose name merely starts or ends like it is not it; a repeated name is reported
// (cookie tossing from a sibling subdomain, PX-27), and the lookup does not allocate.
func TestFindCookie(t *testing.T) {
	const name = "gatehouse_auth"
	tests := []struct {
		in          []string
		value       string
		found, dup  bool
		description string
	}{
		{[]string{"gatehouse_auth=abc"}, "abc", true, false, "alone"},
		{[]string{"a=1; gatehouse_auth=abc; b=2"}, "abc", true, false, "middle"},
		{[]string{"a=1", "gatehouse_auth=abc "}, "abc", true, false, "second header, trailing space"},
		{[]string{"gatehouse_auth2=abc"}, "", false, false, "longer name"},
		{[]string{"xgatehouse_auth=abc"}, "", false, false, "prefixed name"},
		{[]string{"gatehouse_aut=abc"}, "", false, false, "shorter name"},
		{[]string{"Gatehouse_auth=abc"}, "", false, false, "other case"},
		{[]string{"gatehouse_auth=a; gatehouse_auth=b"}, "", true, true, "duplicate in one header"},
		{[]string{"gatehouse_auth=a", "gatehouse_auth=b"}, "", true, true, "duplicate across headers"},
		{[]string{"gatehouse_auth=a", "gatehouse_auth=a"}, "", true, true, "identical duplicate"},
		{[]string{"gatehouse_auth="}, "", true, false, "empty value"},
		{[]string{"gatehouse_auth"}, "", false, false, "no equals sign"},
		{nil, "", false, false, "no cookie header"},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.in != nil {
			h["Cookie"] = tt.in
		}
		v, found, dup := findCookie(h["Cookie"], name)
		if v != tt.value || found != tt.found || dup != tt.dup {
			t.Errorf("%s: findCookie(%q) = %q, %v, %v; want %q, %v, %v", tt.description, tt.in, v, found, dup, tt.value, tt.found, tt.dup)
		}
	}
	h := http.Header{"Cookie": {"a=1; gatehouse_auth=abc; b=2", "c=3"}}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = findCookie(h["Cookie"], name) }); n != 0 {
		t.Fatalf("findCookie allocates %.0f times", n)
	}
}
