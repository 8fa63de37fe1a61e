package login

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// Cookies of the code and link methods. The flow cookie holds the secret a code is bound to:
// a code works only in the browser it was requested from (CR-11). The magic cookie marks
// the browser that asked for a magic link (CR-17); magic_link carries a link token that
// arrived in a query string, so that the page it lands on has a clean URL (CR-15).
const (
	flowCookie      = "otp"
	magicCookie     = "magic"
	magicLinkCookie = "magic_link"
	flowMaxAge      = 600
	magicMaxAge     = 900
)

func (h *Handler) methods() ui.Methods {
	c := h.Channels
	return ui.Methods{EmailCode: c.MethodEnabled(otp.MethodEmailCode), MagicLink: c.MethodEnabled(otp.MethodMagicLink),
		SMSCode: c.MethodEnabled(otp.MethodSMSCode), Recovery: c.CanEmail() || c.CanSMS(),
		VerifyEmail: c.CanEmail(), VerifyPhone: c.CanSMS()}
}

// codeError maps the errors of the code and link methods; other errors go to classify.
func (h *Handler) codeError(w http.ResponseWriter, err error) (int, string, string, string) {
	var limit *otp.SendLimitError
	switch {
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter.Seconds())+1))
		return http.StatusTooManyRequests, "too_many_requests", capitalize(err.Error()) + ".", ""
	case errors.Is(err, otp.ErrCodeInvalid):
		return http.StatusUnauthorized, "invalid_code", capitalize(err.Error()) + ".", "code"
	case errors.Is(err, otp.ErrCodeExpired), errors.Is(err, otp.ErrCodeAttempts):
		return http.StatusBadRequest, "code_expired", capitalize(err.Error()) + ".", "code"
	case errors.Is(err, magiclink.ErrLinkExpired):
		return http.StatusBadRequest, "link_expired", capitalize(err.Error()) + ".", ""
	case errors.Is(err, otp.ErrMethodDisabled):
		return http.StatusNotFound, "method_disabled", capitalize(err.Error()) + ".", ""
	case errors.Is(err, account.ErrPhoneTaken):
		return http.StatusConflict, "phone_taken", capitalize(err.Error()) + ".", "phone_number"
	case errors.Is(err, otp.ErrPhoneNotAllowed):
		return http.StatusBadRequest, "invalid_input", capitalize(err.Error()) + ".", "phone_number"
	case errors.Is(err, sessions.ErrReauthenticate):
		return http.StatusForbidden, "reauthenticate", capitalize(err.Error()) + ".", ""
	}
	return h.classify(w, err)
}

func (h *Handler) apiCodeError(w http.ResponseWriter, err error) {
	status, code, msg, field := h.codeError(w, err)
	web.WriteJSON(w, status, web.APIError{Error: code, Message: msg, Field: field})
}

// sentJSON answers a request for a code or link: the same whether or not the address
// belongs to an account (CR-06).
type sentJSON struct {
	Sent      bool `json:"sent"`
	ExpiresIn int  `json:"expires_in"`
}

func (h *Handler) sent(w http.ResponseWriter) {
	web.WriteJSON(w, http.StatusAccepted, sentJSON{Sent: true, ExpiresIn: int(h.Channels.CodeTTL().Seconds())})
}

// --- JSON API ---

type codeStartRequest struct {
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
	Identifier  string `json:"identifier"`
	ReturnTo    string `json:"return_to"`
}

type codeVerifyRequest struct {
	Code     string `json:"code"`
	ReturnTo string `json:"return_to"`
}

// apiEmailCodeStart: POST /api/v1/login/email-code/start {email}.
func (h *Handler) apiEmailCodeStart(w http.ResponseWriter, r *http.Request) {
	var req codeStartRequest
	if !h.decode(w, r, &req) {
		return
	}
	flow, err := h.EmailCode.Begin(r.Context(), req.Email, preferredLanguage(r), h.ClientIP(r))
	h.flowStarted(w, flow, err)
}

