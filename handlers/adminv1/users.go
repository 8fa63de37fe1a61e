package adminv1

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login/recovery"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Users are the user accounts (*account.Accounts, the same core as the localhost API of
// handlers/admin).
type Users interface {
	List(ctx context.Context, after string, limit int) ([]store.User, error)
	// Find pages through the users matching the filter, from the store's indexes.
	Find(ctx context.Context, f store.UserFilter, after string, limit int) ([]store.User, error)
	Create(ctx context.Context, in account.NewUser) (store.User, error)
	Get(ctx context.Context, idOrEmail string) (store.User, error)
	PatchIf(ctx context.Context, userID string, pp account.ProfilePatch, groups *[]string, pre func(store.User) error) (store.User, error)
	SetDisabled(ctx context.Context, userID string, disabled bool) (store.User, error)
	Delete(ctx context.Context, userID string) error
}

// Passkeys are the users' passkeys (*passkey.Method).
type Passkeys interface {
	List(ctx context.Context, userID string) ([]store.Passkey, error)
	Remove(ctx context.Context, userID, id string) error
}

// Identities are the linked upstream identities (*social.Method).
type Identities interface {
	Identities(ctx context.Context, userID string) ([]store.Identity, error)
	Remove(ctx context.Context, userID, provider, subject string) error
}

// UserSessions are the portal sessions of users (*sessions.Manager).
type UserSessions interface {
	List(ctx context.Context, userID string) ([]store.Session, error)
	// RevokeUser ends every session of the user and revokes its tokens.
	RevokeUser(ctx context.Context, userID string) error
}

// Invites creates invitations (*account.Signup).
type Invites interface {
	CreateInvite(ctx context.Context, email string, groups []string) (account.Invite, error)
}

// UserSummary is a user in a listing.
type UserSummary struct {
	ID             string    `json:"id"`
	Email          string    `json:"email,omitempty"`
	EmailVerified  bool      `json:"email_verified"`
	FirstName      string    `json:"fname,omitempty"`
	LastName       string    `json:"lname,omitempty"`
	Username       string    `json:"username,omitempty"`
	Groups         []string  `json:"groups"`
	Roles          []string  `json:"roles,omitempty"`
	ExternalUserID string    `json:"external_user_id,omitempty"`
	Disabled       bool      `json:"disabled"`
	CreatedAt      time.Time `json:"created_at"`
	LastLoginAt    time.Time `json:"last_login_at,omitzero"`
}

// UserDetail is everything the seed's user object holds: the profile, identifiers and
// their verified flags, groups, roles, custom data, passkeys, linked identities, live
// sessions, the last login and the creation time. It holds no secret.
type UserDetail struct {
	ID                    string                     `json:"id"`
	Email                 string                     `json:"email,omitempty"`
	EmailVerified         bool                       `json:"email_verified"`
	FirstName             string                     `json:"fname,omitempty"`
	MiddleName            string                     `json:"mname,omitempty"`
	LastName              string                     `json:"lname,omitempty"`
	Username              string                     `json:"username,omitempty"`
	PhoneNumber           string                     `json:"phone_number,omitempty"`
	PhoneNumberVerified   bool                       `json:"phone_number_verified"`
	SecondaryEmails       []store.SecondaryEmail     `json:"secondary_emails,omitempty"`
	SecondaryPhoneNumbers []store.SecondaryPhone     `json:"secondary_phone_numbers,omitempty"`
	Birthday              string                     `json:"birthday,omitempty"`
	Address               *store.Address             `json:"address,omitempty"`
	Picture               string                     `json:"picture,omitempty"`
	Language              string                     `json:"language,omitempty"`
	Organization          string                     `json:"organization,omitempty"`
	Groups                []string                   `json:"groups"`
	Roles                 []string                   `json:"roles,omitempty"`
	RoleValues            []string                   `json:"role_values,omitempty"`
	Permissions           []string                   `json:"permissions,omitempty"`
	ExternalUserID        string                     `json:"external_user_id,omitempty"`
	ExternalAccountID     string                     `json:"external_account_id,omitempty"`
	CustomData            json.RawMessage            `json:"custom_data,omitempty"`
	CustomAppData         map[string]json.RawMessage `json:"custom_app_data,omitempty"`
	Disabled              bool                       `json:"disabled"`
	CreatedAt             time.Time                  `json:"created_at"`
	UpdatedAt             time.Time                  `json:"updated_at"`
	LastLoginAt           time.Time                  `json:"last_login_at,omitzero"`
	Passkeys              []PasskeyView              `json:"passkeys"`
	Identities            []IdentityView             `json:"identities"`
	Sessions              []SessionView              `json:"sessions"`
	// Recovery is the account-recovery code of a creation with "recovery": only in that
	// answer, never again (only its hash is stored).
	Recovery *AccountRecovery `json:"recovery,omitempty"`
}

