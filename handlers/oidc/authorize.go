package oidc

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/login"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// paramLoginAfter is added to the authorization request when it sends the browser to the
// login page for prompt=login or max_age: back at /authorize, a session authenticated at or
// after this time satisfies the request (the prompt=login is not repeated, and max_age is not
// applied again to the login just made, which could otherwise loop back to the login page
// for max_age=0 or for a login slower than max_age).
const paramLoginAfter = "gh_login_after"

// paramMFASkip is set by the second-factor page's "Continue without a second factor" link:
// the user chose a single-factor login for a request that prefers aal2 (acr_values). It needs
// no MAC: a client that adds it itself only skips a page shown for its own voluntary request;
// the code then says acr aal1, and an essential acr request ignores it.
const paramMFASkip = "gh_mfa_skip"

// authorize serves GET and POST /authorize (OIDC Core §3.1.2).
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	web.SecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		h.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed", "Use GET or POST.", codeInvalidRequest)
		return
	}
	query, err := web.ParseForm(w, r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Invalid request", h.T(r, "The authorization request is malformed: %s.", err.Error()), codeInvalidRequest)
		return
	}
	req, params, eff, ok := h.resolveRequest(w, r, query)
	if !ok {
		return
	}
	// OIDC Core 3.1.2.1: ui_locales, the End-User's preferred languages for the user
	// interface, is carried through the login pages this request leads to.
	i18n.Remember(w, r, eff.Get("ui_locales"), h.Base+"/", strings.HasPrefix(h.Issuer, "https:"))
	h.authorizeRequest(w, r, req, params)
}

// resolveRequest reads and validates the authorization request of query, loading a pushed
// one by its request_uri (openPushed). params are the parameters that resume it (the
// browser's), eff those in force. It answers the browser itself when ok is false.
func (h *Handler) resolveRequest(w http.ResponseWriter, r *http.Request, query url.Values) (req *oauth.AuthRequest, params, eff url.Values, ok bool) {
	ctx := r.Context()
	eff, params, pushed, e := h.openPushed(w, r, query)
	if e != nil {
		// RFC 9126 §4: "An expired request_uri MUST be rejected as invalid." Its redirect
		// URI is unknown (or another client's): a page, never a redirect.
		h.errorPage(w, r, http.StatusBadRequest, "Invalid request", h.T(r, "The application sent an invalid sign-in request: %s. Contact the application's owner.", e.Description), e.Code)
		return nil, nil, nil, false
	}
	req, redirect, e := h.parseRequest(ctx, eff, pushed, query.Get("request_uri"))
	if e == nil && pushed != nil && pushed.Expired {
		e, redirect = &apiError{Code: codeAccessDenied, Description: "the request was not completed in time"}, true
	}
	if e != nil {
		if redirect {
			h.redirectError(w, r, req, e.Code, e.Description)
			return nil, nil, nil, false
		}
		// RFC 6749 §4.1.2.1: the client or redirect URI cannot be trusted: a page, never a
		// redirect.
		status := http.StatusBadRequest
		if e.Code == codeServerError {
			status = http.StatusServiceUnavailable
		}
		h.errorPage(w, r, status, "Invalid request", h.T(r, "The application sent an invalid sign-in request: %s. Contact the application's owner.", e.Description), e.Code)
		return nil, nil, nil, false
	}
	return req, params, eff, true
}

