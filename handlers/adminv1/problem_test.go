package adminv1_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// Issue 18: "RFC 9457 problem+json errors naming the field"; "Every API field is validated
// with a message naming it". Programs (and the console, which translates) read the field
// and a stable code (an RFC 9457 §3.2 extension member); the detail stays English whatever
// the caller's Accept-Language.
func TestProblemCodes(t *testing.T) {
	e := newEnv(t)
	de := "Accept-Language: de"
	doc := decodeBody[settings.Document](t, e.adminCall("GET", "/settings", ""), http.StatusOK)
	ifMatch := "If-Match: " + doc.ETag
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		field, code, detail      string
	}{
		{"javascript: redirect URI", "POST", "/clients", `{"name":"App","redirect_uris":["https://app.test/cb","javascript:alert(1)"]}`, nil,
			http.StatusBadRequest, "redirect_uris[1]", adminv1.CodeScheme, `scheme "javascript" is not allowed`},
		{"redirect URI with a fragment", "POST", "/clients", `{"name":"App","redirect_uris":["https://app.test/cb#x"]}`, nil,
			http.StatusBadRequest, "redirect_uris[0]", adminv1.CodeFragment, "must not contain a fragment"},
		{"plain http redirect URI", "POST", "/clients", `{"name":"App","post_logout_redirect_uris":["http://app.test/bye"],"redirect_uris":["https://app.test/cb"]}`, nil,
			http.StatusBadRequest, "post_logout_redirect_uris[0]", adminv1.CodeHTTPS, "use https"},
		{"unknown field", "POST", "/users", `{"email":"x@example.com","nickname":"x"}`, nil,
			http.StatusBadRequest, "nickname", adminv1.CodeUnknownField, `unknown field "nickname"`},
		{"wrong JSON type", "POST", "/users", `{"email":"x@example.com","groups":"staff"}`, nil,
			http.StatusBadRequest, "groups", adminv1.CodeType, "must be a JSON array"},
		{"required", "POST", "/users", `{"fname":"X"}`, nil,
			http.StatusBadRequest, "email", adminv1.CodeRequired, "is required"},
		{"taken", "POST", "/users", `{"email":"` + e.User.Email + `"}`, nil,
			http.StatusConflict, "email", adminv1.CodeTaken, "already exists"},
		{"a Caddyfile setting", "PATCH", "/settings", `{"login":{"signup":"closed"}}`, []string{ifMatch},
			http.StatusBadRequest, "login.signup", adminv1.CodeReadOnly, "set in the Caddyfile"},
		{"a bad duration", "PATCH", "/settings", `{"login":{"session_idle":"soon"}}`, []string{ifMatch},
			http.StatusBadRequest, "login.session_idle", adminv1.CodeDuration, "must be a duration"},
		{"a bad colour", "PATCH", "/settings", `{"branding":{"color":"blue"}}`, []string{ifMatch},
			http.StatusBadRequest, "branding.color", adminv1.CodeColor, "must be a colour"},
		{"a template that does not parse", "PATCH", "/settings", `{"branding":{"templates":{"email.login_code.subject":"{{.Code"}}}`, []string{ifMatch},
			http.StatusBadRequest, "branding.templates.email.login_code.subject", adminv1.CodeTemplate, "does not work"},
		{"an unknown method: no code of its own", "PATCH", "/settings", `{"login":{"methods":["password","carrier_pigeon"]}}`, []string{ifMatch},
			http.StatusBadRequest, "login.methods", adminv1.CodeInvalid, "is not a login method"},
		{"a non-https issuer", "PUT", "/providers/corp", `{"preset":"oidc","issuer":"http://sso.example.com","client_id":"x","client_secret":"y"}`, nil,
			http.StatusBadRequest, "providers.corp.issuer", adminv1.CodeHTTPS, "https"},
		{"a provider without its client ID", "PUT", "/providers/corp", `{"preset":"oidc","issuer":"https://sso.example.com","client_secret":"y"}`, nil,
			http.StatusBadRequest, "providers.corp.client_id", adminv1.CodeRequired, "is required"},
		{"a stale If-Match", "PATCH", "/settings", `{"branding":{"color":"#123456"}}`, []string{`If-Match: "999"`},
			http.StatusPreconditionFailed, "", adminv1.CodeChanged, "changed since you read it"},
		{"no If-Match", "PATCH", "/settings", `{"branding":{"color":"#123456"}}`, nil,
			http.StatusPreconditionRequired, "", adminv1.CodeIfMatchRequired, "If-Match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problem(t, e.adminCall(tc.method, tc.path, tc.body, append(tc.headers, de)...), tc.status)
			if p.Field != tc.field || p.Code != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("problem %+v, want field %q, code %q and an English detail with %q", p, tc.field, tc.code, tc.detail)
			}
		})
	}
}

// The OpenAPI document lists the problem codes, so a client can map each to its messages.
func TestOpenAPIDocumentsProblemCodes(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties map[string]struct {
						Enum []string `json:"enum"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	w := e.call(func(*http.Request) {}, "GET", "/openapi.json", "")
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json: %v: %.300s", err, w.Body)
	}
	code, ok := doc.Components.Schemas.Problem.Properties["code"]
	if !ok || !slices.Equal(code.Enum, adminv1.Codes) {
		t.Errorf("Problem.code enum = %v, want %v", code.Enum, adminv1.Codes)
	}
}
