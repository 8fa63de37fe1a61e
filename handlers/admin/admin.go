// Package admin is Gatehouse's user-management API, served on Caddy's admin endpoint (which
// listens on localhost only unless configured otherwise) under /gatehouse/. The `gatehouse
// user` and `gatehouse invite` CLI commands call it. Requests and responses are JSON;
// errors are {"error": code, "message": text}.
//
//	GET  /gatehouse/users?after=&limit=     list users
//	POST /gatehouse/users                   create {email, password?, fname?, lname?, groups?, external_user_id?,
//	                                        email_verified? (default true)}
//	GET  /gatehouse/users/{id or email}     show
//	POST /gatehouse/users/{id}/disable      disable (revokes sessions and tokens)
//	POST /gatehouse/users/{id}/enable       enable
//	PUT  /gatehouse/users/{id}/password     {password} (revokes sessions and tokens)
//	PUT  /gatehouse/users/{id}/groups       {groups: [...]}
//	PATCH /gatehouse/users/{id}             profile fields (see account.ProfilePatch), custom_data
//	PUT  /gatehouse/users/{id}/custom_app_data/{client}   a JSON object (null removes it)
//	POST /gatehouse/invites                 {email?, groups?} -> {code, url, expires_at}
//	GET  /gatehouse/groups                  list group data
//	PUT  /gatehouse/groups/{name}           {custom_data}
//	DELETE /gatehouse/groups/{name}
//	GET  /gatehouse/keys                    signing keys (kid, alg, created_at, signing)
//	POST /gatehouse/keys/rotate             {alg?, immediate?} rotate (every algorithm by default)
//	DELETE /gatehouse/keys/{kid}            delete a key at once (after a compromise)
package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Handler serves the admin API.
type Handler struct {
	// Backend returns the running identity core (the admin endpoint outlives config
	// reloads, so it is looked up per request).
	Backend func() (*Backend, error)

	mux *http.ServeMux
}

