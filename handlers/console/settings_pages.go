package console

import (
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// settingsDoc is the API's settings document (settings.Document) with its fields typed.
type settingsDoc struct {
	Settings struct {
		Login struct {
			Methods         []string          `json:"methods"`
			Signup          string            `json:"signup"`
			MFA             map[string]string `json:"mfa"`
			SessionIdle     string            `json:"session_idle"`
			SessionLifetime string            `json:"session_lifetime"`
		} `json:"login"`
		Branding struct {
			ProductName string            `json:"product_name"`
			LogoURL     string            `json:"logo_url"`
			Color       string            `json:"color"`
			Templates   map[string]string `json:"templates"`
		} `json:"branding"`
	} `json:"settings"`
	FromCaddyfile []string `json:"from_caddyfile"`
	ETag          string   `json:"etag"`
}

// locked tells whether the Caddyfile sets field (shown read-only).
func (d settingsDoc) locked(field string) bool {
	return slices.Contains(d.FromCaddyfile, field)
}

// MethodRow is one login method of the preferences form: Name is its identifier, Label its
// human name in the page's language.
type MethodRow struct {
	Name  string
	Label string
	On    bool
	Order int
	MFA   string
	// MFALocked: the Caddyfile sets this method's MFA requirement.
	MFALocked bool
}

// SettingsData is the login preferences and branding form. Locked names the fields the
// Caddyfile sets ("set in the Caddyfile", read-only).
type SettingsData struct {
	Nav
	Methods                              []MethodRow
	Signup, SessionIdle, SessionLifetime string
	ProductName, LogoURL, Color          string
	ETag                                 string
	Locked                               map[string]bool
	Done                                 bool
	SignupModes                          []Option
}

func (h *Handler) readSettings(w http.ResponseWriter, r *http.Request) (settingsDoc, bool) {
	var d settingsDoc
	return d, h.read(w, r, "/settings", &d)
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	h.renderSettings(w, r, http.StatusOK, "")
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	doc, ok := h.readSettings(w, r)
	if !ok {
		return
	}
	l, b := doc.Settings.Login, doc.Settings.Branding
	d := SettingsData{Nav: Nav{"settings"}, Signup: l.Signup, SessionIdle: l.SessionIdle, SessionLifetime: l.SessionLifetime,
		ProductName: b.ProductName, LogoURL: b.LogoURL, Color: b.Color, ETag: doc.ETag, Locked: map[string]bool{},
		Done: r.URL.Query().Get("done") != ""}
	lang := h.Lang(r)
	for _, m := range []string{settings.SignupOpen, settings.SignupInvite, settings.SignupClosed} {
		d.SignupModes = append(d.SignupModes, Option{Value: m, Label: i18n.T(lang, signupNames[m])})
	}
	for _, f := range doc.FromCaddyfile {
		d.Locked[f] = true
	}
	for i, m := range l.Methods {
		d.Methods = append(d.Methods, MethodRow{Name: m, On: true, Order: i + 1})
	}
	for _, m := range settings.Methods {
		if !slices.Contains(l.Methods, m) {
			d.Methods = append(d.Methods, MethodRow{Name: m, Order: len(d.Methods) + 1})
		}
	}
	for i := range d.Methods {
		d.Methods[i].Label = methodName(lang, d.Methods[i].Name)
		d.Methods[i].MFA = l.MFA[d.Methods[i].Name]
		d.Methods[i].MFALocked = d.Locked[settings.FieldMFA+"."+d.Methods[i].Name]
	}
	h.Page(w, r, status, "admin_settings", "Login preferences", errMsg, d)
}

// POST /admin/settings: the form's fields the Caddyfile does not set, as one PATCH.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request) {
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	locked := map[string]bool{}
	for _, v := range f["locked"] {
		locked[v] = true
	}
	patch := map[string]any{}
	if !locked[settings.FieldMethods] {
		type ord struct {
			m string
			n int
		}
		var on []ord
		for i, m := range settings.Methods {
			if f.Get("method."+m) == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(f.Get("order." + m)))
			if err != nil {
				n = 100 + i
			}
			on = append(on, ord{m, n})
		}
		slices.SortStableFunc(on, func(a, b ord) int { return a.n - b.n })
		methods := []string{}
		for _, o := range on {
			methods = append(methods, o.m)
		}
		patch[settings.FieldMethods] = methods
	}
	for _, m := range settings.Methods {
		field := settings.FieldMFA + "." + m
		if v := f.Get("mfa." + m); v != "" && !locked[field] {
			patch[field] = v
		}
	}
	for field, name := range map[string]string{settings.FieldSignup: "signup", settings.FieldSessionIdle: "session_idle",
		settings.FieldSessionLifetime: "session_lifetime", settings.FieldProductName: "product_name",
		settings.FieldLogoURL: "logo_url", settings.FieldColor: "color"} {
		if _, sent := f[name]; !sent || locked[field] {
			continue
		}
		if v := strings.TrimSpace(f.Get(name)); v != "" {
			patch[field] = v
		} else {
			patch[field] = nil // back to the default
		}
	}
	back := h.Base + Path + "/settings"
	_, errMsg, ok := h.write(w, r, f, back, "PATCH", "/settings", patch, "If-Match", f.Get("etag"))
	if !ok {
		if errMsg != "" {
			h.renderSettings(w, r, http.StatusBadRequest, errMsg)
		}
		return
	}
	http.Redirect(w, r, back+"?done=1", http.StatusSeeOther)
}

