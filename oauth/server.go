package oauth

import (
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// Server is the authorization server. Every field but HTTPClient and Logger is required.
type Server struct {
	// Issuer is the exact issuer URL (no trailing slash).
	Issuer string
	Store  store.Store
	// Configured are the clients of the configuration, by ID; others are read from the
	// store.
	Configured  map[string]*Client
	Tokens      *issue.Issuer
	Sessions    *sessions.Manager
	Limiter     *lockout.Limiter
	Verifier    *tokens.Verifier
	Revocations *tokens.RevocationList
	// CodeLifetime is an authorization code's; AccessTokenLifetime the default access
	// token's (codes are remembered as long as tokens they issued can live); the refresh
	// token lifetimes apply unless the client has its own.
	CodeLifetime, AccessTokenLifetime      time.Duration
	RefreshTokenIdle, RefreshTokenLifetime time.Duration
	// Leeway tolerates clock skew when verifying tokens.
	Leeway time.Duration
	// ClientMaxFailures limits failed client authentications per client and client IP.
	ClientMaxFailures int
	// HTTPClient delivers back-channel logout tokens (nil: an *http.Client with a 5 s
	// timeout that never follows redirects).
	HTTPClient Doer
	Now        func() time.Time
	Logger     *slog.Logger
	// DeviceKey keys the hash under which user codes of the device flow are stored (nil: a
	// plain hash); DeviceCodeLifetime is a device code's (0: DefaultDeviceCodeLifetime).
	DeviceKey          []byte
	DeviceCodeLifetime time.Duration
	// Metrics counts the token responses and refresh token reuse (nil: not counted).
	Metrics metrics.Recorder
	// Audit records the tokens issued, refreshed and revoked and refresh token reuse (nil:
	// not recorded).
	Audit audit.Recorder
	// Registration is the dynamic client registration policy (zero: off; registration.go).
	Registration Registration

	// RequirePushedRequests makes every client use pushed authorization requests (RFC 9126
	// §5: require_pushed_authorization_requests); PushedRequestLifetime is a request_uri's
	// lifetime (0: DefaultPushedRequestLifetime).
	RequirePushedRequests bool
	PushedRequestLifetime time.Duration

	// StepUpRequired, if set, tells whether a grant whose login proved amr lacks the second
	// factor that the runtime settings now require (mfa.Rules.StepUpRequired; it reads memory
	// only). Its authorization codes and refresh tokens are then refused with invalid_grant,
	// so that the user logs in again with a second factor: the setting holds for grants made
	// before it changed too (issue 18: "take effect on the next request"). Nil: never.
	StepUpRequired func(amr []string) bool

	// origins indexes the public clients' browser origins (origins.go).
	origins originIndex
}

// stepUpRequired tells whether a grant whose login proved amr must be stepped up
// (StepUpRequired) before it yields tokens.
func (p *Server) stepUpRequired(amr []string) bool {
	return p.StepUpRequired != nil && p.StepUpRequired(amr)
}

// errStepUp is the message of a grant refused by stepUpRequired.
const errStepUp = "a second factor is now required: log in again"

func (p *Server) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}
