// Package journey serves the hosted pages of journeys (package journey is the engine): the
// self-service start (/journeys/<name>), the current step's page (GET /journey), the
// answers (POST /journey, CSRF-checked, naming the step and counter), the return from the
// hosted login of an authenticate step (GET /journey/login), and the journeys that answer an
// authorization request (StartAuthorization, called by handlers/oidc): at the end the
// browser goes back to the client with a code (oauth.IssueJourneyCode) or an error.
//
// The journey cookie holds a random secret (the state's ID is its hash); it is host-only
// (__Host- on https), HttpOnly, SameSite=Lax, and lives as long as the journey. The state is
// also bound to the browser's CSRF cookie.
package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	engine "github.com/gatehouse-dev/gatehouse/journey"
	"github.com/gatehouse-dev/gatehouse/journey/device"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// Cookie is the journey cookie's base name (web.CookieName adds the prefix).
const Cookie = "journey"

// OAuth is the authorization server as the journeys' end uses it (*oauth.Server).
type OAuth interface {
	Client(ctx context.Context, id string) (*oauth.Client, error)
	IssueJourneyCode(ctx context.Context, req *oauth.AuthRequest, res oauth.JourneyResult) (string, error)
}

// Handler serves the journey pages. Every field is required.
type Handler struct {
	Kit    *portalkit.Kit
	Engine *engine.Engine
	OAuth  OAuth
	// Issuer is the iss parameter of authorization responses (RFC 9207).
	Issuer string
	// ApprovalOTP: every client's transactions may be approved with a code (the app's
	// approval { allow otp }); a client's own setting adds to it.
	ApprovalOTP bool
}

// origin is what a journey started by an authorization request needs at its end: the
// validated request as it was (pushed parameters and approval data included; a pushed
// request's request_uri is single-use and cannot be resolved again), without its client,
// which is loaded again by ID at the end.
type origin struct {
	ClientID string             `json:"client_id,omitempty"`
	Request  *oauth.AuthRequest `json:"request,omitempty"`
}

// request rebuilds the authorization request of a journey's origin: nil, false when the
// journey has none; an error when the client or its redirect URI is gone meanwhile.
func (h *Handler) request(ctx context.Context, raw json.RawMessage) (*oauth.AuthRequest, bool, error) {
	var o origin
	if len(raw) == 0 {
		return nil, false, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, false, fmt.Errorf("journey origin: %w", err)
	}
	if o.Request == nil {
		return nil, false, nil
	}
	c, err := h.OAuth.Client(ctx, o.ClientID)
	if err != nil {
		return nil, true, fmt.Errorf("journey client %q: %w", o.ClientID, err)
	}
	if !c.HasRedirectURI(o.Request.RedirectURI) {
		return nil, true, fmt.Errorf("journey client %q: the redirect URI is no longer registered", o.ClientID)
	}
	o.Request.Client = c
	if string(o.Request.ApprovalData) == "null" {
		o.Request.ApprovalData = nil
	}
	return o.Request, true, nil
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	k := h.Kit
	k.Handle(mux, http.MethodGet, "/journeys/{name}", h.startSelfService)
	k.Handle(mux, http.MethodGet, "/journey", h.current)
	k.HandleChange(mux, http.MethodPost, "/journey", h.answer)
	k.Handle(mux, http.MethodGet, "/journey/login", h.afterLogin)
	k.HandleChange(mux, http.MethodPost, PathApprovePasskey+"/begin", h.approvePasskeyBegin)
	k.HandleChange(mux, http.MethodPost, PathApprovePasskey+"/finish", h.approvePasskeyFinish)
}

// Has reports whether a journey of this name is configured (handlers/oidc.Journeys).
func (h *Handler) Has(name string) bool {
	_, ok := h.Engine.Journey(name)
	return ok
}

// StartAuthorization begins journey name for an authorization request
// (handlers/oidc.Journeys).
func (h *Handler) StartAuthorization(w http.ResponseWriter, r *http.Request, name string, req *oauth.AuthRequest, _ oauth.AuthParams) {
	saved := *req
	saved.Client = nil
	raw, err := json.Marshal(origin{ClientID: req.Client.ID, Request: &saved})
	if err != nil {
		h.Kit.Logger.Error("journey: encode origin", "error", err)
		h.Kit.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 && len(query) < 64 && len(v[0]) <= 1024 {
			query[k] = v[0]
		}
	}
	er := engine.Request{ClientID: req.Client.ID, Scopes: req.Scopes, ACRValues: req.ACRValues, Query: query,
		ApprovalOTP: h.ApprovalOTP || req.Client.ApprovalOTP}
	if len(req.ApprovalData) > 0 {
		// oauth.Authorize accepts approval_data only in a pushed request: the transaction
		// the approve step shows and the code carries.
		er.Transaction = req.ApprovalData
	}
	if req.Pushed {
		er.Pushed = map[string]string{}
		for k, v := range req.PushedParams {
			if len(v) > 0 {
				er.Pushed[k] = v[0]
			}
		}
	}
	h.start(w, r, name, er, raw, "")
}