// TemplatesData is the message templates page: the template being edited (Name, its
// Source as stored, "" for the built-in one), the preview of the last submit.
type TemplatesData struct {
	Nav
	Names   []string
	Name    string
	Source  string
	Locked  bool
	ETag    string
	Preview *settings.Rendered
	Sent    string
	Saved   bool
}

// templateNames are the message templates, sorted.
var templateNames = slices.Sorted(maps.Keys(settings.TemplateNames))

// messageOf returns the channel and kind a template field renders ("email.recovery.html":
// email, recovery; the layout and footer preview with the login code).
func messageOf(name string) (string, string) {
	parts := strings.Split(name, ".")
	if parts[0] == "sms" && len(parts) > 1 {
		return "sms", parts[1]
	}
	if len(parts) == 3 {
		return "email", parts[1]
	}
	return "email", notify.EmailKinds[0]
}

func (h *Handler) templatesPage(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	h.renderTemplates(w, r, http.StatusOK, "", name, nil, nil)
}

// renderTemplates shows the template name with source (nil: the stored one) and a preview.
func (h *Handler) renderTemplates(w http.ResponseWriter, r *http.Request, status int, errMsg, name string, source *string, prev *settings.Rendered) {
	doc, ok := h.readSettings(w, r)
	if !ok {
		return
	}
	if !slices.Contains(templateNames, name) {
		name = "email." + notify.EmailKinds[0] + ".text"
	}
	d := TemplatesData{Nav: Nav{"templates"}, Names: templateNames, Name: name, ETag: doc.ETag, Preview: prev,
		Locked: doc.locked(settings.FieldTemplates + "." + name), Saved: r.URL.Query().Get("done") != "",
		Sent: r.URL.Query().Get("sent")}
	if source != nil {
		d.Source = *source
	} else {
		d.Source = doc.Settings.Branding.Templates[name]
	}
	h.Page(frameSelf{w}, r, status, "admin_templates", "Messages", errMsg, d)
}

