package adminv1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Scope is the scope an access token needs for the API.
const Scope = oauth.AdminScope

// Defaults of the configuration (admin_group, admin_max_age).
const (
	DefaultAdminGroup  = "admins"
	DefaultAdminMaxAge = 15 * time.Minute
)

// CSRFHeader carries a session caller's CSRF token (the portal's web.CSRF token of the page).
const CSRFHeader = "X-CSRF-Token"

// grantClientCredentials is the gty claim of a client_credentials token.
const grantClientCredentials = "client_credentials"

// TokenVerifier verifies the portal's access tokens (*tokens.Verifier).
type TokenVerifier interface {
	VerifyAccessToken(token string) (*tokens.AccessClaims, error)
}

// SessionReader reads a portal session and its user (*sessions.Manager): ErrNoSession for
// none (expired, revoked, disabled user), any other error is a store failure.
type SessionReader interface {
	Get(ctx context.Context, secret string) (store.Session, store.User, error)
}

// Caller is who makes a request: a client (bearer token) or an administrator (session).
type Caller struct {
	// Actor is the audit actor: the user ID, or "client:<id>".
	Actor string
	// UserID is the administrator's ID ("" for a client); ClientID the client's ("" for a
	// session).
	UserID, ClientID string
}

type callerKey struct{}

// CallerOf returns the authenticated caller of a request served by the API.
func CallerOf(r *http.Request) Caller {
	c, _ := r.Context().Value(callerKey{}).(Caller)
	return c
}

// Problem types of the authorization failures; Missing says what the caller lacks.
const (
	MissingScope    = "scope"
	MissingGroup    = "group"
	MissingCSRF     = "csrf_token"
	MissingFreshMFA = "fresh_mfa"
	MissingGrant    = "client_credentials"
	MissingAudience = "audience"
)

func unauthorized(w http.ResponseWriter, errCode, detail string) *Problem {
	v := `Bearer realm="gatehouse-admin"`
	if errCode != "" {
		v += `, error="` + errCode + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	return &Problem{Type: "about:blank", Title: "unauthorized", Status: http.StatusUnauthorized, Detail: detail}
}

func forbidden(missing, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "forbidden", Status: http.StatusForbidden, Detail: detail, Missing: missing}
}

// authenticate checks the request's credentials for rt and returns the request carrying
// its Caller, or the problem to answer:
//
//   - Authorization: Bearer <access token>: one of the portal's own access tokens (issuer,
//     signature, lifetime and revocation checked by Tokens), issued by the
//     client_credentials grant (a token a user granted to an app never administers:
//     the user's consent cannot hand out the scope), whose audience holds the API's URL
//     (Issuer+Prefix, asked for with resource=) and whose scope holds gatehouse:admin.
//   - the portal session cookie of a user in AdminGroup (read fresh from the store on each
//     request: a user who lost the group or was disabled is refused at once); a write also
//     needs the X-CSRF-Token header and a multi-factor login (login.ACR aal2: a passkey, or
//     a password plus a second factor) no older than AdminMaxAge.
//
// No credentials or invalid ones are 401 with WWW-Authenticate; valid ones that lack
// something are 403 naming it (Problem.Missing).
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, rt Route) (*http.Request, error) {
	if rt.Public {
		return r, nil
	}
	var (
		c   Caller
		err error
	)
	if auth := r.Header.Get("Authorization"); auth != "" {
		c, err = h.bearer(w, r, auth)
	} else if sec := h.sessionSecret(r); sec != "" {
		// Any method but GET and HEAD writes, whatever the route says.
		write := rt.Write || (r.Method != http.MethodGet && r.Method != http.MethodHead)
		c, err = h.session(w, r, sec, write)
	} else {
		err = unauthorized(w, "", "send an access token (Authorization: Bearer) with scope "+Scope+", or log in as an administrator")
	}
	if err != nil {
		return r, err
	}
	// The events the identity core records during the call (user disabled, password
	// changed, sessions ended ...) name the administrator as their actor.
	ctx := audit.WithActor(context.WithValue(r.Context(), callerKey{}, c), c.Actor)
	return r.WithContext(ctx), nil
}

func (h *Handler) sessionSecret(r *http.Request) string {
	if h.deps.SessionSecret == nil {
		return ""
	}
	return h.deps.SessionSecret(r)
}