// startSelfService serves GET /journeys/{name}: a journey of the portal itself (no client);
// it ends at its complete step's return_to, the return_to parameter (a local path) or the
// account page.
func (h *Handler) startSelfService(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !h.Has(name) {
		h.Kit.Fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.", "not_found")
		return
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 && len(query) < 64 && len(v[0]) <= 1024 {
			query[k] = v[0]
		}
	}
	h.start(w, r, name, engine.Request{Query: query}, nil, portalkit.ReturnTo(r.URL.Query().Get("return_to")))
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request, name string, req engine.Request, raw json.RawMessage, returnTo string) {
	web.SecurityHeaders(w.Header())
	h.Kit.CSRF.Token(w, r) // the binding cookie exists from here on
	sec, v, err := h.Engine.Start(r.Context(), name, h.binding(r), req, raw, returnTo, h.device(r))
	if sec != "" {
		h.Kit.SetShortCookie(w, Cookie, sec, int(engine.DefaultLifetime.Seconds()))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.show(w, r, v)
}

// current serves GET /journey: the current step again (a reload, or the way back from an
// out-of-date page).
func (h *Handler) current(w http.ResponseWriter, r *http.Request) {
	v, err := h.Engine.Current(r.Context(), h.secret(r), h.binding(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Page != nil && v.Page.HostedLogin && len(v.Page.Errors) == 0 {
		h.toLogin(w, r, v)
		return
	}
	h.show(w, r, v)
}

// answer serves POST /journey: the answer to the current step's form.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Kit.Form(w, r)
	if !ok {
		return
	}
	step, counter := f.Get("step"), f.Get("counter")
	if f.Has("request") {
		// The approve step's page (the approval template) names the step as request.
		step, counter = stepOf(f.Get("request"))
	}
	n, ok := engine.ParseCounter(counter)
	if !ok {
		h.Kit.Fail(w, r, http.StatusBadRequest, "Bad request", "Your form expired. Go back, reload the page and try again.", "invalid_request")
		return
	}
	// A passkey ceremony's secret comes from its cookie only, never from the form.
	f.Del("ceremony")
	f.Del("credential")
	v, err := h.Engine.Answer(r.Context(), h.secret(r), h.binding(r), step, n, engine.Input{Form: f}, nil, h.device(r))
	h.after(w, r, v, err)
}

// afterLogin serves GET /journey/login?step=&n=: the hosted login came back; the
// authenticate step checks the browser's session.
func (h *Handler) afterLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, ok := engine.ParseCounter(q.Get("n"))
	if !ok {
		h.Kit.Fail(w, r, http.StatusBadRequest, "Bad request", "Your form expired. Go back, reload the page and try again.", "invalid_request")
		return
	}
	var current *engine.Login
	s, _, err := h.Kit.Sessions.Get(r.Context(), h.Kit.Cookie.Secret(r))
	switch {
	case err == nil:
		current = &engine.Login{SessionID: s.ID, UserID: s.UserID, AuthTime: s.AuthTime, AMR: s.AMR, ACR: s.ACR}
	case !errors.Is(err, sessions.ErrNoSession):
		h.Kit.Logger.Error("journey: read session", "error", err)
		h.Kit.Fail(w, r, http.StatusServiceUnavailable, "Unavailable", "The login service is temporarily unavailable. Try again in a moment.", "temporarily_unavailable")
		return
	}
	v, err := h.Engine.Answer(r.Context(), h.secret(r), h.binding(r), q.Get("step"), n, engine.Input{}, current, h.device(r))
	h.after(w, r, v, err)
}

func (h *Handler) after(w http.ResponseWriter, r *http.Request, v engine.View, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.show(w, r, v)
}

// show answers a view: the step's page, the hosted login, or the end.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, v engine.View) {
	switch v.Kind {
	case engine.Complete:
		h.SetCookieGone(w)
		if v.State != nil {
			h.rememberDevice(w, r, v.State)
		}
		h.complete(w, r, v)
		return
	case engine.Deny:
		h.SetCookieGone(w)
		h.deny(w, r, v)
		return
	}
	if v.Page == nil {
		h.fail(w, r, errors.New("journey: a prompt without a page"))
		return
	}
	if v.Page.HostedLogin && len(v.Page.Errors) == 0 {
		h.toLogin(w, r, v)
		return
	}
	if v.Page.Approval != nil {
		h.approvalPage(w, r, v)
		return
	}
	h.Kit.Page(w, r, http.StatusOK, "journey", "Continue", "", h.pageData(r, v))
}

