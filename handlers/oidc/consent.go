package oidc

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// PathConsent receives the consent page's decision (POST, CSRF token).
const PathConsent = "/authorize/consent"

// codeConsentRequired: prompt=none and the user has not consented (OIDC Core §3.1.2.6).
const codeConsentRequired = "consent_required"

// scopeText says in plain words what each standard scope lets the application have.
var scopeText = map[string]string{
	"openid":         i18n.N("Know that it is you: a stable identifier of your account"),
	"profile":        i18n.N("Your name, username, picture and other profile details"),
	"email":          i18n.N("Your email address and whether it is verified"),
	"phone":          i18n.N("Your phone number and whether it is verified"),
	"address":        i18n.N("Your postal address"),
	"offline_access": i18n.N("Keep access while you are away, until you disconnect it on your account page"),
}

// ScopeLine is one line of the consent page: the scope and what it gives.
type ScopeLine struct{ Scope, Text string }

// consentData is the consent page's data.
type consentData struct {
	// App is the client's name; Email the user's.
	App, Email string
	Scopes     []ScopeLine
	// Claims are the claims asked for one by one with the claims parameter.
	Claims []string
	// Registered marks a client that registered itself (RFC 7591): its name is
	// self-asserted, so the page says so and names where the answer goes (SendsTo: the
	// redirect URI's host, or its scheme for an app's private-use scheme).
	Registered bool
	SendsTo    string
	// Action is the form's target; Request the authorization request to resume; User the
	// ID of the user asked (an Allow counts only for the session's user being that user).
	Action, Request, User string
}

// scopeLines describes the requested scopes in lang; a custom scope is shown by its name.
func scopeLines(lang string, scopes []string) []ScopeLine {
	out := make([]ScopeLine, 0, len(scopes))
	for _, s := range scopes {
		t, ok := scopeText[s]
		if ok {
			t = i18n.Text(lang, t)
		} else {
			t = i18n.T(lang, "Access named “%s”", s)
		}
		out = append(out, ScopeLine{Scope: s, Text: t})
	}
	return out
}

// requestedClaims lists the claims named in the claims parameter, sorted.
func requestedClaims(req *oauth.AuthRequest) []string {
	if req.Claims == nil {
		return nil
	}
	var out []string
	for _, m := range []map[string]*issue.ClaimSpec{req.Claims.IDToken, req.Claims.Userinfo} {
		for name := range m {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// sendsTo names where the authorization response goes: the redirect URI's host (with its
// port), or "the app <scheme>:" for a native app's private-use scheme.
func sendsTo(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	switch {
	case err != nil:
		return ""
	case u.Host != "":
		return u.Host
	default:
		return "the app " + u.Scheme + ":"
	}
}

// consentResume is the authorization request without prompt=consent: once the user has
// decided, the page is not asked for again.
func consentResume(params url.Values) url.Values {
	resume := url.Values{}
	for k, v := range params {
		if len(v) > 0 {
			resume.Set(k, v[0])
		}
	}
	if p := resume.Get("prompt"); p != "" {
		var rest []string
		for _, v := range strings.Fields(p) {
			if v != "consent" {
				rest = append(rest, v)
			}
		}
		if len(rest) == 0 {
			resume.Del("prompt")
		} else {
			resume.Set("prompt", strings.Join(rest, " "))
		}
	}
	return resume
}

// consentPage asks the user whether the third-party client may have what it requests.
func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, params url.Values, req *oauth.AuthRequest, u store.User) {
	lang := i18n.FromRequest(r, h.Locale)
	d := consentData{App: req.Client.Name, Email: u.Email, Scopes: scopeLines(lang, req.Scopes), Claims: requestedClaims(req),
		Action: h.Base + PathConsent, Request: consentResume(params).Encode(), User: u.ID,
		Registered: req.Client.Registered, SendsTo: sendsTo(req.RedirectURI)}
	web.SecurityHeaders(w.Header())
	// The page must not be framed or cached: it carries the decision's form.
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Templates.Render(w, http.StatusOK, "consent", ui.Page{Brand: h.Brand, Base: h.Base, Lang: lang,
		Title: i18n.T(lang, "Allow %s?", req.Client.Name), CSRF: h.CSRF.Token(w, r), Data: d, Passkeys: h.Passkeys.Enabled()}); err != nil {
		h.Logger.Error("render consent page", "error", err)
	}
}

// consentDecision serves POST /authorize/consent. Allow remembers the consent and resumes
// the authorization request, which then issues the code; Deny ends it with access_denied
// at the client's redirect URI (OIDC Core §3.1.2.6: "The End-User denied the
// authorization request" — RFC 6749 §4.1.2.1). A request without this browser's CSRF token
// is refused (PX-24); a cross-site one is refused before this runs (Mount).
func (h *Handler) consentDecision(w http.ResponseWriter, r *http.Request) {
	web.SecurityHeaders(w.Header())
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", h.T(r, "The form is malformed: %s.", err.Error()), codeInvalidRequest)
		return
	}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.errorPage(w, r, http.StatusForbidden, "Request refused", "This form has expired or came from another site. Go back to the application and sign in again.", "csrf")
		return
	}
	params, err := url.ParseQuery(f.Get("request"))
	if err != nil || f.Get("request") == "" {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", "The consent form lost its sign-in request. Go back to the application and sign in again.", codeInvalidRequest)
		return
	}
	ctx := r.Context()
	req, params, _, ok := h.resolveRequest(w, r, params)
	if !ok {
		return
	}
	resume := h.Base + PathAuthorize + "?" + params.Encode()
	switch f.Get("decision") {
	case "deny":
		h.redirectError(w, r, req, codeAccessDenied, "the user denied the request")
	case "allow":
		s, _, err := h.Sessions.Get(ctx, h.Cookie.Secret(r))
		if err != nil || s.UserID != f.Get("user") {
			// No session (it ended meanwhile: /authorize sends the browser to the login
			// page), or another user logged in since the page was shown (/authorize asks
			// that user): nothing is remembered.
			http.Redirect(w, r, resume, http.StatusSeeOther)
			return
		}
		if err := h.OAuth.GiveConsent(ctx, s.UserID, req); err != nil {
			h.Logger.Error("consent: store", "error", err)
			h.redirectError(w, r, req, codeTemporarilyUnavail, "the login service is temporarily unavailable")
			return
		}
		http.Redirect(w, r, resume, http.StatusSeeOther)
	default:
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", "Choose Allow or Deny.", codeInvalidRequest)
	}
}