func (h *Handler) bearer(w http.ResponseWriter, r *http.Request, auth string) (Caller, error) {
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || h.deps.Tokens == nil {
		return Caller{}, unauthorized(w, "invalid_request", "the Authorization header must be \"Bearer <access token>\"")
	}
	c, err := h.deps.Tokens.VerifyAccessToken(strings.TrimSpace(tok))
	if errors.Is(err, tokens.ErrUnavailable) {
		return Caller{}, &Problem{Type: "about:blank", Title: "temporarily unavailable", Status: http.StatusServiceUnavailable,
			Detail: "the revocation list cannot be read; retry shortly"}
	}
	if err != nil {
		return Caller{}, unauthorized(w, "invalid_token", "the access token is invalid, expired or revoked")
	}
	if !c.Audience.Contains(h.audience()) {
		return Caller{}, unauthorized(w, "invalid_token", "the access token is not meant for this API: request it with resource="+h.audience())
	}
	if c.GrantType != grantClientCredentials {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="`+Scope+`"`)
		return Caller{}, forbidden(MissingGrant, "only a token of the client_credentials grant administers; a user's token does not")
	}
	if !slices.Contains(c.Scopes(), Scope) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="`+Scope+`"`)
		return Caller{}, forbidden(MissingScope, "the access token lacks the scope "+Scope+" (allow it in the client's scopes and request it)")
	}
	// The token outlives nothing of its client: a client deleted, disabled or no longer
	// allowed the scope (a reload, the API) stops administering at its next request, not
	// when its tokens expire.
	if h.deps.Clients != nil {
		cl, err := h.deps.Clients.Client(r.Context(), c.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			return Caller{}, unauthorized(w, "invalid_token", "the access token's client no longer exists or is disabled")
		} else if err != nil {
			return Caller{}, fmt.Errorf("admin token's client: %w", err)
		}
		if !slices.Contains(cl.Scopes, Scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin", error="insufficient_scope", scope="`+Scope+`"`)
			return Caller{}, forbidden(MissingScope, "the access token's client is no longer allowed the scope "+Scope)
		}
		// A rotated secret may be what leaked: the tokens it got stop with it.
		// iat has whole seconds: a token of the rotation's second is refused too (the safe side).
		if !cl.SecretRotatedAt.IsZero() && c.IssuedAt <= cl.SecretRotatedAt.Unix() {
			return Caller{}, unauthorized(w, "invalid_token", "the access token predates the rotation of its client's secret; get a new one")
		}
	}
	return Caller{Actor: "client:" + c.ClientID, ClientID: c.ClientID}, nil
}

// audience is the URL a bearer token's aud must contain.
func (h *Handler) audience() string { return h.deps.Issuer + Prefix }

func (h *Handler) session(w http.ResponseWriter, r *http.Request, sec string, write bool) (Caller, error) {
	if h.deps.Sessions == nil {
		return Caller{}, unauthorized(w, "", "log in as an administrator")
	}
	s, u, err := h.deps.Sessions.Get(r.Context(), sec)
	if errors.Is(err, sessions.ErrNoSession) {
		return Caller{}, unauthorized(w, "", "the session has ended; log in again")
	} else if err != nil {
		return Caller{}, err
	}
	if u.Disabled {
		return Caller{}, unauthorized(w, "", "the account is disabled")
	}
	if !slices.Contains(u.Groups, h.deps.AdminGroup) {
		return Caller{}, forbidden(MissingGroup, "only members of the group "+h.deps.AdminGroup+" administer")
	}
	if write {
		if h.deps.CSRF == nil || !h.deps.CSRF.Check(r, r.Header.Get(CSRFHeader)) {
			return Caller{}, forbidden(MissingCSRF, "a change through a session needs the page's CSRF token in the "+CSRFHeader+" header")
		}
		age := h.deps.Now().Sub(s.AuthTime)
		if login.ACR(s.AMR) != login.ACRMultiFactor || age > h.deps.AdminMaxAge || age < -time.Minute {
			return Caller{}, forbidden(MissingFreshMFA, "a change needs a multi-factor login (a passkey, or a password and a second factor) from the last "+
				h.deps.AdminMaxAge.String()+"; log in again")
		}
	}
	return Caller{Actor: u.ID, UserID: u.ID}, nil
}

// Me is the authenticated caller, for the console: who it is and, for a session caller,
// the CSRF token its writes send in X-CSRF-Token (a same-origin read: the API answers no
// CORS request, so another site cannot read it).
type Me struct {
	Actor     string `json:"actor"`
	UserID    string `json:"user_id,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	CSRFToken string `json:"csrf_token,omitempty"`
}

func (h *Handler) mountMe() {
	h.handle(Route{Method: "GET", Path: "/me", Summary: "The authenticated caller (and a session caller's CSRF token)",
		Response: Me{}}, func(w http.ResponseWriter, r *http.Request) error {
		c := CallerOf(r)
		me := Me{Actor: c.Actor, UserID: c.UserID, ClientID: c.ClientID}
		if c.UserID != "" && h.deps.CSRF != nil {
			me.CSRFToken = h.deps.CSRF.Token(w, r)
		}
		writeJSON(w, http.StatusOK, me)
		return nil
	})
}
