package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Errors of the Service, besides *FieldError.
var (
	// ErrVersionMismatch: the document changed since the version the caller named (HTTP
	// 412). It is store.ErrVersionMismatch.
	ErrVersionMismatch = store.ErrVersionMismatch
	// ErrNotFound: no such provider or role (HTTP 404). It is store.ErrNotFound.
	ErrNotFound = store.ErrNotFound
	// ErrUnavailable: the test message cannot be sent, no sender is configured for the
	// channel (HTTP 409).
	ErrUnavailable = errors.New("no sender is configured for this channel")
	// ErrSecondFactorRequired: a login by a method whose MFA setting is MFARequired, of a
	// user who has no second factor, is refused.
	ErrSecondFactorRequired = errors.New("this way of logging in needs a second factor, and this account has none; log in with a passkey, or ask an administrator")
)

// MethodOfAMR is the login method a first factor's amr value stands for ("" if none).
func MethodOfAMR(amr string) string {
	switch amr {
	case "pwd":
		return MethodPassword
	case "eotp":
		return MethodEmailCode
	case "eml":
		return MethodMagicLink
	case "sms":
		return MethodSMSCode
	case "social":
		return MethodSocial
	}
	return ""
}

// SecondFactorRequired tells whether a login with amr must have a second factor: one of
// its methods is MFARequired.
func (e Effective) SecondFactorRequired(amr []string) bool {
	for _, a := range amr {
		if m := MethodOfAMR(a); m != "" && e.MFAFor(m) == MFARequired {
			return true
		}
	}
	return false
}

// Deliverer sends rendered messages (the app's message queue, *notify.Queue).
type Deliverer interface {
	Email(notify.Email) error
	SMS(notify.SMS) error
}

// Service changes the runtime settings: the Go API of the Administration API. Create it
// with NewService; the optional fields may be set before first use.
type Service struct {
	store  store.Settings
	view   *View
	sealer *Sealer
	audit  audit.Recorder

	// Deliver sends test messages (nil: TestSend answers ErrUnavailable).
	Deliver Deliverer
	// Issuer is the issuer URL, for the sample links of previews.
	Issuer string
	// CheckProvider, if set, is the Caddyfile's own check of a provider, run after
	// this package's (module: building the upstream client); its error names no field
	// and is reported on the provider.
	CheckProvider func(Provider) error
	// Now is the clock (default time.Now).
	Now func() time.Time

	baseOnce      sync.Once
	baseTemplates *notify.Templates
	baseErr       error
}

