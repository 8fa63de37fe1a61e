package adminv1

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Problem is an RFC 9457 problem detail. Field names the request field at fault (a JSON
// pointer-like dotted path, "redirect_uris[1]"), when one is. Code is the kind of error
// (one of Codes, an RFC 9457 §3.2 extension member): Detail is English for people reading
// the answer, while a program (the console, which shows a translated message naming the
// field's label) reads Field and Code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code,omitempty"`
	// Missing says what an authorized-but-refused caller lacks (403): scope, group,
	// csrf_token, fresh_mfa, client_credentials.
	Missing string `json:"missing,omitempty"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// The problem codes (Problem.Code): stable names of the kinds of error, documented in the
// OpenAPI document. New kinds may be added; a client treats an unknown one as CodeInvalid.
const (
	// CodeInvalid: the field's value is not valid; the detail says what to change.
	CodeInvalid = "invalid"
	// CodeRequired: the field is required.
	CodeRequired = "required"
	// CodeUnknownField: the request has a field the API does not know.
	CodeUnknownField = "unknown_field"
	// CodeType: the field's value has the wrong JSON type.
	CodeType = "type"
	// CodeTooLarge: the body or the field is larger than allowed.
	CodeTooLarge = "too_large"
	// CodeTaken: another record already has this value (409).
	CodeTaken = "taken"
	// CodeReadOnly: the Caddyfile sets this field or record; change it there (409 or 400).
	CodeReadOnly = "read_only"
	// CodeChanged: the resource changed since the caller read it (412).
	CodeChanged = "changed"
	// CodeIfMatchRequired: a change needs If-Match (428).
	CodeIfMatchRequired = "if_match_required"
	// CodeScheme: a URI with a scheme that is not allowed (javascript:, data:, ...).
	CodeScheme = "scheme"
	// CodeFragment: a URI with a fragment (#...).
	CodeFragment = "fragment"
	// CodeHTTPS: a URL that must use https (plain http only on a loopback host).
	CodeHTTPS = "https"
	// CodeDuration: not a duration in the allowed range.
	CodeDuration = "duration"
	// CodeColor: not a colour as #rgb or #rrggbb.
	CodeColor = "color"
	// CodeTemplate: a message template that does not parse or render.
	CodeTemplate = "template"
	// CodeNoSender: no email or SMS sender is configured for the channel (409).
	CodeNoSender = "no_sender"
)

// Codes are the problem codes, for the OpenAPI document.
var Codes = []string{CodeInvalid, CodeRequired, CodeUnknownField, CodeType, CodeTooLarge, CodeTaken, CodeReadOnly,
	CodeChanged, CodeIfMatchRequired, CodeScheme, CodeFragment, CodeHTTPS, CodeDuration, CodeColor, CodeTemplate, CodeNoSender}

// Invalid is a 400 naming the field and saying what to change (code CodeInvalid).
func Invalid(field, detail string) *Problem {
	return InvalidAs(field, CodeInvalid, detail)
}

// InvalidAs is a 400 naming the field, the kind of error (code; "" means CodeInvalid) and
// what to change.
func InvalidAs(field, code, detail string) *Problem {
	if code == "" {
		code = CodeInvalid
	}
	return &Problem{Type: "about:blank", Title: "invalid request", Status: http.StatusBadRequest, Field: field, Code: code, Detail: detail}
}

// NotFound is a 404.
func NotFound(detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "not found", Status: http.StatusNotFound, Detail: detail}
}

// PreconditionRequired is a 428: a change of a resource needs If-Match.
func PreconditionRequired() *Problem {
	return &Problem{Type: "about:blank", Title: "precondition required", Status: http.StatusPreconditionRequired, Code: CodeIfMatchRequired,
		Detail: "send If-Match with the ETag of your last read of this resource"}
}

// PreconditionFailed is a 412: the resource changed since the caller read it.
func PreconditionFailed() *Problem {
	return &Problem{Type: "about:blank", Title: "precondition failed", Status: http.StatusPreconditionFailed, Code: CodeChanged,
		Detail: "the resource changed since you read it (If-Match does not match its ETag); read it again and retry"}
}

// Conflict is a 409 of the kind code.
func Conflict(field, code, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "conflict", Status: http.StatusConflict, Field: field, Code: code, Detail: detail}
}

// writeProblem answers err as problem+json; an error that is not a *Problem is a 500 whose
// detail is not shown (it may name internals).
func writeProblem(w http.ResponseWriter, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		p = &Problem{Type: "about:blank", Title: "internal error", Status: http.StatusInternalServerError}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
