package oidc

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// PathPAR is the pushed authorization request endpoint (RFC 9126 §2).
const PathPAR = "/par"

// codeInvalidRequestURI: a request_uri that is unknown, expired, used or another client's
// (RFC 9101 §7, which RFC 9126 §4 builds on).
const codeInvalidRequestURI = "invalid_request_uri"

// parCookie holds the browser's secret that binds a pushed request to the browser that first
// opened it (oauth.Server.OpenPushed).
const parCookie = "par"

// par serves POST /par (RFC 9126 §2.1): "The authorization server MUST process the request
// as follows: 1. Authenticate the client in the same way as at the token endpoint (Section
// 2.3 of [RFC6749]). 2. Reject the request if the request_uri authorization request
// parameter is provided. 3. Validate the pushed request as it would an authorization request
// sent to the authorization endpoint." Errors are token-endpoint JSON errors (§2.3); a
// success is 201 with request_uri and expires_in (§2.2).
func (h *Handler) par(w http.ResponseWriter, r *http.Request) {
	client, f := h.clientForm(w, r, nil)
	if client == nil {
		return
	}
	if f.Has("request_uri") {
		writeTokenError(w, &apiError{Code: codeInvalidRequest, Description: "request_uri cannot be sent to the pushed authorization request endpoint (RFC 9126 §2.1)"})
		return
	}
	q := url.Values{}
	for k, v := range f {
		if k != "client_secret" {
			q[k] = v
		}
	}
	q.Set("client_id", client.ID)
	in, fault := authParams(q)
	in.Pushed, in.PushedAuthenticated = true, !client.Public()
	if _, _, e := h.validateAuthRequest(r.Context(), q, in, fault); e != nil {
		// §2.3: "the invalid_request error code can be used as the default error code"
		// where RFC 6749 §4.1.2.1 defines none (a bad redirect URI).
		if e.Status == 0 || e.Status == http.StatusUnauthorized {
			e.Status = http.StatusBadRequest
		}
		writeTokenError(w, e)
		return
	}
	pr, oerr := h.OAuth.Push(r.Context(), client, q)
	if oerr != nil {
		writeTokenError(w, fromDomain(oerr))
		return
	}
	web.WriteJSON(w, http.StatusCreated, pr)
}

// openPushed resolves an authorization request by reference (RFC 9126 §4): with a
// request_uri, the parameters are the pushed ones, and of the browser's query only client_id,
// request_uri and Gatehouse's own resume parameters (gh_*) count; the others are ignored (the
// request by reference of RFC 9101 §5, on which RFC 9126 §4 builds, uses only the referenced
// parameters). browser are the parameters a resumed request carries. Without
// a request_uri of this server (urn:ietf:params:oauth:request_uri:...), q is both: a request
// object by reference is then refused as unsupported, as ever.
func (h *Handler) openPushed(w http.ResponseWriter, r *http.Request, q url.Values) (eff, browser url.Values, p *oauth.Pushed, e *apiError) {
	if len(q["request_uri"]) != 1 || !strings.HasPrefix(q.Get("request_uri"), oauth.RequestURIPrefix) {
		return q, q, nil, nil
	}
	for _, k := range []string{"client_id", "request_uri"} {
		if len(q[k]) > 1 || len(q.Get(k)) > 512 {
			return nil, nil, nil, &apiError{Code: codeInvalidRequest, Description: "parameter " + k + " is repeated or too long"}
		}
	}
	if q.Get("client_id") == "" {
		return nil, nil, nil, &apiError{Code: codeInvalidRequest, Description: "client_id is missing"}
	}
	name := web.CookieName(parCookie, h.secure())
	var sec string
	if c, err := r.Cookie(name); err == nil && len(c.Value) >= 32 && len(c.Value) <= 128 {
		sec = c.Value
	} else {
		sec = secret.Token()
		http.SetCookie(w, &http.Cookie{Name: name, Value: sec, Path: "/", HttpOnly: true, Secure: h.secure(),
			SameSite: http.SameSiteLaxMode, MaxAge: int(oauth.PushedFlowLifetime.Seconds())})
	}
	p, oerr := h.OAuth.OpenPushed(r.Context(), q.Get("client_id"), q.Get("request_uri"), sec)
	if oerr != nil {
		return nil, nil, nil, fromDomain(oerr)
	}
	eff = url.Values{}
	for k, v := range p.Params {
		eff[k] = v
	}
	browser = url.Values{"client_id": {q.Get("client_id")}, "request_uri": {q.Get("request_uri")}}
	for _, k := range []string{paramLoginAfter, paramMFASkip} {
		if v := q.Get(k); v != "" {
			eff.Set(k, v)
			browser.Set(k, v)
		}
	}
	return eff, browser, p, nil
}

// secure tells whether the portal is served over https (cookie names and flags).
func (h *Handler) secure() bool { return strings.HasPrefix(h.Issuer, "https:") }
