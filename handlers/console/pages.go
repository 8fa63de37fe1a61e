package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
)

// Nav is the console's navigation: Section is the current one (dashboard, users, clients,
// groups, audit), for aria-current.
type Nav struct{ Section string }

// DashboardData is the dashboard: counts (More: there are more than the count) and the
// latest audit events of the last day, newest first.
type DashboardData struct {
	Nav
	Users, Clients, Groups, Events, Failed int
	UsersMore, EventsMore                  bool
	Recent                                 []EventRow
}

// EventRow is an audit event with its login method's human name (MethodName).
type EventRow struct {
	audit.Event
	MethodName string
}

// eventRows names the events' methods in lang.
func eventRows(lang string, events []audit.Event) []EventRow {
	out := make([]EventRow, len(events))
	for i, e := range events {
		out[i] = EventRow{Event: e}
		if e.Method != "" {
			out[i].MethodName = methodName(lang, e.Method)
		}
	}
	return out
}

// dashboardCap bounds what the dashboard counts (one API page each).
const dashboardCap = 1000

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	d := DashboardData{Nav: Nav{"dashboard"}}
	var (
		users   adminv1.Page[adminv1.UserSummary]
		clients adminv1.Page[adminv1.ClientView]
		groups  adminv1.Page[adminv1.GroupView]
		events  adminv1.Page[audit.Event]
	)
	since := url.QueryEscape(time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339))
	if !h.read(w, r, "/users?limit=1000", &users) || !h.read(w, r, "/clients?limit=1000", &clients) ||
		!h.read(w, r, "/groups?limit=1000", &groups) || !h.read(w, r, "/audit?limit=1000&since="+since, &events) {
		return
	}
	d.Users, d.UsersMore = len(users.Items), users.Next != ""
	d.Clients, d.Groups = len(clients.Items), len(groups.Items)
	d.Events, d.EventsMore = len(events.Items), events.Next != ""
	for _, e := range events.Items {
		if e.Type == audit.LoginFailed {
			d.Failed++
		}
	}
	recent := events.Items
	if events.Next != "" {
		// More than a page today: the page holds the day's first events; the latest come
		// from the last few minutes (the trail lists oldest first).
		var last adminv1.Page[audit.Event]
		since := url.QueryEscape(time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339))
		if !h.read(w, r, "/audit?limit=1000&since="+since, &last) {
			return
		}
		recent = last.Items
	}
	var latest []audit.Event
	for i := len(recent) - 1; i >= 0 && len(latest) < 10; i-- {
		latest = append(latest, recent[i])
	}
	d.Recent = eventRows(h.Lang(r), latest)
	h.Page(w, r, http.StatusOK, "admin_dashboard", "Console", "", d)
}

// UsersData is the user list with its filters, and what a create or invitation answered
// (Created, Invitation: shown once).
type UsersData struct {
	Nav
	Filter     url.Values
	Users      []adminv1.UserSummary
	Next       template.URL
	Invitation *adminv1.Invitation
	// Created is a user just created with a recovery code: its link and code are shown on
	// this answer only.
	Created *CreatedUser
}

// CreatedUser is a user just created and the recovery code issued with it.
type CreatedUser struct {
	ID, Email string
	Recovery  adminv1.AccountRecovery
}

// userFilters are the list's filters the page passes on to the API.
var userFilters = []string{"email", "name", "group", "role", "external_user_id", "disabled"}

