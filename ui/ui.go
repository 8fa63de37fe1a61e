// Package ui holds the hosted pages of the portal (html/template, embedded) and their static
// assets. Pages work without JavaScript; static/app.js only upgrades forms to the JSON
// authentication API. Templates are parsed once at start; Render escapes every value.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static returns the static assets (style.css, app.js).
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Brand is the product branding shown on every page.
type Brand struct {
	// ProductName is shown in titles and headings (default "Gatehouse").
	ProductName string
}

// Page is the data common to every page.
type Page struct {
	Brand Brand
	// Lang is the page's language (one of i18n.Languages; "" means i18n.Default): the
	// {{t "..."}} texts, <html lang> and Content-Language.
	Lang string
	// Base is the portal's path prefix (issuer path), for links and form actions.
	Base  string
	Title string
	// CSRF is the token to put in every form.
	CSRF string
	// Error is a message shown above the form.
	Error string
	// Data is the page-specific data.
	Data any
	// Passkeys tells whether the server can use passkeys (WebAuthn needs a domain name).
	Passkeys bool
	// Methods are the enabled passwordless methods and account features.
	Methods Methods
	// Social lists the upstream identity providers ("Log in with …" buttons).
	Social []SocialButton
}

// SocialButton is an upstream identity provider on the login and account pages.
type SocialButton struct {
	Name, Label string
}

// Methods tells the pages which login methods and account features to offer.
type Methods struct {
	EmailCode, MagicLink, SMSCode bool
	// Recovery: an account can be recovered by email or SMS; VerifyEmail, VerifyPhone: an
	// address or number can be verified.
	Recovery, VerifyEmail, VerifyPhone bool
	// Order is the order of the login page's other ways in: "social" (the provider
	// buttons), "email_code", "magic_link", "sms_code" (runtime settings; each shown only
	// if enabled above).
	Order []string
}

// DefaultOrder is the login page's order of the other ways in when none is set.
var DefaultOrder = []string{"social", "email_code", "magic_link", "sms_code"}

// Ordered is Order, or DefaultOrder when it is empty.
func (m Methods) Ordered() []string {
	if len(m.Order) == 0 {
		return DefaultOrder
	}
	return m.Order
}

// Templates renders the portal pages.
type Templates struct {
	// byLang holds one parsed copy of the templates per language, whose t function
	// translates into that language (i18n.T), so a request pays no translation setup.
	byLang map[string]*template.Template
}

// Funcs are the template functions of the pages: t translates its English text into the
// page's language and formats the arguments (`{{t "Signed in as %s" .Email}}`; a count
// first selects the plural form).
func funcs(lang string) template.FuncMap {
	return template.FuncMap{"t": func(msg string, args ...any) string { return i18n.T(lang, msg, args...) }}
}

// staticText is a {{t "..."}} action without arguments.
var staticText = regexp.MustCompile(`\{\{t ("(?:[^"\\]|\\.)*")\}\}`)

// Load parses the embedded templates, once per language. A {{t "..."}} without arguments
// becomes the translation itself, HTML-escaped, in that language's copy, so that a
// translated page costs what an English-only one did; texts with arguments call t at
// render time, and html/template escapes them like every value.
func Load() (*Templates, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	ts := &Templates{byLang: map[string]*template.Template{}}
	for _, lang := range i18n.Languages {
		set := template.New("").Funcs(funcs(lang))
		for _, name := range names {
			src, err := fs.ReadFile(templateFS, name)
			if err != nil {
				return nil, fmt.Errorf("read template %s: %w", name, err)
			}
			// {{.Lang}} is the copy's own language (a fixed tag), written in like the texts.
			text := strings.ReplaceAll(translateStatic(lang, string(src)), "{{.Lang}}", lang)
			if _, err := set.New(path.Base(name)).Parse(text); err != nil {
				return nil, fmt.Errorf("parse template %s (%s): %w", name, lang, err)
			}
		}
		ts.byLang[lang] = set
	}
	return ts, nil
}

// translateStatic replaces the {{t "..."}} actions without arguments of a template source
// by their escaped translation into lang.
func translateStatic(lang, src string) string {
	return staticText.ReplaceAllStringFunc(src, func(action string) string {
		msg, err := strconv.Unquote(staticText.FindStringSubmatch(action)[1])
		if err != nil {
			return action // html/template reports it when parsing
		}
		out := i18n.T(lang, msg)
		if strings.Contains(out, "{{") || strings.Contains(out, "}}") {
			return action // never template syntax from a catalog
		}
		return template.HTMLEscapeString(out)
	})
}

// Render writes the page name with status. The page is rendered into a buffer first, so a
// template error never sends half a page.
func (t *Templates) Render(w http.ResponseWriter, status int, name string, p Page) error {
	if p.Brand.ProductName == "" {
		p.Brand.ProductName = "Gatehouse"
	}
	tpl, ok := t.byLang[p.Lang]
	if !ok {
		p.Lang = i18n.Default
		tpl = t.byLang[p.Lang]
	}
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, name+".html", p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
