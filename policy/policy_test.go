package policy_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// TestScopesWholeToken: JW-25 — a required scope is satisfied only by the identical scope
// token: no prefix, substring, case-insensitive or delimiter-splitting match, and every
// required scope must be present.
func TestScopesWholeToken(t *testing.T) {
	tests := []struct {
		name    string
		require []string
		granted []string
		allow   bool
		missing string
	}{
		{"exact", []string{"read"}, []string{"read"}, true, ""},
		{"among others", []string{"read"}, []string{"openid", "read", "email"}, true, ""},
		{"read does not give readwrite", []string{"readwrite"}, []string{"read"}, false, "readwrite"},
		{"readwrite does not give read", []string{"read"}, []string{"readwrite"}, false, "read"},
		{"read does not give read:docs", []string{"read:docs"}, []string{"read"}, false, "read:docs"},
		{"read:docs does not give read", []string{"read"}, []string{"read:docs"}, false, "read"},
		{"write:foo does not give write", []string{"write"}, []string{"write:foo"}, false, "write"},
		{"case matters", []string{"read"}, []string{"READ"}, false, "read"},
		{"no trimming", []string{"read"}, []string{" read"}, false, "read"},
		{"a joined string is one token", []string{"write"}, []string{"read write"}, false, "write"},
		{"all required", []string{"read", "write"}, []string{"read"}, false, "write"},
		{"all required, both missing", []string{"read", "write"}, []string{"openid"}, false, "read,write"},
		{"both granted", []string{"read", "write"}, []string{"write", "read"}, true, ""},
		{"nothing granted", []string{"read"}, nil, false, "read"},
		{"no requirement", nil, nil, true, ""},
		{"empty granted token", []string{"read"}, []string{""}, false, "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := policy.Evaluate(&policy.Rule{Scopes: tt.require}, &policy.Identity{Scopes: tt.granted})
			if got := d.Outcome == policy.Allow; got != tt.allow {
				t.Fatalf("allow = %v, want %v (%+v)", got, tt.allow, d)
			}
			if !tt.allow {
				if d.Outcome != policy.InsufficientScope {
					t.Fatalf("outcome = %v, want InsufficientScope", d.Outcome)
				}
				if got := strings.Join(d.Missing, ","); got != tt.missing {
					t.Fatalf("missing = %q, want %q", got, tt.missing)
				}
			}
		})
	}
}

// TestGroupsAnyOf: a route listing groups admits a user in at least one of them (exact,
// case-sensitive names); no groups listed means no group requirement; a group name with a
// comma is not split (JW-18, PX-05).
func TestGroupsAnyOf(t *testing.T) {
	tests := []struct {
		name    string
		require []string
		groups  []string
		allow   bool
	}{
		{"member of the only group", []string{"admins"}, []string{"admins"}, true},
		{"member of one of several", []string{"admins", "ops"}, []string{"users", "ops"}, true},
		{"member of none", []string{"admins", "ops"}, []string{"users"}, false},
		{"no groups at all", []string{"admins"}, nil, false},
		{"prefix", []string{"admins"}, []string{"admin"}, false},
		{"superstring", []string{"admin"}, []string{"admins"}, false},
		{"case", []string{"admins"}, []string{"Admins"}, false},
		{"comma-joined group", []string{"admins"}, []string{"users,admins"}, false},
		{"no requirement", nil, nil, true},
		{"no requirement, groups present", nil, []string{"users"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := policy.Evaluate(&policy.Rule{Groups: tt.require}, &policy.Identity{Groups: tt.groups})
			if got := d.Outcome == policy.Allow; got != tt.allow {
				t.Fatalf("allow = %v, want %v (%+v)", got, tt.allow, d)
			}
			if !tt.allow && d.Outcome != policy.Forbidden {
				t.Fatalf("outcome = %v, want Forbidden", d.Outcome)
			}
		})
	}
}

// TestAudienceAnyOf: AS-25, JW-13 — a route bound to audiences accepts a token whose aud
// contains one of them exactly; otherwise the token is not meant for the route (401
// invalid_token, not 403).
func TestAudienceAnyOf(t *testing.T) {
	tests := []struct {
		name    string
		require []string
		aud     []string
		allow   bool
	}{
		{"single match", []string{"web"}, []string{"web"}, true},
		{"one of the token's", []string{"web"}, []string{"other", "web"}, true},
		{"one of the route's", []string{"api", "web"}, []string{"web"}, true},
		{"other audience", []string{"web"}, []string{"other"}, false},
		{"no audience", []string{"web"}, nil, false},
		{"empty audience string", []string{"web"}, []string{""}, false},
		{"case", []string{"web"}, []string{"WEB"}, false},
		{"prefix", []string{"https://api.example.com"}, []string{"https://api.example.com.evil"}, false},
		{"no requirement", nil, []string{"anything"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := policy.Evaluate(&policy.Rule{Audience: tt.require}, &policy.Identity{Audience: tt.aud})
			if got := d.Outcome == policy.Allow; got != tt.allow {
				t.Fatalf("allow = %v, want %v (%+v)", got, tt.allow, d)
			}
			if !tt.allow && d.Outcome != policy.InvalidToken {
				t.Fatalf("outcome = %v, want InvalidToken", d.Outcome)
			}
		})
	}
}

