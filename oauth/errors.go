package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Kind says what made an operation of the authorization server fail, in the domain's
// terms. The protocol side (handlers/oidc) maps each kind to its OAuth error code and HTTP
// status; nothing here knows either.
type Kind int

// The kinds of failure.
const (
	// InvalidRequest: a parameter is missing, repeated, malformed or of a value not
	// supported.
	InvalidRequest Kind = iota + 1
	// InvalidClient: the client is unknown, failed to authenticate, or may not use the
	// operation without authenticating.
	InvalidClient
	// InvalidGrant: the authorization code or refresh token is invalid, expired, revoked,
	// already used or another client's, or does not match the request (redirect URI, PKCE).
	InvalidGrant
	// UnauthorizedClient: the client may not use this grant or flow.
	UnauthorizedClient
	// InvalidScope: a requested scope is not allowed, or wider than what was granted.
	InvalidScope
	// InvalidTarget: a resource indicator (RFC 8707) is malformed or not the client's.
	InvalidTarget
	// UnsupportedResponseType: the authorization request asks for a response other than a
	// code.
	UnsupportedResponseType
	// RequestNotSupported, RequestURINotSupported: the authorization request passes a
	// request object by value or by reference.
	RequestNotSupported
	RequestURINotSupported
	// InvalidToken: the access token's user no longer exists or is disabled.
	InvalidToken
	// InsufficientScope: the access token lacks a scope the operation needs.
	InsufficientScope
	// Unavailable: a dependency (the revocation list) is unavailable for now; retrying
	// later may succeed.
	Unavailable
	// InvalidRedirectURI, InvalidClientMetadata: a registration's redirect URI or other
	// client metadata is not acceptable (RFC 7591 §3.2.2).
	InvalidRedirectURI
	InvalidClientMetadata
	// TooManyRequests: the caller made too many requests of this kind; retry later.
	TooManyRequests
	// Internal: the server failed (the cause is in Err, which may be the request's
	// cancellation: errors.Is(err, context.Canceled)).
	Internal
	// AuthorizationPending, SlowDown, AccessDenied, ExpiredToken: the answers to a device
	// code poll (RFC 8628 §3.5) before the user approved, too soon after the previous poll,
	// after the user denied, and after the device code expired.
	AuthorizationPending
	SlowDown
	AccessDenied
	ExpiredToken
	// InvalidRequestURI: the request_uri of an authorization request is unknown, expired,
	// already used or another client's (RFC 9126 §4, RFC 9101 §7: invalid_request_uri).
	InvalidRequestURI
)

var kindNames = map[Kind]string{
	InvalidRequest: "invalid request", InvalidClient: "invalid client", InvalidGrant: "invalid grant",
	UnauthorizedClient: "unauthorized client", InvalidScope: "invalid scope", InvalidTarget: "invalid target",
	UnsupportedResponseType: "unsupported response type", RequestNotSupported: "request object not supported",
	RequestURINotSupported: "request_uri not supported", InvalidToken: "invalid token",
	InsufficientScope: "insufficient scope", Unavailable: "temporarily unavailable", Internal: "internal error",
	AuthorizationPending: "authorization pending", SlowDown: "slow down", AccessDenied: "access denied",
	ExpiredToken: "expired token", InvalidRequestURI: "invalid request_uri",
	InvalidRedirectURI: "invalid redirect URI", InvalidClientMetadata: "invalid client metadata", TooManyRequests: "too many requests",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("oauth.Kind(%d)", int(k))
}

// Error is a failed operation of the authorization server: its kind, a description for
// the client, and for Internal errors the cause.
type Error struct {
	Kind Kind
	// Description is a human-readable explanation for the client, without CR, LF or TAB
	// (client-supplied values in it are sanitized).
	Description string
	// Err is the cause of an Internal error (never shown to the client).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Kind.String() + ": " + e.Description + ": " + e.Err.Error()
	}
	return e.Kind.String() + ": " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Canceled tells whether the operation failed because its request was canceled (the client
// closed the connection, or the server is shutting down).
func (e *Error) Canceled() bool { return e.Kind == Internal && errors.Is(e.Err, context.Canceled) }

// Unreachable tells whether the operation failed because the store could not be reached (a
// database outage: temporary, answered with 503 and Retry-After, not 500).
func (e *Error) Unreachable() bool {
	// tokens.ErrUnavailable: the revocation list could not be read from the store for
	// longer than it may be trusted (a store outage), so nothing can be said about the
	// grant yet: temporary, never a verdict on the credential.
	return e.Kind == Internal && (store.Unreachable(e.Err) || errors.Is(e.Err, tokens.ErrUnavailable))
}

func errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Description: fmt.Sprintf(format, args...)}
}

// serverError wraps an internal failure, keeping the cause for logs and errors.Is. A
// failure caused by the request's cancellation is no internal error: it is logged at debug
// level only (the protocol side answers it with the status of a closed request).
func (p *Server) serverError(op string, err error) *Error {
	if errors.Is(err, context.Canceled) {
		p.logger().Debug("request canceled by the client", "op", op, "error", err)
		return &Error{Kind: Internal, Description: "the request was canceled", Err: fmt.Errorf("%s: %w", op, err)}
	}
	p.logger().Error("internal error", "op", op, "error", err)
	return &Error{Kind: Internal, Description: "internal error, try again later", Err: fmt.Errorf("%s: %w", op, err)}
}