// authorizeRequest answers the validated request req (params resume it): login, step-up,
// consent, transaction approval, then the code.
func (h *Handler) authorizeRequest(w http.ResponseWriter, r *http.Request, req *oauth.AuthRequest, params url.Values) {
	ctx := r.Context()
	// A journey answers the request instead of the built-in login (journey=<name> or the
	// client's default_journey): it ends with the authorization response.
	if req.Journey != "" {
		if h.Journeys == nil || !h.Journeys.Has(req.Journey) {
			h.redirectError(w, r, req, codeInvalidRequest, "there is no journey named "+sanitizeJourney(req.Journey))
			return
		}
		if req.HasPrompt("none") {
			h.redirectError(w, r, req, codeInteractionRequired, "a journey needs the user's interaction")
			return
		}
		// A journey has no consent page: third-party and self-registered clients cannot
		// run one (they would skip the consent).
		if req.Client.ConsentRequired || req.Client.Registered {
			h.redirectError(w, r, req, codeAccessDenied, "journeys are available to first-party clients only")
			return
		}
		// RFC 9126 §4: a request_uri is used once. The journey keeps the whole request, so
		// the pushed one closes now: opening it again cannot start a second journey (and
		// get a second code) from one push.
		if req.PushedRequestURI != "" {
			if oerr := h.OAuth.ClosePushed(ctx, req.PushedRequestURI); oerr != nil {
				e := fromDomain(oerr)
				h.errorPage(w, r, http.StatusBadRequest, "Invalid request", h.T(r, "The application sent an invalid sign-in request: %s. Contact the application's owner.", e.Description), e.Code)
				return
			}
			req.PushedRequestURI = ""
		}
		in, _ := authParams(params)
		h.Journeys.StartAuthorization(w, r, req.Journey, req, in)
		return
	}
	s, u, err := h.Sessions.Get(ctx, h.Cookie.Secret(r))
	hasSession := err == nil
	if err != nil && !errors.Is(err, sessions.ErrNoSession) {
		h.Logger.Error("authorize: read session", "error", err)
		h.redirectError(w, r, req, codeTemporarilyUnavail, "the login service is temporarily unavailable")
		return
	}
	now := h.Now()
	fresh := hasSession
	if hasSession {
		after := h.loginAfter(params.Get(paramLoginAfter), req.Client.ID)
		switch {
		case after > 0:
			fresh = s.AuthTime.Unix() >= after
		case req.HasPrompt("login"):
			fresh = false
		case req.MaxAge >= 0 && now.Sub(s.AuthTime).Seconds() > float64(req.MaxAge):
			fresh = false
		}
	}
	// A claims request for a specific sub (OIDC Core §5.5.1) is satisfied only by a session of
	// that user; a different user must log in (prompt=none: login_required).
	if sub, ok := req.RequestedSubject(); ok && hasSession && sub != s.UserID {
		fresh = false
	}
	if req.UnsatisfiableACR(login.ACRSingleFactor, login.ACRMultiFactor) {
		h.redirectError(w, r, req, codeAccessDenied, "the requested authentication context (acr) cannot be satisfied")
		return
	}
	if req.IDTokenHint != "" {
		claims, err := h.Tokens.VerifyIDToken(req.IDTokenHint, true)
		if err != nil {
			h.redirectError(w, r, req, codeInvalidRequest, "id_token_hint is not a valid ID token from this issuer")
			return
		}
		if sub, _ := claims["sub"].(string); hasSession && sub != s.UserID {
			fresh = false
		}
	}
	if !fresh {
		if req.HasPrompt("none") {
			h.redirectError(w, r, req, codeLoginRequired, "the user must log in")
			return
		}
		http.Redirect(w, r, h.loginRedirect(params, req), http.StatusFound)
		return
	}
	// A second factor that the runtime settings now require after one of the session's
	// methods (login.mfa.<method>: required), also for a session started before the change
	// ("take effect on the next request", issue 18): no code is issued for the session until
	// a second factor confirms it, or the user sets one up; there is no "continue without"
	// way, whatever the request asks.
	if h.MFA.StepUpRequired(s.AMR) {
		has, err := h.MFA.NeedsSecondFactor(ctx, u)
		switch {
		case err != nil:
			h.Logger.Error("authorize: second factors", "error", err)
			h.redirectError(w, r, req, codeTemporarilyUnavail, "the login service is temporarily unavailable")
		case req.HasPrompt("none"):
			h.redirectError(w, r, req, codeInteractionRequired, "the user must confirm the login with a second factor")
		case has:
			target := h.Base + PathAuthorize + "?" + params.Encode()
			http.Redirect(w, r, h.Base+"/login/mfa?return_to="+url.QueryEscape(target), http.StatusFound)
		default:
			h.secondFactorPage(w, r, params, req, s, u, true)
		}
		return
	}
	// Step-up: a client asking for a multi-factor login (acr_values aal2, or an essential
	// acr claim) gets the session confirmed with a passkey first. A user without a second
	// factor cannot do better than aal1: an essential request fails (OIDC Core §5.5.1.1), a
	// voluntary one gets the second-factor page, which offers to set one up or to continue
	// with a single-factor login (OIDC Core §3.1.2.1: the acr returned may be lower).
	if want, essential := req.WantsMultiFactor(); want && s.ACR != login.ACRMultiFactor {
		has, err := h.MFA.NeedsSecondFactor(ctx, u)
		switch {
		case err != nil:
			h.Logger.Error("authorize: passkeys", "error", err)
			h.redirectError(w, r, req, codeTemporarilyUnavail, "the login service is temporarily unavailable")
			return
		case has && req.HasPrompt("none"):
			h.redirectError(w, r, req, codeInteractionRequired, "the user must confirm with a passkey")
			return
		case has:
			target := h.Base + PathAuthorize + "?" + params.Encode()
			http.Redirect(w, r, h.Base+"/login/mfa?return_to="+url.QueryEscape(target), http.StatusFound)
			return
		case essential:
			// access_denied (RFC 6749 §4.1.2.1), as README documents: OIDC Core 1.0 (errata
			// set 2) names no code for this failure; the later OpenID Connect Core Error
			// Code unmet_authentication_requirements 1.0 defines a dedicated one.
			h.redirectError(w, r, req, codeAccessDenied, "a multi-factor login was required and this account has no second factor")
			return
		case !req.HasPrompt("none") && params.Get(paramMFASkip) == "":
			h.secondFactorPage(w, r, params, req, s, u, false)
			return
		}
	}
	// Consent (third-party clients only): asked when none is stored for these scopes or
	// when prompt=consent; prompt=none cannot ask (OIDC Core §3.1.2.6: consent_required).
	switch need, err := h.OAuth.NeedsConsent(ctx, s.UserID, req); {
	case err != nil:
		h.Logger.Error("authorize: consent", "error", err)
		h.redirectError(w, r, req, codeTemporarilyUnavail, "the login service is temporarily unavailable")
		return
	case need && req.HasPrompt("none"):
		h.redirectError(w, r, req, codeConsentRequired, "the user must consent to this application's access")
		return
	case need:
		h.consentPage(w, r, params, req, u)
		return
	}
	// A transaction to approve (approval_data of a pushed request): the approval page, whose
	// answer issues the code (approve.go).
	if len(req.ApprovalData) > 0 {
		if req.HasPrompt("none") {
			h.redirectError(w, r, req, codeInteractionRequired, "the user must approve the transaction")
			return
		}
		h.approvalPage(w, r, params, req, s, u, "", "")
		return
	}
	code, err := h.OAuth.IssueCode(ctx, req, s)
	if err != nil {
		h.Logger.Error("authorize: issue code", "error", err)
		h.redirectError(w, r, req, codeServerError, "the authorization code could not be issued")
		return
	}
	h.redirectTo(w, r, req, url.Values{"code": {code}})
}

