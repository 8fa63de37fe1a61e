// Package login serves the portal's login page (the method chooser and the password form),
// logout (OpenID Connect RP-Initiated Logout 1.0, pages and JSON API), the session API and
// the static files of the pages. Each login method has its own package below it (password,
// codes, magiclink, recovery, passkey, social); sign-up is handlers/signup and the signed-in
// account pages handlers/account. What they share — rendering, CSRF, cookies, sessions,
// error mapping — is handlers/portalkit; none of them imports another.
package login

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/ui"
)

// SignupOn tells whether self-service sign-up is open (*account.Signup).
type SignupOn interface {
	Enabled() bool
}

// IDTokens verifies the id_token_hint of a logout request (*tokens.Verifier).
type IDTokens interface {
	VerifyIDToken(token string, allowExpired bool) (map[string]any, error)
}

// Clients finds the client of a logout request (*oauth.Server).
type Clients interface {
	Client(ctx context.Context, id string) (*oauth.Client, error)
}

// Handler serves the login page, logout and the session API. Every field is required.
type Handler struct {
	*portalkit.Kit
	Signup   SignupOn
	IDTokens IDTokens
	Clients  Clients

	confirmLogout http.Handler // logoutForm behind the cross-origin protection
}

// Mount registers the handler's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/login", h.loginPage)
	h.Handle(mux, "GET", "/logout", h.logoutPage)
	// POST /logout is both the RP's logout request (RP-Initiated Logout 1.0 §2: GET and POST)
	// and the confirmation form's submission; logoutPost tells them apart.
	h.confirmLogout = h.ProtectChange(h.logoutForm)
	h.Handle(mux, "POST", "/logout", h.logoutPost)
	h.Handle(mux, "GET", "/api/v1/session", h.apiSession)
	h.HandleChange(mux, "POST", "/api/v1/logout", h.apiLogout)
	mux.Handle("GET "+h.Base+"/static/", http.StripPrefix(h.Base+"/static/", staticHandler()))
}

func staticHandler() http.Handler {
	fs := http.FileServerFS(ui.Static())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fs.ServeHTTP(w, r)
	})
}

// GET /login: the method chooser and the password form.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := portalkit.ReturnTo(q.Get("return_to"))
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
	h.Page(w, r, http.StatusOK, "login", "Log in", "", portalkit.LoginData{ReturnTo: target, Email: email, SignupEnabled: h.Signup.Enabled()})
}
