package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Message kinds. Email: KindLoginCode, KindMagicLink, KindVerifyEmail, KindRecovery,
// KindAccountChanged, KindSignupExisting. SMS: KindLoginCode, KindVerifyPhone, KindRecovery.
const (
	KindLoginCode      = "login_code"
	KindMagicLink      = "magic_link"
	KindVerifyEmail    = "verify_email"
	KindVerifyPhone    = "verify_phone"
	KindRecovery       = "recovery"
	KindAccountChanged = "account_changed"
	// KindSignupExisting tells an account's address that someone tried to sign up with it;
	// Link is the login page. It carries no code.
	KindSignupExisting = "signup_existing"
	// KindApprovalCode carries a code approving one transaction: Code, Amount and Payee.
	KindApprovalCode = "approval_code"
)

// EmailKinds and SMSKinds list the kinds each channel has templates for.
var (
	EmailKinds = []string{KindLoginCode, KindMagicLink, KindVerifyEmail, KindRecovery, KindAccountChanged, KindSignupExisting, KindApprovalCode}
	SMSKinds   = []string{KindLoginCode, KindVerifyPhone, KindRecovery, KindApprovalCode}
)

// DefaultLanguage is the language every other one falls back to, file by file.
const DefaultLanguage = "en"

// DefaultColor is the accent colour when MessageData.Color is empty or not #rgb/#rrggbb.
const DefaultColor = "#0a84ff"

//go:embed templates
var builtinFS embed.FS

// MessageData is what the templates may show.
type MessageData struct {
	// ProductName, LogoURL and Color brand the message (BrandingConfig). ProductName
	// defaults to "Gatehouse", Color to DefaultColor; LogoURL is shown only if it is an
	// absolute https (or http) URL.
	ProductName, LogoURL, Color string
	// Email is the recipient's address (shown in verification and recovery messages, and
	// the To of the rendered Email).
	Email string
	// Phone is the recipient's number in E.164 form, the To of the rendered SMS.
	Phone string
	// Code is the one-time code, Link the magic or verification link (built from the
	// issuer, never from the request).
	Code string
	Link string
	// ExpiresIn says in words how long the code or link is valid ("10 minutes").
	ExpiresIn string
	// Notice says what changed, for account_changed ("Your password was changed.").
	Notice string
	// Amount ("125.50 EUR") and Payee name the transaction an approval code approves
	// (validated text: no control or invisible characters).
	Amount, Payee string
	// Language is the recipient's language tag ("de-CH"): the templates of the longest
	// matching language directory are used ("de-ch", then "de"), falling back to English.
	Language string
	// Domain, when set to the issuer's host name (no port), ends SMS that carry a code with
	// the WebOTP line "@<Domain> #<Code>", so that a browser on that site can offer the code
	// to the page (https://wicg.github.io/web-otp/).
	Domain string
}

// Templates renders messages from text templates (subjects, text parts, SMS) and HTML
// templates (HTML parts, auto-escaped), built in per language under notify/templates/ and
// overridable file by file from a directory. It is safe for concurrent use.
//
// Files, relative to the language directory (en/, de/, ...):
//
//	email/layout.html           HTML frame: logo or name, accent colour, the "ignore" line;
//	                            calls {{template "content" .}} and {{block "ignore" .}}
//	email/footer.txt            defines "ignore" and "signature" for the text parts
//	email/<kind>.subject.txt    subject line
//	email/<kind>.txt            text part
//	email/<kind>.html           defines "content" (and may redefine "ignore")
//	sms/<kind>.txt              text message
//
// A file missing from a language falls back to the English file of the same name.
type Templates struct {
	email map[string]map[string]*emailTemplate // language -> kind
	sms   map[string]map[string]*template.Template
}

type emailTemplate struct {
	subject *template.Template
	text    *template.Template
	html    *htmltemplate.Template
	names   [3]string // template names to execute: subject, text, html
}

// templateSource is one template file: its content and the name errors show.
type templateSource struct {
	name    string // "<dir>/de/email/login_code.txt" or "built-in en/email/login_code.txt"
	content string
}

