package account

import (
	"encoding/json"
	"errors"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

// profileField is one field of the "Profile" form on the account page.
type profileField struct {
	Name, Label, Value, Type string
}

var fieldLabels = map[string]string{"fname": i18n.N("First name"), "mname": i18n.N("Middle name"), "lname": i18n.N("Last name"),
	"username": i18n.N("Username"), "birthday": i18n.N("Birthday"), "picture": i18n.N("Picture URL")}

// profileFields are the editable fields with the user's values, in the configured order.
func (h *Handler) profileFields(u store.User) []profileField {
	out := make([]profileField, 0, len(h.EditableFields))
	values := profileValues(u)
	for _, f := range h.EditableFields {
		v, _ := values[f].(string)
		typ := "text"
		switch f {
		case "birthday":
			typ = "date"
		case "picture":
			typ = "url"
		}
		out = append(out, profileField{Name: f, Label: fieldLabels[f], Value: v, Type: typ})
	}
	return out
}

// profileValues are the user's self-editable fields by name.
func profileValues(u store.User) map[string]any {
	return map[string]any{"fname": u.FirstName, "mname": u.MiddleName, "lname": u.LastName, "username": u.Username,
		"birthday": u.Birthday, "picture": u.Picture}
}

// profileForm: POST /account/profile: the editable fields of the form. A field of the
// form that is not editable (such as email) is refused with a message naming it.
func (h *Handler) profileForm(w http.ResponseWriter, r *http.Request) {
	h.change(w, r, func(s store.Session, f url.Values) error {
		fields := map[string]json.RawMessage{}
		for name := range f {
			if name == "csrf_token" {
				continue
			}
			raw, err := json.Marshal(f.Get(name))
			if err != nil {
				return err
			}
			fields[name] = raw
		}
		_, err := h.Accounts.UpdateOwnProfile(r.Context(), s.UserID, fields, h.EditableFields)
		return err
	})
}

// apiProfile: GET /api/v1/account/profile: {editable: [names], profile: {name: value}}.
func (h *Handler) apiProfile(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	h.writeProfile(w, u)
}

func (h *Handler) writeProfile(w http.ResponseWriter, u store.User) {
	all := profileValues(u)
	prof := map[string]any{"email": u.Email, "email_verified": u.EmailVerified}
	if u.PhoneNumber != "" {
		prof["phone_number"], prof["phone_number_verified"] = u.PhoneNumber, u.PhoneNumberVerified
	}
	for k, v := range all {
		prof[k] = v
	}
	editable := h.EditableFields
	if editable == nil {
		editable = []string{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"editable": editable, "profile": prof})
}

// apiUpdateProfile: PATCH /api/v1/account/profile {field: "value", ...}: the fields change
// (every one validated, nothing written if one is refused); the answer is the new profile.
func (h *Handler) apiUpdateProfile(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req map[string]json.RawMessage
	if !h.Decode(w, r, &req) {
		return
	}
	u, err := h.Accounts.UpdateOwnProfile(r.Context(), s.UserID, req, h.EditableFields)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	h.writeProfile(w, u)
}

// errConfirmDelete: the confirmation field of the deletion did not match.
var errConfirmDelete = errors.New("to delete your account, type your email address or the word DELETE in the box")

// confirmsDeletion reports whether the user typed their email address or DELETE.
func confirmsDeletion(u store.User, typed string) bool {
	typed = strings.TrimSpace(typed)
	return typed == "DELETE" || (u.Email != "" && strings.EqualFold(typed, u.Email))
}

// deleteAccount checks the deletion of the session's account (allowed, fresh login,
// confirmed) and performs it.
func (h *Handler) deleteAccount(r *http.Request, s store.Session, u store.User, confirm string) error {
	if !h.Sessions.Fresh(s) {
		return errDeleteReauthenticate
	}
	if !confirmsDeletion(u, confirm) {
		return errConfirmDelete
	}
	return h.Accounts.Delete(r.Context(), u.ID)
}

// errDeleteReauthenticate: deleting needs a login from the last sessions.FreshLogin (CR-19).
var errDeleteReauthenticate = errors.New("log in again to delete your account (sensitive changes need a login from the last 10 minutes)")

// deletedData is the page after a deletion.
type deletedData struct{ LoginAgain string }

// deleteForm: POST /account/delete {confirm}: the account and everything of it are
// removed (account.Accounts.Delete, the admin's delete), the cookie cleared, and the user
// lands on a logged-out page saying the account is gone.
func (h *Handler) deleteForm(w http.ResponseWriter, r *http.Request) {
	if !h.AllowDelete {
		http.NotFound(w, r)
		return
	}
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	if err := h.deleteAccount(r, s, u, f.Get("confirm")); err != nil {
		switch {
		case errors.Is(err, errDeleteReauthenticate):
			h.RenderError(w, r, http.StatusForbidden, errMsg(err))
			return
		case errors.Is(err, errConfirmDelete):
			h.RenderError(w, r, http.StatusBadRequest, errMsg(err))
			return
		}
		h.changeError(w, r, err)
		return
	}
	if err := h.Cookie.Clear(w, r); err != nil {
		h.LogFailure("account deleted: clear cookie", err)
	}
	h.Page(w, r, http.StatusOK, "account_deleted", "Account deleted", "", deletedData{LoginAgain: h.Base + "/login"})
}

func errMsg(err error) string { return portalkit.Capitalize(err.Error()) + "." }

// apiDelete: DELETE /api/v1/account {confirm}: as deleteForm; 204 when the account is gone,
// 403 reauthenticate without a fresh login, 400 confirm_mismatch, 404 when the operator
// does not allow it.
func (h *Handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	if !h.AllowDelete {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "Deleting your own account is not enabled on this server; ask an administrator.")
		return
	}
	s, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req struct {
		Confirm string `json:"confirm"`
	}
	if !h.Decode(w, r, &req) {
		return
	}
	switch err := h.deleteAccount(r, s, u, req.Confirm); {
	case err == nil:
	case errors.Is(err, errDeleteReauthenticate):
		web.WriteAPIError(w, http.StatusForbidden, "reauthenticate", errMsg(err))
		return
	case errors.Is(err, errConfirmDelete):
		web.WriteJSON(w, http.StatusBadRequest, web.APIError{Error: "confirm_mismatch", Message: errMsg(err), Field: "confirm"})
		return
	default:
		h.APIError(w, r, err)
		return
	}
	if err := h.Cookie.Clear(w, r); err != nil {
		h.LogFailure("account deleted: clear cookie", err)
	}
	w.WriteHeader(http.StatusNoContent)
}

// mountProfile registers the profile and deletion routes.
func (h *Handler) mountProfile(mux *http.ServeMux) {
	h.Handle(mux, "GET", "/api/v1/account/profile", h.apiProfile)
	h.HandleChange(mux, "PATCH", "/api/v1/account/profile", h.apiUpdateProfile)
	h.HandleChange(mux, "POST", "/account/profile", h.profileForm)
	h.HandleChange(mux, "POST", "/account/delete", h.deleteForm)
	h.HandleChange(mux, "DELETE", "/api/v1/account", h.apiDelete)
}
