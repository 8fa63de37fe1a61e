package module

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// The configuration is validated here, in one place, whether it came from a Caddyfile or
// was written as JSON: the Caddyfile adapter checks syntax only (number of arguments, option
// names, numbers and durations), and every rule about values lives in the Check methods of
// the configuration structs (validate_*.go). A Validator collects every problem instead of
// stopping at the first, each naming its option path (gatehouse.clients[web].redirect_uris[0]),
// what is allowed and what was given; errors refuse the configuration, warnings are logged
// when it loads. The domain packages' constructors (idp.NewClient, notify.NewSMTP, ...) still
// refuse what they cannot run with; the validator reports it first, with the option's path.

// loginMethods are the values of the login option (declared only here; the Caddyfile
// adapter lists them through LoginMethods).
var loginMethods = []string{"password", "passkey", idp.MethodEmailCode, idp.MethodMagicLink, idp.MethodSMSCode}

// LoginMethods returns the values of the login option, in the order of the documentation.
func LoginMethods() []string { return slices.Clone(loginMethods) }

// Problem is one finding of a Validator: an option path and what is wrong with its value.
type Problem struct {
	// Path names the option as in the JSON configuration: gatehouse.tokens.code_lifetime,
	// gatehouse.clients[web].redirect_uris[0], gatehouse_protect.headers[X-Email].
	Path string
	// Message says what is allowed and what was given: "must be at most 10m, got 1h".
	Message string
}

// Error returns "path: message".
func (p Problem) Error() string { return p.Path + ": " + p.Message }

// Validator collects the errors and warnings of a configuration. The zero value is not
// ready: use NewValidator.
type Validator struct {
	// Replacer resolves the {env.*} and {file.*} placeholders of the options that are
	// resolved when the configuration is loaded (secrets, the issuer, file paths).
	Replacer *caddy.Replacer
	errs     []Problem
	warns    []Problem
}

// NewValidator returns an empty Validator that resolves placeholders with Caddy's global
// replacer (environment variables, files, system values).
func NewValidator() *Validator { return &Validator{Replacer: caddy.NewReplacer()} }

