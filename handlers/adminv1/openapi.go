package adminv1

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The OpenAPI 3.1 document is built from the mounted routes (Handler.Routes): each route's
// path, method, summary, query parameters and path parameters ({wildcards}), and the JSON
// schemas of its request and response types, derived by reflection from their JSON tags.
// It is served without authentication at GET /api/admin/v1/openapi.json: it describes the
// API's shape (as the OpenID discovery document does the provider's), never data.

// OpenAPIPath is where the document is served (below Prefix).
const OpenAPIPath = "/openapi.json"

func (h *Handler) mountOpenAPI() {
	h.handle(Route{Method: "GET", Path: OpenAPIPath, Summary: "This OpenAPI 3.1 document", Public: true,
		Response: map[string]any{}}, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(h.OpenAPI())
	})
}

var wildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// OpenAPI returns the OpenAPI 3.1 document of the mounted routes.
func (h *Handler) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range h.routes {
		p := Prefix + rt.Path
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.Method)] = operation(rt)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Gatehouse Administration API", "version": "1",
			"description": "Users, clients and groups of a Gatehouse portal. Authenticate with an access token of the " +
				"client_credentials grant carrying the scope " + Scope + " and the audience " + h.audience() +
				" (request it with resource=), or with an administrator's portal session plus the " + CSRFHeader +
				" header for writes. Errors are RFC 9457 problem+json naming the field."},
		"servers": []any{map[string]any{"url": h.deps.Issuer}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "an access token of the client_credentials grant with scope " + Scope + " and audience " + h.audience()},
				"clientCredentials": map[string]any{"type": "oauth2", "flows": map[string]any{
					"clientCredentials": map[string]any{"tokenUrl": h.deps.Issuer + "/token",
						"scopes": map[string]any{Scope: "administer the portal"}}}},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": "gatehouse_session",
					"description": "an administrator's portal session (group " + h.deps.AdminGroup + "); writes need the " + CSRFHeader +
						" header and a multi-factor login no older than " + h.deps.AdminMaxAge.String() + " (__Host- prefix on https)"},
			},
			"schemas": map[string]any{"Problem": problemSchema()},
		},
	}
}

// problemSchema is the Problem schema with its members described: code is a closed list
// (Codes) that clients map to their own messages, detail is English.
func problemSchema() map[string]any {
	s := schemaOf(reflect.TypeFor[Problem]())
	props := s["properties"].(map[string]any)
	props["field"] = map[string]any{"type": "string",
		"description": "the request field at fault: a dotted path with list indexes, such as redirect_uris[1] or login.session_idle"}
	props["code"] = map[string]any{"type": "string", "enum": Codes,
		"description": "the kind of error, stable for programs (a console translates it and names the field's label; " +
			"treat an unknown code as invalid): invalid (see detail), required, unknown_field, type (wrong JSON type), " +
			"too_large, taken (409: another record has the value), read_only (set in the Caddyfile), changed (412), " +
			"if_match_required (428), scheme (a URI scheme that is not allowed, such as javascript:), fragment (a URI with #...), " +
			"https (plain http only on a loopback host), duration, color, template (does not parse or render), no_sender (409)"}
	props["detail"] = map[string]any{"type": "string", "description": "what to change, in English"}
	return s
}

func operation(rt Route) map[string]any {
	op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt)}
	var params []any
	for _, m := range wildcard.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range rt.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description,
			"schema": map[string]any{"type": "string"}})
	}
	if rt.ETag && rt.Method != http.MethodGet {
		params = append(params, map[string]any{"name": "If-Match", "in": "header", "required": true,
			"description": "the ETag of your last read (412 if it changed since, 428 without)", "schema": map[string]any{"type": "string"}})
	}
	if rt.Write {
		params = append(params, map[string]any{"name": CSRFHeader, "in": "header",
			"description": "session callers only: the page's CSRF token", "schema": map[string]any{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.Request != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Request))}}}
	}
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if rt.Response != nil && status != http.StatusNoContent {
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Response))}}
	}
	if rt.ETag && rt.Method == http.MethodGet {
		ok["headers"] = map[string]any{"ETag": map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	problem := func(desc string) any {
		return map[string]any{"description": desc, "content": map[string]any{
			"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
	}
	resp := map[string]any{strconv.Itoa(status): ok}
	if !rt.Public {
		resp["401"] = problem("no or invalid credentials")
		resp["403"] = problem("the credentials lack something (the problem's missing names it)")
		op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"clientCredentials": []any{Scope}},
			map[string]any{"session": []any{}}}
	}
	if rt.Request != nil || len(rt.Query) > 0 {
		resp["400"] = problem("invalid input (the problem's field names it, its code says what kind of error)")
	}
	if strings.Contains(rt.Path, "{") {
		resp["404"] = problem("no such resource")
	}
	if rt.ETag && rt.Method != http.MethodGet {
		resp["412"] = problem("the resource changed since it was read")
		resp["428"] = problem("If-Match is missing")
	}
	op["responses"] = resp
	return op
}

func operationID(rt Route) string {
	id := strings.ToLower(rt.Method)
	for _, part := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		part = strings.Trim(part, "{}")
		part = strings.NewReplacer(".", "_", "-", "_").Replace(part)
		if part != "" {
			id += "_" + part
		}
	}
	return id
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// schemaOf derives the JSON schema of t from its JSON encoding rules: exported fields by
// their json tag (embedded structs flattened, "-" skipped, omitempty/omitzero optional).
func schemaOf(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "any JSON value (custom data: an object)"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addFields(t, props, &required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s := schemaOf(f.Type)
		if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map || f.Type == rawType {
			// nil is encoded as null unless omitted
			if t, ok := s["type"].(string); ok && !strings.Contains(opts, "omit") {
				s["type"] = []any{t, "null"}
			}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer && f.Type != rawType {
			*required = append(*required, name)
		}
	}
}