// POST /admin/templates/{preview,frame,save,test}: preview the form's template (unsaved) on
// the page or, for the frame, as the message itself, save it (blank: back to the built-in
// one), or send a test of it to the administrator.
func (h *Handler) templateAction(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "preview" && action != "frame" && action != "save" && action != "test" {
		http.NotFound(w, r)
		return
	}
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	name, source := f.Get("name"), strings.ReplaceAll(f.Get("source"), "\r\n", "\n")
	back := h.Base + Path + "/templates?name=" + url.QueryEscape(name)
	channel, kind := messageOf(name)
	msg := adminv1.MessageRequest{Channel: channel, Kind: kind}
	if strings.TrimSpace(source) != "" {
		msg.Templates = map[string]string{name: source}
	}
	switch action {
	case "preview":
		a, errMsg, ok := h.write(w, r, f, back, "POST", "/settings/preview", msg)
		if !ok {
			if errMsg != "" {
				h.renderTemplates(w, r, http.StatusBadRequest, errMsg, name, &source, nil)
			}
			return
		}
		var out settings.Rendered
		if err := a.decode(&out); err != nil {
			h.Fail(w, r, http.StatusInternalServerError, "Unavailable", "Something went wrong on our side. Try again in a moment.", "server_error")
			return
		}
		h.renderTemplates(w, r, http.StatusOK, "", name, &source, &out)
	case "frame":
		a, errMsg, ok := h.write(w, r, f, back, "POST", "/settings/preview", msg)
		var out settings.Rendered
		if ok && a.decode(&out) != nil {
			ok, errMsg = false, "Something went wrong on our side. Try again in a moment."
		}
		if ok || errMsg != "" {
			previewFrame(w, out, h.T(r, errMsg))
		}
	case "save":
		var v any
		if strings.TrimSpace(source) != "" {
			v = source
		}
		patch := map[string]any{settings.FieldTemplates + "." + name: v}
		_, errMsg, ok := h.write(w, r, f, back, "PATCH", "/settings", patch, "If-Match", f.Get("etag"))
		if !ok {
			if errMsg != "" {
				h.renderTemplates(w, r, http.StatusBadRequest, errMsg, name, &source, nil)
			}
			return
		}
		http.Redirect(w, r, back+"&done=1", http.StatusSeeOther)
	case "test":
		_, errMsg, ok := h.write(w, r, f, back, "POST", "/settings/test", msg)
		if !ok {
			if errMsg != "" {
				h.renderTemplates(w, r, http.StatusBadRequest, errMsg, name, &source, nil)
			}
			return
		}
		http.Redirect(w, r, back+"&sent="+url.QueryEscape(channel), http.StatusSeeOther)
	}
}

