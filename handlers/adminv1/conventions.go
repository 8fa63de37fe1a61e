package adminv1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
)

// maxBody is the largest request body: a 100 KB custom_data and the rest of a request.
const maxBody = 256 << 10

// Page is a page of a listing: Next is the cursor of the next page ("after"), "" on the last.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Pagination query parameters, shared by every listing.
var pageParams = []Param{
	{Name: "after", Description: "the cursor of the page to read (the previous page's next); empty for the first"},
	{Name: "limit", Description: "page size, 1 to 1000 (default 100)"},
}

// DefaultLimit and MaxLimit bound a page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// pageQuery reads after and limit.
func pageQuery(r *http.Request) (after string, limit int, err error) {
	q := r.URL.Query()
	limit = DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return "", 0, Invalid("limit", fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit))
		}
		limit = n
	}
	return q.Get("after"), limit, nil
}

// decode reads the JSON object body into dst: application/json, at most maxBody bytes
// (413), no unknown field (400 naming it), nothing after the object. A session caller's
// browser cannot send application/json to another origin without a CORS preflight the
// portal never grants.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return &Problem{Type: "about:blank", Title: "unsupported media type", Status: http.StatusUnsupportedMediaType,
			Detail: "send the body as application/json"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		return Invalid("", "send one JSON object, with nothing after it")
	}
	if err == nil {
		return nil
	}
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return &Problem{Type: "about:blank", Title: "request too large", Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Detail: fmt.Sprintf("the body may be at most %d bytes (custom_data at most %d)", maxBody, input.MaxCustomData)}
	case errors.As(err, &ute):
		return InvalidAs(ute.Field, CodeType, fmt.Sprintf("must be a JSON %s", jsonKind(ute.Type.Kind().String())))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Invalid("", "the body is not a JSON object")
	}
	// encoding/json: `json: unknown field "x"`
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return InvalidAs(f, CodeUnknownField, fmt.Sprintf("unknown field %q (see %s/openapi.json)", f, Prefix))
	}
	return Invalid("", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	case "bool":
		return "boolean"
	case "string":
		return "string"
	}
	return "number"
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// etagOf is the strong ETag of a stored record: a digest of its JSON, so that any change
// of the record (by this API, the portal or another instance) changes it.
func etagOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `"0"`
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// writeResource answers a single resource with its ETag.
func writeResource(w http.ResponseWriter, status int, etag string, v any) {
	w.Header().Set("ETag", etag)
	writeJSON(w, status, v)
}

// ifMatch returns the request's If-Match or the 428 problem when it has none.
func ifMatch(r *http.Request) (string, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return "", PreconditionRequired()
	}
	return v, nil
}

// matches tells whether the If-Match value names etag (a list, or *).
func matches(ifm, etag string) bool {
	for _, v := range strings.Split(ifm, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}

// problemOf maps the identity core's errors to problems.
func problemOf(err error) error {
	var (
		in *input.Error
		p  *Problem
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &p):
		return p
	case errors.As(err, &in):
		if in.Field == "custom_data" && strings.HasPrefix(in.Message, "at most") {
			return &Problem{Type: "about:blank", Title: "request too large", Status: http.StatusRequestEntityTooLarge,
				Field: in.Field, Code: CodeTooLarge, Detail: in.Message}
		}
		return Invalid(in.Field, in.Message)
	case errors.Is(err, account.ErrUserNotFound):
		return NotFound("no such user")
	case errors.Is(err, account.ErrEmailTaken):
		return Conflict("email", CodeTaken, "a user with this email already exists")
	case errors.Is(err, account.ErrPhoneTaken):
		return Conflict("phone_number", CodeTaken, "another user verified this phone number")
	}
	return err
}

// record records an audit.AdminWrite event for the request's caller.
func (h *Handler) record(r *http.Request, userID, reason string, details map[string]string) {
	c := CallerOf(r)
	if details == nil {
		details = map[string]string{}
	}
	details["route"] = r.Pattern
	ev := audit.Event{Time: h.deps.Now(), Type: audit.AdminWrite, Actor: c.Actor,
		UserID: userID, ClientID: c.ClientID, Reason: reason, Details: details}
	if h.deps.ClientIP != nil {
		ev.IP = h.deps.ClientIP(r)
	}
	h.deps.Audit.Record(r.Context(), ev)
}