// SetCookieGone deletes the journey cookie.
func (h *Handler) SetCookieGone(w http.ResponseWriter) { h.Kit.SetShortCookie(w, Cookie, "", -1) }

// toLogin sends the browser to the hosted login, to come back to /journey/login.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request, v engine.View) {
	http.Redirect(w, r, h.loginURL(v), http.StatusSeeOther)
}

func (h *Handler) loginURL(v engine.View) string {
	back := h.Kit.Base + "/journey/login?" + url.Values{"step": {v.Step}, "n": {strconv.Itoa(v.Counter)}}.Encode()
	q := url.Values{"return_to": {back}}
	if v.Page.LoginHint != "" {
		q.Set("login_hint", v.Page.LoginHint)
	}
	return h.Kit.Base + "/login?" + q.Encode()
}

// pageData is the data of the journey page template.
type pageData struct {
	Step      string
	Counter   int
	Fields    []fieldData
	FormError string
	// LoginURL is set on an authenticate step whose login did not satisfy it.
	LoginURL string
	// Message is the step's explanation (where a code was sent, what to do elsewhere).
	Message string
	// Redirect is a portal page the step needs the user to visit (register_passkey).
	Redirect string
}

type fieldData struct {
	engine.Field
	InputType string
	Error     string
}

func (h *Handler) pageData(r *http.Request, v engine.View) pageData {
	d := pageData{Step: v.Step, Counter: v.Counter}
	if msg := v.Page.Errors[""]; msg != "" {
		d.FormError = h.Kit.T(r, msg)
	}
	if v.Page.HostedLogin {
		d.LoginURL = h.loginURL(v)
	}
	if v.Page.Message != "" {
		d.Message = h.Kit.T(r, v.Page.Message)
	}
	if v.Page.Redirect != "" {
		d.Redirect = h.Kit.Base + v.Page.Redirect
	}
	for _, f := range v.Page.Form {
		it := f.Type
		switch it {
		case "phone":
			it = "tel"
		case "date", "email", "tel", "text":
		default:
			it = "text"
		}
		fd := fieldData{Field: f, InputType: it}
		if msg := v.Page.Errors[f.Name]; msg != "" {
			fd.Error = h.Kit.T(r, msg)
		}
		d.Fields = append(d.Fields, fd)
	}
	return d
}

// complete ends a journey: a code to the client, or the return_to.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, v engine.View) {
	st := v.State
	ctx := r.Context()
	req, fromClient, err := h.request(ctx, st.Origin)
	switch {
	case err != nil:
		// The client changed since the journey began (removed, redirect URI dropped).
		h.Kit.Logger.Warn("journey: the client's request is no longer valid", "journey", st.Journey, "error", err)
		h.Kit.Fail(w, r, http.StatusBadRequest, "Invalid request", "The application's sign-in request is no longer valid. Go back to the application and start again.", "invalid_request")
		return
	case !fromClient:
		target := v.ReturnTo
		if target == "" {
			target = st.ReturnTo
		}
		http.Redirect(w, r, h.Kit.AfterLogin(target), http.StatusSeeOther)
		return
	}
	// What the request demands of the authentication, the journey must have done (OIDC Core
	// §5.5.1 and §5.5.1.1: a specific sub, an essential acr; §3.1.2.1 max_age needs an
	// auth_time, which only an authenticate step gives).
	if sub, ok := req.RequestedSubject(); ok && sub != st.UserID {
		h.redirect(w, r, req, url.Values{"error": {"login_required"}, "error_description": {"the journey authenticated another user than the one requested"}})
		return
	}
	if _, essential := req.WantsMultiFactor(); (essential && st.ACR != login.ACRMultiFactor) || req.UnsatisfiableACR(login.ACRSingleFactor, login.ACRMultiFactor) {
		h.redirect(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"the requested authentication context (acr) was not satisfied by the journey"}})
		return
	}
	if req.MaxAge >= 0 && st.AuthTime.IsZero() {
		h.redirect(w, r, req, url.Values{"error": {"login_required"}, "error_description": {"max_age needs a journey with an authenticate step"}})
		return
	}
	res := oauth.JourneyResult{UserID: st.UserID, SessionID: st.SessionID,
		AuthTime: st.AuthTime, AMR: st.AMR, ACR: st.ACR, NewUser: st.NewUser}
	if st.ApprovedBy != "" && bytes.Equal(st.ApprovedTransaction, req.ApprovalData) {
		res.ApprovedBy = st.ApprovedBy
	}
	code, err := h.OAuth.IssueJourneyCode(ctx, req, res)
	if errors.Is(err, oauth.ErrApprovalPending) {
		// A request with a transaction, answered by a journey that did not approve it.
		h.redirect(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"the transaction was not approved (the journey has no approve step)"}})
		return
	}
	if errors.Is(err, oauth.ErrSecondFactorRequired) {
		// The settings now require a second factor after the login method the journey's
		// login used (login.mfa.<method>: required), as /authorize does for a session.
		h.redirect(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"a second factor is now required after this login method: the journey must authenticate with one"}})
		return
	}
	if err != nil {
		h.Kit.Logger.Error("journey: issue code", "journey", st.Journey, "error", err)
		h.redirect(w, r, req, url.Values{"error": {"server_error"}, "error_description": {"the authorization code could not be issued"}})
		return
	}
	out := url.Values{"code": {code}}
	if st.ContextHandle != "" {
		// save_context's handle: the client may push it to another journey's
		// restore_context (bound to this client, single use, short-lived).
		out.Set("journey_context", st.ContextHandle)
	}
	h.redirect(w, r, req, out)
}