// apiSMSCodeStart: POST /api/v1/login/sms-code/start {phone_number}.
func (h *Handler) apiSMSCodeStart(w http.ResponseWriter, r *http.Request) {
	var req codeStartRequest
	if !h.decode(w, r, &req) {
		return
	}
	flow, err := h.SMSCode.Begin(r.Context(), req.PhoneNumber, preferredLanguage(r), h.ClientIP(r))
	h.flowStarted(w, flow, err)
}

func (h *Handler) flowStarted(w http.ResponseWriter, flow string, err error) {
	if err != nil {
		h.apiCodeError(w, err)
		return
	}
	h.setShortCookie(w, flowCookie, flow, flowMaxAge)
	h.sent(w)
}

// apiCodeVerify: POST /api/v1/login/code/verify {code, return_to}.
func (h *Handler) apiCodeVerify(w http.ResponseWriter, r *http.Request) {
	var req codeVerifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	res, err := h.CodeLogin.Finish(r.Context(), h.shortCookie(r, flowCookie), req.Code, h.ClientIP(r))
	h.finishLogin(w, r, res.User, res.AMR, req.ReturnTo, err)
}

// finishLogin ends a code or link login: the session (or the MFA step) and the API answer.
func (h *Handler) finishLogin(w http.ResponseWriter, r *http.Request, u store.User, amr []string, target string, err error) {
	if err == nil {
		h.setShortCookie(w, flowCookie, "", -1)
		var next string
		next, err = h.afterFirstFactor(w, r, u, amr, target)
		if err == nil {
			web.WriteJSON(w, http.StatusOK, authResult{User: toUserJSON(u), RedirectTo: next,
				MFARequired: next != h.afterLogin(target)})
			return
		}
	}
	h.apiCodeError(w, err)
}

// apiMagicLinkStart: POST /api/v1/login/magic-link/start {email, return_to}.
func (h *Handler) apiMagicLinkStart(w http.ResponseWriter, r *http.Request) {
	var req codeStartRequest
	if !h.decode(w, r, &req) {
		return
	}
	nonce, err := h.MagicLink.Begin(r.Context(), req.Email, returnTo(req.ReturnTo), preferredLanguage(r), h.ClientIP(r))
	if err != nil {
		h.apiCodeError(w, err)
		return
	}
	h.setShortCookie(w, magicCookie, nonce, magicMaxAge)
	web.WriteJSON(w, http.StatusAccepted, sentJSON{Sent: true, ExpiresIn: int(h.Channels.LinkTTL().Seconds())})
}

type magicFinishRequest struct {
	Token string `json:"token"`
	// Confirm: the user agreed to log in here although the link was requested elsewhere.
	Confirm bool `json:"confirm"`
}

// apiMagicLinkFinish: POST /api/v1/login/magic-link/finish {token, confirm}.
func (h *Handler) apiMagicLinkFinish(w http.ResponseWriter, r *http.Request) {
	var req magicFinishRequest
	if !h.decode(w, r, &req) {
		return
	}
	res, err := h.MagicLink.Finish(r.Context(), req.Token, h.shortCookie(r, magicCookie), req.Confirm)
	var confirm *magiclink.ConfirmationRequiredError
	if errors.As(err, &confirm) {
		web.WriteJSON(w, http.StatusConflict, map[string]string{"error": "confirmation_required",
			"message": "This link was requested from another browser. Log in here as " + confirm.Email + "?", "email": confirm.Email})
		return
	}
	if err == nil {
		h.setShortCookie(w, magicCookie, "", -1)
		h.setShortCookie(w, magicLinkCookie, "", -1)
	}
	h.finishLogin(w, r, res.User, res.AMR, res.ReturnTo, err)
}

// apiRecoveryStart: POST /api/v1/recovery/start {identifier}.
func (h *Handler) apiRecoveryStart(w http.ResponseWriter, r *http.Request) {
	var req codeStartRequest
	if !h.decode(w, r, &req) {
		return
	}
	id := cmp.Or(req.Identifier, req.Email, req.PhoneNumber)
	flow, err := h.Recovery.Begin(r.Context(), id, preferredLanguage(r), h.ClientIP(r))
	h.flowStarted(w, flow, err)
}