// NewService returns the Service writing st and refreshing view after each write. sealer
// seals provider secrets (required to store providers); rec records an audit.AdminWrite
// event per write (nil: audit.Discard).
func NewService(st store.Settings, view *View, sealer *Sealer, rec audit.Recorder) *Service {
	if rec == nil {
		rec = audit.Discard
	}
	return &Service{store: st, view: view, sealer: sealer, audit: rec}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ETag is the entity tag of a version ("\"3\"").
func ETag(version int64) string { return strconv.Quote(strconv.FormatInt(version, 10)) }

// ParseETag reads an If-Match value made by ETag (weak tags accepted); ok false if it is
// not one.
func ParseETag(tag string) (version int64, ok bool) {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	u, err := strconv.Unquote(tag)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(u, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// Document is the effective general settings as the console shows them.
type Document struct {
	// Settings is the effective document: {"login": {...}, "branding": {...}}.
	Settings map[string]any `json:"settings"`
	// FromCaddyfile lists the field paths the Caddyfile sets: shown read-only, "set in the
	// Caddyfile".
	FromCaddyfile []string `json:"from_caddyfile"`
	// Version is the stored document's version (0: nothing stored yet), ETag the same as
	// an entity tag; an Update names it.
	Version   int64     `json:"version"`
	ETag      string    `json:"etag"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// document renders e as the nested document of the API.
func document(e Effective) map[string]any {
	mfa := map[string]string{}
	for _, m := range Methods {
		mfa[m] = e.MFAFor(m)
	}
	tmpl := map[string]string{}
	maps.Copy(tmpl, e.Templates)
	return map[string]any{
		"login": map[string]any{"methods": slices.Clone(e.LoginMethods), "signup": e.Signup, "mfa": mfa,
			"session_idle": e.SessionIdle.String(), "session_lifetime": e.SessionLifetime.String()},
		"branding": map[string]any{"product_name": e.ProductName, "logo_url": e.LogoURL, "color": e.Color, "templates": tmpl},
	}
}

// Get returns the effective general settings, read from the store (not the View), so
// that the version is the one an Update must name.
func (s *Service) Get(ctx context.Context) (Document, error) {
	rec, stored, err := s.readGeneral(ctx)
	if err != nil {
		return Document{}, err
	}
	e := s.view.lenientMerge(stored)
	return Document{Settings: document(e), FromCaddyfile: nonNil(s.view.base.ReadOnly()), Version: rec.Version,
		ETag: ETag(rec.Version), UpdatedAt: rec.UpdatedAt, UpdatedBy: rec.UpdatedBy}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readGeneral reads the stored general document (a zero record and an empty map if none).
func (s *Service) readGeneral(ctx context.Context) (store.Setting, map[string]json.RawMessage, error) {
	rec, err := s.store.GetSetting(ctx, KeyGeneral)
	stored := map[string]json.RawMessage{}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Setting{}, stored, nil
	case err != nil:
		return store.Setting{}, nil, fmt.Errorf("settings: %w", err)
	}
	if err := json.Unmarshal(rec.Value, &stored); err != nil {
		return store.Setting{}, nil, fmt.Errorf("settings: stored document does not decode: %w", err)
	}
	return rec, stored, nil
}

// flatten turns a patch object into leaf field paths: {"login": {"signup": "open"}} and
// {"login.signup": "open"} both give login.signup. A key that is neither a field nor
// leads to one is a FieldError.
func flatten(prefix string, raw json.RawMessage, out map[string]json.RawMessage) *FieldError {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		if prefix == "" {
			return fieldErr("settings", "must be a JSON object of the fields to change")
		}
		return fieldErr(prefix, "is not a setting (its fields are objects' members)")
	}
	for k, v := range obj {
		p := join(prefix, k)
		switch {
		case knownFields[p]:
			if _, dup := out[p]; dup {
				return fieldErr(p, "is given twice")
			}
			out[p] = v
		case isGroup(p):
			if err := flatten(p, v, out); err != nil {
				return err
			}
		default:
			return fieldErr(p, "is not a known setting").coded(CodeUnknownField)
		}
	}
	return nil
}

// isGroup tells whether p is the path of an object holding fields (login, branding.templates).
func isGroup(p string) bool {
	for f := range knownFields {
		if strings.HasPrefix(f, p+".") {
			return true
		}
	}
	return false
}

// Update applies patch — a JSON object of the fields to change, nested or dotted
// ({"login": {"methods": ["password", "email_code"]}}); null resets a field to the
// Caddyfile's value or the default — if the stored version is expected. Bad input is a
// *FieldError (a field the Caddyfile sets, an unknown field, a bad value, a template that
// does not parse), a concurrent change ErrVersionMismatch; either way nothing is
// written. actor is who writes (audit, UpdatedBy).
func (s *Service) Update(ctx context.Context, patch json.RawMessage, expected int64, actor string) (Document, error) {
	leaves := map[string]json.RawMessage{}
	if err := flatten("", patch, leaves); err != nil {
		return Document{}, err
	}
	if len(leaves) == 0 {
		return Document{}, fieldErr("settings", "names no field to change")
	}
	base := s.view.base
	for _, f := range slices.Sorted(maps.Keys(leaves)) {
		if base.locked(f) {
			return Document{}, fieldErr(f, "is set in the Caddyfile (read-only here): change it there").coded(CodeReadOnly)
		}
	}
	rec, stored, err := s.readGeneral(ctx)
	if err != nil {
		return Document{}, err
	}
	if rec.Version != expected {
		return Document{}, fmt.Errorf("settings: stored version %d, expected %d: %w", rec.Version, expected, ErrVersionMismatch)
	}
	next := maps.Clone(stored)
	for f, v := range leaves {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(next, f)
		} else {
			next[f] = v
		}
	}
	// The fields written must be valid; the others were (a stored value that no longer is
	// stays ignored, as the View ignores it).
	scratch := base.Values.Clone()
	for _, f := range slices.Sorted(maps.Keys(leaves)) {
		if v, ok := next[f]; ok {
			if ferr := apply(&scratch, f, v, base); ferr != nil {
				return Document{}, ferr
			}
		}
	}
	e := s.view.lenientMerge(next)
	if ferr := check(mergeNoCheck(base, next, leaves), base, next); ferr != nil {
		return Document{}, ferr
	}
	if touchesTemplates(leaves) && len(e.Templates) > 0 {
		if _, ferr := compileTemplates(base.TemplatesDir, e.Templates); ferr != nil {
			return Document{}, ferr
		}
	}
	value, err := json.Marshal(next)
	if err != nil {
		return Document{}, fmt.Errorf("settings: encode: %w", err)
	}
	if _, err := s.store.PutSetting(ctx, store.Setting{Key: KeyGeneral, Value: value, UpdatedAt: s.now(), UpdatedBy: actor}, expected); err != nil {
		return Document{}, fmt.Errorf("settings: %w", err)
	}
	s.record(ctx, actor, "settings", "updated", strings.Join(slices.Sorted(maps.Keys(leaves)), ","))
	s.refresh(ctx)
	return s.Get(ctx)
}

// mergeNoCheck is the effective settings with next stored, the fields not written applied
// leniently.
func mergeNoCheck(base Base, next, written map[string]json.RawMessage) Effective {
	e := base.Values.Clone()
	for _, f := range slices.Sorted(maps.Keys(next)) {
		if base.locked(f) {
			continue
		}
		n := e.Clone()
		if apply(&n, f, next[f], base) == nil {
			e = n
		}
	}
	return e
}

func touchesTemplates(leaves map[string]json.RawMessage) bool {
	for f := range leaves {
		if strings.HasPrefix(f, FieldTemplates+".") {
			return true
		}
	}
	return false
}

// refresh puts the write in force on this instance at once; a failure leaves it to the
// polling.
func (s *Service) refresh(ctx context.Context) {
	if err := s.view.Refresh(ctx); err != nil {
		s.view.logger.Warn("settings written; reloading them failed, polling will", "error", err)
	}
}

func (s *Service) record(ctx context.Context, actor, resource, what, fields string) {
	d := map[string]string{"resource": resource}
	if fields != "" {
		d["fields"] = fields
	}
	s.audit.Record(ctx, audit.Event{Time: s.now(), Type: audit.AdminWrite, Actor: actor, Reason: resource + " " + what, Details: d})
}

// --- providers ---

// ProviderDoc is a social provider as the console shows it: never its client secret.
type ProviderDoc struct {
	Provider
	// FromCaddyfile marks a provider of the Caddyfile: read-only, only its name is shown.
	FromCaddyfile bool   `json:"from_caddyfile,omitempty"`
	Version       int64  `json:"version,omitempty"`
	ETag          string `json:"etag,omitempty"`
}

// ListProviders returns the Caddyfile's providers (names only, read-only) and the stored
// ones, by name.
func (s *Service) ListProviders(ctx context.Context) ([]ProviderDoc, error) {
	var out []ProviderDoc
	for _, n := range s.view.base.Providers {
		out = append(out, ProviderDoc{Provider: Provider{Name: n}, FromCaddyfile: true})
	}
	recs, err := s.listPrefix(ctx, PrefixProvider)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		d, err := providerDoc(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b ProviderDoc) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func providerDoc(rec store.Setting) (ProviderDoc, error) {
	var sp storedProvider
	if err := json.Unmarshal(rec.Value, &sp); err != nil {
		return ProviderDoc{}, fmt.Errorf("settings: stored provider %q does not decode: %w", rec.Key, err)
	}
	p := sp.Provider
	p.ClientSecret, p.ClientSecretSet = "", sp.SealedSecret != ""
	return ProviderDoc{Provider: p, Version: rec.Version, ETag: ETag(rec.Version)}, nil
}

func (s *Service) listPrefix(ctx context.Context, prefix string) ([]store.Setting, error) {
	var out []store.Setting
	after := prefix
	for {
		page, err := s.store.ListSettings(ctx, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("settings: %w", err)
		}
		for _, rec := range page {
			if !strings.HasPrefix(rec.Key, prefix) {
				return out, nil
			}
			out = append(out, rec)
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].Key
	}
}

// GetProvider returns a provider (a Caddyfile one by name only).
func (s *Service) GetProvider(ctx context.Context, name string) (ProviderDoc, error) {
	if slices.Contains(s.view.base.Providers, name) {
		return ProviderDoc{Provider: Provider{Name: name}, FromCaddyfile: true}, nil
	}
	rec, err := s.store.GetSetting(ctx, PrefixProvider+name)
	if err != nil {
		return ProviderDoc{}, fmt.Errorf("settings: provider %q: %w", name, err)
	}
	return providerDoc(rec)
}

// PutProvider creates (expected 0) or replaces the stored provider name from raw, a JSON
// object with the fields of Provider but name, client_secret_set. An empty client_secret
// keeps the stored one. Bad input is a *FieldError under "providers.<name>", such as a
// non-https issuer or the name of a Caddyfile provider.
func (s *Service) PutProvider(ctx context.Context, name string, raw json.RawMessage, expected int64, actor string) (ProviderDoc, error) {
	path := "providers." + name
	if !providerNameRe.MatchString(name) {
		return ProviderDoc{}, fieldErr(path+".name", "must be 1 to 32 lowercase letters, digits, - or _ (it appears in the callback URL), got %q", name)
	}
	if slices.Contains(s.view.base.Providers, name) {
		return ProviderDoc{}, fieldErr(path+".name", "is a provider set in the Caddyfile (read-only here): choose another name or change it there")
	}
	if s.sealer == nil {
		return ProviderDoc{}, errors.New("settings: providers cannot be stored: no sealing key")
	}
	var in providerInput
	if ferr := decodeStrict(raw, &in, path); ferr != nil {
		return ProviderDoc{}, ferr
	}
	var old storedProvider
	cur, err := s.store.GetSetting(ctx, PrefixProvider+name)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return ProviderDoc{}, fmt.Errorf("settings: %w", err)
	default:
		if err := json.Unmarshal(cur.Value, &old); err != nil {
			return ProviderDoc{}, fmt.Errorf("settings: stored provider %q does not decode: %w", name, err)
		}
	}
	if cur.Version != expected {
		return ProviderDoc{}, fmt.Errorf("settings: provider %q: stored version %d, expected %d: %w", name, cur.Version, expected, ErrVersionMismatch)
	}
	p := Provider{Name: name, Preset: in.Preset, Label: in.Label, Issuer: in.Issuer, Tenant: in.Tenant, ClientID: in.ClientID,
		ClientSecret: in.ClientSecret, Scopes: in.Scopes, GroupsClaim: in.GroupsClaim, ImportGroups: in.ImportGroups,
		AllowedDomains: in.AllowedDomains, RequiredGroups: in.RequiredGroups, Onboarding: in.Onboarding,
		TrustEmailVerified: in.TrustEmailVerified, AuthURL: in.AuthURL, TokenURL: in.TokenURL, APIURL: in.APIURL}
	// The kept secret goes only where it went before: a change of anywhere the secret is
	// sent (issuer, endpoints, preset, tenant) needs it given again, or an
	// administrator could point the token URL at their own server and read it at the next
	// login (write-only means write-only).
	keep := old.SealedSecret != "" && old.Preset == p.Preset && old.Issuer == p.Issuer && old.Tenant == p.Tenant &&
		old.AuthURL == p.AuthURL && old.TokenURL == p.TokenURL && old.APIURL == p.APIURL
	if old.SealedSecret != "" && !keep && p.ClientSecret == "" {
		return ProviderDoc{}, fieldErr(path+".client_secret", "must be given again: the provider's issuer or endpoints changed, and the stored secret is only ever sent where it was sent before")
	}
	if ferr := checkProvider(p, path, keep); ferr != nil {
		return ProviderDoc{}, ferr
	}
	sealed := old.SealedSecret
	if p.ClientSecret != "" {
		sealed = s.sealer.Seal(name, p.ClientSecret)
	}
	if s.CheckProvider != nil {
		full := p
		if full.ClientSecret == "" {
			if full.ClientSecret, err = s.sealer.Open(name, sealed); err != nil {
				return ProviderDoc{}, fieldErr(path+".client_secret", "must be given again: the stored one does not open")
			}
		}
		if err := s.CheckProvider(full); err != nil {
			return ProviderDoc{}, fieldErr(path, "%v", err)
		}
	}
	p.ClientSecret, p.ClientSecretSet = "", false
	value, err := json.Marshal(storedProvider{Provider: p, SealedSecret: sealed})
	if err != nil {
		return ProviderDoc{}, fmt.Errorf("settings: encode provider: %w", err)
	}
	rec, err := s.store.PutSetting(ctx, store.Setting{Key: PrefixProvider + name, Value: value, UpdatedAt: s.now(), UpdatedBy: actor}, expected)
	if err != nil {
		return ProviderDoc{}, fmt.Errorf("settings: provider %q: %w", name, err)
	}
	what := "updated"
	if expected == 0 {
		what = "created"
	}
	s.record(ctx, actor, "provider "+name, what, "")
	s.refresh(ctx)
	return providerDoc(rec)
}

// DeleteProvider removes a stored provider at version expected.
func (s *Service) DeleteProvider(ctx context.Context, name string, expected int64, actor string) error {
	if slices.Contains(s.view.base.Providers, name) {
		return fieldErr("providers."+name+".name", "is a provider set in the Caddyfile (read-only here): remove it there")
	}
	if err := s.store.DeleteSetting(ctx, PrefixProvider+name, expected); err != nil {
		return fmt.Errorf("settings: provider %q: %w", name, err)
	}
	s.record(ctx, actor, "provider "+name, "deleted", "")
	s.refresh(ctx)
	return nil
}

// --- roles ---

// RoleDoc is a role as the console shows it.
type RoleDoc struct {
	Role
	FromCaddyfile bool   `json:"from_caddyfile,omitempty"`
	Version       int64  `json:"version,omitempty"`
	ETag          string `json:"etag,omitempty"`
}

// ListRoles returns the Caddyfile's roles (read-only) and the stored ones, by name.
func (s *Service) ListRoles(ctx context.Context) ([]RoleDoc, error) {
	var out []RoleDoc
	for _, r := range s.view.base.Roles {
		out = append(out, RoleDoc{Role: r, FromCaddyfile: true})
	}
	recs, err := s.listPrefix(ctx, PrefixRole)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		var r Role
		if err := json.Unmarshal(rec.Value, &r); err != nil {
			return nil, fmt.Errorf("settings: stored role %q does not decode: %w", rec.Key, err)
		}
		out = append(out, RoleDoc{Role: r, Version: rec.Version, ETag: ETag(rec.Version)})
	}
	slices.SortFunc(out, func(a, b RoleDoc) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Service) baseRole(name string) (Role, bool) {
	for _, r := range s.view.base.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, name string) (RoleDoc, error) {
	if r, ok := s.baseRole(name); ok {
		return RoleDoc{Role: r, FromCaddyfile: true}, nil
	}
	rec, err := s.store.GetSetting(ctx, PrefixRole+name)
	if err != nil {
		return RoleDoc{}, fmt.Errorf("settings: role %q: %w", name, err)
	}
	var r Role
	if err := json.Unmarshal(rec.Value, &r); err != nil {
		return RoleDoc{}, fmt.Errorf("settings: stored role %q does not decode: %w", name, err)
	}
	return RoleDoc{Role: r, Version: rec.Version, ETag: ETag(rec.Version)}, nil
}

// PutRole creates (expected 0) or replaces the role name from raw, a JSON object
// {"value": ..., "description": ..., "permissions": [...]}.
func (s *Service) PutRole(ctx context.Context, name string, raw json.RawMessage, expected int64, actor string) (RoleDoc, error) {
	path := "roles." + name
	if _, ok := s.baseRole(name); ok {
		return RoleDoc{}, fieldErr(path+".name", "is a role set in the Caddyfile (read-only here): choose another name or change it there")
	}
	var in roleInput
	if ferr := decodeStrict(raw, &in, path); ferr != nil {
		return RoleDoc{}, ferr
	}
	r := Role{Name: name, Value: in.Value, Description: in.Description, Permissions: in.Permissions}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	if ferr := checkRole(r, path); ferr != nil {
		return RoleDoc{}, ferr
	}
	value, err := json.Marshal(r)
	if err != nil {
		return RoleDoc{}, fmt.Errorf("settings: encode role: %w", err)
	}
	rec, err := s.store.PutSetting(ctx, store.Setting{Key: PrefixRole + name, Value: value, UpdatedAt: s.now(), UpdatedBy: actor}, expected)
	if err != nil {
		return RoleDoc{}, fmt.Errorf("settings: role %q: %w", name, err)
	}
	what := "updated"
	if expected == 0 {
		what = "created"
	}
	s.record(ctx, actor, "role "+name, what, "")
	s.refresh(ctx)
	return RoleDoc{Role: r, Version: rec.Version, ETag: ETag(rec.Version)}, nil
}

// DeleteRole removes a stored role at version expected. Users keep the role's name in
// their roles claim; it no longer adds permissions.
func (s *Service) DeleteRole(ctx context.Context, name string, expected int64, actor string) error {
	if _, ok := s.baseRole(name); ok {
		return fieldErr("roles."+name+".name", "is a role set in the Caddyfile (read-only here): remove it there")
	}
	if err := s.store.DeleteSetting(ctx, PrefixRole+name, expected); err != nil {
		return fmt.Errorf("settings: role %q: %w", name, err)
	}
	s.record(ctx, actor, "role "+name, "deleted", "")
	s.refresh(ctx)
	return nil
}

// --- templates: preview and test ---

// PreviewRequest asks for a message rendered with sample values.
type PreviewRequest struct {
	// Channel is "email" or "sms"; Kind a message kind (notify.EmailKinds, SMSKinds).
	Channel, Kind string
	// Language picks the templates (default English).
	Language string
	// Templates are unsaved template fields (names as in TemplateNames) laid over the
	// stored ones, so that the console previews an edit before saving it.
	Templates map[string]string
}

// Rendered is a rendered message: Subject, Text and HTML for email, Body for SMS.
type Rendered struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	Body    string `json:"body,omitempty"`
}

// Preview renders a message with sample values (code 740193, a sample link, the
// effective branding). An unsaved template that does not work is a *FieldError.
func (s *Service) Preview(ctx context.Context, req PreviewRequest) (Rendered, error) {
	t, data, err := s.templatesFor(req)
	if err != nil {
		return Rendered{}, err
	}
	return render(t, req, data)
}

func render(t *notify.Templates, req PreviewRequest, d notify.MessageData) (Rendered, error) {
	switch req.Channel {
	case "email":
		if !slices.Contains(notify.EmailKinds, req.Kind) {
			return Rendered{}, fieldErr("kind", "must be one of %s, got %q", strings.Join(notify.EmailKinds, ", "), req.Kind)
		}
		m, err := t.Email(req.Kind, d)
		if err != nil {
			return Rendered{}, fmt.Errorf("settings: preview: %w", err)
		}
		return Rendered{Subject: m.Subject, Text: m.Text, HTML: m.HTML}, nil
	case "sms":
		if !slices.Contains(notify.SMSKinds, req.Kind) {
			return Rendered{}, fieldErr("kind", "must be one of %s, got %q", strings.Join(notify.SMSKinds, ", "), req.Kind)
		}
		m, err := t.SMS(req.Kind, d)
		if err != nil {
			return Rendered{}, fmt.Errorf("settings: preview: %w", err)
		}
		return Rendered{Body: m.Body}, nil
	}
	return Rendered{}, fieldErr("channel", "must be email or sms, got %q", req.Channel)
}

// templatesFor returns the templates a preview uses and the sample data.
func (s *Service) templatesFor(req PreviewRequest) (*notify.Templates, notify.MessageData, error) {
	snap := s.view.Load()
	e := snap.Effective
	d := notify.MessageData{ProductName: e.ProductName, LogoURL: e.LogoURL, Color: e.Color, Email: "alice@example.com",
		Phone: "+15550100123", Code: "740193", Link: strings.TrimSuffix(s.Issuer, "/") + "/login/magic/sample-link-token",
		ExpiresIn: "10 minutes", Notice: "Your password was changed.", Language: req.Language}
	if len(req.Templates) > 0 {
		all := maps.Clone(e.Templates)
		if all == nil {
			all = map[string]string{}
		}
		for name, v := range req.Templates {
			f := FieldTemplates + "." + name
			if !knownFields[f] {
				return nil, d, fieldErr(f, "is not a message template")
			}
			if s.view.base.locked(f) {
				return nil, d, fieldErr(f, "is set in the Caddyfile (read-only here): change it there").coded(CodeReadOnly)
			}
			all[name] = v
		}
		t, ferr := compileTemplates(s.view.base.TemplatesDir, all)
		if ferr != nil {
			return nil, d, ferr
		}
		return t, d, nil
	}
	if snap.Templates != nil {
		return snap.Templates, d, nil
	}
	s.baseOnce.Do(func() { s.baseTemplates, s.baseErr = notify.LoadTemplates(s.view.base.TemplatesDir) })
	if s.baseErr != nil {
		return nil, d, fmt.Errorf("settings: templates: %w", s.baseErr)
	}
	return s.baseTemplates, d, nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// TestSend renders the message with sample values and the current templates and sends it
// to the administrator's address or number (to) through the configured sender.
func (s *Service) TestSend(ctx context.Context, req PreviewRequest, to, actor string) error {
	if s.Deliver == nil || (req.Channel == "email" && !s.view.base.EmailAvailable) || (req.Channel == "sms" && !s.view.base.SMSAvailable) {
		return ErrUnavailable
	}
	switch req.Channel {
	case "email":
		if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
			return fieldErr("to", "must be an email address")
		}
	case "sms":
		if !e164.MatchString(to) {
			return fieldErr("to", "must be a phone number in E.164 form, such as +15550100123")
		}
	}
	r, err := s.Preview(ctx, req)
	if err != nil {
		return err
	}
	switch req.Channel {
	case "email":
		err = s.Deliver.Email(notify.Email{To: to, Subject: "[Test] " + r.Subject, Text: r.Text, HTML: r.HTML, Kind: req.Kind})
	default:
		err = s.Deliver.SMS(notify.SMS{To: to, Body: r.Body, Kind: req.Kind})
	}
	if err != nil {
		return fmt.Errorf("settings: send test message: %w", err)
	}
	s.record(ctx, actor, "template "+req.Channel+"."+req.Kind, "test sent", "")
	return nil
}
