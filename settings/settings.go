package settings

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Keys of the stored documents (store.Setting.Key).
const (
	// KeyGeneral holds the login preferences and the branding: one document, one version.
	KeyGeneral = "general"
	// PrefixProvider + name holds a social provider; PrefixRole + name a role.
	PrefixProvider = "provider/"
	PrefixRole     = "role/"
)

// Login methods (Effective.LoginMethods).
const (
	MethodPassword  = "password"
	MethodPasskey   = "passkey"
	MethodEmailCode = "email_code"
	MethodMagicLink = "magic_link"
	MethodSMSCode   = "sms_code"
	// MethodSocial places the social-login buttons in the order.
	MethodSocial = "social"
)

// Methods lists the login methods an order may name.
var Methods = []string{MethodPassword, MethodPasskey, MethodEmailCode, MethodMagicLink, MethodSMSCode, MethodSocial}

// Sign-up modes (Effective.Signup), as the Caddyfile's signup option.
const (
	SignupOpen   = "open"
	SignupInvite = "invite"
	SignupClosed = "closed"
)

// MFA requirements per login method (Effective.MFA).
const (
	// MFAIfEnrolled (the default): a user who has a passkey or an authenticator app must
	// use it after this method.
	MFAIfEnrolled = "if_enrolled"
	// MFARequired: every login by this method needs a second factor; a user without one
	// is refused (and told to ask for one).
	MFARequired = "required"
)

// Effective is the settings in force: the Caddyfile's values, the stored ones under them,
// the defaults under both.
type Effective struct {
	// LoginMethods are the enabled login methods in the order of the login page.
	LoginMethods []string `json:"methods"`
	Signup       string   `json:"signup"`
	// MFA is the second-factor requirement per login method (a method not named is
	// MFAIfEnrolled).
	MFA map[string]string `json:"mfa,omitempty"`
	// SessionIdle and SessionLifetime bound the portal sessions: shorter ones also end
	// existing sessions at their next request, longer ones apply to sessions started (the
	// idle one: used) from now on (sessions.Manager.ExpiresAt).
	SessionIdle     time.Duration `json:"session_idle"`
	SessionLifetime time.Duration `json:"session_lifetime"`
	ProductName     string        `json:"product_name"`
	LogoURL         string        `json:"logo_url,omitempty"`
	Color           string        `json:"color,omitempty"`
	// Templates are the stored message templates by field name (TemplateNames), each
	// overriding the built-in file it names.
	Templates map[string]string `json:"templates,omitempty"`
}

// Clone returns a deep copy.
func (e Effective) Clone() Effective {
	e.LoginMethods = slices.Clone(e.LoginMethods)
	e.MFA = maps.Clone(e.MFA)
	e.Templates = maps.Clone(e.Templates)
	return e
}

// Enabled tells whether the login method is on.
func (e Effective) Enabled(method string) bool { return slices.Contains(e.LoginMethods, method) }

// MFAFor returns the second-factor requirement after a login by method.
func (e Effective) MFAFor(method string) string {
	if r := e.MFA[method]; r != "" {
		return r
	}
	return MFAIfEnrolled
}

// Field paths of the general document: what Service.Update accepts, what a FieldError
// names and what Document.FromCaddyfile marks.
const (
	FieldMethods         = "login.methods"
	FieldSignup          = "login.signup"
	FieldMFA             = "login.mfa" // + "." + method
	FieldSessionIdle     = "login.session_idle"
	FieldSessionLifetime = "login.session_lifetime"
	FieldProductName     = "branding.product_name"
	FieldLogoURL         = "branding.logo_url"
	FieldColor           = "branding.color"
	FieldTemplates       = "branding.templates" // + "." + TemplateNames entry
)

// TemplateNames are the message templates an administrator can store, by field name
// (after "branding.templates."), each mapped to the notify template file it overrides
// (English; the other languages keep theirs unless the file is stored for them too).
var TemplateNames = templateNames()

func templateNames() map[string]string {
	m := map[string]string{"email.layout": "email/layout.html", "email.footer": "email/footer.txt"}
	for _, k := range emailKinds {
		m["email."+k+".subject"] = "email/" + k + ".subject.txt"
		m["email."+k+".text"] = "email/" + k + ".txt"
		m["email."+k+".html"] = "email/" + k + ".html"
	}
	for _, k := range smsKinds {
		m["sms."+k] = "sms/" + k + ".txt"
	}
	return m
}

