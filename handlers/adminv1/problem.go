package adminv1

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Problem is an RFC 9457 problem detail. Field names the request field at fault (a JSON
// pointer-like dotted path, "redirect_uris[1]"), when one is.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	// Missing says what an authorized-but-refused caller lacks (403): scope, group,
	// csrf_token, fresh_mfa, client_credentials.
	Missing string `json:"missing,omitempty"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// Invalid is a 400 naming the field and saying what to change.
func Invalid(field, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "invalid request", Status: http.StatusBadRequest, Field: field, Detail: detail}
}

// NotFound is a 404.
func NotFound(detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "not found", Status: http.StatusNotFound, Detail: detail}
}

// PreconditionRequired is a 428: a change of a resource needs If-Match.
func PreconditionRequired() *Problem {
	return &Problem{Type: "about:blank", Title: "precondition required", Status: http.StatusPreconditionRequired,
		Detail: "send If-Match with the ETag of your last read of this resource"}
}

// PreconditionFailed is a 412: the resource changed since the caller read it.
func PreconditionFailed() *Problem {
	return &Problem{Type: "about:blank", Title: "precondition failed", Status: http.StatusPreconditionFailed,
		Detail: "the resource changed since you read it (If-Match does not match its ETag); read it again and retry"}
}

// Conflict is a 409.
func Conflict(field, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: "conflict", Status: http.StatusConflict, Field: field, Detail: detail}
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