// apiRecoveryVerify: POST /api/v1/recovery/verify {code, return_to}. A new session starts
// (every other one has ended); redirect_to is the page where the user sets a new password or
// adds a passkey.
func (h *Handler) apiRecoveryVerify(w http.ResponseWriter, r *http.Request) {
	var req codeVerifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	next, u, err := h.recover(w, r, req.Code, req.ReturnTo)
	if err != nil {
		h.apiCodeError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, authResult{User: toUserJSON(u), RedirectTo: next})
}

func (h *Handler) recover(w http.ResponseWriter, r *http.Request, code, target string) (string, store.User, error) {
	res, err := h.Recovery.Finish(r.Context(), h.shortCookie(r, flowCookie), code, h.ClientIP(r))
	u := res.User
	if err != nil {
		return "", u, err
	}
	h.setShortCookie(w, flowCookie, "", -1)
	if err := h.startSession(w, r, u, res.AMR, false); err != nil {
		return "", u, err
	}
	next := h.Base + "/account/password?recovered=1"
	if t := returnTo(target); t != "" {
		next += "&return_to=" + url.QueryEscape(t)
	}
	return next, u, nil
}

// apiChangePassword: POST /api/v1/account/password {password}.
func (h *Handler) apiChangePassword(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if err := h.Accounts.ChangePassword(r.Context(), s, req.Password); err != nil {
		h.apiCodeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiEmailStart: POST /api/v1/account/email/start {email}: verify the account's address
// (email empty) or a new one.
func (h *Handler) apiEmailStart(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req codeStartRequest
	if !h.decode(w, r, &req) {
		return
	}
	flow, err := h.startEmailVerification(r, s, u, req.Email)
	h.flowStarted(w, flow, err)
}

// startEmailVerification: changing the address needs a fresh login (CR-19); verifying the
// current one does not (account.Verification applies the rule).
func (h *Handler) startEmailVerification(r *http.Request, s store.Session, u store.User, email string) (string, error) {
	return h.Verification.StartEmail(r.Context(), s, u, email, preferredLanguage(r), h.ClientIP(r))
}

// apiEmailVerify: POST /api/v1/account/email/verify {code}.
func (h *Handler) apiEmailVerify(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req codeVerifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	nu, err := h.Verification.FinishEmail(r.Context(), u, h.shortCookie(r, flowCookie), req.Code, h.ClientIP(r))
	h.verified(w, nu, err)
}

func (h *Handler) verified(w http.ResponseWriter, u store.User, err error) {
	if err != nil {
		h.apiCodeError(w, err)
		return
	}
	h.setShortCookie(w, flowCookie, "", -1)
	web.WriteJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u), "phone_number": u.PhoneNumber,
		"phone_number_verified": u.PhoneNumberVerified})
}

// apiPhoneStart: POST /api/v1/account/phone/start {phone_number} (a fresh login, CR-19).
func (h *Handler) apiPhoneStart(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req codeStartRequest
	if !h.decode(w, r, &req) {
		return
	}
	flow, err := h.startPhoneVerification(r, s, u, req.PhoneNumber)
	h.flowStarted(w, flow, err)
}

// startPhoneVerification: adding a phone number needs a fresh login (CR-19; the rule is
// account.Verification's).
func (h *Handler) startPhoneVerification(r *http.Request, s store.Session, u store.User, phone string) (string, error) {
	return h.Verification.StartPhone(r.Context(), s, u, phone, preferredLanguage(r), h.ClientIP(r))
}

// apiPhoneVerify: POST /api/v1/account/phone/verify {code}.
func (h *Handler) apiPhoneVerify(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.apiSessionOr401(w, r)
	if !ok {
		return
	}
	var req codeVerifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	nu, err := h.Verification.FinishPhone(r.Context(), u, h.shortCookie(r, flowCookie), req.Code, h.ClientIP(r))
	h.verified(w, nu, err)
}

func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := web.DecodeJSON(w, r, v); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return false
	}
	return true
}

// --- pages ---

