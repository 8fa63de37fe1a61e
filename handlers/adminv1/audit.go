package adminv1

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/audit"
)

// auditParams are the audit trail's filters (audit.ParseQuery).
var auditParams = []Param{
	{Name: "user", Description: "events about this user ID"},
	{Name: "actor", Description: "events by this actor (a user ID, or client:<id>)"},
	{Name: "type", Description: "events of this type (login.failed, admin.write, ...)"},
	{Name: "since", Description: "events at or after this RFC 3339 time"},
	{Name: "until", Description: "events before this RFC 3339 time"},
	{Name: "after", Description: "the cursor of the page to read (the previous page's next); empty for the first"},
	{Name: "limit", Description: "page size, 1 to 1000 (default 100)"},
}

func (h *Handler) mountAudit() {
	h.handle(Route{Method: "GET", Path: "/audit", Summary: "Browse the audit trail, oldest first (filters combine)",
		Query: auditParams, Response: Page[audit.Event]{}}, h.listAudit)
	h.handle(Route{Method: "GET", Path: "/audit/export", Summary: "Export the audit trail as JSON lines (application/jsonl), oldest first",
		Query: auditParams}, h.exportAudit)
}

// queryAudit runs the request's audit query; a bad parameter is a 400 naming it.
func (h *Handler) queryAudit(r *http.Request) ([]audit.Event, string, error) {
	if h.deps.AuditLog == nil {
		return []audit.Event{}, "", nil
	}
	q := r.URL.Query()
	if _, err := audit.ParseQuery(q); err != nil {
		return nil, "", Invalid(badAuditParam(q), err.Error())
	}
	events, next, err := audit.Query(r.Context(), h.deps.AuditLog, q)
	if errors.Is(err, audit.ErrBadQuery) {
		return nil, "", Invalid("", err.Error())
	}
	return events, next, err
}

// badAuditParam names the first parameter audit.ParseQuery refuses ("" when none alone is).
func badAuditParam(q url.Values) string {
	for k := range q {
		one := url.Values{k: q[k]}
		if _, err := audit.ParseQuery(one); err != nil {
			return k
		}
	}
	return ""
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) error {
	events, next, err := h.queryAudit(r)
	if err != nil {
		return err
	}
	if events == nil {
		events = []audit.Event{}
	}
	writeJSON(w, http.StatusOK, Page[audit.Event]{Items: events, Next: next})
	return nil
}

// exportAudit answers one page of events as JSON lines; a full page carries the cursor of
// the next in the Link header (rel="next") and X-Next-After.
func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request) error {
	events, next, err := h.queryAudit(r)
	if err != nil {
		return err
	}
	if next != "" {
		q := r.URL.Query()
		q.Set("after", next)
		w.Header().Set("X-Next-After", next)
		w.Header().Set("Link", "<"+h.deps.Issuer+Prefix+"/audit/export?"+q.Encode()+`>; rel="next"`)
	}
	w.Header().Set("Content-Type", audit.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="audit.jsonl"`)
	w.WriteHeader(http.StatusOK)
	_ = audit.WriteJSONL(w, events) // an error is the client gone
	return nil
}
