package oidc

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// deviceAuthorizationResponse is RFC 8628 §3.2's answer.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// deviceCode serves POST /device/code, the device authorization endpoint (RFC 8628 §3.1):
// the client authenticates as at the token endpoint (a public client sends its client_id),
// asks for scope, and gets a device code to poll with and a user code to show.
func (h *Handler) deviceCode(w http.ResponseWriter, r *http.Request) {
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	var scopes []string
	if s := f.Get("scope"); s != "" {
		scopes = strings.Fields(s)
	}
	start, oerr := h.OAuth.StartDevice(r.Context(), client, scopes)
	if oerr != nil {
		writeTokenError(w, fromDomain(oerr))
		return
	}
	verify := h.Issuer + PathDevice
	web.WriteJSON(w, http.StatusOK, deviceAuthorizationResponse{DeviceCode: start.DeviceCode, UserCode: start.UserCode,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?" + url.Values{"user_code": {start.UserCode}}.Encode(),
		ExpiresIn:               start.ExpiresIn, Interval: start.Interval})
}

// grantDevice polls with a device code (RFC 8628 §3.4: device_code).
func (h *Handler) grantDevice(r *http.Request, c *oauth.Client, f url.Values) (*oauth.TokenResponse, *oauth.Error) {
	return h.OAuth.DeviceGrant(r.Context(), c, f.Get("device_code"))
}
