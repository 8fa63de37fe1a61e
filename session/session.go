// Package session is the portal's session cookie: a gorilla/sessions Store whose cookie holds
// only the session secret, authenticated and encrypted with gorilla/securecookie. The session
// record (user, authentication time, methods, idle and absolute expiry) lives server-side in
// the Gatehouse store under the secret's hash and is managed by package idp; this package only
// moves the secret between the browser and the server.
//
// The cookie is HttpOnly, SameSite=Lax (so that an app on another site can send the browser
// to /authorize with the session), Secure and "__Host-" prefixed on https, and its Max-Age is
// the session's absolute lifetime. It is the only package that imports gorilla/sessions.
package session

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Manager is a sessions.Store for the portal session cookie.
type Manager struct {
	name  string
	codec *securecookie.SecureCookie
	opts  sessions.Options
}

var _ sessions.Store = (*Manager)(nil)

// New returns a Manager for the cookie name. hashKey and blockKey are 32-byte keys (HMAC-SHA256
// and AES-256); lifetime bounds both the cookie's Max-Age and the accepted age of its value.
func New(name string, hashKey, blockKey []byte, secure bool, lifetime time.Duration) *Manager {
	codec := securecookie.New(hashKey, blockKey)
	codec.MaxAge(int(lifetime / time.Second))
	codec.MaxLength(1024)
	return &Manager{name: name, codec: codec, opts: sessions.Options{
		Path: "/", MaxAge: int(lifetime / time.Second), Secure: secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}}
}

// Name returns the cookie name.
func (m *Manager) Name() string { return m.name }

// Get returns the request's session (cached per request by gorilla's registry).
func (m *Manager) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(m, name)
}

// New decodes the cookie into a session whose ID is the secret. A missing, tampered, expired
// or undecodable cookie yields a new, empty session and no error.
func (m *Manager) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(m, name)
	opts := m.opts
	s.Options = &opts
	s.IsNew = true
	if c, err := r.Cookie(name); err == nil {
		var sec string
		if err := m.codec.Decode(name, c.Value, &sec); err == nil && sec != "" {
			s.ID = sec
			s.IsNew = false
		}
	}
	return s, nil
}

// Save writes the cookie: the encoded secret, or a deletion when the ID is empty or MaxAge
// is negative.
func (m *Manager) Save(_ *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	if s.ID == "" || s.Options.MaxAge < 0 {
		opts := *s.Options
		opts.MaxAge = -1
		http.SetCookie(w, sessions.NewCookie(s.Name(), "", &opts))
		return nil
	}
	enc, err := m.codec.Encode(s.Name(), s.ID)
	if err != nil {
		return fmt.Errorf("encode session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(s.Name(), enc, s.Options))
	return nil
}

// Secret returns the session secret carried by the request's cookie, or "".
func (m *Manager) Secret(r *http.Request) string {
	s, err := m.Get(r, m.name)
	if err != nil {
		return ""
	}
	return s.ID
}

// Issue sets the cookie to carry secret (a new session after login; the previous session's
// cookie value is replaced, so a planted value never survives a login).
func (m *Manager) Issue(w http.ResponseWriter, r *http.Request, secret string) error {
	if secret == "" {
		return errors.New("issue session cookie: empty secret")
	}
	s, err := m.Get(r, m.name)
	if err != nil {
		return fmt.Errorf("issue session cookie: %w", err)
	}
	s.ID = secret
	s.IsNew = false
	return m.Save(r, w, s)
}

// Clear deletes the cookie.
func (m *Manager) Clear(w http.ResponseWriter, r *http.Request) error {
	s, err := m.Get(r, m.name)
	if err != nil {
		return fmt.Errorf("clear session cookie: %w", err)
	}
	s.ID = ""
	return m.Save(r, w, s)
}
