package adminv1

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/settings"
)

// Settings are the runtime settings (*settings.Service): login preferences and branding
// (one document), social providers, roles, message previews and test sends.
type Settings interface {
	Get(ctx context.Context) (settings.Document, error)
	Update(ctx context.Context, patch json.RawMessage, expected int64, actor string) (settings.Document, error)
	ListProviders(ctx context.Context) ([]settings.ProviderDoc, error)
	GetProvider(ctx context.Context, name string) (settings.ProviderDoc, error)
	PutProvider(ctx context.Context, name string, raw json.RawMessage, expected int64, actor string) (settings.ProviderDoc, error)
	DeleteProvider(ctx context.Context, name string, expected int64, actor string) error
	ListRoles(ctx context.Context) ([]settings.RoleDoc, error)
	GetRole(ctx context.Context, name string) (settings.RoleDoc, error)
	PutRole(ctx context.Context, name string, raw json.RawMessage, expected int64, actor string) (settings.RoleDoc, error)
	DeleteRole(ctx context.Context, name string, expected int64, actor string) error
	Preview(ctx context.Context, req settings.PreviewRequest) (settings.Rendered, error)
	TestSend(ctx context.Context, req settings.PreviewRequest, to, actor string) error
}

// MessageRequest asks for a message rendered with sample values, with unsaved template
// fields (names as in the branding.templates document) laid over the stored ones; To is
// where a test goes (default: the calling administrator's email address).
type MessageRequest struct {
	Channel   string            `json:"channel"`
	Kind      string            `json:"kind"`
	Language  string            `json:"language,omitempty"`
	Templates map[string]string `json:"templates,omitempty"`
	To        string            `json:"to,omitempty"`
}

func (m MessageRequest) preview() settings.PreviewRequest {
	return settings.PreviewRequest{Channel: m.Channel, Kind: m.Kind, Language: m.Language, Templates: m.Templates}
}

func (h *Handler) mountSettings() {
	h.handle(Route{Method: "GET", Path: "/settings", Summary: "The login preferences and branding in force, which fields the Caddyfile sets (read-only), the version",
		ETag: true, Response: settings.Document{}}, h.needSettings(h.getSettings))
	h.handle(Route{Method: "PATCH", Path: "/settings", Summary: "Change login preferences and branding: the fields given, nested or dotted; null resets one (If-Match)",
		Write: true, ETag: true, Request: json.RawMessage(nil), Response: settings.Document{}}, h.needSettings(h.patchSettings))
	h.handle(Route{Method: "POST", Path: "/settings/preview", Summary: "Render an email or SMS with sample values, with unsaved templates",
		Write: true, Request: MessageRequest{}, Response: settings.Rendered{}}, h.needSettings(h.previewMessage))
	h.handle(Route{Method: "POST", Path: "/settings/test", Summary: "Send a test email or SMS (to: default the calling administrator's address)",
		Write: true, Request: MessageRequest{}, Status: http.StatusNoContent}, h.needSettings(h.testMessage))
	h.handle(Route{Method: "GET", Path: "/providers", Summary: "Social-login providers: the Caddyfile's (names only, read-only) and the stored ones; never a secret",
		Response: Page[settings.ProviderDoc]{}}, h.needSettings(providerDocs.listRoute(h)))
	h.handle(Route{Method: "GET", Path: "/providers/{name}", Summary: "A stored social-login provider (never its secret)", ETag: true,
		Response: settings.ProviderDoc{}}, h.needSettings(providerDocs.getRoute(h)))
	h.handle(Route{Method: "PUT", Path: "/providers/{name}", Summary: "Create (no If-Match) or replace (If-Match) a provider; a blank client_secret keeps the stored one",
		Write: true, ETag: true, Request: json.RawMessage(nil), Response: settings.ProviderDoc{}}, h.needSettings(providerDocs.putRoute(h)))
	h.handle(Route{Method: "DELETE", Path: "/providers/{name}", Summary: "Delete a stored provider (If-Match)", Write: true, ETag: true,
		Status: http.StatusNoContent}, h.needSettings(providerDocs.deleteRoute(h)))
	h.handle(Route{Method: "GET", Path: "/roles", Summary: "Roles and their permissions: the Caddyfile's (read-only) and the stored ones",
		Response: Page[settings.RoleDoc]{}}, h.needSettings(roleDocs.listRoute(h)))
	h.handle(Route{Method: "GET", Path: "/roles/{name}", Summary: "A role", ETag: true, Response: settings.RoleDoc{}}, h.needSettings(roleDocs.getRoute(h)))
	h.handle(Route{Method: "PUT", Path: "/roles/{name}", Summary: "Create (no If-Match) or replace (If-Match) a role: value, description, permissions",
		Write: true, ETag: true, Request: json.RawMessage(nil), Response: settings.RoleDoc{}}, h.needSettings(roleDocs.putRoute(h)))
	h.handle(Route{Method: "DELETE", Path: "/roles/{name}", Summary: "Delete a stored role (If-Match)", Write: true, ETag: true,
		Status: http.StatusNoContent}, h.needSettings(roleDocs.deleteRoute(h)))
}

