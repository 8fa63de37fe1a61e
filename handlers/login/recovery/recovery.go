// Package recovery serves account recovery by a code sent to the account's email address or
// verified phone number: the pages (GET and POST /recover, POST /recover/verify) and the
// JSON API (POST /api/v1/recovery/{start,verify}). The right code starts a new session
// (every other one has ended) and leads to the page where the user sets a new password or
// adds a passkey (handlers/account).
package recovery

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/recovery"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Recovery is account recovery (*recovery.Method).
type Recovery interface {
	Begin(ctx context.Context, identifier, lang, clientIP string) (string, error)
	Finish(ctx context.Context, flow, code, clientIP string) (authn.Result, error)
	// Destination is where a live recovery flow's code went (otp.ErrCodeExpired if none).
	Destination(ctx context.Context, flow string) (string, error)
}

// Handler serves account recovery. Every field is required.
type Handler struct {
	*portalkit.Kit
	Recovery Recovery
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/recover", h.startPage)
	h.HandleChange(mux, "POST", "/recover", h.startForm)
	h.HandleChange(mux, "POST", "/recover/verify", h.verifyForm)
	h.Handle(mux, "GET", recovery.CodePath, h.codePage)
	h.HandleChange(mux, "POST", "/api/v1/recovery/start", h.apiStart)
	h.HandleChange(mux, "POST", "/api/v1/recovery/verify", h.apiVerify)
}

// apiStart: POST /api/v1/recovery/start {identifier}.
func (h *Handler) apiStart(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeStartRequest
	if !h.Decode(w, r, &req) {
		return
	}
	id := cmp.Or(req.Identifier, req.Email, req.PhoneNumber)
	flow, err := h.Recovery.Begin(r.Context(), id, h.Lang(r), h.ClientIP(r))
	h.FlowStarted(w, r, flow, err)
}

// apiVerify: POST /api/v1/recovery/verify {code, return_to}. A new session starts (every
// other one has ended); redirect_to is the page where the user sets a new password or adds
// a passkey.
func (h *Handler) apiVerify(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeVerifyRequest
	if !h.Decode(w, r, &req) {
		return
	}
	next, u, err := h.recover(w, r, "", req.Code, req.ReturnTo)
	if err != nil {
		h.APICodeError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, portalkit.AuthResult{User: portalkit.ToUserJSON(u), RedirectTo: next})
}

// recover checks code for flow, or when flow is "" for the flow of the flow cookie, and
// starts the new session.
func (h *Handler) recover(w http.ResponseWriter, r *http.Request, flow, code, target string) (string, store.User, error) {
	fromCookie := flow == ""
	if fromCookie {
		flow = h.ShortCookie(r, portalkit.FlowCookie)
	}
	res, err := h.Recovery.Finish(r.Context(), flow, code, h.ClientIP(r))
	u := res.User
	if err != nil {
		return "", u, err
	}
	if fromCookie {
		h.SetShortCookie(w, portalkit.FlowCookie, "", -1)
	}
	if err := h.StartSession(w, r, u, res.AMR, false, ""); err != nil {
		return "", u, err
	}
	next := h.Base + "/account/password?recovered=1"
	if t := portalkit.ReturnTo(target); t != "" {
		next += "&return_to=" + url.QueryEscape(t)
	}
	return next, u, nil
}

func (h *Handler) startData(target string) portalkit.CodeStartData {
	field, intro := "email", "Enter the email address of your account. We'll send it a code; then you can set a new password or add a passkey."
	if h.Channels.CanSMS() {
		field = "identifier"
		intro = "Enter the email address or verified phone number of your account. We'll send it a code; then you can set a new password or add a passkey."
		if !h.Channels.CanEmail() {
			field, intro = "phone_number", "Enter the verified phone number of your account. We'll text it a code; then you can set a new password or add a passkey."
		}
	}
	return portalkit.CodeStartData{Title: "Recover your account", Intro: intro, Action: h.Base + "/recover", Field: field,
		ReturnTo: target, Button: "Send me a code"}
}

// GET /recover.
func (h *Handler) startPage(w http.ResponseWriter, r *http.Request) {
	if !h.Methods().Recovery {
		h.Page(w, r, http.StatusOK, "error", "Recover your account", "", h.noRecovery(r, portalkit.ReturnTo(r.URL.Query().Get("return_to"))))
		return
	}
	h.CodeStartPage(w, r, http.StatusOK, h.startData(portalkit.ReturnTo(r.URL.Query().Get("return_to"))), "")
}

