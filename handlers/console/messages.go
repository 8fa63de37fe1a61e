package console

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/handlers/portalkit"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// The console's words for what the Administration API names by identifier. The API keeps
// its English problem+json (programs read it; its field names the request field); the
// console shows a refusal in the page's language from the problem's field and code:
//
//	field "redirect_uris[0]", code "scheme"
//	  → label "Redirect URIs" (fieldLabels), line 1 ("%s, line %d")
//	  → "%s: this kind of address is not allowed …" (fieldMessages[code])
//
// A code without a message of its own (invalid, or one the console does not know) shows the
// label and the API's detail: translated when the detail is a catalog text (the account
// package's messages are), in English otherwise.

// fieldLabels are the console's labels (English catalog texts) of the API's field names: a
// full dotted path ("login.session_idle"), a prefix of one ("login.mfa" for
// "login.mfa.passkey") or a last segment ("issuer" for "providers.corp.issuer").
var fieldLabels = map[string]string{
	"email":                       i18n.N("Email"),
	"fname":                       i18n.N("First name"),
	"lname":                       i18n.N("Last name"),
	"phone_number":                i18n.N("Phone"),
	"password":                    i18n.N("Password"),
	"groups":                      i18n.N("Groups"),
	"roles":                       i18n.N("Roles"),
	"custom_data":                 i18n.N("Custom data"),
	"name":                        i18n.N("Name"),
	"redirect_uris":               i18n.N("Redirect URIs"),
	"post_logout_redirect_uris":   i18n.N("Post-logout redirect URIs"),
	"scopes":                      i18n.N("Scopes"),
	"grant_types":                 i18n.N("Grant types"),
	"allowed_origins":             i18n.N("Allowed origins"),
	"preset":                      i18n.N("Type"),
	"label":                       i18n.N("Button label"),
	"issuer":                      i18n.N("Issuer"),
	"client_id":                   i18n.N("Client ID"),
	"client_secret":               i18n.N("Client secret"),
	"value":                       i18n.N("Value"),
	"description":                 i18n.N("Description"),
	"permissions":                 i18n.N("Permissions"),
	settings.FieldMethods:         i18n.N("Login methods"),
	settings.FieldSignup:          i18n.N("Sign-up"),
	settings.FieldMFA:             i18n.N("Second factor"),
	settings.FieldSessionIdle:     i18n.N("Session idle timeout"),
	settings.FieldSessionLifetime: i18n.N("Session lifetime"),
	settings.FieldProductName:     i18n.N("Product name"),
	settings.FieldLogoURL:         i18n.N("Logo URL"),
	settings.FieldColor:           i18n.N("Colour"),
	settings.FieldTemplates:       i18n.N("Template"),
}

// fieldMessages are the messages of the problem codes about a field, %s its label.
var fieldMessages = map[string]string{
	adminv1.CodeRequired:     i18n.N("%s: enter a value, it is required."),
	adminv1.CodeUnknownField: i18n.N("%s: this field is not known here."),
	adminv1.CodeType:         i18n.N("%s: this value has the wrong form."),
	adminv1.CodeTooLarge:     i18n.N("%s: this value is too large."),
	adminv1.CodeTaken:        i18n.N("%s: another record already has this value."),
	adminv1.CodeReadOnly:     i18n.N("%s is set in the Caddyfile: change it there."),
	adminv1.CodeScheme:       i18n.N("%s: this kind of address is not allowed (use https, or a reverse-domain scheme such as com.example.app for a native app)."),
	adminv1.CodeFragment:     i18n.N("%s: remove the part after # (an address here has no fragment)."),
	adminv1.CodeHTTPS:        i18n.N("%s: use an https address (plain http only on this computer: localhost, 127.0.0.1)."),
	adminv1.CodeDuration:     i18n.N("%s: enter a duration between 1m and 9600h, such as 12h."),
	adminv1.CodeColor:        i18n.N("%s: enter a colour as #rgb or #rrggbb, such as #2454d6."),
	adminv1.CodeTemplate:     i18n.N("%s does not work: check its {{...}} parts (the preview shows the error)."),
}

