package notify_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/notify"
)

func loadTemplates(t *testing.T, dir string) *notify.Templates {
	t.Helper()
	tmpl, err := notify.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// writeFiles writes files (relative path → content) under a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTemplatesEveryKind: every email kind renders a one-line subject, and the code, link or
// notice it exists for appears in both the text and the HTML part; every SMS kind starts
// with the code.
func TestTemplatesEveryKind(t *testing.T) {
	tmpl := loadTemplates(t, "")
	const code, link = "482913", "https://login.example.com/magic/dG9rZW4"
	for _, kind := range notify.EmailKinds {
		t.Run("email "+kind, func(t *testing.T) {
			d := notify.MessageData{ProductName: "Acme", Email: "alice@example.com", ExpiresIn: "10 minutes", Notice: "Your password was changed."}
			want := []string{}
			switch kind {
			case notify.KindLoginCode:
				d.Code, want = code, []string{code}
			case notify.KindMagicLink:
				d.Link, want = link, []string{link}
			case notify.KindAccountChanged:
				want = []string{"Your password was changed."}
			case notify.KindApprovalCode:
				// The code names what it approves.
				d.Code, d.Amount, d.Payee = code, "125.50 EUR", "ACME & Co"
				want = []string{code, "125.50 EUR", "ACME"}
			case notify.KindSignupExisting:
				// A notice for the owner of the address: the login link, never a code
				// (sign-up must not let anyone complete it for an existing account).
				d.Link, want = link, []string{link, "already has an account"}
			default:
				d.Code, d.Link, want = code, link, []string{code, link}
			}
			m, err := tmpl.Email(kind, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.To != "alice@example.com" || m.Kind != kind {
				t.Errorf("to=%q kind=%q", m.To, m.Kind)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Subject, "Acme") {
				t.Errorf("subject %q", m.Subject)
			}
			for _, w := range want {
				if !strings.Contains(m.Text, w) || !strings.Contains(m.HTML, w) {
					t.Errorf("%q missing from the text or HTML part\ntext:\n%s\nhtml:\n%s", w, m.Text, m.HTML)
				}
			}
			if kind != notify.KindAccountChanged && kind != notify.KindRecovery &&
				(!strings.Contains(m.Text, "If you didn't ask for this, ignore this email") || !strings.Contains(m.HTML, "If you didn&#39;t ask for this, ignore this email") && !strings.Contains(m.HTML, "If you didn't ask for this, ignore this email")) {
				t.Errorf("no \"ignore this email\" line")
			}
			if !strings.Contains(m.HTML, "#0a84ff") {
				t.Errorf("the HTML does not use the default colour")
			}
		})
	}
	for _, kind := range notify.SMSKinds {
		m, err := tmpl.SMS(kind, notify.MessageData{ProductName: "Acme", Phone: "+14155550123", Code: code, ExpiresIn: "10 minutes"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Body, code) || m.To != "+14155550123" || len(m.Body) > 160 {
			t.Errorf("sms %s: %q (to %q): want the code first, within 160 characters", kind, m.Body, m.To)
		}
	}
	if _, err := tmpl.Email("newsletter", notify.MessageData{}); err == nil {
		t.Error("unknown kind rendered")
	}
}

// TestTemplatesEscaping: the HTML part escapes a hostile product name (configuration is not
// trusted to be HTML) and a link with quotes and ampersands; a javascript: link and logo are
// neutralised; a colour that is not #rrggbb cannot inject CSS; the subject stays one line.
func TestTemplatesEscaping(t *testing.T) {
	tmpl := loadTemplates(t, "")
	m, err := tmpl.Email(notify.KindMagicLink, notify.MessageData{
		ProductName: "<script>alert(1)</script>\r\nBcc: victim@example.com",
		Link:        `https://login.example.com/magic?t=a&b="c"<x>`,
		Color:       "red;background:url(https://evil.example/x)",
		LogoURL:     "https://cdn.example.com/logo.png?a=1&b=2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Errorf("the HTML part contains a raw <script>:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the product name is not escaped in the HTML")
	}
	if !strings.Contains(m.HTML, `href="https://login.example.com/magic?t=a&amp;b=%22c%22%3cx%3e"`) {
		t.Errorf("the link is not escaped as a URL attribute:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, `https://login.example.com/magic?t=a&b="c"<x>`) {
		t.Errorf("the text part does not carry the link verbatim:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "evil.example") || !strings.Contains(m.HTML, "#0a84ff") {
		t.Errorf("a hostile colour reached the CSS")
	}
	if !strings.Contains(m.HTML, `src="https://cdn.example.com/logo.png?a=1&amp;b=2"`) {
		t.Errorf("the logo is missing")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject has a line break (header injection): %q", m.Subject)
	}
	m, err = tmpl.Email(notify.KindMagicLink, notify.MessageData{Link: "javascript:alert(1)", LogoURL: "javascript:alert(2)", Color: "#ABCDEF"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, `href="javascript`) || strings.Contains(m.HTML, `src="javascript`) || !strings.Contains(m.HTML, `href="#ZgotmplZ"`) {
		t.Errorf("a javascript: URL reached an attribute:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "#ABCDEF") {
		t.Errorf("a valid colour was not used")
	}
}

// TestTemplatesOverride: a file in the override directory replaces the built-in of the same
// name and only it; a broken one is an error naming the file; so is one that drops the code
// and a file name that is not a template (a typo would otherwise be ignored silently).
func TestTemplatesOverride(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"en/email/login_code.subject.txt": "{{.Code}} — your {{.ProductName}} code",
		"en/sms/login_code.txt":           "Code {{.Code}} for {{.ProductName}}",
		"README.md":                       "not a template",
	})
	tmpl := loadTemplates(t, dir)
	m, err := tmpl.Email(notify.KindLoginCode, notify.MessageData{ProductName: "Acme", Code: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "123456 — your Acme code" {
		t.Errorf("subject = %q, want the override", m.Subject)
	}
	if !strings.Contains(m.Text, "Your Acme sign-in code is:") {
		t.Errorf("the text part is not the built-in one:\n%s", m.Text)
	}
	s, _ := tmpl.SMS(notify.KindLoginCode, notify.MessageData{ProductName: "Acme", Code: "123456"})
	if s.Body != "Code 123456 for Acme" {
		t.Errorf("sms = %q", s.Body)
	}
	if s, _ := tmpl.SMS(notify.KindRecovery, notify.MessageData{Code: "123456"}); !strings.Contains(s.Body, "recovery") {
		t.Errorf("recovery sms = %q, want the built-in", s.Body)
	}

	broken := map[string]struct {
		files map[string]string
		want  string
	}{
		"syntax error":   {map[string]string{"en/email/magic_link.html": `{{define "content"}}{{.Link}`}, filepath.Join("en", "email", "magic_link.html")},
		"unknown field":  {map[string]string{"en/email/login_code.txt": "{{.Code}} {{.Passcode}}"}, filepath.Join("en", "email", "login_code.txt")},
		"code dropped":   {map[string]string{"en/email/login_code.html": `{{define "content"}}Hello{{end}}`}, filepath.Join("en", "email", "login_code.html")},
		"sms no code":    {map[string]string{"en/sms/recovery.txt": `Hello`}, filepath.Join("en", "sms", "recovery.txt")},
		"misspelt file":  {map[string]string{"en/email/login-code.txt": "{{.Code}}"}, "unknown template file"},
		"uppercase lang": {map[string]string{"EN/sms/login_code.txt": "{{.Code}}"}, "unknown template file"},
	}
	for name, tt := range broken {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := notify.LoadTemplates(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.want != "unknown template file" && !strings.Contains(err.Error(), dir)) {
				t.Fatalf("error %q does not name the file %s", err, tt.want)
			}
		})
	}
	if _, err := notify.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory was accepted")
	}
}

// TestTemplatesLanguage: the language is chosen by the longest matching prefix of the tag
// (fr-CA → fr), falling back to English for an unknown language and, file by file, for files
// a translation lacks; the WebOTP line is added only for a valid host name.
func TestTemplatesLanguage(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"it/sms/login_code.txt":           "{{.Code}} è il tuo codice {{.ProductName}}.",
		"it/email/login_code.html":        `{{define "content"}}<p>Il tuo codice: {{.Code}}</p>{{end}}`,
		"pt-br/sms/login_code.txt":        "{{.Code}} é o seu código.",
		"it/email/login_code.subject.txt": "Il tuo codice {{.ProductName}}",
	})
	tmpl := loadTemplates(t, dir)
	sms := func(lang string) string {
		m, err := tmpl.SMS(notify.KindLoginCode, notify.MessageData{Code: "123456", Language: lang})
		if err != nil {
			t.Fatal(err)
		}
		return m.Body
	}
	for lang, want := range map[string]string{
		"it": "123456 è il tuo codice", "it-CH": "123456 è il tuo codice", "IT_ch": "123456 è il tuo codice",
		"pt-BR": "123456 é o seu código", "pt": "123456 is your", "": "123456 is your",
		// Built in: German, French and Spanish.
		"de": "123456 ist Ihr Anmeldecode", "de-AT": "123456 ist Ihr Anmeldecode", "fr-CA": "123456 est votre code de connexion",
		"es": "123456 es tu código",
	} {
		if got := sms(lang); !strings.HasPrefix(got, want) {
			t.Errorf("language %q: %q, want %q...", lang, got, want)
		}
	}
	m, err := tmpl.Email(notify.KindLoginCode, notify.MessageData{Code: "123456", Language: "it-IT", ProductName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Il tuo codice Acme" || !strings.Contains(m.HTML, "Il tuo codice: 123456") || !strings.Contains(m.Text, "Your Acme sign-in code is:") {
		t.Errorf("italian email: subject %q, html has italian: %v, text falls back to English: %v", m.Subject,
			strings.Contains(m.HTML, "Il tuo codice"), strings.Contains(m.Text, "Your Acme sign-in code is:"))
	}
	m, err = tmpl.Email(notify.KindLoginCode, notify.MessageData{Code: "123456", Language: "es", ProductName: "Acme", ExpiresIn: "10 minutos"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Tu código de inicio de sesión de Acme" || !strings.Contains(m.Text, "Caduca en 10 minutos.") ||
		!strings.Contains(m.HTML, `<html lang="es">`) || !strings.Contains(m.HTML, "Si no lo has pedido tú") {
		t.Errorf("spanish email: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}

	for domain, want := range map[string]string{
		"login.example.com":      "\n\n@login.example.com #123456",
		"Login.Example.COM":      "\n\n@login.example.com #123456",
		"login.example.com:8443": "",
		"evil.com #999999\n@x":   "",
	} {
		m, _ := tmpl.SMS(notify.KindLoginCode, notify.MessageData{Code: "123456", Domain: domain})
		has := strings.Contains(m.Body, "\n@")
		if want == "" && has || want != "" && !strings.HasSuffix(m.Body, want) {
			t.Errorf("domain %q: %q", domain, m.Body)
		}
	}
}

// The built-in languages besides English translate every file English has (no message falls
// back to English file by file).
func TestTemplatesBuiltInLanguagesComplete(t *testing.T) {
	files := func(lang string) []string {
		var out []string
		err := fs.WalkDir(os.DirFS("templates/"+lang), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	en := files("en")
	for _, lang := range []string{"de", "fr", "es"} {
		if got := files(lang); !slices.Equal(got, en) {
			t.Errorf("templates/%s has %q, want the files of templates/en: %q", lang, got, en)
		}
	}
}
