package oidc

import (
	"mime"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// tokenParams must appear at most once in a token request (RFC 6749 §3.2).
var tokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier", "client_id",
	"client_secret", "refresh_token", "scope", "token", "token_type_hint", "device_code"}

// clientForm reads a client-authenticated form request (token, revocation, introspection
// endpoints: POST, form-encoded, at most 64 KiB, no repeated parameters) and authenticates
// the client. It writes the error response itself and returns nil on failure.
func (h *Handler) clientForm(w http.ResponseWriter, r *http.Request, precheck func(url.Values) *apiError) (*oauth.Client, url.Values) {
	web.NoStore(w.Header())
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeTokenError(w, &apiError{Code: codeInvalidRequest, Description: "use POST", Status: http.StatusMethodNotAllowed})
		return nil, nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		writeTokenError(w, &apiError{Code: codeInvalidRequest, Description: "the body must be application/x-www-form-urlencoded"})
		return nil, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, web.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, &apiError{Code: codeInvalidRequest, Description: "malformed or too large body"})
		return nil, nil
	}
	f := r.PostForm
	for _, k := range tokenParams {
		if len(f[k]) > 1 {
			writeTokenError(w, &apiError{Code: codeInvalidRequest, Description: "parameter " + k + " is repeated"})
			return nil, nil
		}
	}
	if precheck != nil {
		if oerr := precheck(f); oerr != nil {
			writeTokenError(w, oerr)
			return nil, nil
		}
	}
	client, basic, oerr := h.authenticateClient(r, f)
	if oerr != nil {
		if oerr.Code == codeInvalidClient && basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
		}
		writeTokenError(w, oerr)
		return nil, nil
	}
	return client, f
}

// token serves POST /token (RFC 6749 §3.2).
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	if h.cors(w, r, corsForm) {
		return
	}
	// The grant type is checked before the client: an unsupported grant (password,
	// implicit) is refused without becoming a credential oracle (AS-13).
	client, f := h.clientForm(w, r, func(f url.Values) *apiError {
		switch f.Get("grant_type") {
		case oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials, oauth.GrantDeviceCode:
			return nil
		case "":
			return &apiError{Code: codeInvalidRequest, Description: "grant_type is missing"}
		default:
			return &apiError{Code: codeUnsupportedGrantType, Description: "supported grant types: authorization_code, refresh_token, client_credentials, " + oauth.GrantDeviceCode}
		}
	})
	if client == nil {
		return
	}
	corsClient(w, r, client)
	var (
		resp *oauth.TokenResponse
		oerr *oauth.Error
	)
	switch f.Get("grant_type") {
	case oauth.GrantAuthorizationCode:
		resp, oerr = h.grantCode(r.Context(), client, f)
	case oauth.GrantRefreshToken:
		resp, oerr = h.grantRefresh(r.Context(), client, f)
	case oauth.GrantClientCredentials:
		resp, oerr = h.grantClientCredentials(r.Context(), client, f)
	case oauth.GrantDeviceCode:
		resp, oerr = h.grantDevice(r, client, f)
	}
	if oerr != nil {
		writeTokenError(w, fromDomain(oerr))
		return
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// authenticateClient applies client_secret_basic, client_secret_post or none (RFC 6749 §2.3).
// Using two methods at once is an error. basic reports whether the Authorization header was
// used (for the WWW-Authenticate challenge).
func (h *Handler) authenticateClient(r *http.Request, f url.Values) (*oauth.Client, bool, *apiError) {
	bad := func(desc string) *apiError {
		return &apiError{Code: codeInvalidRequest, Description: desc, Status: http.StatusBadRequest}
	}
	malformed := &apiError{Code: codeInvalidClient, Description: "malformed Basic credentials", Status: http.StatusUnauthorized}
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return nil, false, bad("repeated Authorization header")
	}
	if len(authz) == 1 {
		id, sec, ok := r.BasicAuth()
		if !ok {
			return nil, true, malformed
		}
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
		id, err1 := url.QueryUnescape(id)
		sec, err2 := url.QueryUnescape(sec)
		if err1 != nil || err2 != nil {
			return nil, true, malformed
		}
		if f.Has("client_secret") {
			return nil, true, bad("use one client authentication method, not Basic and client_secret together")
		}
		if cid := f.Get("client_id"); cid != "" && cid != id {
			return nil, true, bad("client_id does not match the Basic credentials")
		}
		c, oerr := h.OAuth.AuthenticateClient(r.Context(), id, sec, true, h.clientIP(r))
		if oerr != nil {
			return nil, true, fromDomain(oerr)
		}
		return c, true, nil
	}
	c, oerr := h.OAuth.AuthenticateClient(r.Context(), f.Get("client_id"), f.Get("client_secret"), f.Has("client_secret"), h.clientIP(r))
	if oerr != nil {
		return nil, false, fromDomain(oerr)
	}
	return c, false, nil
}
