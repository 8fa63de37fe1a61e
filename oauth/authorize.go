package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// AuthRequest is a validated authorization request (OIDC Core §3.1.2.1).
type AuthRequest struct {
	Client      *Client
	RedirectURI string
	State       string
	Nonce       string
	Scopes      []string
	// CodeChallenge is the S256 PKCE challenge ("" without PKCE).
	CodeChallenge string
	// Prompt holds the prompt values (none, login, consent, select_account).
	Prompt []string
	// MaxAge is the max_age in seconds, or -1 when absent.
	MaxAge      int
	LoginHint   string
	IDTokenHint string
	ACRValues   []string
	UILocales   string
	// Claims is the validated claims request parameter (nil without one).
	Claims *issue.ClaimsRequest
	// Resources are the requested resource indicators (RFC 8707): the access token's
	// audience.
	Resources []string
	// Pushed tells that the request's parameters came from a pushed authorization request
	// (RFC 9126) made by an authenticated client: they are trusted input of that client (a
	// journey's auth_state unauthenticated may draw external_user_id from them), unlike
	// anything the browser sends.
	Pushed bool
	// PushedParams are all the parameters of the pushed request (nil when not Pushed).
	PushedParams url.Values
	// Journey is the journey the client asked for (journey=<name>, or its default_journey).
	Journey string
	// ApprovalData is the transaction to approve (the seed's approval_data: type, amount,
	// currency, payee, payment method), validated JSON, only from a pushed request.
	ApprovalData json.RawMessage
	// PushedRequestURI is the request_uri the request was loaded by ("" for a plain
	// request): the authorization response closes it (Server.ClosePushed).
	PushedRequestURI string
}

// RequestedSubject returns the sub value the claims request demands for the ID token, if any
// (OIDC Core §5.5.1: only a session of that user may answer positively).
func (r *AuthRequest) RequestedSubject() (string, bool) {
	if r.Claims == nil {
		return "", false
	}
	spec := r.Claims.IDToken["sub"]
	if spec == nil || len(spec.Value) == 0 {
		return "", false
	}
	var sub string
	if json.Unmarshal(spec.Value, &sub) != nil {
		return "\x00not-a-string", true
	}
	return sub, true
}

// essentialACRs returns the values of an essential acr claim request for the ID token (OIDC
// Core §5.5.1.1: "value" or "values"), nil when acr is not requested as essential.
func (r *AuthRequest) essentialACRs() []string {
	if r.Claims == nil {
		return nil
	}
	spec := r.Claims.IDToken["acr"]
	if spec == nil || !spec.Essential {
		return nil
	}
	var vals []string
	if len(spec.Value) > 0 {
		var v string
		if json.Unmarshal(spec.Value, &v) == nil {
			vals = append(vals, v)
		}
	}
	for _, raw := range spec.Values {
		var v string
		if json.Unmarshal(raw, &v) == nil {
			vals = append(vals, v)
		}
	}
	return vals
}

// WantsMultiFactor reports whether the request asks for a multi-factor login: acr_values
// preferring aal2 (voluntary: OIDC Core §3.1.2.1 lets the OP answer with a lower acr), or an
// essential acr claim whose values exclude aal1 (essential: OIDC Core §5.5.1.1 makes a login
// that cannot meet it a failed authentication).
func (r *AuthRequest) WantsMultiFactor() (want, essential bool) {
	if len(r.ACRValues) > 0 && r.ACRValues[0] == login.ACRMultiFactor {
		want = true
	}
	if vals := r.essentialACRs(); hasString(vals, login.ACRMultiFactor) && !hasString(vals, login.ACRSingleFactor) {
		return true, true
	}
	return want, false
}

// UnsatisfiableACR reports an essential acr request none of whose values Gatehouse can meet
// (OIDC Core §5.5.1.1: that must fail the authentication).
func (r *AuthRequest) UnsatisfiableACR(available ...string) bool {
	want := r.essentialACRs()
	if len(want) == 0 {
		return false
	}
	for _, w := range want {
		if hasString(available, w) {
			return false
		}
	}
	return true
}