func (h *Handler) users(w http.ResponseWriter, r *http.Request) {
	h.renderUsers(w, r, http.StatusOK, "", nil, nil)
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, status int, errMsg string, inv *adminv1.Invitation, created *CreatedUser) {
	in := r.URL.Query()
	f, q := url.Values{}, url.Values{}
	for _, k := range userFilters {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			f.Set(k, v)
			q.Set(k, v)
		}
	}
	if a := in.Get("after"); a != "" {
		q.Set("after", a)
	}
	q.Set("limit", "50")
	var page adminv1.Page[adminv1.UserSummary]
	a, err := h.call(r, "GET", "/users?"+q.Encode(), "", nil)
	if err == nil && a.ok() {
		err = a.decode(&page)
	} else if err == nil {
		p := a.problem()
		if p.Status != http.StatusBadRequest {
			h.refused(w, r, p, r.URL.RequestURI())
			return
		}
		errMsg, status = h.problemText(r, p), http.StatusBadRequest
	}
	if err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	d := UsersData{Nav: Nav{"users"}, Filter: f, Users: page.Items, Invitation: inv, Created: created}
	if page.Next != "" {
		f2 := url.Values{}
		for k, v := range f {
			f2[k] = v
		}
		f2.Set("after", page.Next)
		d.Next = template.URL(f2.Encode()) // a query url.Values encoded
	}
	h.Page(w, r, status, "admin_users", "Users", errMsg, d)
}

// POST /admin/users: create a user (with or without a password) and open its page.
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	req := adminv1.CreateUserRequest{Email: strings.TrimSpace(f.Get("email")), Password: f.Get("password"),
		FirstName: strings.TrimSpace(f.Get("fname")), LastName: strings.TrimSpace(f.Get("lname")), Groups: list(f.Get("groups"))}
	verified := f.Get("email_verified") != ""
	req.EmailVerified = &verified
	req.Recovery = f.Get("recovery")
	a, errMsg, ok := h.write(w, r, f, h.Base+Path+"/users", "POST", "/users", req)
	if !ok {
		if errMsg != "" {
			h.renderUsers(w, r, http.StatusBadRequest, errMsg, nil, nil)
		}
		return
	}
	var u adminv1.UserDetail
	if err := a.decode(&u); err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	if u.Recovery != nil {
		// The code is in this answer only (never again from the API): shown here, not
		// behind a redirect, and not cached.
		w.Header().Set("Cache-Control", "no-store")
		h.renderUsers(w, r, http.StatusCreated, "", nil, &CreatedUser{ID: u.ID, Email: u.Email, Recovery: *u.Recovery})
		return
	}
	http.Redirect(w, r, h.Base+Path+"/users/"+url.PathEscape(u.ID), http.StatusSeeOther)
}

// POST /admin/invitations: an invitation to sign up; its URL is shown once, on this answer.
func (h *Handler) invite(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	req := adminv1.InvitationRequest{Email: strings.TrimSpace(f.Get("email")), Groups: list(f.Get("groups"))}
	a, errMsg, ok := h.write(w, r, f, h.Base+Path+"/users", "POST", "/invitations", req)
	if !ok {
		if errMsg != "" {
			h.renderUsers(w, r, http.StatusBadRequest, errMsg, nil, nil)
		}
		return
	}
	var inv adminv1.Invitation
	if err := a.decode(&inv); err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderUsers(w, r, http.StatusOK, "", &inv, nil)
}

// UserData is one user's page: everything the API shows, and the ETag its edits send as
// If-Match.
type UserData struct {
	Nav
	User       adminv1.UserDetail
	ETag       string
	CustomData string
	Done       string
}

func (h *Handler) user(w http.ResponseWriter, r *http.Request) {
	h.renderUser(w, r, http.StatusOK, r.PathValue("id"), "")
}

func (h *Handler) renderUser(w http.ResponseWriter, r *http.Request, status int, id, errMsg string) {
	a, err := h.call(r, "GET", "/users/"+url.PathEscape(id), "", nil)
	if err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	if !a.ok() {
		h.refused(w, r, a.problem(), h.Base+Path+"/users/"+url.PathEscape(id))
		return
	}
	d := UserData{Nav: Nav{"users"}, ETag: a.header.Get("ETag"), Done: r.URL.Query().Get("done")}
	if err := a.decode(&d.User); err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	if len(d.User.CustomData) > 0 {
		var v any
		if json.Unmarshal(d.User.CustomData, &v) == nil {
			if b, err := json.MarshalIndent(v, "", "  "); err == nil {
				d.CustomData = string(b)
			}
		}
	}
	h.Page(w, r, status, "admin_user", "User", errMsg, d)
}

