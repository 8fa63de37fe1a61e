package journey

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	engine "github.com/gatehouse-dev/gatehouse/journey"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
)

// PathApprovePasskey is the prefix of the approve step's passkey ceremony (<path>/begin,
// <path>/finish; JSON, as the approval page's script calls them).
const PathApprovePasskey = "/journey/approve/passkey"

// approveCeremonyCookie holds the approve step's passkey ceremony secret between begin and
// finish.
const approveCeremonyCookie = "journey_approve"

// approvalData is the data of the approval page (the "approve" template of the built-in
// approval, handlers/oidc): the same page, answering the journey.
type approvalData struct {
	App, Email string
	Tx         approval.Transaction
	// Request names the step and counter (step=...&n=...): the forms post it to /journey,
	// the script to the passkey endpoints.
	Request                       string
	Action, PasskeyAPI            string
	CanPasskey, CanCode, CodeSent bool
	SentTo                        string
}

// stepOf reads the step and counter of an approval page's request value.
func stepOf(request string) (step, counter string) {
	q, err := url.ParseQuery(request)
	if err != nil {
		return "", ""
	}
	return q.Get("step"), q.Get("n")
}

func stepRequest(v engine.View) string {
	return url.Values{"step": {v.Step}, "n": {strconv.Itoa(v.Counter)}}.Encode()
}

// approvalPage shows an approve step: the transaction and the ways to approve it.
func (h *Handler) approvalPage(w http.ResponseWriter, r *http.Request, v engine.View) {
	a := v.Page.Approval
	app := ""
	if a.ClientID != "" {
		if c, err := h.OAuth.Client(r.Context(), a.ClientID); err == nil {
			app = c.Name
		}
	}
	if app == "" {
		app = h.Kit.Brand.ProductName
	}
	d := approvalData{App: app, Email: a.Email, Tx: a.Transaction, Request: stepRequest(v),
		Action: h.Kit.Base + "/journey", PasskeyAPI: h.Kit.Base + PathApprovePasskey,
		CanPasskey: h.Kit.Passkeys.Enabled(), CanCode: a.CanCode, CodeSent: a.CodeSentTo != "", SentTo: a.CodeSentTo}
	errMsg := ""
	if msg := v.Page.Errors[""]; msg != "" {
		errMsg = msg
	}
	w.Header().Set("Cache-Control", "no-store")
	h.Kit.Page(w, r, http.StatusOK, "approve", "Approve this transaction", errMsg, d)
}

// approvePasskeyBegin serves POST /journey/approve/passkey/begin ({"request": "step=&n="}):
// the assertion options, whose challenge carries the transaction's hash.
func (h *Handler) approvePasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Request string `json:"request"`
	}
	if !h.Kit.Decode(w, r, &body) {
		return
	}
	step, counter := stepOf(body.Request)
	n, ok := engine.ParseCounter(counter)
	if !ok {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", h.Kit.T(r, "Your form expired. Go back, reload the page and try again."))
		return
	}
	c, err := h.Engine.BeginApproval(r.Context(), h.secret(r), h.binding(r), step, n)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.Kit.SetShortCookie(w, approveCeremonyCookie, c.Secret, int(passkey.CeremonyTTL.Seconds()))
	web.WriteJSON(w, http.StatusOK, c.Options)
}

// approvePasskeyFinish serves POST /journey/approve/passkey/finish ({"request": ...,
// "credential": ...}): the approve step checks the assertion for exactly its transaction;
// the answer is {"redirect_to": ...}: the client (with a code or access_denied), or the
// journey's page (the next step, or the approval page again with the problem).
func (h *Handler) approvePasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Request    string          `json:"request"`
		Credential json.RawMessage `json:"credential"`
	}
	if !h.Kit.Decode(w, r, &body) {
		return
	}
	step, counter := stepOf(body.Request)
	n, ok := engine.ParseCounter(counter)
	if !ok {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", h.Kit.T(r, "Your form expired. Go back, reload the page and try again."))
		return
	}
	sec := h.Kit.ShortCookie(r, approveCeremonyCookie)
	h.Kit.SetShortCookie(w, approveCeremonyCookie, "", -1)
	f := url.Values{"decision": {engine.DecisionPasskey}, "ceremony": {sec}, "credential": {string(body.Credential)}}
	v, err := h.Engine.Answer(r.Context(), h.secret(r), h.binding(r), step, n, engine.Input{Form: f}, nil, h.device(r))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if v.Kind == engine.Prompt {
		// The next step's page, or this one again with its error: the page shows it.
		web.WriteJSON(w, http.StatusOK, map[string]string{"redirect_to": h.Kit.Base + "/journey"})
		return
	}
	// The end: the response show gives (cookies and the redirect), as JSON.
	rec := &redirectRecorder{header: http.Header{}}
	h.show(rec, r, v)
	for _, c := range rec.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	loc := rec.header.Get("Location")
	if loc == "" {
		web.WriteAPIError(w, http.StatusBadRequest, "journey_ended", h.Kit.T(r, "This journey has ended, expired or was started in another browser. Start again from the application."))
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"redirect_to": loc})
}

// apiFail answers an engine error of a JSON endpoint.
func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	k := h.Kit
	switch {
	case errors.Is(err, engine.ErrNoJourney):
		h.SetCookieGone(w)
		web.WriteAPIError(w, http.StatusBadRequest, "journey_ended", k.T(r, "This journey has ended, expired or was started in another browser. Start again from the application."))
	case errors.Is(err, engine.ErrStale):
		web.WriteAPIError(w, http.StatusConflict, "journey_stale", k.T(r, "This page is not the current step of your journey. Continue where you are."))
	case errors.Is(err, passkey.ErrPasskeysDisabled), errors.Is(err, passkey.ErrNoPasskey):
		k.PasskeyError(w, r, err)
	default:
		h.SetCookieGone(w)
		k.LogFailure("journey approval", err)
		web.WriteAPIError(w, http.StatusInternalServerError, "server_error", i18n.T(k.Lang(r), "Something went wrong on our side. Try again in a moment."))
	}
}

// redirectRecorder captures the headers and status of a response (the JSON endpoints answer
// its redirect).
type redirectRecorder struct {
	header http.Header
	status int
}

func (r *redirectRecorder) Header() http.Header         { return r.header }
func (r *redirectRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *redirectRecorder) WriteHeader(status int)      { r.status = status }
