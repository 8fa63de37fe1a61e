package protect

import (
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/common/types/ref"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Placeholders lists the identity placeholders a header template (and Caddy's replacer) can
// use, with what they hold. Values never contain control characters; lists are joined with
// commas (group names cannot contain commas).
var Placeholders = map[string]string{
	"gatehouse.user.id":             "the user ID (sub)",
	"gatehouse.user.email":          "the email address, when verified (with the email scope)",
	"gatehouse.user.email_verified": "true or false",
	"gatehouse.user.name":           "the display name (with the profile scope)",
	"gatehouse.user.groups":         "the groups, comma-separated",
	"gatehouse.user.roles":          "the roles, comma-separated (client option access_token_claims roles)",
	"gatehouse.user.permissions":    "the permissions, comma-separated (client option access_token_claims permissions)",
	"gatehouse.token.client_id":     "the client the token was issued to",
	"gatehouse.token.scope":         "the granted scopes, space-separated",
	"gatehouse.token.audience":      "the token audiences, comma-separated",
	"gatehouse.token.expires":       "the token expiry, Unix seconds",
	"gatehouse.auth.amr":            "the authentication methods, comma-separated",
	"gatehouse.auth.time":           "the authentication time, Unix seconds",
	"gatehouse.session.id":          "the portal session ID (sid)",
}

// DefaultHeaders are injected unless the configuration replaces them; a header whose value is
// empty for a user is removed, never passed through (PX-01).
var DefaultHeaders = []HeaderSpec{
	{Name: "X-User-Id", Template: "{gatehouse.user.id}"},
	{Name: "X-User-Email", Template: "{gatehouse.user.email}"},
	{Name: "X-User-Name", Template: "{gatehouse.user.name}"},
	{Name: "X-User-Groups", Template: "{gatehouse.user.groups}"},
}

// HeaderSpec is a header injected into upstream requests.
type HeaderSpec struct {
	// Name of the header.
	Name string
	// Template is the value, with {gatehouse.*} placeholders.
	Template string
}

var placeholderRe = regexp.MustCompile(`\{[^{}]*\}`)

// CompileHeaders validates header specs: canonical names and known placeholders only.
func CompileHeaders(specs []HeaderSpec) ([]HeaderSpec, error) {
	out := make([]HeaderSpec, 0, len(specs))
	for _, s := range specs {
		if s.Name == "" || strings.ContainsFunc(s.Name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}) {
			return nil, fmt.Errorf("header name %q: use letters, digits and '-'", s.Name)
		}
		for _, m := range placeholderRe.FindAllString(s.Template, -1) {
			if _, ok := Placeholders[m[1:len(m)-1]]; !ok {
				return nil, fmt.Errorf("header %s: unknown placeholder %s (known: gatehouse.user.id, .email, .name, .groups, ...; for other values add a request_header directive after gatehouse_protect)", s.Name, m)
			}
		}
		out = append(out, HeaderSpec{Name: textproto.CanonicalMIMEHeaderKey(s.Name), Template: s.Template})
	}
	return out, nil
}

// Identity is a verified credential's identity, prepared once per credential: the policy
// view and the rendered headers, so that a cached request allocates nothing for them.
// Placeholder values are computed when a later handler asks for them.
type Identity struct {
	// Claims are the access token's claims.
	Claims *tokens.AccessClaims
	// Policy is the identity as the policy sees it.
	Policy policy.Identity
	// SubjectValue is Claims.Subject boxed once, for Caddy's replacer.
	SubjectValue any
	// Lookup resolves a gatehouse.* placeholder (a prebound method value, so that handing it
	// to a replacer does not allocate).
	Lookup func(key string) (any, bool)

	headers []headerValue
	// assertions are the identity's signed assertions (assertion.go).
	assertOnce sync.Once
	assertions *assertionCache
	// cred is set for the identity of an app password or personal access token.
	cred *credInfo
	// keyGen is the key ring's removal counter before the verification (see cache).
	keyGen uint64
	// until is the Unix time the cache stops serving the identity (default: the token's exp).
	until int64
	// setCookie is the Set-Cookie line of a superseded session cookie's successor, sent
	// with the requests served for the superseded cookie at most once a second (setCookieAt:
	// the Unix second it was last sent; see cookie.go).
	setCookie   string
	setCookieAt atomic.Int64
	// claimsMap and decision are the claims as require expressions see them and the Guard's
	// cached decision on them (require.go).
	claimsMap atomic.Pointer[ref.Val]
	decision  atomic.Pointer[decision]
}

type headerValue struct {
	name   string
	values []string
}

