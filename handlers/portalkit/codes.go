package portalkit

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
)

// CodeStartRequest is the body of every JSON API call that sends a code or link (login,
// recovery, verification): each reads the field it needs, and all accept the same fields.
type CodeStartRequest struct {
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
	Identifier  string `json:"identifier"`
	ReturnTo    string `json:"return_to"`
}

// CodeVerifyRequest is the body of every JSON API call that checks a received code.
type CodeVerifyRequest struct {
	Code     string `json:"code"`
	ReturnTo string `json:"return_to"`
}

// SentJSON answers a request for a code or link: the same whether or not the address
// belongs to an account (CR-06).
type SentJSON struct {
	Sent      bool `json:"sent"`
	ExpiresIn int  `json:"expires_in"`
}

// FlowStarted answers the JSON API call that sent a code: the flow cookie and 202, or the
// error.
func (k *Kit) FlowStarted(w http.ResponseWriter, r *http.Request, flow string, err error) {
	if err != nil {
		k.APICodeError(w, r, err)
		return
	}
	k.SetShortCookie(w, FlowCookie, flow, FlowMaxAge)
	web.WriteJSON(w, http.StatusAccepted, SentJSON{Sent: true, ExpiresIn: int(k.Channels.CodeTTL().Seconds())})
}

// CodeStartData is the form asking where to send a code or link.
type CodeStartData struct {
	Title, Intro, Action string
	// Field is "email", "phone_number" or "identifier".
	Field, Value, ReturnTo, Button string
}

// CodeVerifyData is the form asking for a received code.
type CodeVerifyData struct {
	Title, Intro, Action, ReturnTo, Resend string
	// Skip is where "skip for now" leads (verification after sign-up).
	Skip string
	// ResendAction, if set, is where the "Send a new code" button posts (with return_to, and
	// skip=1 when Skip is set), for a flow that can send a new code without asking again
	// where to send it.
	ResendAction string
	// Flow, if set, is the flow secret the form posts in a hidden field (the page of a
	// recovery link), instead of the flow cookie's.
	Flow string
}

// CodeStartPage renders the form asking where to send a code or link.
// Title, Intro and Button are English catalog texts (or already translated).
func (k *Kit) CodeStartPage(w http.ResponseWriter, r *http.Request, status int, d CodeStartData, msg string) {
	lang := k.Lang(r)
	d.Title, d.Intro, d.Button = i18n.Text(lang, d.Title), i18n.Text(lang, d.Intro), i18n.Text(lang, d.Button)
	k.Page(w, r, status, "code_start", d.Title, msg, d)
}

// CodeVerifyPage renders the form asking for a received code.
// Title and Intro are English catalog texts (or already translated).
func (k *Kit) CodeVerifyPage(w http.ResponseWriter, r *http.Request, status int, d CodeVerifyData, msg string) {
	lang := k.Lang(r)
	d.Title, d.Intro = i18n.Text(lang, d.Title), i18n.Text(lang, d.Intro)
	k.Page(w, r, status, "code_verify", d.Title, msg, d)
}

// ResendURL is the link asking for a new code: the start page, keeping return_to.
func ResendURL(start, target string) string {
	if target == "" {
		return start
	}
	sep := "?"
	if strings.Contains(start, "?") {
		sep = "&"
	}
	return start + sep + "return_to=" + url.QueryEscape(target)
}
