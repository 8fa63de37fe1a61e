package oidc

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// The error codes the endpoints answer with.
const (
	// RFC 6749 §4.1.2.1 (authorization response) and §5.2 (token endpoint).
	codeInvalidRequest       = "invalid_request"
	codeInvalidClient        = "invalid_client"
	codeInvalidGrant         = "invalid_grant"
	codeUnauthorizedClient   = "unauthorized_client"
	codeUnsupportedGrantType = "unsupported_grant_type"
	codeInvalidScope         = "invalid_scope"
	codeAccessDenied         = "access_denied"
	codeUnsupportedResponse  = "unsupported_response_type"
	codeServerError          = "server_error"
	codeTemporarilyUnavail   = "temporarily_unavailable"
	// RFC 8707 §2: a resource indicator that is invalid or not allowed.
	codeInvalidTarget = "invalid_target"
	// OpenID Connect Core §3.1.2.6.
	codeLoginRequired          = "login_required"
	codeInteractionRequired    = "interaction_required"
	codeRequestNotSupported    = "request_not_supported"
	codeRequestURINotSupported = "request_uri_not_supported"
	// RFC 6750 §3.1 (protected resources: userinfo).
	codeInvalidToken      = "invalid_token"
	codeInsufficientScope = "insufficient_scope"
	// RFC 7009 §2.2.1.
	codeUnsupportedTokenType = "unsupported_token_type"
	// RFC 8628 §3.5 (device code polls).
	codeAuthorizationPending = "authorization_pending"
	codeSlowDown             = "slow_down"
	codeExpiredToken         = "expired_token"
	// RFC 7591 §3.2.2.
	codeInvalidRedirectURI    = "invalid_redirect_uri"
	codeInvalidClientMetadata = "invalid_client_metadata"
)

// kinds maps each kind of domain failure to its error code and the status of a JSON
// answer (token, revocation, introspection and userinfo endpoints). RFC 6749 §5.2:
// invalid_client is 401 (with a WWW-Authenticate challenge when the client used HTTP
// Basic), every other error 400; RFC 6750 §3.1: invalid_token 401, insufficient_scope 403.
var kinds = map[oauth.Kind]struct {
	code   string
	status int
}{
	oauth.InvalidRequest:          {codeInvalidRequest, http.StatusBadRequest},
	oauth.InvalidClient:           {codeInvalidClient, http.StatusUnauthorized},
	oauth.InvalidGrant:            {codeInvalidGrant, http.StatusBadRequest},
	oauth.UnauthorizedClient:      {codeUnauthorizedClient, http.StatusBadRequest},
	oauth.InvalidScope:            {codeInvalidScope, http.StatusBadRequest},
	oauth.InvalidTarget:           {codeInvalidTarget, http.StatusBadRequest},
	oauth.UnsupportedResponseType: {codeUnsupportedResponse, http.StatusBadRequest},
	oauth.RequestNotSupported:     {codeRequestNotSupported, http.StatusBadRequest},
	oauth.RequestURINotSupported:  {codeRequestURINotSupported, http.StatusBadRequest},
	oauth.InvalidToken:            {codeInvalidToken, http.StatusUnauthorized},
	oauth.InsufficientScope:       {codeInsufficientScope, http.StatusForbidden},
	oauth.Unavailable:             {codeTemporarilyUnavail, http.StatusServiceUnavailable},
	oauth.InvalidRedirectURI:      {codeInvalidRedirectURI, http.StatusBadRequest},
	oauth.InvalidClientMetadata:   {codeInvalidClientMetadata, http.StatusBadRequest},
	oauth.TooManyRequests:         {codeTemporarilyUnavail, http.StatusTooManyRequests},
	oauth.Internal:                {codeServerError, http.StatusInternalServerError},
	oauth.AuthorizationPending:    {codeAuthorizationPending, http.StatusBadRequest},
	oauth.SlowDown:                {codeSlowDown, http.StatusBadRequest},
	oauth.AccessDenied:            {codeAccessDenied, http.StatusBadRequest},
	oauth.ExpiredToken:            {codeExpiredToken, http.StatusBadRequest},
	oauth.InvalidRequestURI:       {codeInvalidRequestURI, http.StatusBadRequest},
}

// apiError is an error as an endpoint answers it.
type apiError struct {
	Code, Description string
	// Status is the status of a JSON answer (0: 400).
	Status int
}

// fromDomain maps a failure of the authorization server to its answer. A failure caused by
// the request's cancellation is answered with web.StatusClientClosedRequest: nobody reads
// it, but the access log tells it from an internal error.
func fromDomain(e *oauth.Error) *apiError {
	k, ok := kinds[e.Kind]
	if !ok {
		k = kinds[oauth.Internal]
	}
	status := k.status
	if e.Unreachable() {
		// The store cannot be reached (a database outage): temporary, retry later (RFC 9110
		// §15.6.4), never a pass.
		k = kinds[oauth.Unavailable]
		status = k.status
	}
	if e.Canceled() {
		status = web.StatusClientClosedRequest
	}
	return &apiError{Code: k.code, Description: e.Description, Status: status}
}

// writeTokenError writes an RFC 6749 §5.2 error.
func writeTokenError(w http.ResponseWriter, e *apiError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	web.WriteJSON(w, status, map[string]string{"error": e.Code, "error_description": cleanDescription(e.Description)})
}

// challenge writes an RFC 6750 §3 error of a protected resource (userinfo), with its
// WWW-Authenticate challenge.
func challenge(w http.ResponseWriter, status int, code, desc string) {
	desc = cleanDescription(desc)
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+desc+`"`)
	web.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// cleanDescription keeps error_description within RFC 6749's character set (%x20-21 /
// %x23-5B / %x5D-7E): no CR, LF, TAB, quote or backslash.
func cleanDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
}