// codeStartData is the form asking where to send a code or link.
type codeStartData struct {
	Title, Intro, Action string
	// Field is "email", "phone_number" or "identifier".
	Field, Value, ReturnTo, Button string
}

// codeVerifyData is the form asking for a received code.
type codeVerifyData struct {
	Title, Intro, Action, ReturnTo, Resend string
	// Skip is where "skip for now" leads (verification after sign-up).
	Skip string
}

func (h *Handler) codeStartPage(w http.ResponseWriter, r *http.Request, status int, d codeStartData, msg string) {
	h.page(w, r, status, "code_start", d.Title, msg, d)
}

func (h *Handler) codeVerifyPage(w http.ResponseWriter, r *http.Request, status int, d codeVerifyData, msg string) {
	h.page(w, r, status, "code_verify", d.Title, msg, d)
}

func (h *Handler) loginCodeStart(channel, target string) codeStartData {
	if channel == "sms" {
		return codeStartData{Title: "Log in with a text message", Intro: "We'll text a 6-digit code to the verified phone number of your account.",
			Action: h.Base + "/login/code?channel=sms", Field: "phone_number", ReturnTo: target, Button: "Text me a code"}
	}
	return codeStartData{Title: "Log in with an email code", Intro: "We'll email a 6-digit code to the address of your account.",
		Action: h.Base + "/login/code?channel=email", Field: "email", ReturnTo: target, Button: "Email me a code"}
}

func (h *Handler) loginCodeVerify(channel, target string) codeVerifyData {
	where := "email"
	if channel == "sms" {
		where = "text message"
	}
	return codeVerifyData{Title: "Enter your code", Intro: "If an account exists for what you entered, we sent it a 6-digit code by " + where + ". It works for " + minutes(h.Channels.CodeTTL()) + ", in this browser only.",
		Action: h.Base + "/login/code/verify?channel=" + channel, ReturnTo: target, Resend: resendURL(h.Base+"/login/code?channel="+channel, target)}
}

// resendURL is the link asking for a new code: the start page, keeping return_to.
func resendURL(start, target string) string {
	if target == "" {
		return start
	}
	sep := "?"
	if strings.Contains(start, "?") {
		sep = "&"
	}
	return start + sep + "return_to=" + url.QueryEscape(target)
}

func channelOf(r *http.Request) string {
	if r.URL.Query().Get("channel") == "sms" {
		return "sms"
	}
	return "email"
}

func (h *Handler) channelMethod(channel string) string {
	if channel == "sms" {
		return otp.MethodSMSCode
	}
	return otp.MethodEmailCode
}

// GET /login/code?channel=email|sms.
func (h *Handler) loginCodePage(w http.ResponseWriter, r *http.Request) {
	ch := channelOf(r)
	if !h.Channels.MethodEnabled(h.channelMethod(ch)) {
		h.fail(w, r, http.StatusNotFound, "Not available", capitalize(otp.ErrMethodDisabled.Error())+".", "method_disabled")
		return
	}
	d := h.loginCodeStart(ch, returnTo(r.URL.Query().Get("return_to")))
	d.Value = r.URL.Query().Get("login_hint")
	if len(d.Value) > 254 {
		d.Value = ""
	}
	h.codeStartPage(w, r, http.StatusOK, d, "")
}

// form parses a page form and checks its CSRF token, answering the error itself.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return nil, false
	}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.fail(w, r, http.StatusForbidden, "Request refused", "Your form expired. Go back, reload the page and try again.", "csrf")
		return nil, false
	}
	return f, true
}

// POST /login/code?channel=email|sms: send the code, then ask for it.
func (h *Handler) loginCodeForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	ch, target := channelOf(r), returnTo(f.Get("return_to"))
	var flow string
	var err error
	if ch == "sms" {
		flow, err = h.SMSCode.Begin(r.Context(), f.Get("phone_number"), preferredLanguage(r), h.ClientIP(r))
	} else {
		flow, err = h.EmailCode.Begin(r.Context(), f.Get("email"), preferredLanguage(r), h.ClientIP(r))
	}
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		d := h.loginCodeStart(ch, target)
		d.Value = f.Get(d.Field)
		h.codeStartPage(w, r, status, d, msg)
		return
	}
	h.setShortCookie(w, flowCookie, flow, flowMaxAge)
	h.codeVerifyPage(w, r, http.StatusOK, h.loginCodeVerify(ch, target), "")
}

