package admin

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
)

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
