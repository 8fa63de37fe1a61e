package oidc

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// singleParams must appear at most once (RFC 6749 §3.1).
var singleParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "id_token_hint",
	"acr_values", "ui_locales", "response_mode", "request", "request_uri", "claims", "display", approval.Param, "journey"}

// maxParamLen caps every authorization parameter.
const maxParamLen = 4096

// parseAuthRequest reads an authorization request's parameters (OIDC Core §3.1.2.1) and has
// the authorization server validate them. If the returned error is not nil and redirect is
// false, the client or redirect URI could not be trusted: the caller must show an error
// page and must not redirect (RFC 6749 §4.1.2.1). If redirect is true, the error goes to
// req.RedirectURI with req.State.
//
// A repeated or oversized parameter makes the whole request untrusted. A max_age that is
// no number or a claims parameter that is no valid claims request cannot be passed on:
// such a fault is reported where oauth.Server.Authorize would have found it — after its
// other checks, before the resource indicators — so that a request with several faults
// gets the same answer as ever.
func (h *Handler) parseAuthRequest(ctx context.Context, q url.Values) (*oauth.AuthRequest, bool, *apiError) {
	return h.parseRequest(ctx, q, nil, "")
}

// parseRequest is parseAuthRequest for the parameters of the pushed request p, loaded by
// its requestURI (openPushed); p nil is a plain request.
func (h *Handler) parseRequest(ctx context.Context, q url.Values, p *oauth.Pushed, requestURI string) (*oauth.AuthRequest, bool, *apiError) {
	in, fault := authParams(q)
	if p != nil {
		in.Pushed, in.PushedAuthenticated, in.PushedParams, in.RequestURI = true, p.Authenticated, p.Params, false
	}
	req, redirect, e := h.validateAuthRequest(ctx, q, in, fault)
	if req != nil && p != nil {
		req.PushedRequestURI = requestURI
	}
	return req, redirect, e
}

// validateAuthRequest checks the parameters q read into in (fault: authParams') and has the
// authorization server validate them (parseAuthRequest).
func (h *Handler) validateAuthRequest(ctx context.Context, q url.Values, in oauth.AuthParams, fault *apiError) (*oauth.AuthRequest, bool, *apiError) {
	for _, k := range singleParams {
		if len(q[k]) > 1 {
			return nil, false, &apiError{Code: codeInvalidRequest, Description: "parameter " + k + " is repeated"}
		}
		if len(q.Get(k)) > maxParamLen {
			return nil, false, &apiError{Code: codeInvalidRequest, Description: "parameter " + k + " is too long"}
		}
	}
	req, redirect, oerr := h.OAuth.Authorize(ctx, in)
	switch {
	case oerr != nil && (!redirect || fault == nil || oerr.Kind != oauth.InvalidTarget):
		return req, redirect, fromDomain(oerr)
	case fault != nil:
		return req, true, fault
	}
	return req, false, nil
}

// authParams reads the parameters of an authorization request. fault is the first of
// max_age and claims that cannot be read (the parameter is then left out of in).
func authParams(q url.Values) (in oauth.AuthParams, fault *apiError) {
	in = oauth.AuthParams{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		ResponseType: q.Get("response_type"), ResponseMode: q.Get("response_mode"),
		Request: q.Has("request"), RequestURI: q.Has("request_uri"),
		Scopes: strings.Fields(q.Get("scope")), Nonce: q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
		Prompt: strings.Fields(q.Get("prompt")), MaxAge: -1,
		LoginHint: q.Get("login_hint"), IDTokenHint: q.Get("id_token_hint"),
		ACRValues: strings.Fields(q.Get("acr_values")), UILocales: q.Get("ui_locales"),
		Resources: q["resource"], Journey: q.Get("journey")}
	if ma := q.Get("max_age"); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 {
			fault = &apiError{Code: codeInvalidRequest, Description: "max_age must be a non-negative integer"}
		} else {
			in.MaxAge = n
		}
	}
	if raw := q.Get("claims"); raw != "" {
		cr, cerr := parseClaimsRequest(raw)
		switch {
		case cerr != nil && fault == nil:
			fault = cerr
		case cerr == nil:
			in.Claims = cr
		}
	}
	if q.Has(approval.Param) {
		// Parsed here, refused by the domain unless pushed (a plain request's answer is then
		// that, whatever the JSON: the domain's faults come first).
		tx, err := approval.Parse(q.Get(approval.Param))
		switch {
		case err != nil:
			in.ApprovalData = json.RawMessage(`{}`)
			if fault == nil {
				fault = &apiError{Code: codeInvalidRequest, Description: err.Error()}
			}
		default:
			in.ApprovalData = tx.Canonical()
		}
	}
	return in, fault
}