// userActions are the forms of a user's page, done markers of the page after them.
var userActions = []string{"edit", "custom_data", "disable", "enable", "sessions", "passkey", "identity", "delete"}

// POST /admin/users/{id}/{action}: one change of the user's page, as one API call.
func (h *Handler) userAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !slices.Contains(userActions, action) {
		http.NotFound(w, r)
		return
	}
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	base := "/users/" + url.PathEscape(id)
	back := h.Base + Path + base
	var (
		method, path = "POST", base + "/" + action
		body         any
		extra        []string
	)
	switch action {
	case "edit":
		fname, lname := strings.TrimSpace(f.Get("fname")), strings.TrimSpace(f.Get("lname"))
		groups, roles := list(f.Get("groups")), list(f.Get("roles"))
		patch := adminv1.UserPatch{Groups: &groups}
		patch.FirstName, patch.LastName, patch.Roles = &fname, &lname, &roles
		method, path, body, extra = "PATCH", base, patch, []string{"If-Match", f.Get("etag")}
	case "custom_data":
		data := strings.TrimSpace(f.Get("custom_data"))
		if data == "" {
			data = "{}"
		}
		if !json.Valid([]byte(data)) {
			h.renderUser(w, r, http.StatusBadRequest, id, h.T(r, "Custom data must be a JSON object, such as {\"floor\": 3}."))
			return
		}
		method, body, extra = "PUT", json.RawMessage(data), []string{"If-Match", f.Get("etag")}
	case "sessions":
		method = "DELETE"
	case "passkey":
		method, path = "DELETE", base+"/passkeys/"+url.PathEscape(f.Get("passkey"))
	case "identity":
		method, path = "DELETE", base+"/identities/"+url.PathEscape(f.Get("provider"))+"/"+url.PathEscape(f.Get("subject"))
	case "delete":
		if f.Get("confirm") == "" || (f.Get("confirm") != f.Get("email") && f.Get("confirm") != id) {
			h.renderUser(w, r, http.StatusBadRequest, id, h.T(r, "Type the user's email address to confirm the deletion."))
			return
		}
		method, path, extra = "DELETE", base, []string{"If-Match", f.Get("etag")}
	}
	_, errMsg, ok := h.write(w, r, f, back, method, path, body, extra...)
	if !ok {
		if errMsg != "" {
			h.renderUser(w, r, http.StatusBadRequest, id, errMsg)
		}
		return
	}
	if action == "delete" {
		http.Redirect(w, r, h.Base+Path+"/users?deleted=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?done="+action, http.StatusSeeOther)
}

// ClientsData is the client list, and a created client with its secret (shown once).
type ClientsData struct {
	Nav
	Clients []adminv1.ClientView
	Next    string
	Created *adminv1.ClientView
}

func (h *Handler) clients(w http.ResponseWriter, r *http.Request) {
	h.renderClients(w, r, http.StatusOK, "", nil)
}