// POST /login/code/verify.
func (h *Handler) loginCodeVerifyForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	target := returnTo(f.Get("return_to"))
	res, err := h.CodeLogin.Finish(r.Context(), h.shortCookie(r, flowCookie), f.Get("code"), h.ClientIP(r))
	var next string
	if err == nil {
		h.setShortCookie(w, flowCookie, "", -1)
		next, err = h.afterFirstFactor(w, r, res.User, res.AMR, target)
	}
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		d := h.loginCodeVerify(channelOf(r), target)
		d.Intro = ""
		h.codeVerifyPage(w, r, status, d, msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) magicStart(target string) codeStartData {
	return codeStartData{Title: "Log in with an email link", Intro: "We'll email you a link that logs you in. Open it in this browser.",
		Action: h.Base + "/login/magic-link", Field: "email", ReturnTo: target, Button: "Email me a link"}
}

// GET /login/magic-link.
func (h *Handler) magicLinkPage(w http.ResponseWriter, r *http.Request) {
	if !h.Channels.MethodEnabled(otp.MethodMagicLink) {
		h.fail(w, r, http.StatusNotFound, "Not available", capitalize(otp.ErrMethodDisabled.Error())+".", "method_disabled")
		return
	}
	h.codeStartPage(w, r, http.StatusOK, h.magicStart(returnTo(r.URL.Query().Get("return_to"))), "")
}

// POST /login/magic-link.
func (h *Handler) magicLinkForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	target := returnTo(f.Get("return_to"))
	nonce, err := h.MagicLink.Begin(r.Context(), f.Get("email"), target, preferredLanguage(r), h.ClientIP(r))
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		d := h.magicStart(target)
		d.Value = f.Get("email")
		h.codeStartPage(w, r, status, d, msg)
		return
	}
	h.setShortCookie(w, magicCookie, nonce, magicMaxAge)
	h.page(w, r, http.StatusOK, "magic_sent", "Check your email", "", struct{ ExpiresIn string }{minutes(h.Channels.LinkTTL())})
}

type magicData struct {
	// Token is set when it came in a form (the confirmation question).
	Token string
	// Waiting: a token that came in a query string waits in the cookie, so the page works
	// without JavaScript.
	Waiting bool
	// Email is set when the user must confirm logging in here (CR-17).
	Email string
}

// GET /login/magic: the interstitial page of a magic link. It never logs in: mail scanners
// that fetch links do nothing (CR-16). The token normally arrives in the URL fragment, which
// the page's script posts; a token in the query string is moved to a cookie and the browser
// sent to the clean URL at once (CR-15).
func (h *Handler) magicPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if t := r.URL.Query().Get("token"); t != "" {
		if len(t) <= 128 {
			h.setShortCookie(w, magicLinkCookie, t, magicMaxAge)
		}
		http.Redirect(w, r, h.Base+"/login/magic", http.StatusSeeOther)
		return
	}
	h.page(w, r, http.StatusOK, "magic", "Log in", "", magicData{Waiting: h.shortCookie(r, magicLinkCookie) != ""})
}