// New returns the admin API handler.
func New(backend func() (*Backend, error)) *Handler {
	h := &Handler{Backend: backend, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /gatehouse/users", h.list)
	h.mux.HandleFunc("POST /gatehouse/users", h.create)
	h.mux.HandleFunc("GET /gatehouse/users/{id}", h.show)
	h.mux.HandleFunc("POST /gatehouse/users/{id}/disable", h.setDisabled(true))
	h.mux.HandleFunc("POST /gatehouse/users/{id}/enable", h.setDisabled(false))
	h.mux.HandleFunc("PUT /gatehouse/users/{id}/password", h.setPassword)
	h.mux.HandleFunc("PUT /gatehouse/users/{id}/groups", h.setGroups)
	h.mux.HandleFunc("POST /gatehouse/invites", h.invite)
	h.mux.HandleFunc("PATCH /gatehouse/users/{id}", h.patch)
	h.mux.HandleFunc("PUT /gatehouse/users/{id}/custom_app_data/{client}", h.customAppData)
	h.mux.HandleFunc("GET /gatehouse/users/{id}/identities", h.listIdentities)
	h.mux.HandleFunc("POST /gatehouse/users/{id}/identities", h.linkIdentity)
	h.mux.HandleFunc("DELETE /gatehouse/users/{id}/identities/{provider}", h.unlinkIdentity)
	h.mux.HandleFunc("GET /gatehouse/groups", h.listGroups)
	h.mux.HandleFunc("PUT /gatehouse/groups/{name}", h.putGroup)
	h.mux.HandleFunc("DELETE /gatehouse/groups/{name}", h.deleteGroup)
	h.mux.HandleFunc("GET /gatehouse/keys", h.listKeys)
	h.mux.HandleFunc("POST /gatehouse/keys/rotate", h.rotateKeys)
	h.mux.HandleFunc("DELETE /gatehouse/keys/{kid}", h.removeKey)
	h.mux.HandleFunc("/gatehouse/", func(w http.ResponseWriter, r *http.Request) {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such admin endpoint: "+r.Method+" "+r.URL.Path)
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) backend(w http.ResponseWriter) *Backend {
	p, err := h.Backend()
	if err != nil {
		web.WriteAPIError(w, http.StatusServiceUnavailable, "not_configured", err.Error())
		return nil
	}
	return p
}

func writeErr(w http.ResponseWriter, err error) {
	var in *input.Error
	switch {
	case errors.As(err, &in):
		web.WriteJSON(w, http.StatusBadRequest, web.APIError{Error: "invalid_input", Message: in.Error(), Field: in.Field})
	case errors.Is(err, account.ErrUserNotFound):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such user")
	case errors.Is(err, account.ErrEmailTaken):
		web.WriteAPIError(w, http.StatusConflict, "email_taken", "a user with this email already exists")
	case errors.Is(err, account.ErrPhoneTaken):
		web.WriteAPIError(w, http.StatusConflict, "phone_taken", "another user verified this phone number")
	case errors.Is(err, social.ErrUnknown):
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_input", "no social provider of that name is configured")
	case errors.Is(err, social.ErrLinkedOther):
		web.WriteAPIError(w, http.StatusConflict, "identity_taken", "this identity is linked to a user already")
	default:
		web.WriteAPIError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

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

func (h *Handler) invite(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &req); err != nil {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	inv, err := p.Invites.CreateInvite(r.Context(), req.Email, req.Groups)
	if err != nil {
		writeErr(w, err)
		return
	}
	link := p.Issuer + "/signup?invite=" + url.QueryEscape(inv.Code)
	web.WriteJSON(w, http.StatusCreated, map[string]any{"code": inv.Code, "url": link, "email": inv.Email,
		"groups": inv.Groups, "expires_at": inv.ExpiresAt, "signup_mode": p.SignupMode})
}

// maxAdminBody fits a 100 KB custom data payload and the rest of a request.
const maxAdminBody = 256 << 10

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

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	gs, err := p.Accounts.ListGroups(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	if gs == nil {
		gs = []store.Group{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"groups": gs})
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		CustomData json.RawMessage `json:"custom_data"`
	}
	if err := web.DecodeJSONLimit(w, r, &req, maxAdminBody); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	g, err := p.Accounts.SetGroupData(r.Context(), r.PathValue("name"), req.CustomData)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, g)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	if err := p.Accounts.DeleteGroup(r.Context(), r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"keys": p.Keys.Keys()})
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Alg       string `json:"alg"`
		Immediate bool   `json:"immediate"`
	}
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &req); err != nil {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	algs := p.Keys.Algs()
	if req.Alg != "" {
		if !keys.ValidAlg(req.Alg) {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_input", "alg must be RS256, ES256 or EdDSA")
			return
		}
		algs = []string{req.Alg}
	}
	var created []keys.KeyInfo
	for _, alg := range algs {
		k, err := p.Keys.Rotate(r.Context(), alg, req.Immediate)
		if err != nil {
			writeErr(w, err)
			return
		}
		created = append(created, keys.KeyInfo{ID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"created": created, "keys": p.Keys.Keys()})
}

func (h *Handler) removeKey(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	if err := p.Keys.Remove(r.Context(), r.PathValue("kid")); err != nil {
		web.WriteAPIError(w, http.StatusConflict, "conflict", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
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

// identities: GET /gatehouse/users/{id}/identities.
func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	ids, err := p.Identities.Identities(r.Context(), u.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	if ids == nil {
		ids = []store.Identity{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"identities": ids})
}

// linkIdentity: POST /gatehouse/users/{id}/identities {provider, subject} — an
// administrator links an upstream identity (the user then logs in with it).
func (h *Handler) linkIdentity(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	var req struct {
		Provider string `json:"provider"`
		Subject  string `json:"subject"`
	}
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	id, err := p.Identities.Link(r.Context(), u.ID, req.Provider, req.Subject)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, id)
}

// unlinkIdentity: DELETE /gatehouse/users/{id}/identities/{provider}?subject=.
func (h *Handler) unlinkIdentity(w http.ResponseWriter, r *http.Request) {
	p := h.backend(w)
	if p == nil {
		return
	}
	u, err := p.Accounts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	provider, subject := r.PathValue("provider"), r.URL.Query().Get("subject")
	if err := p.Identities.Remove(r.Context(), u.ID, provider, subject); errors.Is(err, social.ErrNoIdentity) {
		web.WriteAPIError(w, http.StatusNotFound, "not_found", "no such linked identity")
		return
	} else if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
