package oidc

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// CORS (the Fetch standard's "CORS protocol") for browser apps — public clients whose pages
// call the token, revocation and userinfo endpoints with fetch from their own origin.
//
//   - Discovery and JWKS are public documents without credentials: Access-Control-Allow-Origin
//     is "*" (Fetch §3.2.5: the right answer for a public resource; no Vary needed, and shared
//     caches keep one copy).
//   - /token, /revoke and /userinfo answer an Origin only if it is a browser origin of a
//     public client (the origin of one of its http(s) redirect URIs, or one of its
//     allowed_origins): Access-Control-Allow-Origin is that origin, never "*", and every
//     answer, with or without Origin, carries Vary: Origin. On /token and /revoke, once the
//     client is known, the origin must be that client's own (a confidential client has none).
//   - Access-Control-Allow-Credentials is never sent: these endpoints take no cookies (the
//     client authenticates with its form parameters or a Bearer token), so a page's
//     credentialed fetch is refused by the browser, and no cookie-borne authority exists to
//     borrow. Requests from other origins are processed like requests without Origin (a form
//     POST is a "simple" request that needs no preflight) — nothing in them is ambient —
//     but their answers are unreadable to the page.
//   - A preflight (OPTIONS with Access-Control-Request-Method) is answered 204; it carries
//     the Access-Control-Allow-* headers only for an allowed origin and method, so the
//     browser fails the CORS check of any other (Fetch §4.8 step 7). Any other OPTIONS gets
//     204 with Allow.
//   - The introspection endpoint (RFC 7662) has no CORS: its callers are resource servers
//     authenticated with a secret, never pages.

// corsMaxAge is how long a browser may cache a preflight's answer (seconds; Chromium caps
// it at 7200, Firefox at 86400).
const corsMaxAge = "600"

// corsEndpoint describes the CORS answers of one endpoint.
type corsEndpoint struct {
	methods string // Access-Control-Allow-Methods and, with OPTIONS, Allow
	headers string // Access-Control-Allow-Headers
}

var (
	// corsForm: a public client posts a form and sends no Authorization header; the header
	// is allowed anyway (client_secret_basic of a misconfigured page gets a readable
	// invalid_client rather than a network error).
	corsForm     = corsEndpoint{methods: "POST", headers: "Authorization, Content-Type"}
	corsUserinfo = corsEndpoint{methods: "GET, POST", headers: "Authorization, Content-Type"}
)

// cors writes the CORS headers of an endpoint answering public clients' pages: Vary: Origin
// always, Access-Control-Allow-Origin for an origin of some public client. It answers an
// OPTIONS request itself (a preflight or not) and then returns true.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request, ep corsEndpoint) (done bool) {
	hd := w.Header()
	hd.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	allowed := origin != "" && len(r.Header.Values("Origin")) == 1 && h.OAuth.KnownOrigin(r.Context(), origin)
	if allowed {
		hd.Set("Access-Control-Allow-Origin", origin)
	}
	if r.Method != http.MethodOptions {
		return false
	}
	hd.Set("Allow", "OPTIONS, "+ep.methods)
	if m := r.Header.Get("Access-Control-Request-Method"); allowed && m != "" {
		if !strings.Contains(", "+ep.methods+", ", ", "+m+", ") {
			// A method the endpoint does not take: no CORS headers, the browser stops.
			hd.Del("Access-Control-Allow-Origin")
		} else {
			hd.Set("Access-Control-Allow-Methods", ep.methods)
			hd.Set("Access-Control-Allow-Headers", ep.headers)
			hd.Set("Access-Control-Max-Age", corsMaxAge)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// corsClient decides Access-Control-Allow-Origin by the authenticated client's own origins
// once the request is known to be client's: a page of another client's origin (or any page,
// for a confidential client) cannot read the answer, and a client added to the store a
// moment ago is answered although KnownOrigin's list does not have it yet.
func corsClient(w http.ResponseWriter, r *http.Request, c *oauth.Client) {
	origin := r.Header.Get("Origin")
	if origin != "" && len(r.Header.Values("Origin")) == 1 && c.AllowsOrigin(origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	} else {
		w.Header().Del("Access-Control-Allow-Origin")
	}
}