// POST /login/magic {token, confirm}.
func (h *Handler) magicForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	token := f.Get("token")
	if token == "" {
		token = h.shortCookie(r, magicLinkCookie)
	}
	res, err := h.MagicLink.Finish(r.Context(), token, h.shortCookie(r, magicCookie), f.Get("confirm") == "yes")
	var confirm *magiclink.ConfirmationRequiredError
	if errors.As(err, &confirm) {
		h.page(w, r, http.StatusOK, "magic", "Log in here?", "", magicData{Token: token, Email: confirm.Email})
		return
	}
	var next string
	if err == nil {
		h.setShortCookie(w, magicCookie, "", -1)
		h.setShortCookie(w, magicLinkCookie, "", -1)
		next, err = h.afterFirstFactor(w, r, res.User, res.AMR, res.ReturnTo)
	}
	if err != nil {
		_, code, msg, _ := h.codeError(w, err)
		h.fail(w, r, http.StatusBadRequest, "Link not valid", msg, code)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) recoverStart(target string) codeStartData {
	field, intro := "email", "Enter the email address of your account. We'll send it a code; then you can set a new password or add a passkey."
	if h.Channels.CanSMS() {
		field = "identifier"
		intro = "Enter the email address or verified phone number of your account. We'll send it a code; then you can set a new password or add a passkey."
		if !h.Channels.CanEmail() {
			field, intro = "phone_number", "Enter the verified phone number of your account. We'll text it a code; then you can set a new password or add a passkey."
		}
	}
	return codeStartData{Title: "Recover your account", Intro: intro, Action: h.Base + "/recover", Field: field,
		ReturnTo: target, Button: "Send me a code"}
}

// GET /recover.
func (h *Handler) recoverPage(w http.ResponseWriter, r *http.Request) {
	if !h.methods().Recovery {
		h.fail(w, r, http.StatusNotFound, "Not available", "Account recovery needs email or text messages, which this server cannot send. Ask your administrator.", "method_disabled")
		return
	}
	h.codeStartPage(w, r, http.StatusOK, h.recoverStart(returnTo(r.URL.Query().Get("return_to"))), "")
}

// POST /recover.
func (h *Handler) recoverForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	target := returnTo(f.Get("return_to"))
	id := cmp.Or(f.Get("identifier"), f.Get("email"), f.Get("phone_number"))
	flow, err := h.Recovery.Begin(r.Context(), id, preferredLanguage(r), h.ClientIP(r))
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		d := h.recoverStart(target)
		d.Value = id
		h.codeStartPage(w, r, status, d, msg)
		return
	}
	h.setShortCookie(w, flowCookie, flow, flowMaxAge)
	h.codeVerifyPage(w, r, http.StatusOK, codeVerifyData{Title: "Enter your code",
		Intro:  "If an account exists for what you entered, we sent it a 6-digit code. It works for " + minutes(h.Channels.CodeTTL()) + ", in this browser only.",
		Action: h.Base + "/recover/verify", ReturnTo: target, Resend: resendURL(h.Base+"/recover", target)}, "")
}

// POST /recover/verify.
func (h *Handler) recoverVerifyForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	target := returnTo(f.Get("return_to"))
	next, _, err := h.recover(w, r, f.Get("code"), target)
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		h.codeVerifyPage(w, r, status, codeVerifyData{Title: "Enter your code", Action: h.Base + "/recover/verify",
			ReturnTo: target, Resend: resendURL(h.Base+"/recover", target)}, msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type passwordData struct {
	Recovered bool
	ReturnTo  string
	Fresh     bool
}

// GET /account/password.
func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request) {
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/account/password"), http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	h.page(w, r, http.StatusOK, "password", "Set a new password", "", passwordData{Recovered: q.Get("recovered") == "1",
		ReturnTo: returnTo(q.Get("return_to")), Fresh: h.Sessions.Fresh(s)})
}

// POST /account/password.
func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/account/password"), http.StatusSeeOther)
		return
	}
	target := returnTo(f.Get("return_to"))
	if err := h.Accounts.ChangePassword(r.Context(), s, f.Get("password")); err != nil {
		status, _, msg, _ := h.codeError(w, err)
		h.page(w, r, status, "password", "Set a new password", msg, passwordData{ReturnTo: target,
			Fresh: h.Sessions.Fresh(s)})
		return
	}
	http.Redirect(w, r, h.afterLogin(target), http.StatusSeeOther)
}

// POST /account/email {email}: send a verification code (current or new address).
func (h *Handler) emailForm(w http.ResponseWriter, r *http.Request) {
	h.verifyStartForm(w, r, "email")
}

// POST /account/phone {phone_number}.
func (h *Handler) phoneForm(w http.ResponseWriter, r *http.Request) {
	h.verifyStartForm(w, r, "phone")
}