// needSettings answers 404 when the deployment has no runtime settings.
func (h *Handler) needSettings(fn HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if h.deps.Settings == nil {
			return NotFound("runtime settings are not available on this server")
		}
		return fn(w, r)
	}
}

// settingsProblem maps the settings errors to problems.
func settingsProblem(err error) error {
	var fe *settings.FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return InvalidAs(fe.Field, fe.Code, fe.Message)
	case errors.Is(err, settings.ErrVersionMismatch):
		return PreconditionFailed()
	case errors.Is(err, settings.ErrNotFound):
		return NotFound("no such resource")
	case errors.Is(err, settings.ErrUnavailable):
		return Conflict("channel", CodeNoSender, "no sender is configured for this channel (see the Caddyfile's email and sms options)")
	}
	return problemOf(err)
}

// version reads If-Match as a settings version: required when required, else absent
// means 0 (create).
func version(r *http.Request, required bool) (int64, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		if required {
			return 0, PreconditionRequired()
		}
		return 0, nil
	}
	n, ok := settings.ParseETag(v)
	if !ok {
		return 0, PreconditionFailed()
	}
	return n, nil
}

// rawObject reads a JSON object body as it is (the settings package checks its fields,
// naming them).
func rawObject(w http.ResponseWriter, r *http.Request) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := decode(w, r, &raw); err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, Invalid("", "send a JSON object")
	}
	return raw, nil
}

func (h *Handler) getSettings(w http.ResponseWriter, r *http.Request) error {
	d, err := h.deps.Settings.Get(r.Context())
	if err != nil {
		return settingsProblem(err)
	}
	writeResource(w, http.StatusOK, d.ETag, d)
	return nil
}

func (h *Handler) patchSettings(w http.ResponseWriter, r *http.Request) error {
	v, err := version(r, true)
	if err != nil {
		return err
	}
	raw, err := rawObject(w, r)
	if err != nil {
		return err
	}
	d, err := h.deps.Settings.Update(r.Context(), raw, v, CallerOf(r).Actor)
	if err != nil {
		return settingsProblem(err)
	}
	h.record(r, "", "settings updated", nil)
	writeResource(w, http.StatusOK, d.ETag, d)
	return nil
}

