package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	us, err := p.Accounts.List(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]user, 0, len(us))
	for _, u := range us {
		out = append(out, userView(u))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"users": out})
}

type createRequest struct {
	Email          string   `json:"email"`
	Password       string   `json:"password"`
	FirstName      string   `json:"fname"`
	MiddleName     string   `json:"mname"`
	LastName       string   `json:"lname"`
	Groups         []string `json:"groups"`
	ExternalUserID string   `json:"external_user_id"`
	// EmailVerified defaults to true: an administrator creating an account vouches for its
	// address. Send false for an address still to be verified.
	EmailVerified *bool `json:"email_verified"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req createRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	verified := req.EmailVerified == nil || *req.EmailVerified
	u, err := p.Accounts.Create(r.Context(), account.NewUser{Email: req.Email, Password: req.Password, FirstName: req.FirstName,
		MiddleName: req.MiddleName, LastName: req.LastName, Groups: req.Groups, ExternalUserID: req.ExternalUserID,
		EmailVerified: verified})
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, userView(u))
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, userView(u))
}

func (h *Handler) setDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := h.backend(w)
		if p == nil {
			return
		}
		u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
		if err == nil {
			u, err = p.Accounts.SetDisabled(r.Context(), u.ID, disabled)
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		web.WriteJSON(w, http.StatusOK, userView(u))
	}
}

// deleteUser: DELETE /gatehouse/users/{id or email}: the complete removal of
// account.Accounts.Delete (the same as a user's own deletion), 204 when done.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		err = p.Accounts.Delete(r.Context(), u.ID)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		err = p.Accounts.SetPassword(r.Context(), u.ID, req.Password)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) setGroups(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Groups []string `json:"groups"`
	}
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		u, err = p.Accounts.SetGroups(r.Context(), u.ID, req.Groups)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, userView(u))
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var pp account.ProfilePatch
	if err := web.DecodeJSONLimit(w, r, &pp, maxAdminBody); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		u, err = p.Accounts.UpdateProfile(r.Context(), u.ID, pp)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, userView(u))
}

func (h *Handler) customAppData(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var data json.RawMessage
	if err := web.DecodeJSONLimit(w, r, &data, maxAdminBody); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		u, err = p.Accounts.SetCustomAppData(r.Context(), u.ID, r.PathValue("client"), data)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, userView(u))
}

// user is the admin view of a user.
type user struct {
	ID             string    `json:"id"`
	Email          string    `json:"email"`
	EmailVerified  bool      `json:"email_verified"`
	FirstName      string    `json:"fname,omitempty"`
	MiddleName     string    `json:"mname,omitempty"`
	LastName       string    `json:"lname,omitempty"`
	Groups         []string  `json:"groups"`
	ExternalUserID string    `json:"external_user_id,omitempty"`
	Disabled       bool      `json:"disabled"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	LastAuthAt     time.Time `json:"last_auth_at,omitzero"`

	Username              string                     `json:"username,omitempty"`
	PhoneNumber           string                     `json:"phone_number,omitempty"`
	PhoneNumberVerified   bool                       `json:"phone_number_verified,omitempty"`
	SecondaryEmails       []store.SecondaryEmail     `json:"secondary_emails,omitempty"`
	SecondaryPhoneNumbers []store.SecondaryPhone     `json:"secondary_phone_numbers,omitempty"`
	Birthday              string                     `json:"birthday,omitempty"`
	Address               *store.Address             `json:"address,omitempty"`
	Picture               string                     `json:"picture,omitempty"`
	Language              string                     `json:"language,omitempty"`
	Organization          string                     `json:"organization,omitempty"`
	Roles                 []string                   `json:"roles,omitempty"`
	RoleValues            []string                   `json:"role_values,omitempty"`
	Permissions           []string                   `json:"permissions,omitempty"`
	ExternalAccountID     string                     `json:"external_account_id,omitempty"`
	CustomData            json.RawMessage            `json:"custom_data,omitempty"`
	CustomAppData         map[string]json.RawMessage `json:"custom_app_data,omitempty"`
}

func userView(u store.User) user {
	g := u.Groups
	if g == nil {
		g = []string{}
	}
	return user{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, FirstName: u.FirstName,
		MiddleName: u.MiddleName, LastName: u.LastName, Groups: g, ExternalUserID: u.ExternalUserID,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastAuthAt: u.LastAuthAt,
		Username: u.Username, PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified,
		SecondaryEmails: u.SecondaryEmails, SecondaryPhoneNumbers: u.SecondaryPhoneNumbers, Birthday: u.Birthday,
		Address: u.Address, Picture: u.Picture, Language: u.Language, Organization: u.Organization, Roles: u.Roles,
		RoleValues: u.RoleValues, Permissions: u.Permissions, ExternalAccountID: u.ExternalAccountID,
		CustomData: u.CustomData, CustomAppData: u.CustomAppData}
}