// plainMessages are the messages of the problem codes about no field in particular.
var plainMessages = map[string]string{
	adminv1.CodeChanged:         i18n.N("Someone else changed this since you opened it. Reload the page and make your change again."),
	adminv1.CodeIfMatchRequired: i18n.N("This form is out of date. Reload the page and make your change again."),
	adminv1.CodeTooLarge:        i18n.N("This is too large to save."),
	adminv1.CodeNoSender:        i18n.N("There is no sender for this kind of message: configure email or sms in the Caddyfile first."),
	adminv1.CodeReadOnly:        i18n.N("This is set in the Caddyfile: change it there."),
}

// methodNames are the human names of the login methods and of the methods the audit trail
// records (audit.Event.Method).
var methodNames = map[string]string{
	settings.MethodPassword:  i18n.N("Password"),
	settings.MethodPasskey:   i18n.N("Passkey"),
	settings.MethodEmailCode: i18n.N("Email code"),
	"email_otp":              i18n.N("Email code"),
	settings.MethodMagicLink: i18n.N("Magic link"),
	settings.MethodSMSCode:   i18n.N("SMS code"),
	"sms_otp":                i18n.N("SMS code"),
	settings.MethodSocial:    i18n.N("Social login"),
}

// signupNames are the human names of the sign-up modes.
var signupNames = map[string]string{
	settings.SignupOpen:   i18n.N("Anyone can sign up"),
	settings.SignupInvite: i18n.N("By invitation only"),
	settings.SignupClosed: i18n.N("No sign-up"),
}

// methodName is the human name of a login method in lang, or the identifier itself.
func methodName(lang, m string) string {
	if n, ok := methodNames[m]; ok {
		return i18n.T(lang, n)
	}
	return m
}

// Option is a choice of a select: its value and its words.
type Option struct{ Value, Label string }

var fieldIndex = regexp.MustCompile(`\[(\d+)\]`)

// fieldLabel is the label of an API field name in lang ("redirect_uris[1]": "Redirect
// URIs, line 2"), "" when the console has no label for it.
func fieldLabel(lang, field string) string {
	if field == "" {
		return ""
	}
	line := 0
	if m := fieldIndex.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[1])
		line = n + 1
	}
	path := fieldIndex.ReplaceAllString(field, "")
	key, ok := fieldLabels[path]
	if !ok {
		key, ok = fieldLabels[path[strings.LastIndex(path, ".")+1:]]
	}
	for p := path; !ok && strings.Contains(p, "."); {
		p = p[:strings.LastIndex(p, ".")]
		key, ok = fieldLabels[p]
	}
	if !ok {
		return ""
	}
	label := i18n.T(lang, key)
	if line > 0 {
		label = i18n.T(lang, "%s, line %d", label, line)
	}
	return label
}

// problemMessage is a refusal of the API in lang: the code's message naming the field's
// label, else the label (or the field's name) and the API's detail (translated if it is a
// catalog text).
func problemMessage(lang string, p adminv1.Problem) string {
	label := fieldLabel(lang, p.Field)
	if msg, ok := fieldMessages[p.Code]; ok && label != "" {
		return i18n.T(lang, msg, label)
	}
	if msg, ok := plainMessages[p.Code]; ok {
		return i18n.T(lang, msg)
	}
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	msg = i18n.Text(lang, msg)
	if label == "" {
		label = p.Field
	}
	if label != "" {
		return label + ": " + msg
	}
	return portalkit.Capitalize(msg)
}

// problemText is problemMessage in the language of r's page.
func (h *Handler) problemText(r *http.Request, p adminv1.Problem) string {
	return problemMessage(h.Lang(r), p)
}
