package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Dynamic client registration: POST /register (RFC 7591 §3) and the client configuration
// endpoint /register/{client_id} (RFC 7592 §2: GET reads, PUT replaces, DELETE deletes),
// mounted only when registration is on. The decisions are the authorization server's
// (oauth/registration.go); this file reads the JSON, the Bearer tokens and writes the
// answers: 201 with the client information response (§3.2.1), 400 invalid_redirect_uri or
// invalid_client_metadata (§3.2.2), 401 invalid_token with a Bearer challenge for a
// missing or wrong initial or registration access token (RFC 6750 §3.1), 403
// insufficient_scope for the registration of a client an administrator disabled (RFC 7592
// §2.1: a client without "permission to read its record").

// maxRegistrationBody bounds a registration request: the metadata kept is bounded further.
const maxRegistrationBody = 64 << 10

// registrationResponse is the client information response (RFC 7591 §3.2.1, RFC 7592 §3).
type registrationResponse struct {
	oauth.ClientMetadata
	ClientIDIssuedAt      int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationToken     string `json:"registration_access_token"`
	RegistrationClientURI string `json:"registration_client_uri"`
	// ApprovalPending tells that an administrator must approve the client before it can be
	// used (a Gatehouse extension).
	ApprovalPending bool `json:"approval_pending,omitempty"`
}

func (h *Handler) mountRegistration(mux *http.ServeMux) {
	if h.Registration == nil {
		return
	}
	b := h.Base
	mux.HandleFunc("POST "+b+PathRegister, h.register)
	mux.HandleFunc("GET "+b+PathRegister+"/{id}", h.readRegistration)
	mux.HandleFunc("PUT "+b+PathRegister+"/{id}", h.updateRegistration)
	mux.HandleFunc("DELETE "+b+PathRegister+"/{id}", h.deleteRegistration)
}

// register serves POST /register (RFC 7591 §3.1).
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	tok, ok := h.registrationBearer(w, r, false)
	if !ok {
		return
	}
	ip := h.clientIP(r)
	if e := h.Registration.CheckInitialAccessToken(r.Context(), tok, ip); e != nil {
		h.registrationError(w, e)
		return
	}
	m, ok := decodeMetadata(w, r)
	if !ok {
		return
	}
	rc, e := h.Registration.Register(r.Context(), m, ip)
	if e != nil {
		h.registrationError(w, e)
		return
	}
	h.writeRegistration(w, http.StatusCreated, rc, rc.RegistrationToken)
}

func (h *Handler) readRegistration(w http.ResponseWriter, r *http.Request) {
	tok, ok := h.registrationBearer(w, r, true)
	if !ok {
		return
	}
	rc, e := h.Registration.ReadRegistration(r.Context(), r.PathValue("id"), tok, h.clientIP(r))
	if e != nil {
		h.registrationError(w, e)
		return
	}
	h.writeRegistration(w, http.StatusOK, rc, tok)
}

func (h *Handler) updateRegistration(w http.ResponseWriter, r *http.Request) {
	tok, ok := h.registrationBearer(w, r, true)
	if !ok {
		return
	}
	m, ok := decodeMetadata(w, r)
	if !ok {
		return
	}
	rc, e := h.Registration.UpdateRegistration(r.Context(), r.PathValue("id"), tok, h.clientIP(r), m)
	if e != nil {
		h.registrationError(w, e)
		return
	}
	h.writeRegistration(w, http.StatusOK, rc, tok)
}

func (h *Handler) deleteRegistration(w http.ResponseWriter, r *http.Request) {
	tok, ok := h.registrationBearer(w, r, true)
	if !ok {
		return
	}
	if e := h.Registration.DeleteRegistration(r.Context(), r.PathValue("id"), tok, h.clientIP(r)); e != nil {
		h.registrationError(w, e)
		return
	}
	web.NoStore(w.Header())
	w.WriteHeader(http.StatusNoContent)
}

// registrationBearer reads the Bearer token of the Authorization header (RFC 6750 §2.1).
// required: a missing token is answered 401 here.
func (h *Handler) registrationBearer(w http.ResponseWriter, r *http.Request, required bool) (string, bool) {
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 {
		if required {
			challenge(w, http.StatusUnauthorized, codeInvalidToken, "the registration access token is required: send Authorization: Bearer <registration_access_token>")
			return "", false
		}
		return "", true
	}
	scheme, value, ok := strings.Cut(authz[0], " ")
	if len(authz) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || value == "" || strings.ContainsAny(value, " \t") {
		challenge(w, http.StatusBadRequest, codeInvalidRequest, "the Authorization header must be: Bearer <token>")
		return "", false
	}
	return value, true
}

// decodeMetadata reads the client metadata JSON object (RFC 7591 §3.1: application/json).
// Members it does not know are ignored; a known member of the wrong type is
// invalid_client_metadata naming it.
func decodeMetadata(w http.ResponseWriter, r *http.Request) (oauth.ClientMetadata, bool) {
	var m oauth.ClientMetadata
	fail := func(format string, args ...any) (oauth.ClientMetadata, bool) {
		writeTokenError(w, &apiError{Code: codeInvalidClientMetadata, Description: fmt.Sprintf(format, args...)})
		return m, false
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return fail("the body must be a JSON object (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRegistrationBody))
	if err := dec.Decode(&m); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return fail("the body is larger than %d bytes", maxRegistrationBody)
		case errors.As(err, &te) && te.Field != "":
			return fail("%s must be a JSON %s", te.Field, te.Type.Kind())
		default:
			return fail("the body must be a JSON object of client metadata")
		}
	}
	if dec.More() {
		return fail("the body must be one JSON object")
	}
	return m, true
}

// registrationError writes a failure of the registration endpoints.
func (h *Handler) registrationError(w http.ResponseWriter, e *oauth.Error) {
	a := fromDomain(e)
	// RFC 6750 §3: a refused token (401) and a token without the right (403, a disabled
	// client, RFC 7592 §2.1) both carry the Bearer challenge.
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		challenge(w, a.Status, a.Code, a.Description)
		return
	}
	writeTokenError(w, a)
}

func (h *Handler) writeRegistration(w http.ResponseWriter, status int, rc *oauth.RegisteredClient, token string) {
	m := rc.Metadata()
	m.ClientSecret = rc.Secret
	resp := registrationResponse{ClientMetadata: m, ClientIDIssuedAt: rc.Client.CreatedAt.Unix(),
		RegistrationToken: token, ApprovalPending: rc.Client.Pending,
		RegistrationClientURI: h.Issuer + PathRegister + "/" + url.PathEscape(rc.Client.ID)}
	if rc.Secret != "" {
		var never int64 // RFC 7591 §3.2.1: 0 if the secret will not expire
		resp.ClientSecretExpiresAt = &never
	}
	web.WriteJSON(w, status, resp)
}
