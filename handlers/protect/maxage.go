package protect

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/metrics"
)

// Re-authentication age (the route's MaxAge): a credential whose login (auth_time) is older
// than MaxAge is not enough. RFC 9470 §3: "max_age: Indicates the allowable elapsed time in
// seconds since the last active authentication event associated with the access token", sent
// with error="insufficient_user_authentication" in the WWW-Authenticate challenge of a 401.

// fresh reports whether id's login is recent enough for the route at now. A token without
// auth_time (a client acting for itself) never is: it records no login.
func (g *Guard) fresh(id *Identity, now time.Time) bool {
	if g.MaxAge <= 0 {
		return true
	}
	if id.cred != nil {
		return false // an app password or access token records no login
	}
	at := id.Claims.AuthTime
	return at > 0 && now.Unix()-at <= g.maxAgeSeconds()
}

// maxAgeSeconds is MaxAge in whole seconds (at least 1), as sent in max_age.
func (g *Guard) maxAgeSeconds() int64 {
	s := int64(g.MaxAge / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// reauthenticate answers a request whose credential's login is older than MaxAge: a browser
// is sent through the login again with max_age (OIDC Core §3.1.2.1: the portal must then
// actively re-authenticate the user); an API client gets 401 with the RFC 9470 challenge. App
// passwords and personal access tokens record no login at all: they are refused, and no
// login can help them.
func (g *Guard) reauthenticate(w http.ResponseWriter, r *http.Request, id *Identity) int {
	age := strconv.FormatInt(g.maxAgeSeconds(), 10)
	if id.cred != nil {
		desc := "this route requires a login within the last " + shortDuration(g.MaxAge) + "; app passwords and access tokens are not accepted"
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="`+desc+`", max_age="`+age+`"`)
		writeError(w, http.StatusUnauthorized, "insufficient_user_authentication", desc)
		return metrics.Forbidden
	}
	if g.ClientID != "" && isBrowser(r) {
		g.startLogin(w, r) // every login of a route with MaxAge asks for max_age
		return metrics.Unauthenticated
	}
	desc := "a login within the last " + shortDuration(g.MaxAge) + " is required: log in again"
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="`+desc+`", max_age="`+age+`"`)
	writeError(w, http.StatusUnauthorized, "insufficient_user_authentication", desc)
	return metrics.Unauthenticated
}

// staleLogin reports whether a login started with max_age (p.MaxAge seconds) came back with
// an authentication older than that: returning to the route would only start the same login
// again. authTime is the new token's auth_time.
func staleLogin(p pendingLogin, authTime int64, now time.Time) bool {
	return p.MaxAge > 0 && (authTime <= 0 || now.Unix()-authTime > p.MaxAge)
}

// staleLoginPage says that the login did not confirm the user's identity recently enough.
func (g *Guard) staleLoginPage(w http.ResponseWriter, r *http.Request, returnTo string) {
	g.renderPage(w, r, http.StatusForbidden, pageData{Title: "A recent login is needed",
		Message: "This page needs you to have entered your credentials recently, and the login did not ask for them again. " +
			"Log out, log in again, then try again.",
		Link: g.LogoutPath, LinkText: "Log out", Links: []pageLink{{URL: returnTo, Text: "Try again"}}})
}

// shortDuration writes d as 1h, 90m or 30s rather than Go's 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
