package account

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AppCredentials are the user's app passwords and personal access tokens
// (*appcred.Service).
type AppCredentials interface {
	CreateForSession(ctx context.Context, s store.Session, req appcred.CreateRequest) (string, store.AppCredential, error)
	List(ctx context.Context, userID string) ([]store.AppCredential, error)
	Revoke(ctx context.Context, userID, id string) (store.AppCredential, error)
	Delete(ctx context.Context, userID, id string) error
}

// mountCredentials registers the app password and access token routes: the JSON API
// (GET and POST /api/v1/account/credentials, POST .../{id}/revoke, DELETE .../{id}) and the
// account page's forms (POST /account/credentials, .../{id}/revoke, .../{id}/delete).
// Without AppCredentials (a handler built for another purpose) there are none.
func (h *Handler) mountCredentials(mux *http.ServeMux) {
	if h.AppCredentials == nil {
		return
	}
	h.Handle(mux, "GET", "/api/v1/account/credentials", h.apiCredentials)
	h.HandleChange(mux, "POST", "/api/v1/account/credentials", h.apiCreateCredential)
	h.HandleChange(mux, "POST", "/api/v1/account/credentials/{id}/revoke", h.apiRevokeCredential)
	h.HandleChange(mux, "DELETE", "/api/v1/account/credentials/{id}", h.apiDeleteCredential)
	h.HandleChange(mux, "POST", "/account/credentials", h.createCredentialForm)
	h.HandleChange(mux, "POST", "/account/credentials/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		h.change(w, r, func(s store.Session, _ url.Values) error {
			_, err := h.AppCredentials.Revoke(r.Context(), s.UserID, r.PathValue("id"))
			return credentialFormError(err)
		})
	})
	h.HandleChange(mux, "POST", "/account/credentials/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		h.change(w, r, func(s store.Session, _ url.Values) error {
			return credentialFormError(h.AppCredentials.Delete(r.Context(), s.UserID, r.PathValue("id")))
		})
	})
}

func (h *Handler) credentialList(ctx context.Context, userID string) ([]appcred.View, error) {
	if h.AppCredentials == nil {
		return nil, nil
	}
	list, err := h.AppCredentials.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []appcred.View{}
	now := time.Now()
	for _, c := range list {
		out = append(out, appcred.ViewOf(c, now))
	}
	return out, nil
}

// apiCredentials: GET /api/v1/account/credentials.
func (h *Handler) apiCredentials(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	out, err := h.credentialList(r.Context(), u.ID)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"credentials": out})
}

// apiCreateCredential: POST /api/v1/account/credentials {kind, name, scopes, sites,
// expires_in_days} → 201 {secret, credential}; the secret is never shown again.
func (h *Handler) apiCreateCredential(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	var req appcred.CreateRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	sec, c, err := h.AppCredentials.CreateForSession(r.Context(), s, req)
	if err != nil {
		h.credentialAPIError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, map[string]any{"secret": sec, "credential": appcred.ViewOf(c, time.Now())})
}

// apiRevokeCredential: POST /api/v1/account/credentials/{id}/revoke.
func (h *Handler) apiRevokeCredential(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	c, err := h.AppCredentials.Revoke(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		h.credentialAPIError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, appcred.ViewOf(c, time.Now()))
}

// apiDeleteCredential: DELETE /api/v1/account/credentials/{id}.
func (h *Handler) apiDeleteCredential(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	if err := h.AppCredentials.Delete(r.Context(), u.ID, r.PathValue("id")); err != nil {
		h.credentialAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) credentialAPIError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, appcred.ErrReauthenticate):
		web.WriteAPIError(w, http.StatusForbidden, "reauthenticate", i18n.Text(h.Lang(r), portalkit.Capitalize(err.Error())+"."))
	case errors.Is(err, appcred.ErrSecondFactorRequired):
		web.WriteAPIError(w, http.StatusForbidden, "second_factor_required", i18n.Text(h.Lang(r), portalkit.Capitalize(err.Error())+"."))
	case errors.Is(err, store.ErrNotFound):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", h.T(r, "No such app password or access token."))
	default:
		h.APIError(w, r, err)
	}
}

// errNoCredential is the form's message for an unknown credential.
var errNoCredential = errors.New("no such app password or access token")

func credentialFormError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNoCredential
	}
	return err
}

// createCredentialForm: POST /account/credentials (kind, name, scopes and sites separated by
// spaces or commas, expires_in_days). The account page comes back with the new secret
// shown once.
func (h *Handler) createCredentialForm(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	days, _ := strconv.Atoi(f.Get("expires_in_days"))
	req := appcred.CreateRequest{Kind: f.Get("kind"), Name: f.Get("name"), Scopes: splitList(f.Get("scopes")),
		Sites: splitList(f.Get("sites")), ExpiresInDays: days}
	sec, c, err := h.AppCredentials.CreateForSession(r.Context(), s, req)
	if err != nil {
		h.changeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	j := appcred.ViewOf(c, time.Now())
	h.renderAccount(w, r, http.StatusCreated, "", &NewCredential{Secret: sec, Credential: j})
}

// NewCredential is a credential just created, with its secret, shown once on the page.
type NewCredential struct {
	Secret     string
	Credential appcred.View
}

// splitList splits a form field on spaces and commas.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '\r' || r == '\t' })
}
