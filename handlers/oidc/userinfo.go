package oidc

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// userinfo serves GET and POST /userinfo (OIDC Core §5.3) with a Bearer access token.
func (h *Handler) userinfo(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w.Header())
	if h.cors(w, r, corsUserinfo) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tok, err := bearerToken(w, r)
	if err != nil {
		challenge(w, http.StatusBadRequest, codeInvalidRequest, err.Error())
		return
	}
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		web.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": codeInvalidToken, "error_description": "an access token is required"})
		return
	}
	claims, err := h.Tokens.VerifyAccessToken(tok)
	if errors.Is(err, tokens.ErrUnavailable) {
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": codeTemporarilyUnavail})
		return
	} else if err != nil {
		challenge(w, http.StatusUnauthorized, codeInvalidToken, "the access token is invalid, expired or revoked")
		return
	}
	info, oerr := h.OAuth.UserInfo(r.Context(), claims)
	if oerr != nil {
		e := fromDomain(oerr)
		challenge(w, e.Status, e.Code, e.Description)
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
