package signup

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
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

// verifyURL is the page asking for a sign-up's code.
func (h *Handler) verifyURL(target string) string {
	return portalkit.ResendURL(h.Base+"/signup/verify", portalkit.ReturnTo(target))
}

// codeSent sets the flow cookie of a started sign-up and answers the API call.
func (h *Handler) codeSent(w http.ResponseWriter, flow, target string) {
	h.SetShortCookie(w, portalkit.FlowCookie, flow, portalkit.FlowMaxAge)
	web.WriteJSON(w, http.StatusAccepted, signupStarted{VerificationRequired: true,
		ExpiresIn: int(h.Channels.CodeTTL().Seconds()), RedirectTo: h.verifyURL(target)})
}

// finishSignup creates the account from the code and starts its session; it returns where
// the browser goes next.
func (h *Handler) finishSignup(w http.ResponseWriter, r *http.Request, code, target string) (authn.Result, string, error) {
	s, err := h.Signup.Finish(r.Context(), h.ShortCookie(r, portalkit.FlowCookie), code, h.ClientIP(r))
	if err != nil {
		return s, "", err
	}
	if err := h.StartSession(w, r, s.User, s.AMR, true, s.Passkey); err != nil {
		return s, "", err
	}
	h.SetShortCookie(w, portalkit.FlowCookie, "", -1)
	return s, h.AfterLogin(target), nil
}

// apiVerify: POST /api/v1/signup/verify {code, return_to}.
func (h *Handler) apiVerify(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeVerifyRequest
	if !h.Decode(w, r, &req) {
		return
	}
	s, next, err := h.finishSignup(w, r, req.Code, req.ReturnTo)
	if err != nil {
		h.APICodeError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, portalkit.AuthResult{User: portalkit.ToUserJSON(s.User), RedirectTo: next})
}

func (h *Handler) verifyData(r *http.Request, target string) portalkit.CodeVerifyData {
	return portalkit.CodeVerifyData{Title: "Check your email",
		Intro: h.T(r, "We emailed a 6-digit code to the address you entered. Enter it to create your account; it works for %s, in this browser only. If that address already has an account, we emailed it a note instead: log in, or recover the account if you cannot.",
			h.Minutes(r, h.Channels.CodeTTL())),
		Action: h.Base + "/signup/verify", ReturnTo: target, Resend: portalkit.ResendURL(h.Base+"/signup", target)}
}

// GET /signup/verify: the page asking for a sign-up's code.
func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	if !h.Signup.Enabled() {
		h.Fail(w, r, http.StatusForbidden, "Sign-up is closed", "Sign-up is closed. Ask an administrator for an account.", "signup_closed")
		return
	}
	h.CodeVerifyPage(w, r, http.StatusOK, h.verifyData(r, portalkit.ReturnTo(r.URL.Query().Get("return_to"))), "")
}

// POST /signup/verify.
func (h *Handler) verifyForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	_, next, err := h.finishSignup(w, r, f.Get("code"), target)
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		h.CodeVerifyPage(w, r, status, h.verifyData(r, target), msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