// Ways of CreateUserRequest.Recovery.
const (
	RecoveryNone  = ""
	RecoveryCode  = "code"
	RecoveryEmail = "email"
)

// AccountRecovery is a one-time account-recovery code issued at a user's creation: the
// person opens URL and enters Code (or receives both by email: Sent), then sets a password
// or adds a passkey. It works once, until ExpiresAt, and stops when a newer recovery code
// of the account is asked for.
type AccountRecovery struct {
	URL       string    `json:"url,omitempty"`
	Code      string    `json:"code,omitempty"`
	Sent      bool      `json:"sent,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Recovery issues account-recovery codes (*recovery.Method).
type Recovery interface {
	Issue(ctx context.Context, u store.User) (recovery.Issued, error)
	CanEmail() bool
	SendIssued(u store.User, is recovery.Issued, link string) error
}

// PasskeyView is a passkey without its public key.
type PasskeyView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	UseCount   int       `json:"use_count"`
}

// IdentityView is a linked upstream identity.
type IdentityView struct {
	Provider   string    `json:"provider"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// SessionView is a live portal session (its ID is the sid of its tokens, never the cookie).
type SessionView struct {
	ID         string    `json:"id"`
	AMR        []string  `json:"amr,omitempty"`
	ACR        string    `json:"acr,omitempty"`
	AuthTime   time.Time `json:"auth_time"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
}

// CreateUserRequest creates a user, with a password or without one (the user then logs in
// by another method, or by account recovery).
type CreateUserRequest struct {
	Email          string   `json:"email"`
	Password       string   `json:"password,omitempty"`
	FirstName      string   `json:"fname,omitempty"`
	MiddleName     string   `json:"mname,omitempty"`
	LastName       string   `json:"lname,omitempty"`
	Groups         []string `json:"groups,omitempty"`
	ExternalUserID string   `json:"external_user_id,omitempty"`
	// EmailVerified defaults to true: the administrator vouches for the address.
	EmailVerified *bool `json:"email_verified,omitempty"`
	// Recovery gives the new user a one-time account-recovery code (72 hours) with which
	// to set a password or add a passkey: "code" answers it (recovery.url and
	// recovery.code, this once), "email" sends both to the user's address instead (400
	// when the server cannot send email); "" (the default) gives none.
	Recovery string `json:"recovery,omitempty"`
}

// UserPatch changes the fields present (account.ProfilePatch, plus the groups).
type UserPatch struct {
	account.ProfilePatch
	Groups *[]string `json:"groups"`
}

// InvitationRequest invites someone to sign up (with the groups the account will get).
type InvitationRequest struct {
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// Invitation is a sign-up invitation: give the URL to the person (it is shown once).
type Invitation struct {
	Code      string    `json:"code"`
	URL       string    `json:"url"`
	Email     string    `json:"email,omitempty"`
	Groups    []string  `json:"groups,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// userFilters are the listing's filters.
var userFilters = []Param{
	{Name: "email", Description: "exact email address"},
	{Name: "name", Description: "part of the first, middle or last name or the username (case-insensitive)"},
	{Name: "group", Description: "member of this group"},
	{Name: "role", Description: "has this role"},
	{Name: "external_user_id", Description: "exact external user ID"},
	{Name: "disabled", Description: "true or false"},
}

func (h *Handler) mountUsers() {
	h.handle(Route{Method: "GET", Path: "/users", Summary: "List and search users (filters combine)",
		Query: append(slices.Clone(userFilters), pageParams...), Response: Page[UserSummary]{}}, h.listUsers)
	h.handle(Route{Method: "POST", Path: "/users", Summary: "Create a user (with or without a password)", Write: true,
		Request: CreateUserRequest{}, Response: UserDetail{}, Status: http.StatusCreated}, h.createUser)
	h.handle(Route{Method: "GET", Path: "/users/{id}", Summary: "Everything about a user (id or email)", ETag: true,
		Response: UserDetail{}}, h.getUser)
	h.handle(Route{Method: "PATCH", Path: "/users/{id}", Summary: "Change a user's profile and groups (If-Match)", Write: true,
		ETag: true, Request: UserPatch{}, Response: UserDetail{}}, h.patchUser)
	h.handle(Route{Method: "DELETE", Path: "/users/{id}", Summary: "Delete a user and everything of it (If-Match)", Write: true,
		ETag: true, Status: http.StatusNoContent}, h.deleteUser)
	h.handle(Route{Method: "PUT", Path: "/users/{id}/custom_data", Summary: "Replace a user's custom_data (a JSON object of at most 100 KB; If-Match)",
		Write: true, ETag: true, Request: json.RawMessage(nil), Response: UserDetail{}}, h.putCustomData)
	h.handle(Route{Method: "POST", Path: "/users/{id}/disable", Summary: "Disable a user (ends its sessions and tokens)", Write: true,
		Response: UserDetail{}}, h.setDisabled(true))
	h.handle(Route{Method: "POST", Path: "/users/{id}/enable", Summary: "Enable a user", Write: true,
		Response: UserDetail{}}, h.setDisabled(false))
	h.handle(Route{Method: "DELETE", Path: "/users/{id}/sessions", Summary: "End every session of a user and revoke its tokens", Write: true,
		Status: http.StatusNoContent}, h.revokeSessions)
	h.handle(Route{Method: "DELETE", Path: "/users/{id}/passkeys/{passkey}", Summary: "Remove one passkey of a user", Write: true,
		Status: http.StatusNoContent}, h.removePasskey)
	h.handle(Route{Method: "DELETE", Path: "/users/{id}/identities/{provider}/{subject}", Summary: "Unlink one upstream identity of a user",
		Write: true, Status: http.StatusNoContent}, h.removeIdentity)
	h.handle(Route{Method: "POST", Path: "/invitations", Summary: "Invite someone to sign up (the URL is shown once)", Write: true,
		Request: InvitationRequest{}, Response: Invitation{}, Status: http.StatusCreated}, h.invite)
}

func summaryOf(u store.User) UserSummary {
	return UserSummary{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, FirstName: u.FirstName, LastName: u.LastName,
		Username: u.Username, Groups: nonNil(u.Groups), Roles: u.Roles, ExternalUserID: u.ExternalUserID, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt, LastLoginAt: u.LastAuthAt}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// parseUserFilter reads the listing's filters (userFilters).
func parseUserFilter(r *http.Request) (store.UserFilter, error) {
	q := r.URL.Query()
	f := store.UserFilter{Name: strings.TrimSpace(q.Get("name")), Group: q.Get("group"), Role: q.Get("role"),
		ExternalUserID: q.Get("external_user_id")}
	if e := q.Get("email"); e != "" {
		n, err := input.NormalizeEmail(e)
		if err != nil {
			return f, Invalid("email", "must be an email address")
		}
		f.Email = n
	}
	switch q.Get("disabled") {
	case "":
	case "true":
		f.Disabled = new(true)
	case "false":
		f.Disabled = new(false)
	default:
		return f, Invalid("disabled", "must be true or false")
	}
	return f, nil
}

// listUsers pages through the users ordered by ID. Filters combine; the store answers them
// from its indexes (store.Users.FindUsers), so a filtered page costs about what an
// unfiltered one does, and a page shorter than limit is the last.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageQuery(r)
	if err != nil {
		return err
	}
	f, err := parseUserFilter(r)
	if err != nil {
		return err
	}
	var us []store.User
	if f.Empty() {
		us, err = h.deps.Users.List(r.Context(), after, limit)
	} else {
		us, err = h.deps.Users.Find(r.Context(), f, after, limit)
	}
	if err != nil {
		return err
	}
	out := Page[UserSummary]{Items: []UserSummary{}}
	for _, u := range us {
		out.Items = append(out.Items, summaryOf(u))
	}
	if len(us) == limit {
		out.Next = us[len(us)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	var req CreateUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Email) == "" {
		return InvalidAs("email", CodeRequired, "is required")
	}
	switch req.Recovery {
	case RecoveryNone, RecoveryCode:
	case RecoveryEmail:
		if h.deps.Recovery == nil || !h.deps.Recovery.CanEmail() {
			return Invalid("recovery", `this server cannot send email: use "code" and hand the code over yourself`)
		}
	default:
		return Invalid("recovery", `must be "code" (answered once) or "email" (sent to the user), or absent`)
	}
	if req.Recovery != RecoveryNone && h.deps.Recovery == nil {
		return Invalid("recovery", "account recovery is not available on this server")
	}
	verified := req.EmailVerified == nil || *req.EmailVerified
	if req.Recovery == RecoveryCode && !verified {
		// Recovery verifies the address it was sent to; a code handed over proves nothing
		// of an address nobody vouched for.
		return Invalid("recovery", `a code handed over does not prove an unverified address: use "email", or leave email_verified true`)
	}
	u, err := h.deps.Users.Create(r.Context(), account.NewUser{Email: req.Email, Password: req.Password, FirstName: req.FirstName,
		MiddleName: req.MiddleName, LastName: req.LastName, Groups: req.Groups, ExternalUserID: req.ExternalUserID,
		EmailVerified: verified})
	if err != nil {
		return problemOf(err)
	}
	var rec *AccountRecovery
	if req.Recovery != RecoveryNone {
		if rec, err = h.issueRecovery(r, u, req.Recovery); err != nil {
			return err
		}
	}
	// The event says which way, never the code or its link.
	h.record(r, u.ID, "user created", map[string]string{"password": boolWord(req.Password != ""), "recovery": cmp.Or(req.Recovery, "none")})
	w.Header().Set("Location", Prefix+"/users/"+u.ID)
	return h.writeUserWith(w, r, http.StatusCreated, u, rec)
}

// issueRecovery issues u's recovery code, and answers it or sends it (how).
func (h *Handler) issueRecovery(r *http.Request, u store.User, how string) (*AccountRecovery, error) {
	is, err := h.deps.Recovery.Issue(r.Context(), u)
	if err != nil {
		return nil, fmt.Errorf("issue a recovery code: %w", err)
	}
	link := h.deps.Issuer + recovery.CodePath + "?flow=" + url.QueryEscape(is.Flow)
	if how == RecoveryEmail {
		if err := h.deps.Recovery.SendIssued(u, is, link); err != nil {
			return nil, problemOf(err)
		}
		return &AccountRecovery{Sent: true, ExpiresAt: is.ExpiresAt}, nil
	}
	return &AccountRecovery{URL: link, Code: is.Code, ExpiresAt: is.ExpiresAt}, nil
}

func boolWord(b bool) string {
	if b {
		return "set"
	}
	return "none"
}

// user reads the path's user (id or email).
func (h *Handler) user(r *http.Request) (store.User, error) {
	u, err := h.deps.Users.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		var in *input.Error
		if errors.As(err, &in) {
			return u, NotFound("no such user")
		}
		return u, problemOf(err)
	}
	return u, nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

// writeUser answers the user's detail with the ETag of its stored record.
func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, status int, u store.User) error {
	return h.writeUserWith(w, r, status, u, nil)
}

// writeUserWith answers the user's detail, with a recovery code issued at its creation.
func (h *Handler) writeUserWith(w http.ResponseWriter, r *http.Request, status int, u store.User, rec *AccountRecovery) error {
	ctx := r.Context()
	d := UserDetail{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, FirstName: u.FirstName, MiddleName: u.MiddleName,
		LastName: u.LastName, Username: u.Username, PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified,
		SecondaryEmails: u.SecondaryEmails, SecondaryPhoneNumbers: u.SecondaryPhoneNumbers, Birthday: u.Birthday,
		Address: u.Address, Picture: u.Picture, Language: u.Language, Organization: u.Organization, Groups: nonNil(u.Groups),
		Roles: u.Roles, RoleValues: u.RoleValues, Permissions: u.Permissions, ExternalUserID: u.ExternalUserID,
		ExternalAccountID: u.ExternalAccountID, CustomData: u.CustomData, CustomAppData: u.CustomAppData, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastAuthAt,
		Passkeys: []PasskeyView{}, Identities: []IdentityView{}, Sessions: []SessionView{}}
	if h.deps.Passkeys != nil {
		pks, err := h.deps.Passkeys.List(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, p := range pks {
			d.Passkeys = append(d.Passkeys, PasskeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt, UseCount: p.UseCount})
		}
	}
	if h.deps.Identities != nil {
		ids, err := h.deps.Identities.Identities(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, i := range ids {
			d.Identities = append(d.Identities, IdentityView{Provider: i.Provider, Subject: i.Subject, Email: i.Email,
				CreatedAt: i.CreatedAt, LastUsedAt: i.LastUsedAt})
		}
	}
	if h.deps.UserSessions != nil {
		ss, err := h.deps.UserSessions.List(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, s := range ss {
			d.Sessions = append(d.Sessions, SessionView{ID: s.ID, AMR: s.AMR, ACR: s.ACR, AuthTime: s.AuthTime, CreatedAt: s.CreatedAt,
				LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt(), IP: s.IP, UserAgent: s.UserAgent})
		}
	}
	d.Recovery = rec
	writeResource(w, status, etagOf(u), d)
	return nil
}

// precondition returns the If-Match check of a stored user (428 without If-Match).
func precondition(r *http.Request) (func(store.User) error, error) {
	ifm, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return func(u store.User) error {
		if !matches(ifm, etagOf(u)) {
			return PreconditionFailed()
		}
		return nil
	}, nil
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) error {
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var req UserPatch
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := h.user(r)
	if err != nil {
		return err
	}
	u, err = h.deps.Users.PatchIf(r.Context(), u.ID, req.ProfilePatch, req.Groups, pre)
	if err != nil {
		return problemOf(err)
	}
	h.record(r, u.ID, "user changed", nil)
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *Handler) putCustomData(w http.ResponseWriter, r *http.Request) error {
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	var data json.RawMessage
	if err := decode(w, r, &data); err != nil {
		return err
	}
	if len(data) > input.MaxCustomData {
		return &Problem{Type: "about:blank", Title: "request too large", Status: http.StatusRequestEntityTooLarge, Field: "custom_data", Code: CodeTooLarge,
			Detail: "custom_data may be at most 100 KB"}
	}
	u, err := h.user(r)
	if err != nil {
		return err
	}
	u, err = h.deps.Users.PatchIf(r.Context(), u.ID, account.ProfilePatch{CustomData: data}, nil, pre)
	if err != nil {
		return problemOf(err)
	}
	h.record(r, u.ID, "custom_data replaced", nil)
	return h.writeUser(w, r, http.StatusOK, u)
}

// deleteUser removes the user and everything of it (account.Accounts.Delete: sessions,
// tokens, credentials, passkeys, identities, counters), after checking If-Match.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	pre, err := precondition(r)
	if err != nil {
		return err
	}
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if err := pre(u); err != nil {
		return err
	}
	if err := h.deps.Users.Delete(r.Context(), u.ID); err != nil {
		return problemOf(err)
	}
	h.record(r, u.ID, "user deleted", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setDisabled(disabled bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := h.user(r)
		if err != nil {
			return err
		}
		if u, err = h.deps.Users.SetDisabled(r.Context(), u.ID, disabled); err != nil {
			return problemOf(err)
		}
		reason := "user enabled"
		if disabled {
			reason = "user disabled"
		}
		h.record(r, u.ID, reason, nil)
		return h.writeUser(w, r, http.StatusOK, u)
	}
}

func (h *Handler) revokeSessions(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if err := h.deps.UserSessions.RevokeUser(r.Context(), u.ID); err != nil {
		return err
	}
	h.record(r, u.ID, "sessions revoked", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	id := r.PathValue("passkey")
	if err := h.deps.Passkeys.Remove(r.Context(), u.ID, id); errors.Is(err, store.ErrNotFound) {
		return NotFound("the user has no such passkey")
	} else if err != nil {
		return err
	}
	h.record(r, u.ID, "passkey removed", map[string]string{"passkey": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) removeIdentity(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	provider, subject := r.PathValue("provider"), r.PathValue("subject")
	ids, err := h.deps.Identities.Identities(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ids, func(i store.Identity) bool { return i.Provider == provider && i.Subject == subject }) {
		return NotFound("the user has no such linked identity")
	}
	if err := h.deps.Identities.Remove(r.Context(), u.ID, provider, subject); err != nil {
		return err
	}
	h.record(r, u.ID, "identity unlinked", map[string]string{"provider": provider})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request) error {
	var req InvitationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	inv, err := h.deps.Invites.CreateInvite(r.Context(), req.Email, req.Groups)
	if err != nil {
		return problemOf(err)
	}
	h.record(r, "", "invitation created", nil)
	writeJSON(w, http.StatusCreated, Invitation{Code: inv.Code, URL: h.deps.Issuer + "/signup?invite=" + inv.Code,
		Email: inv.Email, Groups: inv.Groups, ExpiresAt: inv.ExpiresAt})
	return nil
}
