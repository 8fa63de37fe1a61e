package protect

import (
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Placeholders lists the identity placeholders a header template (and Caddy's replacer) can
// use, with what they hold. Values never contain control characters; lists are joined with
// commas (group names cannot contain commas).
var Placeholders = map[string]string{
	"gatehouse.user.id":             "the user ID (sub)",
	"gatehouse.user.email":          "the email address (with the email scope)",
	"gatehouse.user.email_verified": "true or false",
	"gatehouse.user.name":           "the display name (with the profile scope)",
	"gatehouse.user.groups":         "the groups, comma-separated",
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
// view, the placeholder values and the rendered headers, so a cached request allocates
// nothing for them.
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

	values  map[string]any
	headers []headerValue
}

type headerValue struct {
	name   string
	values []string // len == cap == 1, so an append by a later handler copies
}

func newIdentity(c *tokens.AccessClaims, specs []HeaderSpec) *Identity {
	groups := strings.Join(c.Groups, ",")
	vals := map[string]string{
		"gatehouse.user.id":             c.Subject,
		"gatehouse.user.email":          c.Email,
		"gatehouse.user.email_verified": strconv.FormatBool(c.EmailVerified),
		"gatehouse.user.name":           c.Name,
		"gatehouse.user.groups":         groups,
		"gatehouse.token.client_id":     c.ClientID,
		"gatehouse.token.scope":         c.Scope,
		"gatehouse.token.audience":      strings.Join(c.Audience, ","),
		"gatehouse.token.expires":       strconv.FormatInt(c.ExpiresAt, 10),
		"gatehouse.auth.amr":            strings.Join(c.AMR, ","),
		"gatehouse.auth.time":           strconv.FormatInt(c.AuthTime, 10),
		"gatehouse.session.id":          c.SessionID,
	}
	if c.Email == "" {
		vals["gatehouse.user.email_verified"] = ""
	}
	id := &Identity{Claims: c, SubjectValue: c.Subject, values: make(map[string]any, len(vals)),
		Policy: policy.Identity{Scopes: c.Scopes(), Groups: c.Groups, Audience: c.Audience}}
	for k, v := range vals {
		id.values[k] = clean(v)
	}
	for _, s := range specs {
		v := clean(placeholderRe.ReplaceAllStringFunc(s.Template, func(m string) string {
			return vals[m[1:len(m)-1]]
		}))
		if strings.TrimSpace(v) == "" {
			continue
		}
		id.headers = append(id.headers, headerValue{name: s.Name, values: []string{v}[:1:1]})
	}
	id.Lookup = id.lookup
	return id
}

func (id *Identity) lookup(key string) (any, bool) {
	v, ok := id.values[key]
	return v, ok
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

// expired reports whether the identity's token has expired at now.
func (id *Identity) expired(now time.Time) bool { return now.Unix() >= id.Claims.ExpiresAt }