// fields lists every leaf field path, sorted.
func fields() []string {
	out := []string{FieldMethods, FieldSignup, FieldSessionIdle, FieldSessionLifetime, FieldProductName, FieldLogoURL, FieldColor}
	for _, m := range Methods {
		out = append(out, FieldMFA+"."+m)
	}
	for n := range TemplateNames {
		out = append(out, FieldTemplates+"."+n)
	}
	sort.Strings(out)
	return out
}

var knownFields = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range fields() {
		m[f] = true
	}
	return m
}()

// Fields returns every field path of the general document, sorted.
func Fields() []string { return fields() }

// FieldError is bad input: Field is the path of the field ("login.methods",
// "providers.google.issuer"), Message says what to change, Code is the kind of error (one of
// the Code constants; "" for any other invalid value), for a translated message.
type FieldError struct {
	Field   string
	Message string
	Code    string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// The kinds of a FieldError (its Code): stable names that the Administration API passes on
// as its problem's code, so that the console can show a translated message.
const (
	// CodeRequired: the field is required.
	CodeRequired = "required"
	// CodeUnknownField: there is no such field.
	CodeUnknownField = "unknown_field"
	// CodeType: the value has the wrong JSON type.
	CodeType = "type"
	// CodeReadOnly: the Caddyfile sets the field.
	CodeReadOnly = "read_only"
	// CodeHTTPS: the URL must use https (plain http only on a loopback host).
	CodeHTTPS = "https"
	// CodeDuration: not a duration in the allowed range.
	CodeDuration = "duration"
	// CodeColor: not a colour as #rgb or #rrggbb.
	CodeColor = "color"
	// CodeTemplate: the template does not parse or does not render.
	CodeTemplate = "template"
)

// coded sets e's Code.
func (e *FieldError) coded(code string) *FieldError {
	e.Code = code
	return e
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Base is what the Caddyfile says: the values (with the defaults applied) and which fields
// it set, plus what the deployment can do, which bounds what may be stored.
type Base struct {
	Values Effective
	// Set holds the field paths the Caddyfile set (read-only). FieldTemplates alone marks
	// every template (a templates directory is configured).
	Set map[string]bool
	// TemplatesDir is the Caddyfile's templates directory ("" for the built-in ones).
	TemplatesDir string
	// EmailAvailable and SMSAvailable tell whether a sender is configured: a method that
	// needs one cannot be turned on without it. PasskeysAvailable likewise for passkeys
	// (WebAuthn needs a domain name).
	EmailAvailable, SMSAvailable, PasskeysAvailable bool
	// MaxSessionLifetime, if set, bounds the stored session lifetimes: the session
	// cookie's Max-Age, fixed at start.
	MaxSessionLifetime time.Duration
	// Providers are the names of the Caddyfile's social providers, and Roles of the
	// Caddyfile's roles, if any: a stored one may not reuse them.
	Providers []string
	Roles     []Role
}

// locked tells whether the Caddyfile set field.
func (b Base) locked(field string) bool {
	if b.Set[field] {
		return true
	}
	return strings.HasPrefix(field, FieldTemplates+".") && (b.Set[FieldTemplates] || b.TemplatesDir != "")
}

// ReadOnly lists the fields the Caddyfile set, sorted.
func (b Base) ReadOnly() []string {
	var out []string
	for _, f := range fields() {
		if b.locked(f) {
			out = append(out, f)
		}
	}
	return out
}

// Defaults are the values of a field neither the Caddyfile nor the store sets.
func Defaults() Effective {
	return Effective{LoginMethods: []string{MethodPassword, MethodPasskey, MethodSocial},
		Signup: SignupClosed, SessionIdle: 24 * time.Hour, SessionLifetime: 14 * 24 * time.Hour, ProductName: "Gatehouse"}
}

// apply decodes and validates one stored field into e.
func apply(e *Effective, field string, raw json.RawMessage, base Base) *FieldError {
	if !knownFields[field] {
		return fieldErr(field, "is not a setting (known: %s)", strings.Join(fields()[:7], ", ")+", login.mfa.<method>, branding.templates.<name>").coded(CodeUnknownField)
	}
	str := func() (string, *FieldError) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fieldErr(field, "must be a string").coded(CodeType)
		}
		return s, nil
	}
	switch {
	case field == FieldMethods:
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return fieldErr(field, "must be a list of login methods (%s)", strings.Join(Methods, ", "))
		}
		if err := checkMethods(list, base); err != nil {
			return err
		}
		e.LoginMethods = list
	case field == FieldSignup:
		s, err := str()
		if err != nil {
			return err
		}
		if s != SignupOpen && s != SignupInvite && s != SignupClosed {
			return fieldErr(field, "must be open, invite or closed, got %q", s)
		}
		e.Signup = s
	case strings.HasPrefix(field, FieldMFA+"."):
		s, err := str()
		if err != nil {
			return err
		}
		if s != MFAIfEnrolled && s != MFARequired {
			return fieldErr(field, "must be %s or %s, got %q", MFAIfEnrolled, MFARequired, s)
		}
		if e.MFA == nil {
			e.MFA = map[string]string{}
		}
		e.MFA[strings.TrimPrefix(field, FieldMFA+".")] = s
	case field == FieldSessionIdle || field == FieldSessionLifetime:
		s, err := str()
		if err != nil {
			return err
		}
		d, perr := time.ParseDuration(s)
		if perr != nil || d < time.Minute || d > 400*24*time.Hour {
			return fieldErr(field, "must be a duration between 1m and 9600h, such as \"12h\", got %q", s).coded(CodeDuration)
		}
		if base.MaxSessionLifetime > 0 && d > base.MaxSessionLifetime {
			return fieldErr(field, "must be at most %s, the session cookie's lifetime (raise session lifetime in the Caddyfile for more), got %s",
				base.MaxSessionLifetime, d)
		}
		if field == FieldSessionIdle {
			e.SessionIdle = d
		} else {
			e.SessionLifetime = d
		}
	case field == FieldProductName:
		s, err := str()
		if err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 64 || strings.ContainsAny(s, "\r\n\t<>") {
			return fieldErr(field, "must be 1 to 64 characters on one line, without < or >")
		}
		e.ProductName = s
	case field == FieldLogoURL:
		s, err := str()
		if err != nil {
			return err
		}
		if err := checkHTTPSURL(s); err != "" {
			return fieldErr(field, "%s", err)
		}
		e.LogoURL = s
	case field == FieldColor:
		s, err := str()
		if err != nil {
			return err
		}
		if !validColor(s) {
			return fieldErr(field, "must be a colour as #rgb or #rrggbb, got %q", s).coded(CodeColor)
		}
		e.Color = s
	case strings.HasPrefix(field, FieldTemplates+"."):
		s, err := str()
		if err != nil {
			return err
		}
		if len(s) > 64<<10 {
			return fieldErr(field, "must be at most 64 KB")
		}
		if e.Templates == nil {
			e.Templates = map[string]string{}
		}
		e.Templates[strings.TrimPrefix(field, FieldTemplates+".")] = s
	}
	return nil
}