func newIdentity(c *tokens.AccessClaims, specs []HeaderSpec) *Identity {
	id := &Identity{Claims: c, SubjectValue: c.Subject, until: c.ExpiresAt,
		Policy: policy.Identity{Scopes: c.Scopes(), Groups: c.Groups, Audience: c.Audience,
			MFA: c.ACR == "aal2" || hasAMR(c.AMR, "mfa") || hasAMR(c.AMR, "webauthn")}}
	if c.GrantType == idp.GrantTypeClientCredentials {
		// A client acting for itself is not a user: no user headers, no groups (AS-30).
		id.SubjectValue = "client:" + c.ClientID
		id.Policy.Groups = nil
	}
	for _, s := range specs {
		var v string
		if key, ok := soloPlaceholder(s.Template); ok {
			v = id.value(key) // the common case: the header is one placeholder
		} else {
			v = placeholderRe.ReplaceAllStringFunc(s.Template, func(m string) string { return id.value(m[1 : len(m)-1]) })
		}
		v = clean(v)
		if strings.TrimSpace(v) == "" {
			continue
		}
		id.headers = append(id.headers, headerValue{name: s.Name, values: []string{v}})
	}
	id.Lookup = id.lookup
	return id
}

// soloPlaceholder reports whether tmpl is exactly one placeholder, and its key.
func soloPlaceholder(tmpl string) (string, bool) {
	if len(tmpl) > 2 && tmpl[0] == '{' && tmpl[len(tmpl)-1] == '}' && strings.IndexByte(tmpl[1:], '{') < 0 &&
		strings.IndexByte(tmpl, '}') == len(tmpl)-1 {
		return tmpl[1 : len(tmpl)-1], true
	}
	return "", false
}

// value returns a placeholder's value ("" when the token lacks the claim).
func (id *Identity) value(key string) string {
	c := id.Claims
	if c.GrantType == idp.GrantTypeClientCredentials && strings.HasPrefix(key, "gatehouse.user.") {
		return ""
	}
	switch key {
	case "gatehouse.user.id":
		return c.Subject
	case "gatehouse.user.email":
		// Only a verified address is identity: an unverified one is whatever the user typed
		// at sign-up (CR-32).
		if !c.EmailVerified {
			return ""
		}
		return c.Email
	case "gatehouse.user.email_verified":
		if c.Email == "" {
			return ""
		}
		return strconv.FormatBool(c.EmailVerified)
	case "gatehouse.user.name":
		return c.Name
	case "gatehouse.user.groups":
		return joinGroups(c.Groups)
	case "gatehouse.user.roles":
		return joinGroups(c.Roles)
	case "gatehouse.user.permissions":
		return joinGroups(c.Permissions)
	case "gatehouse.token.client_id":
		return c.ClientID
	case "gatehouse.token.scope":
		return c.Scope
	case "gatehouse.token.audience":
		return strings.Join(c.Audience, ",")
	case "gatehouse.token.expires":
		return strconv.FormatInt(c.ExpiresAt, 10)
	case "gatehouse.auth.amr":
		return strings.Join(c.AMR, ",")
	case "gatehouse.auth.time":
		return strconv.FormatInt(c.AuthTime, 10)
	case "gatehouse.session.id":
		return c.SessionID
	}
	return ""
}

func (id *Identity) lookup(key string) (any, bool) {
	if key == "http.auth.user.id" {
		// Caddy's own authentication placeholder: its access log's user_id, FastCGI's
		// REMOTE_USER.
		return id.SubjectValue, true
	}
	if _, ok := Placeholders[key]; !ok {
		return nil, false
	}
	return clean(id.value(key)), true
}

// clean removes control characters (header splitting, PX-05) and caps the length at 4 KiB so
// that no upstream header limit is exceeded by one value (RB-07). A list longer than that
// keeps only its whole leading elements (never a truncated group name, which could name
// another group); a longer single value is dropped.
const maxValue = 4096

func clean(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	if len(s) > maxValue {
		i := strings.LastIndexByte(s[:maxValue+1], ',')
		if i < 0 {
			return ""
		}
		s = s[:i]
	}
	return s
}

// joinGroups renders the groups comma-separated, leaving out any name that contains a comma:
// Gatehouse group names never do (idp.ValidateGroups), and such a name would read as two
// groups upstream (JW-18).
func joinGroups(groups []string) string {
	for _, g := range groups {
		if strings.IndexByte(g, ',') >= 0 {
			kept := make([]string, 0, len(groups))
			for _, g := range groups {
				if strings.IndexByte(g, ',') < 0 {
					kept = append(kept, g)
				}
			}
			return strings.Join(kept, ",")
		}
	}
	return strings.Join(groups, ",")
}

// expired reports whether the identity's token has expired at now.
func (id *Identity) expired(now time.Time) bool { return now.Unix() >= id.Claims.ExpiresAt }

func hasAMR(amr []string, v string) bool {
	for _, a := range amr {
		if a == v {
			return true
		}
	}
	return false
}
