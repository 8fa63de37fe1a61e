// Package codes serves login by a one-time code sent by email or text message: the pages
// (GET and POST /login/code?channel=email|sms, POST /login/code/verify) and the JSON API
// (POST /api/v1/login/{email-code,sms-code}/start, POST /api/v1/login/code/verify). A code
// works only in the browser that asked for it (the flow cookie, CR-11), and the answer to a
// request for a code is the same whether or not the address has an account (CR-06).
package codes

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
)

// Sender begins a login by code: email (*emailcode.Method) or SMS (*smscode.Method).
type Sender interface {
	Begin(ctx context.Context, to, lang, clientIP string) (string, error)
}

// Login finishes a login by code of either channel (*otp.LoginCodes).
type Login interface {
	Finish(ctx context.Context, flow, code, clientIP string) (authn.Result, error)
}

// Handler serves login by email or SMS code. Every field is required.
type Handler struct {
	*portalkit.Kit
	Email Sender
	SMS   Sender
	Login Login
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/login/code", h.startPage)
	h.HandleChange(mux, "POST", "/login/code", h.startForm)
	h.HandleChange(mux, "POST", "/login/code/verify", h.verifyForm)
	h.HandleChange(mux, "POST", "/api/v1/login/email-code/start", h.apiEmailStart)
	h.HandleChange(mux, "POST", "/api/v1/login/sms-code/start", h.apiSMSStart)
	h.HandleChange(mux, "POST", "/api/v1/login/code/verify", h.apiVerify)
}

// apiEmailStart: POST /api/v1/login/email-code/start {email}.
func (h *Handler) apiEmailStart(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeStartRequest
	if !h.Decode(w, r, &req) {
		return
	}
	flow, err := h.Email.Begin(r.Context(), req.Email, h.Lang(r), h.ClientIP(r))
	h.FlowStarted(w, r, flow, err)
}

// apiSMSStart: POST /api/v1/login/sms-code/start {phone_number}.
func (h *Handler) apiSMSStart(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeStartRequest
	if !h.Decode(w, r, &req) {
		return
	}
	flow, err := h.SMS.Begin(r.Context(), req.PhoneNumber, h.Lang(r), h.ClientIP(r))
	h.FlowStarted(w, r, flow, err)
}

// apiVerify: POST /api/v1/login/code/verify {code, return_to}.
func (h *Handler) apiVerify(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeVerifyRequest
	if !h.Decode(w, r, &req) {
		return
	}
	res, err := h.Login.Finish(r.Context(), h.ShortCookie(r, portalkit.FlowCookie), req.Code, h.ClientIP(r))
	h.FinishLogin(w, r, res.User, res.AMR, req.ReturnTo, err)
}

func (h *Handler) startData(channel, target string) portalkit.CodeStartData {
	if channel == "sms" {
		return portalkit.CodeStartData{Title: "Log in with a text message", Intro: "We'll text a 6-digit code to the verified phone number of your account.",
			Action: h.Base + "/login/code?channel=sms", Field: "phone_number", ReturnTo: target, Button: "Text me a code"}
	}
	return portalkit.CodeStartData{Title: "Log in with an email code", Intro: "We'll email a 6-digit code to the address of your account.",
		Action: h.Base + "/login/code?channel=email", Field: "email", ReturnTo: target, Button: "Email me a code"}
}

func (h *Handler) verifyData(r *http.Request, channel, target string) portalkit.CodeVerifyData {
	intro := h.T(r, "If an account exists for what you entered, we sent it a 6-digit code by email. It works for %s, in this browser only.", h.Minutes(r, h.Channels.CodeTTL()))
	if channel == "sms" {
		intro = h.T(r, "If an account exists for what you entered, we sent it a 6-digit code by text message. It works for %s, in this browser only.", h.Minutes(r, h.Channels.CodeTTL()))
	}
	return portalkit.CodeVerifyData{Title: "Enter your code", Intro: intro,
		Action: h.Base + "/login/code/verify?channel=" + channel, ReturnTo: target, Resend: portalkit.ResendURL(h.Base+"/login/code?channel="+channel, target)}
}

func channelOf(r *http.Request) string {
	if r.URL.Query().Get("channel") == "sms" {
		return "sms"
	}
	return "email"
}

func channelMethod(channel string) string {
	if channel == "sms" {
		return otp.MethodSMSCode
	}
	return otp.MethodEmailCode
}

// GET /login/code?channel=email|sms.
func (h *Handler) startPage(w http.ResponseWriter, r *http.Request) {
	ch := channelOf(r)
	if !h.Channels.MethodEnabled(channelMethod(ch)) {
		h.Fail(w, r, http.StatusNotFound, "Not available", portalkit.Capitalize(otp.ErrMethodDisabled.Error())+".", "method_disabled")
		return
	}
	d := h.startData(ch, portalkit.ReturnTo(r.URL.Query().Get("return_to")))
	d.Value = r.URL.Query().Get("login_hint")
	if len(d.Value) > 254 {
		d.Value = ""
	}
	h.CodeStartPage(w, r, http.StatusOK, d, "")
}

// POST /login/code?channel=email|sms: send the code, then ask for it.
func (h *Handler) startForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	ch, target := channelOf(r), portalkit.ReturnTo(f.Get("return_to"))
	var flow string
	var err error
	if ch == "sms" {
		flow, err = h.SMS.Begin(r.Context(), f.Get("phone_number"), h.Lang(r), h.ClientIP(r))
	} else {
		flow, err = h.Email.Begin(r.Context(), f.Get("email"), h.Lang(r), h.ClientIP(r))
	}
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		d := h.startData(ch, target)
		d.Value = f.Get(d.Field)
		h.CodeStartPage(w, r, status, d, msg)
		return
	}
	h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
	h.CodeVerifyPage(w, r, http.StatusOK, h.verifyData(r, ch, target), "")
}

// POST /login/code/verify.
func (h *Handler) verifyForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	res, err := h.Login.Finish(r.Context(), h.ShortCookie(r, portalkit.FlowCookie), f.Get("code"), h.ClientIP(r))
	var next string
	if err == nil {
		h.SetShortCookie(w, portalkit.FlowCookie, "", -1)
		next, err = h.AfterFirstFactor(w, r, res.User, res.AMR, target)
	}
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		d := h.verifyData(r, channelOf(r), target)
		d.Intro = ""
		h.CodeVerifyPage(w, r, status, d, msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
