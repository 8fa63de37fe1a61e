package login

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
)

// Sign-up that proves the address first (account.Signup.VerifiesFirst): the sign-up
// form and API, password or passkey, answer the same for every address — 202 with the
// "enter the code we emailed" step and the flow cookie — and the account exists only once
// /signup/verify (or /api/v1/signup/verify) received the right code. An address that has an
// account gets a notice instead of a code, so the answer tells nobody which addresses are
// registered (CR-06).

// signupStarted answers a sign-up whose address must be proven first.
type signupStarted struct {
	// VerificationRequired: enter the emailed code at redirect_to (or with
	// POST /api/v1/signup/verify) to create the account.
	VerificationRequired bool   `json:"verification_required"`
	ExpiresIn            int    `json:"expires_in"`
	RedirectTo           string `json:"redirect_to"`
}

// signupVerifyURL is the page asking for a sign-up's code.
func (h *Handler) signupVerifyURL(target string) string {
	return resendURL(h.Base+"/signup/verify", returnTo(target))
}

// signupCodeSent sets the flow cookie of a started sign-up and answers the API call.
func (h *Handler) signupCodeSent(w http.ResponseWriter, flow, target string) {
	h.setShortCookie(w, flowCookie, flow, flowMaxAge)
	web.WriteJSON(w, http.StatusAccepted, signupStarted{VerificationRequired: true,
		ExpiresIn: int(h.Channels.CodeTTL().Seconds()), RedirectTo: h.signupVerifyURL(target)})
}

// finishSignup creates the account from the code and starts its session; it returns where
// the browser goes next.
func (h *Handler) finishSignup(w http.ResponseWriter, r *http.Request, code, target string) (authn.Result, string, error) {
	s, err := h.Signup.Finish(r.Context(), h.shortCookie(r, flowCookie), code, h.ClientIP(r))
	if err != nil {
		return s, "", err
	}
	if err := h.startSessionWith(w, r, s.User, s.AMR, true, s.Passkey); err != nil {
		return s, "", err
	}
	h.setShortCookie(w, flowCookie, "", -1)
	return s, h.afterLogin(target), nil
}

// apiSignupVerify: POST /api/v1/signup/verify {code, return_to}.
func (h *Handler) apiSignupVerify(w http.ResponseWriter, r *http.Request) {
	var req codeVerifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	s, next, err := h.finishSignup(w, r, req.Code, req.ReturnTo)
	if err != nil {
		h.apiCodeError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, authResult{User: toUserJSON(s.User), RedirectTo: next})
}

func (h *Handler) signupVerifyData(target string) codeVerifyData {
	return codeVerifyData{Title: "Check your email",
		Intro: "We emailed a 6-digit code to the address you entered. Enter it to create your account; it works for " +
			minutes(h.Channels.CodeTTL()) + ", in this browser only. If that address already has an account, we emailed it a note instead: log in, or recover the account if you cannot.",
		Action: h.Base + "/signup/verify", ReturnTo: target, Resend: resendURL(h.Base+"/signup", target)}
}

// GET /signup/verify: the page asking for a sign-up's code.
func (h *Handler) signupVerifyPage(w http.ResponseWriter, r *http.Request) {
	if !h.signupEnabled() {
		h.fail(w, r, http.StatusForbidden, "Sign-up is closed", "Sign-up is closed. Ask an administrator for an account.", "signup_closed")
		return
	}
	h.codeVerifyPage(w, r, http.StatusOK, h.signupVerifyData(returnTo(r.URL.Query().Get("return_to"))), "")
}

// POST /signup/verify.
func (h *Handler) signupVerifyForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	target := returnTo(f.Get("return_to"))
	_, next, err := h.finishSignup(w, r, f.Get("code"), target)
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		h.codeVerifyPage(w, r, status, h.signupVerifyData(target), msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
