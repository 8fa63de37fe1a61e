package account

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
)

type passwordData struct {
	Recovered bool
	ReturnTo  string
	Fresh     bool
}

// GET /account/password.
func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/account/password"), http.StatusSeeOther)
		return
	}
	has, err := h.Accounts.HasPassword(r.Context(), u.ID)
	if err != nil {
		h.LogFailure("password page: read password", err)
		has = true
	}
	title := "Set a new password"
	if !has {
		title = "Add a password"
	}
	q := r.URL.Query()
	h.Page(w, r, http.StatusOK, "password", title, "", passwordData{Recovered: q.Get("recovered") == "1",
		ReturnTo: portalkit.ReturnTo(q.Get("return_to")), Fresh: h.Sessions.Fresh(s)})
}

// POST /account/password.
func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/account/password"), http.StatusSeeOther)
		return
	}
	target := portalkit.ReturnTo(f.Get("return_to"))
	if err := h.Accounts.ChangePassword(r.Context(), s, f.Get("password")); err != nil {
		status, _, msg, _ := h.CodeError(w, r, err)
		h.Page(w, r, status, "password", "Set a new password", msg, passwordData{ReturnTo: target,
			Fresh: h.Sessions.Fresh(s)})
		return
	}
	http.Redirect(w, r, h.AfterLogin(target), http.StatusSeeOther)
}

// apiChangePassword: POST /api/v1/account/password {password}.
func (h *Handler) apiChangePassword(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if !h.Decode(w, r, &req) {
		return
	}
	if err := h.Accounts.ChangePassword(r.Context(), s, req.Password); err != nil {
		h.APICodeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
