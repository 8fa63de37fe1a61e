package login

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/ui"
)

type loginData struct {
	ReturnTo      string
	Email         string
	SignupEnabled bool
}

func (h *Handler) signupEnabled() bool { return h.Signup.Enabled() }

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := returnTo(q.Get("return_to"))
	if target == "" {
		// Visiting the login page while logged in leads to the account page; with a
		// return_to, the authorization endpoint asked for a (fresh) login, so show the form.
		if _, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r)); err == nil {
			http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
			return
		}
	}
	email := q.Get("login_hint")
	if len(email) > 254 {
		email = ""
	}
	h.page(w, r, http.StatusOK, "login", "Log in", "", loginData{ReturnTo: target, Email: email, SignupEnabled: h.signupEnabled()})
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	data := loginData{ReturnTo: returnTo(f.Get("return_to")), Email: f.Get("email"), SignupEnabled: h.signupEnabled()}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.page(w, r, http.StatusForbidden, "login", "Log in", "Your form expired. Please try again.", data)
		return
	}
	res, err := h.Password.Login(r.Context(), f.Get("email"), f.Get("password"), h.ClientIP(r))
	var next string
	if err == nil {
		next, err = h.afterFirstFactor(w, r, res.User, res.AMR, data.ReturnTo)
	}
	if err != nil {
		status, _, msg, _ := h.classify(w, err)
		h.page(w, r, status, "login", "Log in", msg, data)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// afterFirstFactor completes a login by one factor that is not a passkey (password, email or
// SMS code, magic link, social login): a session, or — for a user with a passkey — a pending
// login whose second factor the MFA page collects (no session exists meanwhile). It returns
// where to go next.
func (h *Handler) afterFirstFactor(w http.ResponseWriter, r *http.Request, u store.User, amr []string, target string) (string, error) {
	need, err := h.MFA.NeedsSecondFactor(r.Context(), u)
	if err != nil {
		return "", err
	}
	if !need {
		if err := h.startSession(w, r, u, amr, false); err != nil {
			return "", err
		}
		return h.afterLogin(target), nil
	}
	sec, err := h.MFA.StartPending(r.Context(), u, amr)
	if err != nil {
		return "", err
	}
	h.setShortCookie(w, mfaCookie, sec, 300)
	next := h.Base + "/login/mfa"
	if t := returnTo(target); t != "" {
		next += "?return_to=" + url.QueryEscape(t)
	}
	return next, nil
}

type signupData struct {
	ReturnTo       string
	Email          string
	FirstName      string
	LastName       string
	Invite         string
	InviteRequired bool
}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	if !h.signupEnabled() {
		h.fail(w, r, http.StatusForbidden, "Sign-up is closed", "Sign-up is closed. Ask an administrator for an account.", "signup_closed")
		return
	}
	q := r.URL.Query()
	invite := q.Get("invite")
	if len(invite) > 128 {
		invite = ""
	}
	h.page(w, r, http.StatusOK, "signup", "Sign up", "", signupData{ReturnTo: returnTo(q.Get("return_to")),
		Invite: invite, InviteRequired: h.Signup.InviteRequired()})
}

func (h *Handler) signupForm(w http.ResponseWriter, r *http.Request) {
	f, err := web.ParseForm(w, r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Bad request", err.Error(), "invalid_request")
		return
	}
	data := signupData{ReturnTo: returnTo(f.Get("return_to")), Email: f.Get("email"), FirstName: f.Get("fname"),
		LastName: f.Get("lname"), Invite: f.Get("invite"), InviteRequired: h.Signup.InviteRequired()}
	if !h.CSRF.Check(r, f.Get("csrf_token")) {
		h.page(w, r, http.StatusForbidden, "signup", "Sign up", "Your form expired. Please try again.", data)
		return
	}
	in := account.NewUser{Email: f.Get("email"), Password: f.Get("password"), FirstName: f.Get("fname"), LastName: f.Get("lname")}
	if h.Signup.VerifiesFirst() {
		flow, err := h.Signup.Start(r.Context(), in, f.Get("invite"), preferredLanguage(r), h.ClientIP(r))
		if err != nil {
			status, _, msg, _ := h.codeError(w, err)
			h.page(w, r, status, "signup", "Sign up", msg, data)
			return
		}
		h.setShortCookie(w, flowCookie, flow, flowMaxAge)
		http.Redirect(w, r, h.signupVerifyURL(data.ReturnTo), http.StatusSeeOther)
		return
	}
	res, err := h.Signup.Create(r.Context(), in, f.Get("invite"), h.ClientIP(r))
	u := res.User
	if err == nil {
		err = h.startSession(w, r, u, res.AMR, true)
	}
	if err != nil {
		status, _, msg, _ := h.classify(w, err)
		h.page(w, r, status, "signup", "Sign up", msg, data)
		return
	}
	http.Redirect(w, r, h.afterSignup(w, r, u, data.ReturnTo), http.StatusSeeOther)
}

type accountData struct {
	User     store.User
	Name     string
	AuthTime string
	Passkeys []passkeyJSON
	// Fresh tells whether the login is recent enough to change passkeys.
	Fresh bool
	// Identities are the linked upstream accounts; Linkable the providers not linked yet.
	Identities []identityJSON
	Linkable   []ui.SocialButton
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	h.accountWithError(w, r, http.StatusOK, "")
}

// accountWithError renders the account page with an error message above it.
func (h *Handler) accountWithError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		http.Redirect(w, r, h.loginURL(""), http.StatusSeeOther)
		return
	} else if err != nil {
		h.logFailure("account page: read session", err)
		h.fail(w, r, http.StatusServiceUnavailable, "Unavailable", "Something went wrong on our side. Try again in a moment.", "unavailable")
		return
	}
	keys, err := h.Passkeys.List(r.Context(), u.ID)
	if err != nil {
		h.logFailure("account page: passkeys", err)
	}
	var pks []passkeyJSON
	for _, k := range keys {
		pks = append(pks, toPasskeyJSON(k))
	}
	var idents []identityJSON
	linked := map[string]bool{}
	if ids, err := h.Social.Identities(r.Context(), u.ID); err != nil {
		h.logFailure("account page: identities", err)
	} else {
		for _, i := range ids {
			idents = append(idents, identityJSON{Provider: i.Provider, Subject: i.Subject, Email: i.Email, CreatedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt})
			linked[i.Provider] = true
		}
	}
	var linkable []ui.SocialButton
	for _, b := range h.socialButtons() {
		if !linked[b.Name] {
			linkable = append(linkable, b)
		}
	}
	name := u.FirstName
	if u.LastName != "" {
		name += " " + u.LastName
	}
	h.page(w, r, status, "account", "Your account", msg, accountData{User: u, Name: name,
		AuthTime: s.AuthTime.UTC().Format("2006-01-02 15:04 MST"), Passkeys: pks, Identities: idents, Linkable: linkable,
		Fresh: h.Sessions.Fresh(s)})
}
