package oidc

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// tokenParams must appear at most once in a token request (RFC 6749 §3.2).
var tokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier", "client_id",
	"client_secret", "refresh_token", "scope", "token", "token_type_hint"}

// clientForm reads a client-authenticated form request (token, revocation, introspection
// endpoints: POST, form-encoded, at most 64 KiB, no repeated parameters) and authenticates
// the client. It writes the error response itself and returns nil on failure.
func (h *Handler) clientForm(w http.ResponseWriter, r *http.Request, precheck func(url.Values) *oauth.Error) (*oauth.Client, url.Values) {
	web.NoStore(w.Header())
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeTokenError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "use POST", Status: http.StatusMethodNotAllowed})
		return nil, nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		writeTokenError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "the body must be application/x-www-form-urlencoded"})
		return nil, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, web.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "malformed or too large body"})
		return nil, nil
	}
	f := r.PostForm
	for _, k := range tokenParams {
		if len(f[k]) > 1 {
			writeTokenError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "parameter " + k + " is repeated"})
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
		if oerr.Code == oauth.ErrCodeInvalidClient && basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
		}
		writeTokenError(w, oerr)
		return nil, nil
	}
	return client, f
}

// token serves POST /token (RFC 6749 §3.2).
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	// The grant type is checked before the client: an unsupported grant (password,
	// implicit) is refused without becoming a credential oracle (AS-13).
	client, f := h.clientForm(w, r, func(f url.Values) *oauth.Error {
		switch f.Get("grant_type") {
		case oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials:
			return nil
		case "":
			return &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "grant_type is missing"}
		default:
			return &oauth.Error{Code: oauth.ErrCodeUnsupportedGrantType, Description: "supported grant types: authorization_code, refresh_token, client_credentials"}
		}
	})
	if client == nil {
		return
	}
	grant := f.Get("grant_type")
	var (
		resp *oauth.TokenResponse
		oerr *oauth.Error
	)
	switch grant {
	case oauth.GrantAuthorizationCode:
		resp, oerr = h.OAuth.ExchangeCode(r.Context(), client, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
	case oauth.GrantRefreshToken:
		resp, oerr = h.OAuth.RefreshGrant(r.Context(), client, f.Get("refresh_token"), f.Get("scope"))
	case oauth.GrantClientCredentials:
		resp, oerr = h.OAuth.ClientCredentialsGrant(r.Context(), client, f.Get("scope"), f["resource"])
	}
	if oerr != nil {
		writeTokenError(w, oerr)
		return
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// authenticateClient applies client_secret_basic, client_secret_post or none (RFC 6749 §2.3).
// Using two methods at once is an error. basic reports whether the Authorization header was
// used (for the WWW-Authenticate challenge).
func (h *Handler) authenticateClient(r *http.Request, f url.Values) (*oauth.Client, bool, *oauth.Error) {
	bad := func(desc string) *oauth.Error {
		return &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: desc, Status: http.StatusBadRequest}
	}
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return nil, false, bad("repeated Authorization header")
	}
	if len(authz) == 1 {
		id, sec, ok := r.BasicAuth()
		if !ok {
			return nil, true, &oauth.Error{Code: oauth.ErrCodeInvalidClient, Description: "malformed Basic credentials", Status: http.StatusUnauthorized}
		}
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
		id, err1 := url.QueryUnescape(id)
		sec, err2 := url.QueryUnescape(sec)
		if err1 != nil || err2 != nil {
			return nil, true, &oauth.Error{Code: oauth.ErrCodeInvalidClient, Description: "malformed Basic credentials", Status: http.StatusUnauthorized}
		}
		if f.Has("client_secret") {
			return nil, true, bad("use one client authentication method, not Basic and client_secret together")
		}
		if cid := f.Get("client_id"); cid != "" && cid != id {
			return nil, true, bad("client_id does not match the Basic credentials")
		}
		c, oerr := h.OAuth.AuthenticateClient(r.Context(), id, sec, true, h.clientIP(r))
		return c, true, oerr
	}
	c, oerr := h.OAuth.AuthenticateClient(r.Context(), f.Get("client_id"), f.Get("client_secret"), f.Has("client_secret"), h.clientIP(r))
	return c, false, oerr
}

// revoke serves POST /revoke (RFC 7009).
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	if hint := f.Get("token_type_hint"); hint != "" && hint != "access_token" && hint != "refresh_token" {
		writeTokenError(w, &oauth.Error{Code: "unsupported_token_type", Description: "token_type_hint must be access_token or refresh_token"})
		return
	}
	if oerr := h.OAuth.Revoke(r.Context(), client, f.Get("token"), f.Get("token_type_hint")); oerr != nil {
		writeTokenError(w, oerr)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// introspect serves POST /introspect (RFC 7662).
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) {
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	res, oerr := h.OAuth.Introspect(r.Context(), client, f.Get("token"), f.Get("token_type_hint"))
	if oerr != nil {
		writeTokenError(w, oerr)
		return
	}
	web.WriteJSON(w, http.StatusOK, res)
}

// userinfo serves GET and POST /userinfo (OIDC Core §5.3) with a Bearer access token.
func (h *Handler) userinfo(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w.Header())
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Headers", "Authorization")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tok, err := bearerToken(w, r)
	if err != nil {
		challenge(w, http.StatusBadRequest, oauth.ErrCodeInvalidRequest, err.Error())
		return
	}
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		web.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": oauth.ErrCodeInvalidToken, "error_description": "an access token is required"})
		return
	}
	claims, err := h.Tokens.VerifyAccessToken(tok)
	if errors.Is(err, tokens.ErrUnavailable) {
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": oauth.ErrCodeTemporarilyUnavail})
		return
	} else if err != nil {
		challenge(w, http.StatusUnauthorized, oauth.ErrCodeInvalidToken, "the access token is invalid, expired or revoked")
		return
	}
	info, oerr := h.OAuth.UserInfo(r.Context(), claims)
	if oerr != nil {
		challenge(w, oerr.Status, oerr.Code, oerr.Description)
		return
	}
	web.WriteJSON(w, http.StatusOK, info)
}

// bearerToken extracts an RFC 6750 token from the Authorization header or, for a POST, the
// access_token form field; using both, or repeating either, is an error.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, error) {
	var tok string
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return "", errors.New("repeated Authorization header")
	}
	if len(authz) == 1 {
		scheme, value, ok := strings.Cut(authz[0], " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || value == "" || strings.ContainsAny(value, " \t") {
			return "", errors.New("the Authorization header must be: Bearer <token>")
		}
		tok = value
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, web.MaxBodyBytes)
			if err := r.ParseForm(); err != nil {
				return "", errors.New("malformed body")
			}
			if v := r.PostForm["access_token"]; len(v) > 0 {
				if tok != "" || len(v) > 1 {
					return "", errors.New("send the access token once")
				}
				tok = v[0]
			}
		}
	}
	return tok, nil
}

func challenge(w http.ResponseWriter, status int, code, desc string) {
	desc = cleanDescription(desc)
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+desc+`"`)
	web.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