func (h *Handler) renderClients(w http.ResponseWriter, r *http.Request, status int, errMsg string, created *adminv1.ClientView) {
	q := url.Values{"limit": {"100"}}
	if a := r.URL.Query().Get("after"); a != "" {
		q.Set("after", a)
	}
	var page adminv1.Page[adminv1.ClientView]
	if !h.read(w, r, "/clients?"+q.Encode(), &page) {
		return
	}
	if created != nil {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.Page(w, r, status, "admin_clients", "Clients", errMsg, ClientsData{Nav: Nav{"clients"}, Clients: page.Items, Next: page.Next, Created: created})
}

// clientRequest reads the client form.
func clientRequest(f url.Values) adminv1.ClientRequest {
	return adminv1.ClientRequest{Name: strings.TrimSpace(f.Get("name")), RedirectURIs: list(f.Get("redirect_uris")),
		PostLogoutRedirectURIs: list(f.Get("post_logout_redirect_uris")), Scopes: list(f.Get("scopes")),
		GrantTypes: list(f.Get("grant_types")), AllowedOrigins: list(f.Get("allowed_origins")),
		Public: f.Get("public") != "", ConsentRequired: f.Get("consent_required") != "", Admin: f.Get("admin") != ""}
}

// POST /admin/clients: register a client; the answer shows its secret, once.
func (h *Handler) createClient(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	a, errMsg, ok := h.write(w, r, f, h.Base+Path+"/clients", "POST", "/clients", clientRequest(f))
	if !ok {
		if errMsg != "" {
			h.renderClients(w, r, http.StatusBadRequest, errMsg, nil)
		}
		return
	}
	var c adminv1.ClientView
	if err := a.decode(&c); err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	h.renderClients(w, r, http.StatusCreated, "", &c)
}

// ClientData is one client's page; Secret is a rotated secret, shown once.
type ClientData struct {
	Nav
	Client adminv1.ClientView
	ETag   string
	Secret string
	Done   string
}

func (h *Handler) client(w http.ResponseWriter, r *http.Request) {
	h.renderClient(w, r, http.StatusOK, r.PathValue("id"), "", "")
}

func (h *Handler) renderClient(w http.ResponseWriter, r *http.Request, status int, id, errMsg, secret string) {
	a, err := h.call(r, "GET", "/clients/"+url.PathEscape(id), "", nil)
	if err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	if !a.ok() {
		h.refused(w, r, a.problem(), h.Base+Path+"/clients/"+url.PathEscape(id))
		return
	}
	d := ClientData{Nav: Nav{"clients"}, ETag: a.header.Get("ETag"), Secret: secret, Done: r.URL.Query().Get("done")}
	if err := a.decode(&d.Client); err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	if secret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.Page(w, r, status, "admin_client", "Client", errMsg, d)
}

var clientActions = []string{"edit", "disable", "enable", "secret", "delete"}

// POST /admin/clients/{id}/{action}: one change of a stored client, as one API call.
func (h *Handler) clientAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !slices.Contains(clientActions, action) {
		http.NotFound(w, r)
		return
	}
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	base := "/clients/" + url.PathEscape(id)
	back := h.Base + Path + base
	var (
		method, path = "POST", base + "/" + action
		body         any
		extra        []string
	)
	switch action {
	case "edit":
		req := clientRequest(f)
		method, path, body, extra = "PUT", base, req, []string{"If-Match", f.Get("etag")}
	case "delete":
		method, path, extra = "DELETE", base, []string{"If-Match", f.Get("etag")}
	}
	a, errMsg, ok := h.write(w, r, f, back, method, path, body, extra...)
	if !ok {
		if errMsg != "" {
			h.renderClient(w, r, http.StatusBadRequest, id, errMsg, "")
		}
		return
	}
	switch action {
	case "delete":
		http.Redirect(w, r, h.Base+Path+"/clients", http.StatusSeeOther)
	case "secret":
		var c adminv1.ClientView
		if err := a.decode(&c); err != nil {
			h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
			return
		}
		h.renderClient(w, r, http.StatusOK, id, "", c.Secret)
	default:
		http.Redirect(w, r, back+"?done="+action, http.StatusSeeOther)
	}
}

// GroupsData is the list of groups with data.
type GroupsData struct {
	Nav
	Groups []GroupRow
	Next   string
}

// GroupRow is a group with its custom_data, indented.
type GroupRow struct {
	adminv1.GroupView
	Data string
}

func (h *Handler) groups(w http.ResponseWriter, r *http.Request) {
	h.renderGroups(w, r, http.StatusOK, "")
}