var languageDir = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})*$`)

// LoadTemplates loads the built-in templates and, if dir is not empty, the files in dir that
// override them (same relative names, such as en/email/login_code.html, or a new language
// directory such as de/). Every template is parsed and executed once on sample data, so a
// mistake (a syntax error, an unknown field, a template that drops the code or link) is
// reported now, naming the file.
func LoadTemplates(dir string) (*Templates, error) { return LoadTemplatesWith(dir, nil) }

// Override is one template file given as text rather than read from a directory (runtime
// settings): File is its relative name (en/email/login_code.subject.txt), Name what errors
// call it (the settings field), Content the template.
type Override struct {
	File, Name, Content string
}

// LoadTemplatesWith is LoadTemplates with overrides laid over the directory's files; they
// are parsed and self-tested the same way, and errors name them by their Name.
func LoadTemplatesWith(dir string, overrides []Override) (*Templates, error) {
	files := map[string]templateSource{}
	err := fs.WalkDir(builtinFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builtinFS.ReadFile(p)
		rel := strings.TrimPrefix(p, "templates/")
		files[rel] = templateSource{name: "built-in " + rel, content: string(b)}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("built-in templates: %w", err)
	}
	if dir != "" {
		if err := loadOverrides(dir, files); err != nil {
			return nil, err
		}
	}
	for _, o := range overrides {
		files[o.File] = templateSource{name: o.Name, content: o.Content}
	}
	t := &Templates{email: map[string]map[string]*emailTemplate{}, sms: map[string]map[string]*template.Template{}}
	languages := map[string]bool{}
	for rel := range files {
		lang, _, _ := strings.Cut(rel, "/")
		languages[lang] = true
	}
	source := func(lang, name string) templateSource {
		if s, ok := files[lang+"/"+name]; ok {
			return s
		}
		return files[DefaultLanguage+"/"+name]
	}
	var errs []error
	for lang := range languages {
		t.email[lang] = map[string]*emailTemplate{}
		for _, kind := range EmailKinds {
			et, err := parseEmail(source(lang, "email/"+kind+".subject.txt"), source(lang, "email/footer.txt"),
				source(lang, "email/"+kind+".txt"), source(lang, "email/layout.html"), source(lang, "email/"+kind+".html"))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.email[lang][kind] = et
		}
		t.sms[lang] = map[string]*template.Template{}
		for _, kind := range SMSKinds {
			src := source(lang, "sms/"+kind+".txt")
			st, err := template.New(src.name).Option("missingkey=error").Parse(src.content)
			if err != nil {
				errs = append(errs, fmt.Errorf("template %s: %w", src.name, err))
				continue
			}
			t.sms[lang][kind] = st
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := t.selfTest(files); err != nil {
		return nil, err
	}
	return t, nil
}

// loadOverrides reads the template files under dir into files.
func loadOverrides(dir string, files map[string]templateSource) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("templates directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("templates directory %s is not a directory", dir)
	}
	known := map[string]bool{"email/layout.html": true, "email/footer.txt": true}
	for _, k := range EmailKinds {
		known["email/"+k+".subject.txt"], known["email/"+k+".txt"], known["email/"+k+".html"] = true, true, true
	}
	for _, k := range SMSKinds {
		known["sms/"+k+".txt"] = true
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := path.Ext(p)
		if d.IsDir() || (ext != ".txt" && ext != ".html") {
			return nil
		}
		r, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(r)
		lang, name, _ := strings.Cut(rel, "/")
		if !languageDir.MatchString(lang) || !known[name] {
			return fmt.Errorf("template %s: unknown template file (expected <language>/email/<kind>.{subject.txt,txt,html}, <language>/email/layout.html, <language>/email/footer.txt or <language>/sms/<kind>.txt, with email kinds %s and SMS kinds %s; language directories are lower case, such as en or pt-br)",
				p, strings.Join(EmailKinds, ", "), strings.Join(SMSKinds, ", "))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = templateSource{name: p, content: string(b)}
		return nil
	})
}

func parseEmail(subject, footer, text, layout, html templateSource) (*emailTemplate, error) {
	et := &emailTemplate{names: [3]string{subject.name, text.name, layout.name}}
	var err error
	if et.subject, err = template.New(subject.name).Option("missingkey=error").Parse(subject.content); err != nil {
		return nil, fmt.Errorf("template %s: %w", subject.name, err)
	}
	et.text = template.New(footer.name).Option("missingkey=error")
	if _, err = et.text.Parse(footer.content); err != nil {
		return nil, fmt.Errorf("template %s: %w", footer.name, err)
	}
	if _, err = et.text.New(text.name).Parse(text.content); err != nil {
		return nil, fmt.Errorf("template %s: %w", text.name, err)
	}
	et.html = htmltemplate.New(layout.name).Option("missingkey=error")
	if _, err = et.html.Parse(layout.content); err != nil {
		return nil, fmt.Errorf("template %s: %w", layout.name, err)
	}
	if _, err = et.html.New(html.name).Parse(html.content); err != nil {
		return nil, fmt.Errorf("template %s: %w", html.name, err)
	}
	return et, nil
}

// selfTest renders every template with sample data and checks that the code, link or notice
// the kind exists for appears in every part.
func (t *Templates) selfTest(files map[string]templateSource) error {
	const code, link, notice = "740193", "https://login.example.com/magic/ZXhhbXBsZS10b2tlbg", "Your password was changed."
	base := MessageData{ProductName: "Example", Email: "alice@example.com", Phone: "+15550100123", ExpiresIn: "10 minutes",
		LogoURL: "https://example.com/logo.png", Color: "#123456", Domain: "login.example.com"}
	type variant struct {
		data MessageData
		want string
	}
	withCode, withLink, withNotice := base, base, base
	withCode.Code, withLink.Link, withNotice.Notice = code, link, notice
	emailVariants := map[string][]variant{
		KindLoginCode: {{withCode, code}}, KindMagicLink: {{withLink, link}},
		KindVerifyEmail: {{withCode, code}, {withLink, link}}, KindRecovery: {{withCode, code}, {withLink, link}},
		KindAccountChanged: {{withNotice, notice}}, KindSignupExisting: {{withLink, link}},
	}
	var errs []error
	for lang, kinds := range t.email {
		for kind, et := range kinds {
			for _, v := range emailVariants[kind] {
				v.data.Language = lang
				m, err := t.Email(kind, v.data)
				if err != nil {
					errs = append(errs, err)
					break
				}
				for i, part := range []string{m.Subject, m.Text, m.HTML} {
					if i > 0 && !strings.Contains(part, v.want) {
						name := et.names[i]
						if i == 2 {
							name = files[lang+"/email/"+kind+".html"].name
							if name == "" {
								name = files[DefaultLanguage+"/email/"+kind+".html"].name
							}
						}
						errs = append(errs, fmt.Errorf("template %s: the rendered %s does not contain the %s (%q)", name, kind, what(v.want == code, v.want == link), v.want))
					}
				}
			}
		}
	}
	for lang, kinds := range t.sms {
		for kind, st := range kinds {
			d := withCode
			d.Language, d.Domain = lang, "" // without the WebOTP line, which carries the code itself
			m, err := t.SMS(kind, d)
			if err != nil {
				errs = append(errs, err)
			} else if !strings.Contains(m.Body, code) {
				errs = append(errs, fmt.Errorf("template %s: the rendered SMS does not contain the code", st.Name()))
			}
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func what(code, link bool) string {
	switch {
	case code:
		return "code"
	case link:
		return "link"
	}
	return "notice"
}

// language picks the language directory for tag: the longest prefix match, then English.
func (t *Templates) language(tag string) string {
	tag = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
	for tag != "" {
		if _, ok := t.email[tag]; ok {
			return tag
		}
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			break
		}
		tag = tag[:i]
	}
	return DefaultLanguage
}

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// ValidColor reports whether c is a colour the templates accept: #rgb or #rrggbb.
func ValidColor(c string) bool { return hexColor.MatchString(c) }

// normalize applies the documented defaults and drops values that must not be shown.
func (d MessageData) normalize() MessageData {
	if strings.TrimSpace(d.ProductName) == "" {
		d.ProductName = "Gatehouse"
	}
	if !ValidColor(d.Color) {
		d.Color = DefaultColor
	}
	if u, err := url.Parse(d.LogoURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		d.LogoURL = ""
	}
	return d
}

// Email renders the email of kind for d (To is d.Email).
func (t *Templates) Email(kind string, d MessageData) (Email, error) {
	d = d.normalize()
	et := t.email[t.language(d.Language)][kind]
	if et == nil {
		et = t.email[DefaultLanguage][kind]
	}
	if et == nil {
		return Email{}, fmt.Errorf("no email template for kind %q (kinds: %s)", kind, strings.Join(EmailKinds, ", "))
	}
	var subject, text, html bytes.Buffer
	if err := et.subject.ExecuteTemplate(&subject, et.names[0], d); err != nil {
		return Email{}, fmt.Errorf("rendering the %s subject: %w", kind, err)
	}
	if err := et.text.ExecuteTemplate(&text, et.names[1], d); err != nil {
		return Email{}, fmt.Errorf("rendering the %s text: %w", kind, err)
	}
	if err := et.html.ExecuteTemplate(&html, et.names[2], d); err != nil {
		return Email{}, fmt.Errorf("rendering the %s HTML: %w", kind, err)
	}
	return Email{
		To:      d.Email,
		Subject: oneLine(subject.String()),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
		Kind:    kind,
	}, nil
}

// hostName is a DNS name as WebOTP accepts it after "@".
var hostName = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// webOTPCode is a code WebOTP can carry: letters and digits.
var webOTPCode = regexp.MustCompile(`^[A-Za-z0-9]{4,12}$`)

// SMS renders the text message of kind for d (To is d.Phone). The code comes first. With
// d.Domain set (and a code of letters and digits), the last line is the WebOTP line
// "@<Domain> #<Code>".
func (t *Templates) SMS(kind string, d MessageData) (SMS, error) {
	d = d.normalize()
	st := t.sms[t.language(d.Language)][kind]
	if st == nil {
		st = t.sms[DefaultLanguage][kind]
	}
	if st == nil {
		return SMS{}, fmt.Errorf("no SMS template for kind %q (kinds: %s)", kind, strings.Join(SMSKinds, ", "))
	}
	var b bytes.Buffer
	if err := st.Execute(&b, d); err != nil {
		return SMS{}, fmt.Errorf("rendering the %s SMS: %w", kind, err)
	}
	body := strings.TrimSpace(b.String())
	if d.Domain != "" && d.Code != "" && hostName.MatchString(d.Domain) && webOTPCode.MatchString(d.Code) {
		body += "\n\n@" + strings.ToLower(d.Domain) + " #" + d.Code
	}
	return SMS{To: d.Phone, Body: body, Kind: kind}, nil
}
