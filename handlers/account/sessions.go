package account

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// UserSessions are a user's portal sessions (*sessions.Manager).
type UserSessions interface {
	List(ctx context.Context, userID string) ([]store.Session, error)
	EndOwn(ctx context.Context, userID, sessionID string) error
	EndOthers(ctx context.Context, userID, keep string) error
}

// sessionJSON is a portal session on the account page and in the API. ID is the session's
// identifier (the sid of its tokens, a hash of the cookie's secret, never the secret).
type sessionJSON struct {
	ID string `json:"id"`
	// Device is the browser and system in coarse words ("Firefox on Linux").
	Device    string    `json:"device"`
	IP        string    `json:"ip,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt is the last portal request, to the minute.
	LastSeenAt time.Time `json:"last_seen_at"`
	// Current marks the session of this browser.
	Current bool `json:"current"`
}

// userSessions returns the user's sessions, this one first (none, logged, on a store
// failure: the rest of the page still works).
func (h *Handler) userSessions(ctx context.Context, userID, current string) []sessionJSON {
	list, err := h.UserSessions.List(ctx, userID)
	if err != nil {
		h.LogFailure("account page: sessions", err)
		return nil
	}
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		j := sessionJSON{ID: s.ID, Device: describeAgent(s.UserAgent), IP: s.IP, CreatedAt: s.CreatedAt,
			LastSeenAt: s.LastSeenAt, Current: s.ID == current}
		if j.Current {
			out = append([]sessionJSON{j}, out...)
		} else {
			out = append(out, j)
		}
	}
	return out
}

// endSessionForm: POST /account/sessions/end {session}: that session (of this user) is
// logged out: its browser's next request, to the portal or through gatehouse_protect, needs
// a new login.
func (h *Handler) endSessionForm(w http.ResponseWriter, r *http.Request) {
	h.sessionChange(w, r, func(s store.Session, target string) error {
		if target == s.ID {
			return errThisSession
		}
		return h.UserSessions.EndOwn(r.Context(), s.UserID, target)
	})
}

// endOthersForm: POST /account/sessions/end-others: every other session of the user is
// logged out.
func (h *Handler) endOthersForm(w http.ResponseWriter, r *http.Request) {
	h.sessionChange(w, r, func(s store.Session, _ string) error {
		return h.UserSessions.EndOthers(r.Context(), s.UserID, s.ID)
	})
}

// errThisSession: the per-session Log out is for other sessions; this one uses Log out.
var errThisSession = errors.New("this is the session you are using: use Log out at the bottom of the page")

func (h *Handler) sessionChange(w http.ResponseWriter, r *http.Request, act func(s store.Session, target string) error) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	s, _, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if err != nil {
		http.Redirect(w, r, h.LoginURL(h.Base+"/"), http.StatusSeeOther)
		return
	}
	switch err := act(s, f.Get("session")); {
	case errors.Is(err, sessions.ErrNoSession):
		h.RenderError(w, r, http.StatusNotFound, "That session has already ended.")
	case errors.Is(err, errThisSession):
		h.RenderError(w, r, http.StatusBadRequest, "This is the session you are using: to end it, use Log out.")
	case err != nil:
		h.LogFailure("account: end session", err)
		h.RenderError(w, r, http.StatusServiceUnavailable, "Something went wrong on our side. Try again in a moment.")
	default:
		http.Redirect(w, r, h.Base+"/", http.StatusSeeOther)
	}
}

// apiSessions: GET /api/v1/account/sessions.
func (h *Handler) apiSessions(w http.ResponseWriter, r *http.Request) {
	s, u, ok := h.APISession(w, r)
	if !ok {
		return
	}
	list, err := h.UserSessions.List(r.Context(), u.ID)
	if err != nil {
		h.APIError(w, r, err)
		return
	}
	out := make([]sessionJSON, 0, len(list))
	for _, o := range list {
		out = append(out, sessionJSON{ID: o.ID, Device: describeAgent(o.UserAgent), IP: o.IP, CreatedAt: o.CreatedAt,
			LastSeenAt: o.LastSeenAt, Current: o.ID == s.ID})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// apiEndSession: DELETE /api/v1/account/sessions/{id}.
func (h *Handler) apiEndSession(w http.ResponseWriter, r *http.Request) {
	s, _, ok := h.APISession(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if id == s.ID {
		web.WriteAPIError(w, http.StatusConflict, "current_session", h.T(r, "This is the session making the request: log out instead."))
		return
	}
	switch err := h.UserSessions.EndOwn(r.Context(), s.UserID, id); {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, sessions.ErrNoSession):
		web.WriteAPIError(w, http.StatusNotFound, "not_found", h.T(r, "No such session."))
	default:
		h.APICodeError(w, r, err)
	}
}