// checkMethods validates a login-method order.
func checkMethods(list []string, base Base) *FieldError {
	seen := map[string]bool{}
	for _, m := range list {
		if !slices.Contains(Methods, m) {
			return fieldErr(FieldMethods, "%q is not a login method (known: %s)", m, strings.Join(Methods, ", "))
		}
		if seen[m] {
			return fieldErr(FieldMethods, "names %s twice", m)
		}
		seen[m] = true
		switch {
		case (m == MethodEmailCode || m == MethodMagicLink) && !base.EmailAvailable:
			return fieldErr(FieldMethods, "%s needs an email sender: configure email in the Caddyfile first", m)
		case m == MethodSMSCode && !base.SMSAvailable:
			return fieldErr(FieldMethods, "%s needs an SMS sender: configure sms in the Caddyfile first", m)
		case m == MethodPasskey && !base.PasskeysAvailable:
			return fieldErr(FieldMethods, "passkey is not available on this server (WebAuthn needs a domain name as issuer host)")
		}
	}
	if !seen[MethodPassword] {
		return fieldErr(FieldMethods, "must include password (it cannot be turned off yet)")
	}
	return nil
}

// check validates what spans fields.
func check(e Effective, base Base, stored map[string]json.RawMessage) *FieldError {
	if e.SessionIdle > e.SessionLifetime {
		f := FieldSessionIdle
		if _, ok := stored[FieldSessionIdle]; !ok || base.locked(FieldSessionIdle) {
			f = FieldSessionLifetime
		}
		return fieldErr(f, "the idle lifetime (%s) must not exceed the absolute lifetime (%s)", e.SessionIdle, e.SessionLifetime)
	}
	return nil
}
