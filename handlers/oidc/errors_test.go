package oidc

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every kind the domain returns has its own code (RFC 6749 §5.2 and the registries it
// points to): a new kind without a mapping would silently answer server_error. RFC 6749
// §5.2: invalid_client is 401, the other §5.2 errors 400; RFC 6750 §3.1: invalid_token
// 401, insufficient_scope 403; RFC 6749 §4.1.2.1: temporarily_unavailable is a 503 and
// server_error a 500 where a status is sent.
func TestKindsMapToCodesAndStatuses(t *testing.T) {
	want := map[oauth.Kind][2]any{
		oauth.InvalidRequest:          {"invalid_request", 400},
		oauth.InvalidClient:           {"invalid_client", 401},
		oauth.InvalidGrant:            {"invalid_grant", 400},
		oauth.UnauthorizedClient:      {"unauthorized_client", 400},
		oauth.InvalidScope:            {"invalid_scope", 400},
		oauth.InvalidTarget:           {"invalid_target", 400},
		oauth.UnsupportedResponseType: {"unsupported_response_type", 400},
		oauth.RequestNotSupported:     {"request_not_supported", 400},
		oauth.RequestURINotSupported:  {"request_uri_not_supported", 400},
		oauth.InvalidToken:            {"invalid_token", 401},
		oauth.InsufficientScope:       {"insufficient_scope", 403},
		oauth.Unavailable:             {"temporarily_unavailable", 503},
		oauth.InvalidRedirectURI:      {"invalid_redirect_uri", 400},    // RFC 7591 §3.2.2
		oauth.InvalidClientMetadata:   {"invalid_client_metadata", 400}, // RFC 7591 §3.2.2
		oauth.TooManyRequests:         {"temporarily_unavailable", 429}, // RFC 6585 §4
		oauth.Internal:                {"server_error", 500},
	}
	for k := oauth.InvalidRequest; k <= oauth.Internal; k++ {
		w, ok := want[k]
		if !ok {
			t.Fatalf("kind %v has no expectation here: add it", k)
		}
		if _, mapped := kinds[k]; !mapped {
			t.Errorf("kind %v has no code", k)
		}
		got := fromDomain(&oauth.Error{Kind: k, Description: "d"})
		if got.Code != w[0] || got.Status != w[1] || got.Description != "d" {
			t.Errorf("kind %v → %q %d, want %q %d", k, got.Code, got.Status, w[0], w[1])
		}
	}
}

// A failure caused by the request's cancellation is a server_error answered with 499
// (nobody reads it; the access log tells it from a 500).
func TestCanceledIsClientClosedRequest(t *testing.T) {
	got := fromDomain(&oauth.Error{Kind: oauth.Internal, Description: "canceled", Err: fmt.Errorf("token: read user: %w", context.Canceled)})
	if got.Code != codeServerError || got.Status != web.StatusClientClosedRequest {
		t.Fatalf("canceled → %q %d", got.Code, got.Status)
	}
	got = fromDomain(&oauth.Error{Kind: oauth.Internal, Description: "x", Err: context.DeadlineExceeded})
	if got.Status != http.StatusInternalServerError {
		t.Fatalf("deadline → %d, want 500", got.Status)
	}
}

// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E: no CR, LF, TAB, quote
// or backslash, nothing beyond ASCII.
func TestCleanDescription(t *testing.T) {
	if got := cleanDescription("a\r\nb\t\"c\\é"); got != "a  b  c  " {
		t.Fatalf("%q", got)
	}
}

// RB-10: a store that cannot be reached (PostgreSQL down or cut off) is a temporary
// failure: 503 temporarily_unavailable with Retry-After (RFC 9110 §15.6.4), not a 500 —
// and never a success.
func TestRB10_UnreachableStoreIs503(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	got := fromDomain(&oauth.Error{Kind: oauth.Internal, Description: "internal error, try again later",
		Err: fmt.Errorf("redeem code: failed to connect: %w", refused)})
	if got.Code != codeTemporarilyUnavail || got.Status != http.StatusServiceUnavailable {
		t.Fatalf("unreachable store → %q %d, want temporarily_unavailable 503", got.Code, got.Status)
	}
	w := httptest.NewRecorder()
	writeTokenError(w, got)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("written: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

// TestRB10_StaleRevocationListIs503: a refresh or code exchange during a store outage long
// enough for the revocation list to go stale is a temporary failure (503 with Retry-After),
// never invalid_grant: RFC 6749 §5.2 invalid_grant tells the client the grant is dead, and
// it would throw away a refresh token that is still good.
func TestRB10_StaleRevocationListIs503(t *testing.T) {
	got := fromDomain(&oauth.Error{Kind: oauth.Internal, Description: "internal error, try again later",
		Err: fmt.Errorf("token: revocation list: %w", tokens.ErrUnavailable)})
	if got.Code != codeTemporarilyUnavail || got.Status != http.StatusServiceUnavailable {
		t.Fatalf("stale revocation list → %q %d, want temporarily_unavailable 503", got.Code, got.Status)
	}
}