func (h *Handler) previewMessage(w http.ResponseWriter, r *http.Request) error {
	var m MessageRequest
	if err := decode(w, r, &m); err != nil {
		return err
	}
	out, err := h.deps.Settings.Preview(r.Context(), m.preview())
	if err != nil {
		return settingsProblem(err)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) testMessage(w http.ResponseWriter, r *http.Request) error {
	var m MessageRequest
	if err := decode(w, r, &m); err != nil {
		return err
	}
	c := CallerOf(r)
	if m.To == "" && c.UserID != "" {
		u, err := h.deps.Users.Get(r.Context(), c.UserID)
		if err != nil {
			return problemOf(err)
		}
		m.To = u.Email
		if m.Channel == "sms" {
			m.To = u.PhoneNumber
		}
	}
	if m.To == "" {
		return Invalid("to", "say where the test goes (an email address or an E.164 phone number)")
	}
	// An administrator's session sends tests to the administrator only: a template's text
	// is the caller's, so a test to any address would be phishing from this deployment's
	// own sender. Automation (an admin token) names the recipient, which the audit records.
	if c.UserID != "" {
		u, err := h.deps.Users.Get(r.Context(), c.UserID)
		if err != nil {
			return problemOf(err)
		}
		if m.To != u.Email && m.To != u.PhoneNumber {
			return Invalid("to", "a test message goes to your own email address or phone number")
		}
	}
	if err := h.deps.Settings.TestSend(r.Context(), m.preview(), m.To, c.Actor); err != nil {
		return settingsProblem(err)
	}
	h.record(r, "", "test message sent", map[string]string{"channel": m.Channel, "kind": m.Kind, "to": m.To})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// namedDocs is one kind of named settings document (providers, roles) as the settings
// service serves it; its routes (list, get, put, delete) follow one set of rules: the
// document's ETag, create without If-Match (201) and replace with it, delete with it, 404
// for an unknown name, every write an admin.write audit event naming the document.
type namedDocs[T any] struct {
	kind string // "provider", "role": in messages and in the audit event's details
	list func(Settings, context.Context) ([]T, error)
	get  func(Settings, context.Context, string) (T, error)
	put  func(Settings, context.Context, string, json.RawMessage, int64, string) (T, error)
	del  func(Settings, context.Context, string, int64, string) error
	meta func(T) (name, etag string)
}

var (
	providerDocs = namedDocs[settings.ProviderDoc]{kind: "provider", list: Settings.ListProviders, get: Settings.GetProvider,
		put: Settings.PutProvider, del: Settings.DeleteProvider, meta: func(p settings.ProviderDoc) (string, string) { return p.Name, p.ETag }}
	roleDocs = namedDocs[settings.RoleDoc]{kind: "role", list: Settings.ListRoles, get: Settings.GetRole,
		put: Settings.PutRole, del: Settings.DeleteRole, meta: func(r settings.RoleDoc) (string, string) { return r.Name, r.ETag }}
)

func (d namedDocs[T]) listRoute(h *Handler) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		docs, err := d.list(h.deps.Settings, r.Context())
		if err != nil {
			return settingsProblem(err)
		}
		writeJSON(w, http.StatusOK, Page[T]{Items: nonNil(docs)})
		return nil
	}
}

func (d namedDocs[T]) getRoute(h *Handler) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		doc, err := d.get(h.deps.Settings, r.Context(), r.PathValue("name"))
		if errors.Is(err, settings.ErrNotFound) {
			return NotFound("no such " + d.kind)
		} else if err != nil {
			return settingsProblem(err)
		}
		_, etag := d.meta(doc)
		writeResource(w, http.StatusOK, etag, doc)
		return nil
	}
}

func (d namedDocs[T]) putRoute(h *Handler) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := version(r, false)
		if err != nil {
			return err
		}
		raw, err := rawObject(w, r)
		if err != nil {
			return err
		}
		doc, err := d.put(h.deps.Settings, r.Context(), r.PathValue("name"), raw, v, CallerOf(r).Actor)
		if err != nil {
			return settingsProblem(err)
		}
		name, etag := d.meta(doc)
		h.record(r, "", d.kind+" saved", map[string]string{d.kind: name})
		status := http.StatusOK
		if v == 0 {
			status = http.StatusCreated
		}
		writeResource(w, status, etag, doc)
		return nil
	}
}

func (d namedDocs[T]) deleteRoute(h *Handler) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := version(r, true)
		if err != nil {
			return err
		}
		name := r.PathValue("name")
		if err := d.del(h.deps.Settings, r.Context(), name, v, CallerOf(r).Actor); errors.Is(err, settings.ErrNotFound) {
			return NotFound("no such " + d.kind)
		} else if err != nil {
			return settingsProblem(err)
		}
		h.record(r, "", d.kind+" deleted", map[string]string{d.kind: name})
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
