package module

import (
	"slices"
	"strconv"
	"strings"
)

// headerProfile is what one application documents for authentication by a reverse proxy:
// the headers Gatehouse injects (name -> {gatehouse.*} template) and the names the app also
// reads that Gatehouse has no verified value for, which are stripped from client requests
// all the same so that a client cannot set them.
type headerProfile struct {
	inject map[string]string
	strip  []string
}

// The user header carries the user ID (the token's sub): it is the only identifier that is
// always present, stable and verified. Email is injected only when verified (as for
// X-User-Email); a header with no value for a user is removed, never passed through.
var headerProfiles = map[string]headerProfile{
	// Grafana, auth.proxy: "header_name = X-WEBAUTH-USER" and "Optionally define more
	// headers to sync other user attributes. Example `headers = Name:X-WEBAUTH-NAME
	// Role:X-WEBAUTH-ROLE Email:X-WEBAUTH-EMAIL Groups:X-WEBAUTH-GROUPS`".
	// https://grafana.com/docs/grafana/latest/setup-grafana/configure-access/configure-authentication/auth-proxy/
	// Gatehouse has no Grafana role for a user: X-WEBAUTH-ROLE is stripped, not set.
	"grafana": {inject: map[string]string{
		"X-Webauth-User":   "{gatehouse.user.id}",
		"X-Webauth-Email":  "{gatehouse.user.email}",
		"X-Webauth-Name":   "{gatehouse.user.name}",
		"X-Webauth-Groups": "{gatehouse.user.groups}",
	}, strip: []string{"X-Webauth-Role"}},
	// Gitea (and Forgejo, its fork, with the same settings): ENABLE_REVERSE_PROXY_AUTHENTICATION;
	// "the default login user HTTP header is X-WEBAUTH-USER" (REVERSE_PROXY_AUTHENTICATION_USER),
	// email X-WEBAUTH-EMAIL (REVERSE_PROXY_AUTHENTICATION_EMAIL), full name X-WEBAUTH-FULLNAME
	// (REVERSE_PROXY_AUTHENTICATION_FULL_NAME). https://docs.gitea.com/usage/authentication#reverse-proxy
	"gitea":   giteaProfile,
	"forgejo": giteaProfile,
	// paperless-ngx: PAPERLESS_ENABLE_HTTP_REMOTE_USER; PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME
	// defaults to HTTP_REMOTE_USER, Django's name for the Remote-User request header.
	// https://docs.paperless-ngx.com/configuration/#PAPERLESS_ENABLE_HTTP_REMOTE_USER
	"paperless": {inject: map[string]string{"Remote-User": "{gatehouse.user.id}"}},
	// oauth2-proxy: --set-xauthrequest sets X-Auth-Request-User, -Groups, -Email and
	// -Preferred-Username; --pass-user-headers sets X-Forwarded-User, -Groups, -Email and
	// -Preferred-Username. https://oauth2-proxy.github.io/oauth2-proxy/configuration/overview
	// Gatehouse access tokens carry no preferred_username: those two headers are stripped,
	// not set (the X-Auth-Request- prefix is stripped anyway).
	"oauth2-proxy": {inject: map[string]string{
		"X-Auth-Request-User":   "{gatehouse.user.id}",
		"X-Auth-Request-Email":  "{gatehouse.user.email}",
		"X-Auth-Request-Groups": "{gatehouse.user.groups}",
		"X-Forwarded-User":      "{gatehouse.user.id}",
		"X-Forwarded-Email":     "{gatehouse.user.email}",
		"X-Forwarded-Groups":    "{gatehouse.user.groups}",
	}, strip: []string{"X-Auth-Request-Preferred-Username", "X-Forwarded-Preferred-Username",
		"X-Auth-Request-Access-Token", "X-Forwarded-Access-Token"}},
	// Authelia, trusted header SSO: "Remote-User", "Remote-Groups" (comma-separated),
	// "Remote-Email", "Remote-Name".
	// https://www.authelia.com/integration/trusted-header-sso/introduction/#response-headers
	"authelia": {inject: map[string]string{
		"Remote-User":   "{gatehouse.user.id}",
		"Remote-Groups": "{gatehouse.user.groups}",
		"Remote-Email":  "{gatehouse.user.email}",
		"Remote-Name":   "{gatehouse.user.name}",
	}},
}

var giteaProfile = headerProfile{inject: map[string]string{
	"X-Webauth-User":     "{gatehouse.user.id}",
	"X-Webauth-Email":    "{gatehouse.user.email}",
	"X-Webauth-Fullname": "{gatehouse.user.name}",
}}

// unsupportedProfiles are apps people ask for that document no header authentication: a
// profile would inject headers the app ignores, so the name is refused with what to do.
var unsupportedProfiles = map[string]string{
	"jellyfin": "Jellyfin has no built-in authentication by proxy headers (only its own logins and plugins such as " +
		"an SSO plugin speaking OpenID Connect): register Jellyfin as an OpenID Connect client of Gatehouse instead",
	"home-assistant": "Home Assistant documents no authentication by proxy headers (only custom components add one): " +
		"use its own login, or a custom component with `header <Name> <value>` lines for the header it reads",
	"nextcloud": "Nextcloud core has no header authentication: use the user_oidc app (login through Gatehouse as an " +
		"OpenID Connect client, and bearer tokens for its API), or a header-auth app with `header <Name> <value>` lines",
}

// HeaderProfileNames returns the known header profile names, sorted.
func HeaderProfileNames() []string {
	names := make([]string, 0, len(headerProfiles))
	for n := range headerProfiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// HeaderProfileProblem says why name is not a usable header profile, or "" when it is.
func HeaderProfileProblem(name string) string {
	if _, ok := headerProfiles[name]; ok {
		return ""
	}
	if why, ok := unsupportedProfiles[name]; ok {
		return "no profile " + name + ": " + why
	}
	return "unknown header profile " + strconv.Quote(name) + " (known: " + strings.Join(HeaderProfileNames(), ", ") + ")"
}

// HeaderProfileStrip returns every header name profile injects or strips, for the
// sanitizer that follows a gatehouse_protect with a matcher (nil for an unknown profile).
func HeaderProfileStrip(profile string) []string {
	hp, ok := headerProfiles[profile]
	if !ok {
		return nil
	}
	names := slices.Clone(hp.strip)
	for n := range hp.inject {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
