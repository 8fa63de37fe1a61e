package module

import (
	"net/textproto"
	"regexp"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/handlers/protect"
	"github.com/gatehouse-dev/gatehouse/idp"
)

var headerPlaceholderRe = regexp.MustCompile(`\{[^{}]*\}`)

// validHeaderName tells whether name can be a header that Gatehouse injects: letters,
// digits and '-'.
func validHeaderName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	})
}

// Check records the problems of the handler's configuration under path
// (gatehouse_protect). Whether the client exists is checked when the handler is
// provisioned, against the app.
func (p *Protect) Check(v *Validator, path string) {
	if p.Client != "" && !validClientID(p.Client) {
		v.Errorf(path+".client", "must be a client ID (1-128 letters, digits and . _ - : @), got %q", p.Client)
	}
	for i, s := range p.Scopes {
		if !validScopeToken(s) {
			v.Errorf(index(path+".scopes", i), "must be a scope: 1-128 printable ASCII characters without spaces, quotes or backslashes, got %q", s)
		}
	}
	for i, g := range p.Groups {
		if g == "" {
			v.Errorf(index(path+".groups", i), "must be a group name, got \"\"")
		} else if idp.ValidateGroups([]string{g}) != nil {
			v.Warnf(index(path+".groups", i), "can never match: group names are 1-64 letters, digits and . _ : -, got %q", g)
		}
	}
	p.checkReauth(v, path)
	if p.MFAAllowsAppCredentials && !p.MFA && p.ACR == "" {
		v.Errorf(path+".mfa_allows_app_credentials", "applies only with \"mfa\": true (without mfa, app credentials are accepted anyway); remove it or set mfa")
	}
	for i, a := range p.Audience {
		if a == "" {
			v.Errorf(index(path+".audience", i), "must be an audience (a client ID or resource URI), got \"\"")
		}
	}
	names := make([]string, 0, len(p.Headers))
	for name := range p.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	canonical := map[string]string{}
	for _, name := range names {
		hp := path + ".headers[" + name + "]"
		if !validHeaderName(name) {
			v.Errorf(hp, "must be a header name of letters, digits and '-', got %q", name)
			continue
		}
		if other, dup := canonical[textproto.CanonicalMIMEHeaderKey(name)]; dup {
			v.Errorf(hp, "must be set once (header names ignore case), got %q and %q", other, name)
		}
		canonical[textproto.CanonicalMIMEHeaderKey(name)] = name
		for _, m := range headerPlaceholderRe.FindAllString(p.Headers[name], -1) {
			if _, ok := protect.Placeholders[m[1:len(m)-1]]; !ok {
				v.Errorf(hp, "must use only the gatehouse.* identity placeholders (gatehouse.user.id, .email, .name, .groups, ...; "+
					"for other values add a request_header directive after gatehouse_protect), got %s", m)
			}
		}
	}
	if p.HeaderProfile != "" {
		if msg := HeaderProfileProblem(p.HeaderProfile); msg != "" {
			v.Errorf(path+".header_profile", "%s", msg)
		} else if p.NoDefaultHeaders {
			v.Warnf(path+".no_default_headers", "is redundant with header_profile %q (the profile replaces the defaults)", p.HeaderProfile)
		}
	}
	if p.NoDefaultHeaders && len(p.Headers) == 0 && p.HeaderProfile == "" {
		v.Warnf(path+".no_default_headers", "is set and no headers are: the upstream gets no identity")
	}
	checkStripHeaders(v, path, p.StripHeaders)
	p.checkAssertion(v, path)
	if p.CookieName != "" && !validCookieBase(p.CookieName) {
		v.Errorf(path+".cookie_name", "must be letters, digits, '_' and '-', got %q", p.CookieName)
	}
	v.nonNegative(path+".cache_size", p.CacheSize)
	p.checkRequire(v, path)
}

// Check records the problems of the handler's configuration under path
// (gatehouse_sanitize).
func (s *Sanitize) Check(v *Validator, path string) {
	checkStripHeaders(v, path, s.StripHeaders)
	if s.InsecureAllowNonCanonicalPaths {
		v.Warnf(path+".insecure_allow_noncanonical_paths", "is set: paths with dot segments, encoded slashes or path "+
			"parameters reach the upstream, which may read them as another path than a policy judged")
	}
}

// Validate checks the handler's configuration (Caddy calls it after Provision).
func (s *Sanitize) Validate() error {
	v := NewValidator()
	s.Check(v, "gatehouse_sanitize")
	return v.Err()
}

func checkStripHeaders(v *Validator, path string, names []string) {
	for i, name := range names {
		if !headerToken(name) {
			v.Errorf(index(path+".strip_headers", i), "must be a header name (an RFC 9110 token), got %q", name)
		}
	}
}

// headerToken tells whether name is an RFC 9110 token, the syntax of a header name.
func headerToken(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	})
}

func validCookieBase(name string) bool {
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	})
}

var _ caddy.Validator = (*Sanitize)(nil)
