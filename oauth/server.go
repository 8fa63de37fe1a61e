package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
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
	// HTTPClient delivers back-channel logout tokens (nil: a client with a 5 s timeout that
	// never follows redirects).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

func (p *Server) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// Error is an OAuth 2.0 error (RFC 6749 §5.2), also used for authorization responses.
type Error struct {
	// Code is the error code (invalid_request, invalid_grant, ...).
	Code string
	// Description is a human-readable explanation without CR, LF or TAB.
	Description string
	// Status is the HTTP status for token-endpoint responses.
	Status int
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

// Common OAuth error codes.
const (
	ErrCodeInvalidRequest       = "invalid_request"
	ErrCodeInvalidClient        = "invalid_client"
	ErrCodeInvalidGrant         = "invalid_grant"
	ErrCodeUnauthorizedClient   = "unauthorized_client"
	ErrCodeUnsupportedGrantType = "unsupported_grant_type"
	ErrCodeInvalidScope         = "invalid_scope"
	ErrCodeServerError          = "server_error"
	ErrCodeTemporarilyUnavail   = "temporarily_unavailable"
	ErrCodeAccessDenied         = "access_denied"
	ErrCodeUnsupportedResponse  = "unsupported_response_type"
	ErrCodeLoginRequired        = "login_required"
	ErrCodeInvalidToken         = "invalid_token"
)

// StatusClientClosedRequest is the status of an answer to a request whose client went away
// before it was served (nginx's 499): nobody reads it, but access logs show what happened.
const StatusClientClosedRequest = 499

// serverError wraps an internal failure as an OAuth server_error, keeping the cause for logs.
// A failure caused by the request's cancellation — the client closed the connection, or the
// server is shutting down — is no internal error: it is logged at debug level only and
// answered with StatusClientClosedRequest.
func (p *Server) serverError(op string, err error) *Error {
	if errors.Is(err, context.Canceled) {
		p.logger().Debug("request canceled by the client", "op", op, "error", err)
		return &Error{Code: ErrCodeServerError, Description: "the request was canceled", Status: StatusClientClosedRequest}
	}
	p.logger().Error("internal error", "op", op, "error", err)
	return &Error{Code: ErrCodeServerError, Description: "internal error, try again later", Status: 500}
}
