package account

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Verifying the account's email address, a new address or a phone number by a code. Changing
// the address or adding a phone number needs a fresh login (CR-19); verifying the current
// address does not (account.Verification applies the rule).

// apiEmailStart: POST /api/v1/account/email/start {email}: verify the account's address
// (email empty) or a new one.
func (h *Handler) apiEmailStart(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req portalkit.CodeStartRequest
	if !h.Decode(w, r, &req) {
		return
	}
	flow, err := h.Verification.StartEmail(r.Context(), s, u, req.Email, h.Lang(r), h.ClientIP(r))
	h.FlowStarted(w, r, flow, err)
}

// apiEmailVerify: POST /api/v1/account/email/verify {code}.
func (h *Handler) apiEmailVerify(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req portalkit.CodeVerifyRequest
	if !h.Decode(w, r, &req) {
		return
	}
	nu, err := h.Verification.FinishEmail(r.Context(), u, h.ShortCookie(r, portalkit.FlowCookie), req.Code, h.ClientIP(r))
	h.verified(w, r, nu, err)
}

// apiPhoneStart: POST /api/v1/account/phone/start {phone_number} (a fresh login, CR-19).
func (h *Handler) apiPhoneStart(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req portalkit.CodeStartRequest
	if !h.Decode(w, r, &req) {
		return
	}
	flow, err := h.Verification.StartPhone(r.Context(), s, u, req.PhoneNumber, h.Lang(r), h.ClientIP(r))
	h.FlowStarted(w, r, flow, err)
}

// apiPhoneVerify: POST /api/v1/account/phone/verify {code}.
func (h *Handler) apiPhoneVerify(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req portalkit.CodeVerifyRequest
	if !h.Decode(w, r, &req) {
		return
	}
	nu, err := h.Verification.FinishPhone(r.Context(), u, h.ShortCookie(r, portalkit.FlowCookie), req.Code, h.ClientIP(r))
	h.verified(w, r, nu, err)
}

func (h *Handler) verified(w http.ResponseWriter, r *http.Request, u store.User, err error) {
	if err != nil {
		h.APICodeError(w, r, err)
		return
	}
	h.SetShortCookie(w, portalkit.FlowCookie, "", -1)
	web.WriteJSON(w, http.StatusOK, map[string]any{"user": portalkit.ToUserJSON(u), "phone_number": u.PhoneNumber,
		"phone_number_verified": u.PhoneNumberVerified})
}

// verifyStartForm: POST /account/email {email} and /account/phone {phone_number}: send a
// verification code (for the email address: the current or a new one).
func (h *Handler) verifyStartForm(w http.ResponseWriter, r *http.Request, what string) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	var flow string
	d := portalkit.CodeVerifyData{Title: "Enter your code", Action: h.Base + "/account/" + what + "/verify"}
	lang, ip := h.Lang(r), h.ClientIP(r)
	if afterSignup := what == "email" && f.Get("email") == "" && f.Get("skip") != ""; afterSignup {
		// "Send a new code" on the page verifying the address after sign-up: the same page
		// again, with a new code (the send limits of StartEmail apply).
		target := portalkit.ReturnTo(f.Get("return_to"))
		flow, err = h.Verification.StartEmail(r.Context(), s, u, "", lang, ip)
		if err != nil {
			status, _, msg, _ := h.CodeError(w, r, err)
			h.CodeVerifyPage(w, r, status, h.emailVerifyData(r, u.Email, target), msg)
			return
		}
		h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
		d = h.emailVerifyData(r, u.Email, target)
		d.Intro = "We emailed a new 6-digit code to " + u.Email + "; the previous one no longer works. Enter it to confirm the address is yours."
		h.CodeVerifyPage(w, r, http.StatusOK, d, "")
		return
	}
	if what == "phone" {
		flow, err = h.Verification.StartPhone(r.Context(), s, u, f.Get("phone_number"), lang, ip)
		d.Intro = h.T(r, "We texted a 6-digit code to the number you entered. It works for %s.", h.Minutes(r, h.Channels.CodeTTL()))
	} else {
		flow, err = h.Verification.StartEmail(r.Context(), s, u, f.Get("email"), lang, ip)
		d.Intro = h.T(r, "We emailed a 6-digit code to the address you entered. It works for %s.", h.Minutes(r, h.Channels.CodeTTL()))
	}
	if err != nil {
		_, _, msg, _ := h.CodeError(w, r, err)
		h.RenderError(w, r, http.StatusBadRequest, msg)
		return
	}
	h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
	h.CodeVerifyPage(w, r, http.StatusOK, d, "")
}

// verifyFinishForm: POST /account/email/verify and /account/phone/verify {code}.
func (h *Handler) verifyFinishForm(w http.ResponseWriter, r *http.Request, what string) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	_, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	flow, code := h.ShortCookie(r, portalkit.FlowCookie), f.Get("code")
	if what == "phone" {
		_, err = h.Verification.FinishPhone(r.Context(), u, flow, code, h.ClientIP(r))
	} else {
		_, err = h.Verification.FinishEmail(r.Context(), u, flow, code, h.ClientIP(r))
	}
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		d := portalkit.CodeVerifyData{Title: "Enter your code", Action: h.Base + "/account/" + what + "/verify",
			ReturnTo: portalkit.ReturnTo(f.Get("return_to"))}
		if what == "email" && f.Get("skip") != "" {
			// The page verifying the address after sign-up keeps its explanation, "Send a
			// new code" and "Skip for now".
			d = h.emailVerifyData(r, u.Email, d.ReturnTo)
		}
		h.CodeVerifyPage(w, r, status, d, msg)
		return
	}
	h.SetShortCookie(w, portalkit.FlowCookie, "", -1)
	http.Redirect(w, r, h.AfterLogin(f.Get("return_to")), http.StatusSeeOther)
}

// GET /account/email/verify: the page asking for the code sent at sign-up.
func (h *Handler) emailVerifyPage(w http.ResponseWriter, r *http.Request) {
	_, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	h.CodeVerifyPage(w, r, http.StatusOK, h.emailVerifyData(r, u.Email, portalkit.ReturnTo(r.URL.Query().Get("return_to"))), "")
}

// emailVerifyData is the page verifying the account's address after sign-up: the code
// form, "Send a new code" (POST /account/email with skip=1) and "Skip for now".
func (h *Handler) emailVerifyData(r *http.Request, email, target string) portalkit.CodeVerifyData {
	return portalkit.CodeVerifyData{Title: "Verify your email",
		Intro:  h.T(r, "We emailed a 6-digit code to %s. Enter it to confirm the address is yours.", email),
		Action: h.Base + "/account/email/verify", ReturnTo: target, Skip: h.AfterLogin(target),
		ResendAction: h.Base + "/account/email"}
}
