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
}

// Templates renders the portal pages.
type Templates struct {
	t *template.Template
}

// Load parses the embedded templates.
func Load() (*Templates, error) {
	t, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return &Templates{t: t}, nil
}

// Render writes the page name with status. The page is rendered into a buffer first, so a
// template error never sends half a page.
func (t *Templates) Render(w http.ResponseWriter, status int, name string, p Page) error {
	if p.Brand.ProductName == "" {
		p.Brand.ProductName = "Gatehouse"
	}
	var buf bytes.Buffer
	if err := t.t.ExecuteTemplate(&buf, name+".html", p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