// signLoginAfter returns the gh_login_after value for time t: "<t>.<MAC>", so that a client
// cannot add the parameter itself to skip prompt=login or max_age.
func (h *Handler) signLoginAfter(t int64, clientID string) string {
	ts := strconv.FormatInt(t, 10)
	return ts + "." + h.loginAfterMAC(ts, clientID)
}

func (h *Handler) loginAfterMAC(ts, clientID string) string {
	m := hmac.New(sha256.New, h.Keys.DeriveKey("gh_login_after"))
	m.Write([]byte(clientID + "\x00" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// loginAfter returns the time of a valid gh_login_after value, 0 otherwise.
func (h *Handler) loginAfter(v, clientID string) int64 {
	ts, mac, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(h.loginAfterMAC(ts, clientID))) {
		return 0
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || t <= 0 {
		return 0
	}
	return t
}

// loginRedirect returns the login page URL that resumes this authorization request.
func (h *Handler) loginRedirect(params url.Values, req *oauth.AuthRequest) string {
	resume := url.Values{}
	for k, v := range params {
		if k == paramLoginAfter || k == "prompt" || len(v) == 0 {
			continue
		}
		resume.Set(k, v[0])
	}
	if req.HasPrompt("login") {
		var rest []string
		for _, p := range req.Prompt {
			if p != "login" {
				rest = append(rest, p)
			}
		}
		if len(rest) > 0 {
			resume.Set("prompt", strings.Join(rest, " "))
		}
	} else if p := params.Get("prompt"); p != "" {
		resume.Set("prompt", p)
	}
	if req.HasPrompt("login") || req.MaxAge >= 0 {
		resume.Set(paramLoginAfter, h.signLoginAfter(h.Now().Unix(), req.Client.ID))
	}
	target := h.Base + PathAuthorize + "?" + resume.Encode()
	login := url.Values{"return_to": {target}}
	if req.LoginHint != "" {
		login.Set("login_hint", req.LoginHint)
	}
	return h.Base + PathLogin + "?" + login.Encode()
}

// redirectTo sends the authorization response to the validated redirect URI, with state and
// iss (RFC 9207).
func (h *Handler) redirectTo(w http.ResponseWriter, r *http.Request, req *oauth.AuthRequest, extra url.Values) {
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Invalid request", "The registered redirect URI is invalid.", codeInvalidRequest)
		return
	}
	q := u.Query()
	for k, v := range extra {
		q[k] = v
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	q.Set("iss", h.Issuer)
	u.RawQuery = q.Encode()
	// RFC 9126 §4: a request_uri answers once; of two concurrent answers only the one that
	// closes it goes to the client.
	if req.PushedRequestURI != "" {
		if oerr := h.OAuth.ClosePushed(r.Context(), req.PushedRequestURI); oerr != nil {
			e := fromDomain(oerr)
			h.errorPage(w, r, http.StatusBadRequest, "Invalid request", h.T(r, "The application sent an invalid sign-in request: %s. Contact the application's owner.", e.Description), e.Code)
			return
		}
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, req *oauth.AuthRequest, code, desc string) {
	h.redirectTo(w, r, req, url.Values{"error": {code}, "error_description": {cleanDescription(desc)}})
}

// secondFactorData is the second-factor page's data.
type secondFactorData struct {
	// App is the client's name; Email the user's.
	App, Email string
	// CanAdd: the "Add a passkey" button works now (passkeys available, recent login).
	CanAdd bool
	// ReloginURL logs in again (a fresh login is needed to add a passkey) and comes back.
	ReloginURL string
	// AccountURL is the account page, where passkeys are managed.
	AccountURL string
	// ContinueURL resumes the authorization request with a single-factor login ("": not
	// offered, the settings require a second factor).
	ContinueURL string
}

// secondFactorPage answers an authorization request that prefers a multi-factor login
// (acr_values=aal2) for a user who has no second factor: it says so and offers to add one
// (a passkey today) right there, after which a reload resumes the request through the
// step-up, or to continue without one. It is a page and not a redirect, so that a client
// that insists on aal2 (gatehouse_protect's mfa) cannot send the browser round in circles.
// required (the runtime settings require a second factor after the session's method)
// leaves out the way on without one.
func (h *Handler) secondFactorPage(w http.ResponseWriter, r *http.Request, params url.Values, req *oauth.AuthRequest, s store.Session, u store.User, required bool) {
	resume := url.Values{}
	for k, v := range params {
		if len(v) > 0 && k != paramMFASkip {
			resume.Set(k, v[0])
		}
	}
	here := h.Base + PathAuthorize + "?" + resume.Encode()
	resume.Set(paramMFASkip, "1")
	d := secondFactorData{App: req.Client.Name, Email: u.Email, CanAdd: h.MFA.CanAddPasskey(s),
		ReloginURL: h.Base + PathLogin + "?" + url.Values{"return_to": {here}}.Encode(),
		AccountURL: h.Base + "/", ContinueURL: h.Base + PathAuthorize + "?" + resume.Encode()}
	if required {
		d.ContinueURL = ""
	}
	web.SecurityHeaders(w.Header())
	lang := i18n.FromRequest(r, h.Locale)
	if err := h.Templates.Render(w, http.StatusOK, "mfa_setup", ui.Page{Brand: h.Brand, Base: h.Base, Lang: lang,
		Title: i18n.T(lang, "Set up a second factor"), Data: d, Passkeys: h.Passkeys.Enabled()}); err != nil {
		h.Logger.Error("render second-factor page", "error", err)
	}
}

// sanitizeJourney makes a requested journey name safe to echo.
func sanitizeJourney(name string) string {
	if len(name) > 64 {
		name = name[:64]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '?'
	}, name)
}
