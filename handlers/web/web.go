// Package web holds the HTTP plumbing shared by Gatehouse's handlers: security headers, body
// limits, form and JSON parsing with duplicate detection, CSRF tokens, the local-redirect
// validator and JSON responses. It is a library for the handler packages, not a handler.
package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// MaxBodyBytes caps every request body Gatehouse reads (RB-02).
const MaxBodyBytes = 64 << 10

// StatusClientClosedRequest is the status of an answer to a request whose client went away
// before it was served (nginx's 499): nobody reads it, but access logs show what happened.
const StatusClientClosedRequest = 499

// SecurityHeaders sets the headers every portal response carries: no framing, no referrer,
// no sniffing, a strict Content-Security-Policy, and no caching.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	NoStore(h)
}

// NoStore forbids caching (RFC 6749 §5.1).
func NoStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// ParseForm reads a POST body (form-encoded, at most MaxBodyBytes) or the query of a GET and
// returns the values. It fails on a body too large, a wrong content type or malformed
// encoding; the error text is safe to show.
func ParseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, errors.New("malformed query string")
		}
		return q, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, errors.New("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("request body larger than %d bytes: %w", MaxBodyBytes, ErrTooLarge)
		}
		return nil, errors.New("malformed form body")
	}
	return r.PostForm, nil
}

// ErrTooLarge is returned (wrapped) for bodies over the size limit.
var ErrTooLarge = errors.New("request body too large")

// DecodeJSON reads a JSON object body (application/json, at most MaxBodyBytes, no unknown
// fields, nothing after the object) into dst.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return DecodeJSONLimit(w, r, dst, MaxBodyBytes)
}

// DecodeJSONLimit is DecodeJSON with another body size limit.
func DecodeJSONLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return errors.New("the body must be application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("request body larger than %d bytes: %w", limit, ErrTooLarge)
		}
		return fmt.Errorf("malformed JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("malformed JSON body: data after the object")
	}
	return nil
}

// WriteJSON writes v as JSON with status and no caching.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	NoStore(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// APIError is the body of a JSON API error.
type APIError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// WriteAPIError writes a JSON API error.
func WriteAPIError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, APIError{Error: code, Message: message})
}

// LocalPath validates a redirect target that must stay on this site (PX-19): it returns the
// target if it is a path starting with a single "/" — not "//", "/\", or anything that
// decodes or trims to such — without scheme, host, control characters or backslashes, and
// "" otherwise.
func LocalPath(target string) string {
	if target == "" || len(target) > 4096 || target[0] != '/' {
		return ""
	}
	if strings.ContainsFunc(target, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' }) {
		return ""
	}
	if len(target) > 1 && (target[1] == '/' || target[1] == '\\') {
		return ""
	}
	dec, err := url.PathUnescape(target)
	if err != nil || strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") ||
		strings.ContainsFunc(dec, func(r rune) bool { return unicode.IsControl(r) || r == '\\' }) {
		return ""
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return target
}

// CSRF issues and checks form tokens bound to a per-browser random cookie (double submit,
// with the token an HMAC of the cookie so that it cannot be forged from a planted cookie
// without the key).
type CSRF struct {
	// Key is the HMAC key (32 bytes from the shared secret).
	Key []byte
	// CookieName is the binding cookie's name.
	CookieName string
	// Secure sets the cookie's Secure attribute.
	Secure bool
	// NewSecret returns a fresh random cookie value.
	NewSecret func() string
}

// Token returns the form token for this browser, setting the binding cookie if absent.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if ck, err := r.Cookie(c.CookieName); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		v = ck.Value
	} else {
		v = c.NewSecret()
		http.SetCookie(w, &http.Cookie{Name: c.CookieName, Value: v, Path: "/", HttpOnly: true,
			Secure: c.Secure, SameSite: http.SameSiteLaxMode})
		// Make the new cookie visible to a Check in the same request.
		r.AddCookie(&http.Cookie{Name: c.CookieName, Value: v})
	}
	return c.mac(v)
}

// Check reports whether token is the form token of this browser.
func (c *CSRF) Check(r *http.Request, token string) bool {
	ck, err := r.Cookie(c.CookieName)
	if err != nil || token == "" || len(ck.Value) < 32 {
		return false
	}
	return hmac.Equal([]byte(token), []byte(c.mac(ck.Value)))
}

func (c *CSRF) mac(v string) string {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CookiePrefix is the prefix of every cookie Gatehouse sets; the protect handler strips all
// of them from requests before they reach an upstream.
const CookiePrefix = "gatehouse_"

// CookieName returns the full cookie name for base: "__Host-gatehouse_<base>" on https
// (host-only, Secure, Path=/ enforced by browsers), "gatehouse_<base>" on plain http.
func CookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + CookiePrefix + base
	}
	return CookiePrefix + base
}