// ACRFor returns the acr to assert for a session authenticated at level sessionACR. It is the
// session's own level, except when an essential acr claim lists values that exclude it but
// include aal1 and the session is aal2 (a multi-factor login meets aal1 too): then aal1, since
// OIDC Core §5.5.1.1 requires the returned acr to match one of the requested values. The
// authorization endpoint refuses the requests that no session level can meet
// (UnsatisfiableACR, WantsMultiFactor) before a code is issued.
func (r *AuthRequest) ACRFor(sessionACR string) string {
	want := r.essentialACRs()
	if len(want) == 0 || hasString(want, sessionACR) {
		return sessionACR
	}
	if sessionACR == login.ACRMultiFactor && hasString(want, login.ACRSingleFactor) {
		return login.ACRSingleFactor
	}
	return sessionACR
}

// HasPrompt tells whether the request carries the prompt value v.
func (r *AuthRequest) HasPrompt(v string) bool { return hasString(r.Prompt, v) }

// AuthParams are the parameters of an authorization request (OIDC Core §3.1.2.1) as the
// authorization endpoint read them; handlers/oidc parses the query or form (repeated and
// oversized parameters, max_age's number, the claims parameter's JSON). Authorize
// validates them.
type AuthParams struct {
	ClientID, RedirectURI, State string
	// ResponseType and ResponseMode are the values sent ("" when absent).
	ResponseType, ResponseMode string
	// Request and RequestURI tell that a request object was passed by value or by
	// reference.
	Request, RequestURI bool
	Scopes              []string
	Nonce               string
	// CodeChallenge and CodeChallengeMethod are the PKCE parameters as sent.
	CodeChallenge, CodeChallengeMethod string
	Prompt                             []string
	// MaxAge is max_age in seconds, -1 when absent.
	MaxAge                 int
	LoginHint, IDTokenHint string
	ACRValues              []string
	UILocales              string
	// Claims is the parsed claims parameter (nil without one).
	Claims *issue.ClaimsRequest
	// Resources are the resource indicators (RFC 8707), in order.
	Resources []string
	// Pushed tells that the parameters come from a pushed authorization request (RFC 9126),
	// being pushed or loaded by its request_uri; PushedAuthenticated that a confidential
	// client pushed them, authenticated.
	Pushed, PushedAuthenticated bool
	// PushedParams are the pushed parameters (AuthRequest.PushedParams when authenticated).
	PushedParams url.Values
	// ApprovalData is the validated transaction of the approval_data parameter (canonical
	// JSON, package approval), nil without one.
	ApprovalData json.RawMessage
	// Journey is the journey=<name> parameter ("" when absent).
	Journey string
}

