// Package magiclink serves login by an emailed link: the request pages (GET and POST
// /login/magic-link), the page the link opens (GET and POST /login/magic) and the JSON API
// (POST /api/v1/login/magic-link/{start,finish}). Opening the link never logs in by itself:
// mail scanners that fetch links do nothing (CR-16); the page posts the token.
package magiclink

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	authn "github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
)

// Cookies of the magic link. The magic cookie marks the browser that asked for a magic link
// (CR-17); magic_link carries a link token that arrived in a query string, so that the page
// it lands on has a clean URL (CR-15).
const (
	magicCookie     = "magic"
	magicLinkCookie = "magic_link"
	magicMaxAge     = 900
)

// Link is login by emailed link (*magiclink.Method).
type Link interface {
	Begin(ctx context.Context, email, returnTo, lang, clientIP string) (string, error)
	Finish(ctx context.Context, token, nonce string, confirmed bool) (authn.Result, error)
}

// Handler serves login by magic link. Every field is required.
type Handler struct {
	*portalkit.Kit
	MagicLink Link
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/login/magic-link", h.requestPage)
	h.HandleChange(mux, "POST", "/login/magic-link", h.requestForm)
	h.Handle(mux, "GET", "/login/magic", h.linkPage)
	h.HandleChange(mux, "POST", "/login/magic", h.linkForm)
	h.HandleChange(mux, "POST", "/api/v1/login/magic-link/start", h.apiStart)
	h.HandleChange(mux, "POST", "/api/v1/login/magic-link/finish", h.apiFinish)
}

// apiStart: POST /api/v1/login/magic-link/start {email, return_to}.
func (h *Handler) apiStart(w http.ResponseWriter, r *http.Request) {
	var req portalkit.CodeStartRequest
	if !h.Decode(w, r, &req) {
		return
	}
	nonce, err := h.MagicLink.Begin(r.Context(), req.Email, portalkit.ReturnTo(req.ReturnTo), h.Lang(r), h.ClientIP(r))
	if err != nil {
		h.APICodeError(w, r, err)
		return
	}
	h.SetShortCookie(w, magicCookie, nonce, magicMaxAge)
	web.WriteJSON(w, http.StatusAccepted, portalkit.SentJSON{Sent: true, ExpiresIn: int(h.Channels.LinkTTL().Seconds())})
}

type finishRequest struct {
	Token string `json:"token"`
	// Confirm: the user agreed to log in here although the link was requested elsewhere.
	Confirm bool `json:"confirm"`
}

// apiFinish: POST /api/v1/login/magic-link/finish {token, confirm}.
func (h *Handler) apiFinish(w http.ResponseWriter, r *http.Request) {
	var req finishRequest
	if !h.Decode(w, r, &req) {
		return
	}
	res, err := h.MagicLink.Finish(r.Context(), req.Token, h.ShortCookie(r, magicCookie), req.Confirm)
	var confirm *magiclink.ConfirmationRequiredError
	if errors.As(err, &confirm) {
		web.WriteJSON(w, http.StatusConflict, map[string]string{"error": "confirmation_required",
			"message": "This link was requested from another browser. Log in here as " + confirm.Email + "?", "email": confirm.Email})
		return
	}
	if err == nil {
		h.SetShortCookie(w, magicCookie, "", -1)
		h.SetShortCookie(w, magicLinkCookie, "", -1)
	}
	h.FinishLogin(w, r, res.User, res.AMR, res.ReturnTo, err)
}

func (h *Handler) startData(target string) portalkit.CodeStartData {
	return portalkit.CodeStartData{Title: "Log in with an email link", Intro: "We'll email you a link that logs you in. Open it in this browser.",
		Action: h.Base + "/login/magic-link", Field: "email", ReturnTo: target, Button: "Email me a link"}
}

// GET /login/magic-link.
func (h *Handler) requestPage(w http.ResponseWriter, r *http.Request) {
	if !h.Channels.MethodEnabled(otp.MethodMagicLink) {
		h.Fail(w, r, http.StatusNotFound, "Not available", portalkit.Capitalize(otp.ErrMethodDisabled.Error())+".", "method_disabled")
		return
	}
	h.CodeStartPage(w, r, http.StatusOK, h.startData(portalkit.ReturnTo(r.URL.Query().Get("return_to"))), "")
}

// POST /login/magic-link.
func (h *Handler) requestForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	nonce, err := h.MagicLink.Begin(r.Context(), f.Get("email"), target, h.Lang(r), h.ClientIP(r))
	if err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		d := h.startData(target)
		d.Value = f.Get("email")
		h.CodeStartPage(w, r, status, d, msg)
		return
	}
	h.SetShortCookie(w, magicCookie, nonce, magicMaxAge)
	h.Page(w, r, http.StatusOK, "magic_sent", "Check your email", "", struct{ ExpiresIn string }{h.Minutes(r, h.Channels.LinkTTL())})
}

type linkData struct {
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
func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if t := r.URL.Query().Get("token"); t != "" {
		if len(t) <= 128 {
			h.SetShortCookie(w, magicLinkCookie, t, magicMaxAge)
		}
		http.Redirect(w, r, h.Base+"/login/magic", http.StatusSeeOther)
		return
	}
	h.Page(w, r, http.StatusOK, "magic", "Log in", "", linkData{Waiting: h.ShortCookie(r, magicLinkCookie) != ""})
}

// POST /login/magic {token, confirm}.
func (h *Handler) linkForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	token := f.Get("token")
	if token == "" {
		token = h.ShortCookie(r, magicLinkCookie)
	}
	res, err := h.MagicLink.Finish(r.Context(), token, h.ShortCookie(r, magicCookie), f.Get("confirm") == "yes")
	var confirm *magiclink.ConfirmationRequiredError
	if errors.As(err, &confirm) {
		h.Page(w, r, http.StatusOK, "magic", "Log in here?", "", linkData{Token: token, Email: confirm.Email})
		return
	}
	var next string
	if err == nil {
		h.SetShortCookie(w, magicCookie, "", -1)
		h.SetShortCookie(w, magicLinkCookie, "", -1)
		next, err = h.AfterFirstFactor(w, r, res.User, res.AMR, res.ReturnTo)
	}
	if err != nil {
		_, code, msg, _ := h.CodeError(w, r, err)
		h.Fail(w, r, http.StatusBadRequest, "Link not valid", msg, code)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