// Errorf records an error at path: the configuration is refused.
func (v *Validator) Errorf(path, format string, args ...any) {
	v.errs = append(v.errs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Warnf records a warning at path: the configuration loads, and the warning is logged.
func (v *Validator) Warnf(path, format string, args ...any) {
	v.warns = append(v.warns, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Errors returns the errors in a stable order: by option path (indexes compared as numbers),
// then in the order they were found; a repeated problem is reported once.
func (v *Validator) Errors() []Problem { return sorted(v.errs) }

// Warnings returns the warnings, in the same order as Errors.
func (v *Validator) Warnings() []Problem { return sorted(v.warns) }

// Err returns nil without errors, else every error joined (errors.Join) in the order of
// Errors; each one is a Problem (errors.As).
func (v *Validator) Err() error {
	ps := v.Errors()
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// HasErrors tells whether an error was recorded under path (the path itself or an option
// below it).
func (v *Validator) HasErrors(path string) bool {
	for _, p := range v.errs {
		if p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[") {
			return true
		}
	}
	return false
}

// resolve replaces the placeholders of an option as loading the configuration does for the
// app's options (the issuer, secrets, file paths): known placeholders are replaced, others
// kept as written. A value that resolves to nothing is an error at path naming the
// placeholder, never the value; ok is false then.
func (v *Validator) resolve(path, raw string) (value string, ok bool) {
	out := v.Replacer.ReplaceKnown(raw, "")
	if raw != "" && strings.TrimSpace(out) == "" {
		v.Errorf(path, "must resolve to a value, got nothing from %s: set the environment variable or create the file it names", raw)
		return "", false
	}
	return out, true
}

// resolveStrict replaces the placeholders of a sender module's option as its Provision does:
// every placeholder must be known and resolve to something.
func (v *Validator) resolveStrict(path, raw string) (value string, ok bool) {
	if !isPlaceholder(raw) {
		return raw, true
	}
	out, err := v.Replacer.ReplaceOrErr(raw, true, true)
	if err != nil {
		v.Errorf(path, "must resolve to a value, got nothing from %s: set the environment variable or create the file it names", raw)
		return "", false
	}
	return out, true
}

func sorted(ps []Problem) []Problem {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int { return comparePaths(a.Path, b.Path) })
	return slices.CompactFunc(out, func(a, b Problem) bool { return a == b })
}

// comparePaths orders option paths as text, except that runs of digits compare as numbers
// (clients[2] before clients[10]).
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitPrefix(s string) int {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// elem returns the path of the list element i, named by key when it is a usable name
// (clients[web]) and by index otherwise (clients[0]).
func elem(path string, i int, key string) string {
	if key == "" || strings.ContainsAny(key, "[]. ") {
		return path + "[" + strconv.Itoa(i) + "]"
	}
	return path + "[" + key + "]"
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// fmtDuration writes a duration the way the configuration does: 10m, 1h30m, 36h.
func fmtDuration(d caddy.Duration) string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// duration checks a duration option: zero takes the default, negative is refused, and a
// non-zero value must lie within [lo, hi] (a zero bound is no bound).
func (v *Validator) duration(path string, d caddy.Duration, lo, hi time.Duration, why string) {
	switch {
	case d == 0:
	case d < 0:
		v.Errorf(path, "must be a positive duration (or left out for the default), got %s", fmtDuration(d))
	case lo > 0 && time.Duration(d) < lo:
		v.Errorf(path, "must be at least %s%s, got %s", fmtDuration(caddy.Duration(lo)), why, fmtDuration(d))
	case hi > 0 && time.Duration(d) > hi:
		v.Errorf(path, "must be at most %s%s, got %s", fmtDuration(caddy.Duration(hi)), why, fmtDuration(d))
	}
}

// nonNegative checks a count option: zero takes the default.
func (v *Validator) nonNegative(path string, n int) {
	if n < 0 {
		v.Errorf(path, "must be a positive whole number (or left out for the default), got %d", n)
	}
}

// oneOf checks an enumerated option; "" (the default) is always allowed.
func (v *Validator) oneOf(path, got string, allowed ...string) bool {
	if got == "" || slices.Contains(allowed, got) {
		return true
	}
	v.Errorf(path, "must be one of %s, got %q", strings.Join(allowed, ", "), got)
	return false
}

// isPlaceholder reports whether v contains a placeholder.
func isPlaceholder(v string) bool { return strings.Contains(v, "{") }

// isLoopback tells whether host (no port) is this machine: localhost or a loopback address.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// checkHTTPSURL checks a URL Gatehouse calls or sends users to: absolute https, or http on
// a loopback host (development, tests); no user information or fragment.
func checkHTTPSURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return errors.New("must be an absolute https URL")
	case u.User != nil || u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("must be an https URL without user information or fragment")
	case u.Scheme == "https", u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("must use https (plain http only on a loopback host)")
	}
	return errors.New("must be an https URL")
}

// ValidateIssuer checks an issuer URL (OIDC Discovery §3: https, no query or fragment).
// Plain http is accepted for loopback hosts only (development).
func ValidateIssuer(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("must be an absolute URL such as https://login.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") || strings.Contains(raw, "?") {
		return errors.New("must not have a query or fragment")
	}
	if u.User != nil {
		return errors.New("must not contain user information")
	}
	if strings.HasSuffix(raw, "/") {
		return errors.New("must not end with a slash")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return errors.New("must use https (plain http is only allowed on localhost)")
		}
	default:
		return errors.New("must be an https URL")
	}
	return nil
}

// ValidateJSON checks a Caddy JSON configuration as it would be loaded, without opening
// anything: the gatehouse app (apps.gatehouse, paths gatehouse.*) and every
// gatehouse_protect and gatehouse_sanitize handler wherever it sits (paths are the
// handler's JSON path, such as apps.http.servers.srv0.routes[0].handle[0]). It returns the
// warnings, and the errors joined. Loading the configuration (`caddy validate`, `caddy run`)
// runs the same checks.
func ValidateJSON(cfg []byte) (warnings []Problem, err error) {
	var doc map[string]any
	if err := json.Unmarshal(cfg, &doc); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	v := NewValidator()
	apps, _ := doc["apps"].(map[string]any)
	var clients []string // the app's configured clients; nil: not known
	if raw, ok := apps["gatehouse"]; ok {
		var app App
		b, _ := json.Marshal(raw)
		if err := caddy.StrictUnmarshalJSON(b, &app); err != nil {
			v.Errorf("gatehouse", "must be the gatehouse app's configuration, got %v", err)
		} else {
			app.Check(v, "gatehouse")
			clients = make([]string, 0, len(app.Clients))
			for _, c := range app.Clients {
				clients = append(clients, c.ID)
			}
		}
	}
	walkHandlers(v, "apps", apps, clients)
	return v.Warnings(), v.Err()
}

// walkHandlers checks the gatehouse handlers found in x, whose JSON path is path; clients
// are the gatehouse app's configured client IDs (nil: unknown).
func walkHandlers(v *Validator, path string, x any, clients []string) {
	switch x := x.(type) {
	case map[string]any:
		var h interface{ Check(*Validator, string) }
		switch x["handler"] {
		case "gatehouse_protect":
			h = new(Protect)
		case "gatehouse_sanitize":
			h = new(Sanitize)
		}
		if h != nil {
			opts := make(map[string]any, len(x))
			for k, val := range x {
				if k != "handler" {
					opts[k] = val
				}
			}
			b, _ := json.Marshal(opts)
			if err := caddy.StrictUnmarshalJSON(b, h); err != nil {
				v.Errorf(path, "must be the %s handler's configuration, got %v", x["handler"], err)
			} else {
				h.Check(v, path)
				if p, ok := h.(*Protect); ok && clients != nil {
					if msg := p.defaultClientProblem(clients); msg != "" {
						v.Errorf(path, "%s", msg)
					}
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			walkHandlers(v, path+"."+k, x[k], clients)
		}
	case []any:
		for i, e := range x {
			walkHandlers(v, index(path, i), e, clients)
		}
	}
}
