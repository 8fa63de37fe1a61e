package oidc

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// revoke serves POST /revoke (RFC 7009).
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	if h.cors(w, r, corsForm) {
		return
	}
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	corsClient(w, r, client)
	hint, ok := tokenHint(f.Get("token_type_hint"))
	if !ok {
		writeTokenError(w, &apiError{Code: codeUnsupportedTokenType, Description: "token_type_hint must be access_token or refresh_token"})
		return
	}
	if oerr := h.OAuth.Revoke(r.Context(), client, f.Get("token"), hint); oerr != nil {
		writeTokenError(w, fromDomain(oerr))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// tokenHint reads token_type_hint (RFC 7009 §2.1: access_token or refresh_token; absent is
// no hint). ok is false for any other value.
func tokenHint(v string) (hint oauth.TokenHint, ok bool) {
	switch v {
	case "":
		return oauth.NoHint, true
	case "access_token":
		return oauth.AccessTokenHint, true
	case "refresh_token":
		return oauth.RefreshTokenHint, true
	}
	return oauth.NoHint, false
}