// previewFrame writes the document of the templates page's preview frame: the message as
// an email client shows it (its HTML part, else its text or SMS body as plain text), or
// errMsg. An administrator's HTML is shown as HTML only under a policy of its own: a
// sandbox (no script, an opaque origin, no forms), inline styles and images as in an email,
// nothing else loaded, and framed only by the portal's own pages (the console's policy
// allows frames of 'self' for this page only: see frameSelf).
func previewFrame(w http.ResponseWriter, m settings.Rendered, errMsg string) {
	h := w.Header()
	web.NoStore(h)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "+
		"frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	status, ctype, body := http.StatusOK, "text/plain; charset=utf-8", m.Text
	switch {
	case errMsg != "":
		status, body = http.StatusBadRequest, errMsg
	case m.HTML != "":
		ctype, body = "text/html; charset=utf-8", m.HTML
	case m.Text == "":
		body = m.Body
	}
	h.Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// frameSelf lets the page it writes frame the portal's own documents (the template
// preview): the page's Content-Security-Policy gains frame-src 'self'.
type frameSelf struct{ http.ResponseWriter }

func (f frameSelf) WriteHeader(status int) {
	if csp := f.Header().Get("Content-Security-Policy"); csp != "" {
		f.Header().Set("Content-Security-Policy", csp+"; frame-src 'self'")
	}
	f.ResponseWriter.WriteHeader(status)
}

func (f frameSelf) Write(b []byte) (int, error) { return f.ResponseWriter.Write(b) }

// ProvidersData is the social providers page; Edit is the provider in the form (nil: a
// new one).
type ProvidersData struct {
	Nav
	Providers []settings.ProviderDoc
	Edit      *settings.ProviderDoc
	EditTrust bool
	Presets   []string
	Done      bool
}

func (h *Handler) providersPage(w http.ResponseWriter, r *http.Request) {
	h.renderProviders(w, r, http.StatusOK, "", r.URL.Query().Get("edit"))
}

func (h *Handler) renderProviders(w http.ResponseWriter, r *http.Request, status int, errMsg, edit string) {
	var page adminv1.Page[settings.ProviderDoc]
	if !h.read(w, r, "/providers", &page) {
		return
	}
	d := ProvidersData{Nav: Nav{"providers"}, Providers: page.Items, Presets: settings.Presets, Done: r.URL.Query().Get("done") != ""}
	if edit != "" {
		var p settings.ProviderDoc
		if !h.read(w, r, "/providers/"+url.PathEscape(edit), &p) {
			return
		}
		d.Edit, d.EditTrust = &p, p.TrustEmailVerified != nil && *p.TrustEmailVerified
	}
	h.Page(w, r, status, "admin_providers", "Social login", errMsg, d)
}

// POST /admin/providers/{name}/{save,delete}: the form as one PUT (a blank secret keeps the
// stored one), or a delete.
func (h *Handler) providerAction(w http.ResponseWriter, r *http.Request) {
	h.namedDocAction(w, r, "providers", func(f url.Values) any {
		p := map[string]any{}
		for _, k := range []string{"preset", "label", "issuer", "client_id", "client_secret"} {
			if v := strings.TrimSpace(f.Get(k)); v != "" {
				p[k] = v
			}
		}
		if s := list(f.Get("scopes")); len(s) > 0 {
			p["scopes"] = s
		}
		p["trust_email_verified"] = f.Get("trust_email_verified") != ""
		return p
	}, h.renderProviders)
}

// namedDocAction is POST /admin/<kind>/{name}/{save,delete} for the named documents of the
// API (providers, roles): save is one PUT of docOf(form), delete a DELETE, both with the
// form's ETag as If-Match ("_" as the name takes the form's name field: a new document);
// then back to the list, or the list again with the API's error.
func (h *Handler) namedDocAction(w http.ResponseWriter, r *http.Request, kind string, docOf func(url.Values) any,
	render func(w http.ResponseWriter, r *http.Request, status int, errMsg, edit string)) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if action != "save" && action != "delete" {
		http.NotFound(w, r)
		return
	}
	f, ok := h.Form(w, r)
	if !ok {
		return
	}
	if name == "_" {
		name = strings.TrimSpace(f.Get("name"))
	}
	back := h.Base + Path + "/" + kind
	var extra []string
	if e := f.Get("etag"); e != "" {
		extra = []string{"If-Match", e}
	}
	method, body := "DELETE", any(nil)
	if action == "save" {
		method, body = "PUT", docOf(f)
	}
	_, errMsg, ok := h.write(w, r, f, back, method, "/"+kind+"/"+url.PathEscape(name), body, extra...)
	if !ok {
		if errMsg != "" {
			render(w, r, http.StatusBadRequest, errMsg, "")
		}
		return
	}
	http.Redirect(w, r, back+"?done=1", http.StatusSeeOther)
}

// RolesData is the roles page: each role's permissions; Edit is the role in the form.
type RolesData struct {
	Nav
	Roles []settings.RoleDoc
	Edit  *settings.RoleDoc
	Done  bool
}

func (h *Handler) rolesPage(w http.ResponseWriter, r *http.Request) {
	h.renderRoles(w, r, http.StatusOK, "", r.URL.Query().Get("edit"))
}

func (h *Handler) renderRoles(w http.ResponseWriter, r *http.Request, status int, errMsg, edit string) {
	var page adminv1.Page[settings.RoleDoc]
	if !h.read(w, r, "/roles", &page) {
		return
	}
	d := RolesData{Nav: Nav{"roles"}, Roles: page.Items, Done: r.URL.Query().Get("done") != ""}
	for i := range page.Items {
		if page.Items[i].Name == edit && !page.Items[i].FromCaddyfile {
			var rd settings.RoleDoc
			if !h.read(w, r, "/roles/"+url.PathEscape(edit), &rd) {
				return
			}
			d.Edit = &rd
		}
	}
	h.Page(w, r, status, "admin_roles", "Roles", errMsg, d)
}

// POST /admin/roles/{name}/{save,delete}.
func (h *Handler) roleAction(w http.ResponseWriter, r *http.Request) {
	h.namedDocAction(w, r, "roles", func(f url.Values) any {
		role := map[string]any{"permissions": list(f.Get("permissions"))}
		if v := strings.TrimSpace(f.Get("value")); v != "" {
			role["value"] = v
		}
		if v := strings.TrimSpace(f.Get("description")); v != "" {
			role["description"] = v
		}
		return role
	}, h.renderRoles)
}