func (h *Handler) verifyStartForm(w http.ResponseWriter, r *http.Request, what string) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	var flow string
	d := codeVerifyData{Title: "Enter your code", Action: h.Base + "/account/" + what + "/verify"}
	if what == "phone" {
		flow, err = h.startPhoneVerification(r, s, u, f.Get("phone_number"))
		d.Intro = "We texted a 6-digit code to the number you entered. It works for " + minutes(h.Channels.CodeTTL()) + "."
	} else {
		flow, err = h.startEmailVerification(r, s, u, f.Get("email"))
		d.Intro = "We emailed a 6-digit code to the address you entered. It works for " + minutes(h.Channels.CodeTTL()) + "."
	}
	if err != nil {
		_, _, msg, _ := h.codeError(w, err)
		h.accountWithError(w, r, http.StatusBadRequest, msg)
		return
	}
	h.setShortCookie(w, flowCookie, flow, flowMaxAge)
	h.codeVerifyPage(w, r, http.StatusOK, d, "")
}

// POST /account/email/verify and /account/phone/verify.
func (h *Handler) emailVerifyForm(w http.ResponseWriter, r *http.Request) {
	h.verifyFinishForm(w, r, "email")
}

func (h *Handler) phoneVerifyForm(w http.ResponseWriter, r *http.Request) {
	h.verifyFinishForm(w, r, "phone")
}

func (h *Handler) verifyFinishForm(w http.ResponseWriter, r *http.Request, what string) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	_, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	flow, code := h.shortCookie(r, flowCookie), f.Get("code")
	if what == "phone" {
		_, err = h.Verification.FinishPhone(r.Context(), u, flow, code, h.ClientIP(r))
	} else {
		_, err = h.Verification.FinishEmail(r.Context(), u, flow, code, h.ClientIP(r))
	}
	if err != nil {
		status, _, msg, _ := h.codeError(w, err)
		h.codeVerifyPage(w, r, status, codeVerifyData{Title: "Enter your code", Action: h.Base + "/account/" + what + "/verify",
			ReturnTo: returnTo(f.Get("return_to"))}, msg)
		return
	}
	h.setShortCookie(w, flowCookie, "", -1)
	http.Redirect(w, r, h.afterLogin(f.Get("return_to")), http.StatusSeeOther)
}

// afterSignup sends the new account a code to verify its email address, when email can be
// sent, and returns where the browser goes next: the page asking for that code (which can be
// skipped), else target.
func (h *Handler) afterSignup(w http.ResponseWriter, r *http.Request, u store.User, target string) string {
	if !h.Channels.CanEmail() || u.EmailVerified {
		return h.afterLogin(target)
	}
	// The account's own address: no fresh-login question, so no session is needed.
	flow, err := h.Verification.StartEmail(r.Context(), store.Session{}, u, "", preferredLanguage(r), h.ClientIP(r))
	if err != nil {
		h.Logger.Warn("sign-up: send verification code", "error", err)
		return h.afterLogin(target)
	}
	h.setShortCookie(w, flowCookie, flow, flowMaxAge)
	next := h.Base + "/account/email/verify"
	if t := returnTo(target); t != "" {
		next += "?return_to=" + url.QueryEscape(t)
	}
	return next
}

// GET /account/email/verify: the page asking for the code sent at sign-up.
func (h *Handler) emailVerifyPage(w http.ResponseWriter, r *http.Request) {
	_, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.loginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	target := returnTo(r.URL.Query().Get("return_to"))
	skip := h.afterLogin(target)
	h.codeVerifyPage(w, r, http.StatusOK, codeVerifyData{Title: "Verify your email",
		Intro:  "We emailed a 6-digit code to " + u.Email + ". Enter it to confirm the address is yours.",
		Action: h.Base + "/account/email/verify", ReturnTo: target, Skip: skip}, "")
}

// minutes says a code's or link's lifetime in words ("10 minutes").
func minutes(d time.Duration) string {
	m := max(int(d.Round(time.Minute)/time.Minute), 1)
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}
