package oidc

import (
	"net/http"
)

// revoke serves POST /revoke (RFC 7009).
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	if hint := f.Get("token_type_hint"); hint != "" && hint != "access_token" && hint != "refresh_token" {
		writeTokenError(w, &apiError{Code: codeUnsupportedTokenType, Description: "token_type_hint must be access_token or refresh_token"})
		return
	}
	if oerr := h.OAuth.Revoke(r.Context(), client, f.Get("token"), f.Get("token_type_hint")); oerr != nil {
		writeTokenError(w, fromDomain(oerr))
		return
	}
	w.WriteHeader(http.StatusOK)
}
