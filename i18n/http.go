package i18n

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// CookieName is the cookie that carries an authorization request's ui_locales through the
// login flow (the login, code, link and second-factor pages that follow it). It holds a
// supported language, never the raw parameter, and lives as long as the browser session.
const CookieName = "gatehouse_locale"

// FromRequest returns the language of a portal page: the request's own ui_locales query
// parameter, else the ui_locales the authorization request carried (CookieName), else the
// Accept-Language header, else def.
func FromRequest(r *http.Request, def string) string {
	if strings.Contains(r.URL.RawQuery, "ui_locales=") {
		if l, ok := FromUILocales(r.URL.Query().Get("ui_locales")); ok {
			return l
		}
	}
	if c, err := r.Cookie(CookieName); err == nil && Supported(c.Value) {
		return c.Value
	}
	if l, ok := acceptCached(r.Header.Get("Accept-Language")); ok {
		return l
	}
	if Supported(def) {
		return def
	}
	return Default
}

// acceptCache remembers the language of the Accept-Language values seen (browsers send a
// handful of distinct ones), up to acceptCacheMax of them.
var (
	acceptCache     sync.Map // header value -> acceptResult
	acceptCacheSize atomic.Int64
)

const acceptCacheMax = 4096

type acceptResult struct {
	lang string
	ok   bool
}

func acceptCached(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if res, ok := acceptCache.Load(v); ok {
		r := res.(acceptResult)
		return r.lang, r.ok
	}
	l, ok := FromAcceptLanguage(v)
	if acceptCacheSize.Load() < acceptCacheMax {
		if _, loaded := acceptCache.LoadOrStore(v, acceptResult{l, ok}); !loaded {
			acceptCacheSize.Add(1)
		}
	}
	return l, ok
}

// Remember carries an authorization request's ui_locales (OpenID Connect Core 3.1.2.1)
// through the login flow: a supported language is kept in CookieName below path; a request
// without one (or with only unsupported tags) clears a cookie left by an earlier request.
func Remember(w http.ResponseWriter, r *http.Request, uiLocales, path string, secure bool) {
	c := &http.Cookie{Name: CookieName, Path: path, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if l, ok := FromUILocales(uiLocales); ok {
		c.Value = l
		http.SetCookie(w, c)
		return
	}
	if _, err := r.Cookie(CookieName); err == nil {
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
}

// Text translates msg into lang without formatting it (a message that may contain user
// input or a '%'): msg itself when the catalog has no entry.
func Text(lang, msg string) string {
	if _, ok := entries[lang][msg]; !ok {
		return msg
	}
	return T(lang, msg)
}
