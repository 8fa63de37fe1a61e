// Package policy decides whether an authenticated identity may use a route. It is pure: a
// Rule (what the route requires) and an Identity (what the token grants) in, a Decision out,
// with the reason spelled out so that a denial can be explained and logged.
//
// Matching is whole-value and case-sensitive: a scope is a space-free token compared with
// ==, so "read" never satisfies "readwrite" or "read:docs" (RFC 6750 §3.1, JW-25).
package policy

import "strings"

// Rule is what a route requires.
type Rule struct {
	// Scopes must all be granted.
	Scopes []string
	// Groups: the user must belong to at least one (no groups: no requirement).
	Groups []string
	// Audience: the token's aud must contain at least one (no audience: no requirement).
	Audience []string
	// MFA requires a multi-factor login (a passkey, or a password and a passkey).
	MFA bool
}

// Identity is what a verified token asserts.
type Identity struct {
	Scopes   []string
	Groups   []string
	Audience []string
	// MFA tells whether the login was multi-factor.
	MFA bool
}

// Outcome of an evaluation.
type Outcome int

// Outcomes.
const (
	// Allow: pass the request on.
	Allow Outcome = iota
	// InvalidToken: the token is not meant for this route (wrong audience): 401.
	InvalidToken
	// InsufficientScope: a required scope is missing: 403 insufficient_scope.
	InsufficientScope
	// Forbidden: the user is in none of the required groups: 403.
	Forbidden
	// InsufficientAuthentication: the route needs a multi-factor login (RFC 9470 step-up).
	InsufficientAuthentication
)

// Decision is the result of Evaluate.
type Decision struct {
	Outcome Outcome
	// Reason explains a denial in a sentence fit for logs and error pages.
	Reason string
	// Missing lists the scopes that were required but not granted.
	Missing []string
}

// Evaluate applies r to id.
func Evaluate(r *Rule, id *Identity) Decision {
	if len(r.Audience) > 0 && !intersects(r.Audience, id.Audience) {
		return Decision{Outcome: InvalidToken, Reason: "token audience " + quoteList(id.Audience) +
			" does not include " + quoteList(r.Audience)}
	}
	var missing []string
	for _, s := range r.Scopes {
		if !contains(id.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return Decision{Outcome: InsufficientScope, Missing: missing,
			Reason: "token lacks scope " + quoteList(missing)}
	}
	if len(r.Groups) > 0 && !intersects(r.Groups, id.Groups) {
		return Decision{Outcome: Forbidden, Reason: "user is in none of the groups " + quoteList(r.Groups)}
	}
	if r.MFA && !id.MFA {
		return Decision{Outcome: InsufficientAuthentication, Reason: "a multi-factor login (passkey) is required"}
	}
	return Decision{Outcome: Allow}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func intersects(want, have []string) bool {
	for _, w := range want {
		if contains(have, w) {
			return true
		}
	}
	return false
}

func quoteList(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return `"` + strings.Join(l, `", "`) + `"`
}
