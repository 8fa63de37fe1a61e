package oidc

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
)

// introspect serves POST /introspect (RFC 7662). It has no CORS (cors.go): its callers are
// resource servers with a secret, not pages.
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) {
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	// RFC 7662 §2.1: a hint the server does not understand is no error; the search covers
	// every kind of token anyway.
	hint, _ := tokenHint(f.Get("token_type_hint"))
	res, oerr := h.OAuth.Introspect(r.Context(), client, f.Get("token"), hint)
	if oerr != nil {
		writeTokenError(w, fromDomain(oerr))
		return
	}
	web.WriteJSON(w, http.StatusOK, res)
}