// POST /recover.
func (h *Handler) startForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	id := cmp.Or(f.Get("identifier"), f.Get("email"), f.Get("phone_number"))
	flow, err := h.Recovery.Begin(r.Context(), id, h.Lang(r), h.ClientIP(r))
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		d := h.startData(target)
		d.Value = id
		h.CodeStartPage(w, r, status, d, msg)
		return
	}
	h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
	h.CodeVerifyPage(w, r, http.StatusOK, portalkit.CodeVerifyData{Title: "Enter your code",
		Intro:  h.T(r, "If an account exists for what you entered, we sent it a 6-digit code. It works for %s, in this browser only.", h.Minutes(r, h.Channels.CodeTTL())),
		Action: h.Base + "/recover/verify", ReturnTo: target, Resend: portalkit.ResendURL(h.Base+"/recover", target)}, "")
}

// GET /recover/code[?flow=...]: the page of the link of a recovery code an administrator
// issued. It sets no cookie: a GET that any site can send (a link, an image) must not
// replace the flow of a recovery in progress, nor put someone else's flow in this browser
// (login CSRF: the victim would recover, and set a password on, the attacker's account).
// The flow goes in a hidden field of the code form, which POST /recover/verify prefers to
// the flow cookie, and the page names the account the code recovers by its masked address,
// so the person sees whose account it is before entering anything. Opening the link uses
// nothing up (a link scanner that fetches it changes nothing): only the code, entered on
// the page, recovers the account. Without flow the page asks for the code of the flow
// cookie's flow.
func (h *Handler) codePage(w http.ResponseWriter, r *http.Request) {
	flow := r.URL.Query().Get("flow")
	if flow == "" {
		h.CodeVerifyPage(w, r, http.StatusOK, portalkit.CodeVerifyData{Title: "Enter your code",
			Intro:  h.T(r, "Enter the 6-digit recovery code your administrator gave you. Then you can set a new password or add a passkey."),
			Action: h.Base + "/recover/verify", Resend: portalkit.ResendURL(h.Base+"/recover", "")}, "")
		return
	}
	dest, err := h.Recovery.Destination(r.Context(), flow)
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		h.CodeStartPage(w, r, status, h.startData(""), msg)
		return
	}
	h.CodeVerifyPage(w, r, http.StatusOK, portalkit.CodeVerifyData{Title: "Enter your code",
		Intro:  h.T(r, "Enter the 6-digit recovery code your administrator gave you for the account of %s. Then you can set a new password or add a passkey.", maskDestination(dest)),
		Action: h.Base + "/recover/verify", Flow: flow, Resend: portalkit.ResendURL(h.Base+"/recover", "")}, "")
}

// maskDestination shows enough of an email address (its first character and its domain)
// or phone number (its last 4 digits) for its owner to recognise it, and little more.
func maskDestination(dest string) string {
	if local, domain, ok := strings.Cut(dest, "@"); ok {
		first, _ := utf8.DecodeRuneInString(local)
		return string(first) + "***@" + domain
	}
	if len(dest) <= 4 {
		return "***"
	}
	return "***" + dest[len(dest)-4:]
}

// POST /recover/verify.
func (h *Handler) verifyForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	// The flow of a recovery link's page (its hidden field), else the flow cookie's.
	flow := f.Get("flow")
	next, _, err := h.recover(w, r, flow, f.Get("code"), target)
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		h.CodeVerifyPage(w, r, status, portalkit.CodeVerifyData{Title: "Enter your code", Action: h.Base + "/recover/verify",
			ReturnTo: target, Flow: flow, Resend: portalkit.ResendURL(h.Base+"/recover", target)}, msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// noRecovery is the recovery page of a server that can send neither email nor text messages:
// no code can be sent, so it says how to get back in instead — a social login whose
// provider confirms the account's address (it takes back an account someone else
// registered with that address), or an administrator, who can set a new password — and
// links back to the login page.
func (h *Handler) noRecovery(r *http.Request, target string) portalkit.ErrorData {
	msg := h.T(r, "This server cannot send email or text messages, so it cannot send you a recovery code.")
	if bs := h.SocialButtons(); len(bs) > 0 {
		names := bs[0].Label
		for i, b := range bs[1:] {
			if i == len(bs)-2 {
				names = h.T(r, "%s or %s", names, b.Label)
			} else {
				names += ", " + b.Label
			}
		}
		msg += " " + h.T(r, "If %s knows your email address, log in with it on the login page: it proves the address is yours and gets you into your account.", names)
	}
	msg += " " + h.T(r, "Otherwise ask your administrator to set a new password for your account.")
	return portalkit.ErrorData{Message: msg, Link: h.LoginURL(target), LinkText: h.T(r, "Back to the login page")}
}