func (h *Handler) renderGroups(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	q := url.Values{"limit": {"100"}}
	if a := r.URL.Query().Get("after"); a != "" {
		q.Set("after", a)
	}
	var page adminv1.Page[adminv1.GroupView]
	if !h.read(w, r, "/groups?"+q.Encode(), &page) {
		return
	}
	d := GroupsData{Nav: Nav{"groups"}, Next: page.Next}
	for _, g := range page.Items {
		d.Groups = append(d.Groups, GroupRow{GroupView: g, Data: string(g.CustomData)})
	}
	h.Page(w, r, status, "admin_groups", "Groups", errMsg, d)
}

// POST /admin/groups/{name}/{save,delete}: set or remove a group's custom_data.
func (h *Handler) groupAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if action != "save" && action != "delete" {
		http.NotFound(w, r)
		return
	}
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	if name == "_" { // the "new group" form names the group in a field
		name = strings.TrimSpace(f.Get("name"))
	}
	method, body := "DELETE", any(nil)
	if action == "save" {
		data := strings.TrimSpace(f.Get("custom_data"))
		if data == "" {
			data = "{}"
		}
		if !json.Valid([]byte(data)) {
			// Sent on as it is, the API would refuse the whole body; name the field instead.
			h.renderGroups(w, r, http.StatusBadRequest, h.T(r, "Custom data must be a JSON object, such as {\"floor\": 3}."))
			return
		}
		method, body = "PUT", adminv1.GroupRequest{CustomData: json.RawMessage(data)}
	}
	// The ETag of the page the form came from: a change over someone else's newer one is
	// refused (412); the "new group" form has none, so it only creates.
	var extra []string
	if etag := f.Get("etag"); etag != "" {
		extra = []string{"If-Match", etag}
	}
	_, errMsg, ok := h.write(w, r, f, h.Base+Path+"/groups", method, "/groups/"+url.PathEscape(name), body, extra...)
	if !ok {
		if errMsg != "" {
			h.renderGroups(w, r, http.StatusBadRequest, errMsg)
		}
		return
	}
	http.Redirect(w, r, h.Base+Path+"/groups", http.StatusSeeOther)
}

// AuditData is the audit browser: the filters, one page of events and the export link's
// query.
type AuditData struct {
	Nav
	Filter url.Values
	Events []EventRow
	Next   template.URL
	Export template.URL
}

// auditFilters are the audit browser's filters (audit.ParseQuery); since and until come
// from datetime-local fields, read as UTC.
var auditFilters = []string{"user", "actor", "type", "since", "until"}

func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request) {
	in := r.URL.Query()
	f, q := url.Values{}, url.Values{}
	for _, k := range auditFilters {
		v := strings.TrimSpace(in.Get(k))
		if v == "" {
			continue
		}
		f.Set(k, v)
		if k == "since" || k == "until" {
			if t, err := time.Parse("2006-01-02T15:04", v); err == nil {
				v = t.UTC().Format(time.RFC3339)
			}
		}
		q.Set(k, v)
	}
	export := q.Encode()
	if a := in.Get("after"); a != "" {
		q.Set("after", a)
	}
	q.Set("limit", "100")
	var page adminv1.Page[audit.Event]
	status, errMsg := http.StatusOK, ""
	a, err := h.call(r, "GET", "/audit?"+q.Encode(), "", nil)
	if err == nil && a.ok() {
		err = a.decode(&page)
	} else if err == nil {
		p := a.problem()
		if p.Status != http.StatusBadRequest {
			h.refused(w, r, p, r.URL.RequestURI())
			return
		}
		status, errMsg = http.StatusBadRequest, h.problemText(r, p)
	}
	if err != nil {
		h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
		return
	}
	d := AuditData{Nav: Nav{"audit"}, Filter: f, Events: eventRows(h.Lang(r), page.Items), Export: template.URL(export)}
	if page.Next != "" {
		f2 := url.Values{}
		for k, v := range f {
			f2[k] = v
		}
		f2.Set("after", page.Next)
		d.Next = template.URL(f2.Encode()) // a query url.Values encoded
	}
	h.Page(w, r, status, "admin_audit", "Audit log", errMsg, d)
}