// TestDecisionOrderAndReasons: the audience is checked first (a token for another resource
// is invalid there whatever its scopes), then scopes (403 insufficient_scope), then groups;
// every denial explains itself, naming what was required, and an allow has no reason.
func TestDecisionOrderAndReasons(t *testing.T) {
	rule := &policy.Rule{Scopes: []string{"write"}, Groups: []string{"admins", "ops"}, Audience: []string{"web"}}
	tests := []struct {
		name    string
		id      policy.Identity
		outcome policy.Outcome
		reason  []string
	}{
		{"wrong audience beats everything", policy.Identity{Audience: []string{"api"}, Scopes: []string{"write"}, Groups: []string{"admins"}},
			policy.InvalidToken, []string{`"api"`, `"web"`, "audience"}},
		{"no audience", policy.Identity{Scopes: []string{"write"}}, policy.InvalidToken, []string{"(none)"}},
		{"scope before groups", policy.Identity{Audience: []string{"web"}, Scopes: []string{"read"}},
			policy.InsufficientScope, []string{`scope "write"`}},
		{"groups", policy.Identity{Audience: []string{"web"}, Scopes: []string{"write"}, Groups: []string{"users"}},
			policy.Forbidden, []string{`"admins", "ops"`}},
		{"allowed", policy.Identity{Audience: []string{"web"}, Scopes: []string{"write"}, Groups: []string{"ops"}},
			policy.Allow, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := policy.Evaluate(rule, &tt.id)
			if d.Outcome != tt.outcome {
				t.Fatalf("outcome = %v, want %v (%+v)", d.Outcome, tt.outcome, d)
			}
			if tt.outcome == policy.Allow && (d.Reason != "" || d.Missing != nil) {
				t.Fatalf("allow carries a reason: %+v", d)
			}
			for _, w := range tt.reason {
				if !strings.Contains(d.Reason, w) {
					t.Fatalf("reason %q does not contain %q", d.Reason, w)
				}
			}
		})
	}
}

// TestEvaluateDoesNotMutate: Evaluate is pure; the identity's slices (shared by every cached
// request of a credential) are never modified.
func TestEvaluateDoesNotMutate(t *testing.T) {
	id := &policy.Identity{Scopes: []string{"b", "a"}, Groups: []string{"y", "x"}, Audience: []string{"q", "p"}}
	rule := &policy.Rule{Scopes: []string{"a", "c"}, Groups: []string{"x"}, Audience: []string{"p"}}
	_ = policy.Evaluate(rule, id)
	if strings.Join(id.Scopes, "") != "ba" || strings.Join(id.Groups, "") != "yx" || strings.Join(id.Audience, "") != "qp" {
		t.Fatalf("identity modified: %+v", id)
	}
	if strings.Join(rule.Scopes, "") != "ac" {
		t.Fatalf("rule modified: %+v", rule)
	}
}

// BenchmarkEvaluate: one policy decision on the protect hot path (must not allocate).
func BenchmarkEvaluate(b *testing.B) {
	rule := &policy.Rule{Scopes: []string{"read:docs"}, Groups: []string{"staff"}, Audience: []string{"web"}}
	id := &policy.Identity{Scopes: []string{"openid", "profile", "email", "read:docs"}, Groups: []string{"users", "staff"}, Audience: []string{"web"}}
	b.ReportAllocs()
	for b.Loop() {
		if d := policy.Evaluate(rule, id); d.Outcome != policy.Allow {
			b.Fatal(d)
		}
	}
}

// TestEvaluateAllowDoesNotAllocate: an allowed request costs no allocation in the policy
// (it runs on every protected request, cache hit or not).
func TestEvaluateAllowDoesNotAllocate(t *testing.T) {
	rule := &policy.Rule{Scopes: []string{"read:docs"}, Groups: []string{"staff"}, Audience: []string{"web"}}
	id := &policy.Identity{Scopes: []string{"openid", "read:docs"}, Groups: []string{"staff"}, Audience: []string{"web"}}
	if n := testing.AllocsPerRun(100, func() { _ = policy.Evaluate(rule, id) }); n != 0 {
		t.Fatalf("Evaluate allocates %.0f times on allow", n)
	}
}