// deny ends a journey with its message: access_denied to the client (the message as
// error_description), or a page.
func (h *Handler) deny(w http.ResponseWriter, r *http.Request, v engine.View) {
	if v.State != nil {
		if req, ok, err := h.request(r.Context(), v.State.Origin); ok && err == nil {
			h.redirect(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {asciiDescription(v.Message)}})
			return
		}
	}
	h.Kit.Page(w, r, http.StatusForbidden, "error", "Access denied", "",
		portalkit.ErrorData{Message: v.Message, Code: "access_denied"})
}

// asciiDescription keeps an error_description within RFC 6749's character set (%x20-21 /
// %x23-5B / %x5D-7E) and short.
func asciiDescription(s string) string {
	out := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
	if len(out) > 200 {
		out = out[:200]
	}
	return out
}

// redirect sends the authorization response to the validated redirect URI with state and
// iss (RFC 9207).
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, req *oauth.AuthRequest, extra url.Values) {
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		h.Kit.Fail(w, r, http.StatusBadRequest, "Invalid request", "The registered redirect URI is invalid.", "invalid_request")
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
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// fail answers an engine error with a page (and a log line for the unexpected ones).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	k := h.Kit
	switch {
	case errors.Is(err, engine.ErrNoJourney):
		h.SetCookieGone(w)
		k.Fail(w, r, http.StatusBadRequest, "Journey ended", "This journey has ended, expired or was started in another browser. Start again from the application.", "journey_ended")
	case errors.Is(err, engine.ErrStale):
		k.Page(w, r, http.StatusConflict, "error", "Page out of date", "", portalkit.ErrorData{
			Message: k.T(r, "This page is not the current step of your journey. Continue where you are."), Code: "journey_stale",
			Link: k.Base + "/journey", LinkText: k.T(r, "Continue")})
	case errors.Is(err, engine.ErrExpression), errors.Is(err, engine.ErrTooManySteps), errors.Is(err, engine.ErrNotAuthenticated):
		h.SetCookieGone(w)
		k.Logger.Warn("journey stopped", "error", err)
		k.Fail(w, r, http.StatusInternalServerError, "Journey stopped", "This journey stopped because of a problem in its configuration. The administrator was told.", "journey_error")
	default:
		h.SetCookieGone(w)
		k.Logger.Error("journey", "error", err)
		k.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
	}
}

func (h *Handler) secret(r *http.Request) string { return h.Kit.ShortCookie(r, Cookie) }

// binding is the browser's CSRF cookie, to which the journey's state is bound.
func (h *Handler) binding(r *http.Request) string {
	c, err := r.Cookie(h.Kit.CSRF.CookieName)
	if err != nil || len(c.Value) < 32 {
		return ""
	}
	return c.Value
}

func (h *Handler) device(r *http.Request) engine.Device {
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return engine.Device{UserAgent: strings.ToValidUTF8(ua, ""), Cookie: h.Kit.ShortCookie(r, device.CookieName),
		ClientIP: h.Kit.ClientIP(r)}
}

// rememberDevice sets the known-device cookie (journey/device) at the successful end of a
// journey that ran known_device and authenticated its user; the browser keeps its device ID.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, st *engine.State) {
	k := h.Engine.Devices
	uid, ok := st.DeviceToRemember()
	if k == nil || !ok {
		return
	}
	now := h.Engine.Now()
	v, err := k.Issue(uid, k.DeviceID(h.Kit.ShortCookie(r, device.CookieName), now), now)
	if err != nil {
		h.Kit.Logger.Error("journey: remember device", "error", err)
		return
	}
	life := k.Lifetime
	if life <= 0 {
		life = device.DefaultLifetime
	}
	h.Kit.SetShortCookie(w, device.CookieName, v, int(life.Seconds()))
}