// Authorize validates an authorization request. If the returned error is not nil and
// redirect is false, the client or redirect URI could not be trusted: the caller must show
// an error page and must not redirect (RFC 6749 §4.1.2.1). If redirect is true, the error
// goes to req.RedirectURI with req.State. The checks run in a fixed order, the first fault
// found is reported: the client, the redirect URI, the client's grant, request objects,
// response_type and response_mode, scopes, PKCE, prompt, max_age, then the resource
// indicators.
func (p *Server) Authorize(ctx context.Context, in AuthParams) (req *AuthRequest, redirect bool, err *Error) {
	if in.ClientID == "" {
		return nil, false, errorf(InvalidRequest, "client_id is missing")
	}
	client, cerr := p.Client(ctx, in.ClientID)
	if errors.Is(cerr, ErrClientPending) {
		return nil, false, errorf(UnauthorizedClient, "this client is registered but waits for an administrator's approval")
	} else if errors.Is(cerr, store.ErrNotFound) {
		return nil, false, errorf(InvalidRequest, "unknown client_id")
	} else if cerr != nil {
		return nil, false, p.serverError("authorize: load client", cerr)
	}
	req = &AuthRequest{Client: client, MaxAge: -1}
	switch ru := in.RedirectURI; {
	case ru != "":
		if !client.HasRedirectURI(ru) {
			return nil, false, errorf(InvalidRequest, "redirect_uri is not registered for this client")
		}
		req.RedirectURI = ru
	case len(client.RedirectURIs) == 1:
		req.RedirectURI = client.RedirectURIs[0]
	default:
		return nil, false, errorf(InvalidRequest, "redirect_uri is missing")
	}
	req.State = in.State
	if !client.AllowsGrant(GrantAuthorizationCode) {
		return req, true, errorf(UnauthorizedClient, "this client may not use the authorization code flow")
	}
	if in.Request {
		return req, true, errorf(RequestNotSupported, "request objects are not supported")
	}
	if in.RequestURI {
		return req, true, errorf(RequestURINotSupported, "request_uri is only for pushed authorization requests (RFC 9126): urn:ietf:params:oauth:request_uri: values of the pushed authorization request endpoint")
	}
	// RFC 9126 §4 (metadata: §5, §6): when policy requires pushed requests, "the
	// authorization server will refuse, using the invalid_request error code, to process
	// any request to the authorization endpoint that does not have a request_uri parameter
	// with a value obtained from the PAR endpoint".
	if !in.Pushed && p.RequiresPushed(client) {
		return req, true, errorf(InvalidRequest, "this client must push its authorization requests to the pushed authorization request endpoint (RFC 9126) and send only client_id and request_uri here")
	}
	if len(in.ApprovalData) > 0 && !in.Pushed {
		return req, true, errorf(InvalidRequest, "approval_data is accepted only in a pushed authorization request (RFC 9126), never on /authorize itself")
	}
	switch in.ResponseType {
	case "code":
	case "":
		return req, true, errorf(InvalidRequest, "response_type is missing")
	default:
		return req, true, errorf(UnsupportedResponseType, "only response_type=code is supported")
	}
	if rm := in.ResponseMode; rm != "" && rm != "query" {
		return req, true, errorf(InvalidRequest, "only response_mode=query is supported")
	}
	if len(in.Scopes) > 64 {
		return req, true, errorf(InvalidScope, "too many scopes")
	}
	for _, s := range in.Scopes {
		if !client.AllowsScope(s) {
			return req, true, errorf(InvalidScope, "scope %q is not allowed for this client", sanitize(s))
		}
	}
	req.Scopes = dedupe(in.Scopes)
	req.Nonce = in.Nonce
	switch challenge, method := in.CodeChallenge, in.CodeChallengeMethod; {
	case challenge == "" && method != "":
		return req, true, errorf(InvalidRequest, "code_challenge_method without code_challenge")
	case challenge == "":
		if client.RequirePKCE {
			return req, true, errorf(InvalidRequest, "PKCE is required: send code_challenge with code_challenge_method=S256")
		}
	case method != "S256":
		return req, true, errorf(InvalidRequest, "code_challenge_method must be S256")
	case !validPKCE(challenge) || len(challenge) != 43:
		return req, true, errorf(InvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
	default:
		req.CodeChallenge = challenge
	}
	req.Prompt = in.Prompt
	for _, v := range req.Prompt {
		switch v {
		case "none", "login", "consent", "select_account":
		default:
			return req, true, errorf(InvalidRequest, "unknown prompt value %q", sanitize(v))
		}
	}
	if req.HasPrompt("none") && len(req.Prompt) > 1 {
		return req, true, errorf(InvalidRequest, "prompt=none cannot be combined with other values")
	}
	if in.MaxAge < -1 {
		return req, true, errorf(InvalidRequest, "max_age must be a non-negative integer")
	}
	req.MaxAge = in.MaxAge
	req.LoginHint = in.LoginHint
	req.IDTokenHint = in.IDTokenHint
	req.ACRValues = in.ACRValues
	req.UILocales = in.UILocales
	req.Claims = in.Claims
	if in.Pushed && in.PushedAuthenticated {
		req.Pushed, req.PushedParams = true, in.PushedParams
	}
	if len(in.ApprovalData) > 0 {
		req.ApprovalData = in.ApprovalData
	}
	if len(in.Resources) > 8 {
		return req, true, errorf(InvalidTarget, "at most 8 resource parameters")
	}
	for _, r := range in.Resources {
		if err := ValidateResource(r); err != nil {
			return req, true, errorf(InvalidTarget, "resource %q: %v", sanitize(r), err)
		}
		if !client.AllowsResource(r) {
			return req, true, errorf(InvalidTarget, "resource %q is not registered for this client", sanitize(r))
		}
		if !hasString(req.Resources, r) {
			req.Resources = append(req.Resources, r)
		}
	}
	req.Journey = in.Journey
	if req.Journey == "" {
		req.Journey = client.DefaultJourney
	}
	return req, false, nil
}

// ErrApprovalPending is IssueCode's answer for a request with a transaction to approve: its
// code comes only from IssueApprovalCode, after the user approved.
var ErrApprovalPending = errors.New("the transaction of this request was not approved")

// IssueCode creates an authorization code for the request, the session and its user.
func (p *Server) IssueCode(ctx context.Context, req *AuthRequest, s store.Session) (string, error) {
	if len(req.ApprovalData) > 0 {
		return "", ErrApprovalPending
	}
	return p.issueCode(ctx, req, s, nil)
}

// IssueApprovalCode creates the authorization code of a request whose transaction
// (req.ApprovalData) the session's user approved with the method amr proves: the code
// carries the transaction (the ID token's approval_data) and amr adds that method.
func (p *Server) IssueApprovalCode(ctx context.Context, req *AuthRequest, s store.Session, amr string) (string, error) {
	if len(req.ApprovalData) == 0 || amr == "" {
		return "", errors.New("approval code without a transaction or its method")
	}
	return p.issueCode(ctx, req, s, &amr)
}

func (p *Server) issueCode(ctx context.Context, req *AuthRequest, s store.Session, approvedBy *string) (string, error) {
	newUser := false
	if s.NewUser || !hasString(s.Clients, req.Client.ID) {
		// new_user is reported once: by the first code of the session that created the
		// user. The session also remembers its clients, for back-channel logout.
		s2, err := p.Store.UpdateSession(ctx, s.ID, func(s store.Session) (store.Session, error) {
			newUser = s.NewUser
			s.NewUser = false
			if !hasString(s.Clients, req.Client.ID) && len(s.Clients) < 64 {
				s.Clients = append(s.Clients, req.Client.ID)
			}
			return s, nil
		})
		if err != nil {
			return "", fmt.Errorf("update session: %w", err)
		}
		s = s2
	}
	code := secret.Token()
	now := p.Now()
	rec := store.AuthCode{ID: secret.Hash(code), ClientID: req.Client.ID, RedirectURI: req.RedirectURI,
		UserID: s.UserID, SessionID: s.ID, Scopes: req.Scopes, Nonce: req.Nonce, Audience: req.Resources,
		Claims:   req.Claims.Encode(),
		AuthTime: s.AuthTime, AMR: s.AMR, ACR: req.ACRFor(s.ACR), NewUser: newUser, CreatedAt: now,
		ExpiresAt: now.Add(p.CodeLifetime), PurgeAfter: now.Add(p.CodeLifetime + max(p.AccessTokenLifetime, p.Verifier.MaxLifetime))}
	if req.CodeChallenge != "" {
		rec.CodeChallenge, rec.CodeChallengeMethod = req.CodeChallenge, "S256"
	}
	if approvedBy != nil {
		rec.ApprovalData = string(req.ApprovalData)
		rec.AMR = login.AddAMR(s.AMR, *approvedBy)
		rec.ACR = req.ACRFor(login.ACR(rec.AMR))
	}
	if err := p.Store.CreateAuthCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store authorization code: %w", err)
	}
	return code, nil
}

// validPKCE checks the RFC 7636 character set (ALPHA / DIGIT / "-" / "." / "_" / "~").
func validPKCE(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

func dedupe(in []string) []string {
	out := in[:0:0]
	for _, s := range in {
		if !hasString(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// sanitize makes a client-supplied value safe to echo in an error description.
func sanitize(s string) string { return input.Sanitize(s) }
