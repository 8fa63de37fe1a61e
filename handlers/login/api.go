package login

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

func (h *Handler) apiError(w http.ResponseWriter, err error) {
	status, code, msg, field := h.classify(w, err)
	web.WriteJSON(w, status, web.APIError{Error: code, Message: msg, Field: field})
}

type passwordLoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	ReturnTo string `json:"return_to"`
}

// apiPasswordLogin: POST /api/v1/login/password.
func (h *Handler) apiPasswordLogin(w http.ResponseWriter, r *http.Request) {
	var req passwordLoginRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	res, err := h.Password.Login(r.Context(), req.Email, req.Password, h.ClientIP(r))
	u := res.User
	var next string
	if err == nil {
		next, err = h.afterFirstFactor(w, r, u, res.AMR, req.ReturnTo)
	}
	if err != nil {
		h.apiError(w, err)
		return
	}
	out := authResult{User: toUserJSON(u), RedirectTo: next}
	out.MFARequired = next != h.afterLogin(req.ReturnTo)
	web.WriteJSON(w, http.StatusOK, out)
}

type signupRequest struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	FirstName  string `json:"fname"`
	MiddleName string `json:"mname"`
	LastName   string `json:"lname"`
	Invite     string `json:"invite"`
	ReturnTo   string `json:"return_to"`
}

// apiSignup: POST /api/v1/signup. When the address is proven first (signup.go) the answer
// is 202 and the code step, the same for every address; otherwise 201 and a session, or
// 409 email_taken.
func (h *Handler) apiSignup(w http.ResponseWriter, r *http.Request) {
	var req signupRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	in := account.NewUser{Email: req.Email, Password: req.Password, FirstName: req.FirstName, MiddleName: req.MiddleName, LastName: req.LastName}
	if h.Signup.VerifiesFirst() {
		flow, err := h.Signup.Start(r.Context(), in, req.Invite, preferredLanguage(r), h.ClientIP(r))
		if err != nil {
			h.apiCodeError(w, err)
			return
		}
		h.signupCodeSent(w, flow, req.ReturnTo)
		return
	}
	res, err := h.Signup.Create(r.Context(), in, req.Invite, h.ClientIP(r))
	u := res.User
	if err == nil {
		err = h.startSession(w, r, u, res.AMR, true)
	}
	if err != nil {
		h.apiError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, authResult{User: toUserJSON(u), RedirectTo: h.afterSignup(w, r, u, req.ReturnTo)})
}

type sessionResponse struct {
	Authenticated bool      `json:"authenticated"`
	User          *userJSON `json:"user,omitempty"`
	AuthTime      time.Time `json:"auth_time,omitzero"`
	AMR           []string  `json:"amr,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
}

// apiSession: GET /api/v1/session.
func (h *Handler) apiSession(w http.ResponseWriter, r *http.Request) {
	s, u, err := h.Sessions.Get(r.Context(), h.Cookie.Secret(r))
	if errors.Is(err, sessions.ErrNoSession) {
		web.WriteJSON(w, http.StatusUnauthorized, sessionResponse{})
		return
	} else if err != nil {
		h.apiError(w, err)
		return
	}
	uj := toUserJSON(u)
	web.WriteJSON(w, http.StatusOK, sessionResponse{Authenticated: true, User: &uj, AuthTime: s.AuthTime,
		AMR: s.AMR, ExpiresAt: s.ExpiresAt()})
}

// apiLogout: POST /api/v1/logout with Content-Type: application/json (a cross-site form
// cannot send that type) and an empty body or an empty JSON object.
func (h *Handler) apiLogout(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		web.WriteAPIError(w, http.StatusUnsupportedMediaType, "invalid_request", "send Content-Type: application/json")
		return
	}
	if r.ContentLength != 0 {
		var req struct{}
		if err := web.DecodeJSON(w, r, &req); err != nil && !errors.Is(err, io.EOF) {
			web.WriteAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	if err := h.endSession(w, r); err != nil {
		h.apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
