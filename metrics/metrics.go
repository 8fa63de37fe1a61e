// Package metrics is what the identity core and the handlers report to: a tiny observer
// interface with no dependencies, so that neither the domain nor the handlers import the
// Prometheus client (module/metrics.go implements it on Caddy's metrics registry).
//
// Everything is nil-safe: a nil Recorder (through Or) and a nil Counter (through Inc) do
// nothing, so a configuration without metrics and the unit tests need no set-up.
package metrics

// Results of a login attempt (the "result" label of gatehouse_logins_total).
const (
	Success = "success"
	Failure = "failure" // wrong credentials, code, link or assertion
	Locked  = "locked"  // refused by the lockout before it was checked
	Error   = "error"   // anything else: the store failed, a disabled user, bad input
)

// Recorder receives the identity core's events. Its methods must be cheap and safe for
// concurrent use.
type Recorder interface {
	// LoginResult counts a finished login attempt of method (password, passkey, email_otp,
	// sms_otp, magic_link, social) with one of the results above.
	LoginResult(method, result string)
	// MFAChallenge counts a second-factor challenge started for method (passkey).
	MFAChallenge(method string)
	// TokenIssued counts a token response of grant (authorization_code, refresh_token,
	// client_credentials, device_code).
	TokenIssued(grant string)
	// RefreshReuse counts a refresh token presented again after its rotation (its family
	// is revoked).
	RefreshReuse()
}

// Nop is a Recorder that records nothing.
type Nop struct{}

func (Nop) LoginResult(string, string) {}
func (Nop) MFAChallenge(string)        {}
func (Nop) TokenIssued(string)         {}
func (Nop) RefreshReuse()              {}

// Or returns r, or Nop when r is nil.
func Or(r Recorder) Recorder {
	if r == nil {
		return Nop{}
	}
	return r
}

// Counter is a pre-resolved counter (prometheus.Counter satisfies it).
type Counter interface{ Inc() }

// Inc increments c unless it is nil.
func Inc(c Counter) {
	if c != nil {
		c.Inc()
	}
}

// Gauge is a pre-resolved gauge (prometheus.Gauge satisfies it).
type Gauge interface {
	Inc()
	Dec()
}

// Protect outcomes, the "result" label of gatehouse_protect_decisions_total.
const (
	Allowed         = iota // let through to the upstream
	Unauthenticated        // no credential, or one that failed verification: 401 or a login redirect
	Forbidden              // valid credential lacking what the route requires: 403, or 401 step-up
	BadRequest             // malformed request or credentials: 400
	Unavailable            // failing closed: 503
	Handled                // the Guard's own endpoints (callback, logout)
	NumOutcomes
)

// OutcomeNames are the label values of the outcomes, by outcome.
var OutcomeNames = [NumOutcomes]string{"allowed", "unauthenticated", "forbidden", "bad_request", "unavailable", "handled"}

// Route holds one protected route's counters, resolved once when the route is set up so
// that the request path only increments them (no label lookup, no allocation).
type Route struct {
	// Decisions are indexed by outcome (Allowed ... Handled); nil entries count nothing.
	Decisions [NumOutcomes]Counter
	// CacheHit and CacheMiss count the verified-credential cache lookups.
	CacheHit, CacheMiss Counter
}
