// Package auditlog serves the audit trail for export: a query string parsed into a
// store.AuditFilter and the matching events written as JSON lines (application/jsonl), one
// audit.Event per line, oldest first. Caddy's admin endpoint mounts it at GET
// /gatehouse/audit (handlers/admin); the administration API can mount Export as it is.
package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Lister reads the stored trail (store.AuditEvents).
type Lister interface {
	ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// ContentType is the media type of the export.
const ContentType = "application/jsonl"

// NextHeader is the response header holding the cursor of the next page (the ID of the
// last event written), present when the page was full.
const NextHeader = "Gatehouse-Audit-Next"

// ParseQuery reads the filter of an export: user, actor, type (exact values), since and
// until (RFC 3339 times; since inclusive, until exclusive), after (the cursor: the last
// event ID of the previous page) and limit (1-1000, default 100). Unknown parameters are
// refused, so that a misspelt filter never silently exports everything.
func ParseQuery(q url.Values) (store.AuditFilter, error) {
	var f store.AuditFilter
	for k, v := range q {
		if len(v) != 1 {
			return f, fmt.Errorf("parameter %q: give it once", k)
		}
		val := v[0]
		var err error
		switch k {
		case "user":
			f.UserID = val
		case "actor":
			f.Actor = val
		case "type":
			f.Type = val
		case "after":
			f.After = val
		case "since":
			f.Since, err = parseTime(val)
		case "until":
			f.Until, err = parseTime(val)
		case "limit":
			f.Limit, err = strconv.Atoi(val)
			if err == nil && (f.Limit < 1 || f.Limit > 1000) {
				err = fmt.Errorf("%d is not between 1 and 1000", f.Limit)
			}
		default:
			return f, fmt.Errorf("unknown parameter %q (use user, actor, type, since, until, after, limit)", k)
		}
		if err != nil {
			return f, fmt.Errorf("parameter %q: %w", k, err)
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, fmt.Errorf("since must be before until")
	}
	return f, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", s)
	}
	return t, nil
}

// Export answers a GET with the events the query selects as JSON lines; a bad query is a
// 400 naming the parameter, a store failure a 503.
func Export(w http.ResponseWriter, r *http.Request, l Lister) {
	f, err := ParseQuery(r.URL.Query())
	if err != nil {
		web.WriteAPIError(w, http.StatusBadRequest, "invalid_input", err.Error())
		return
	}
	events, err := l.ListAuditEvents(r.Context(), f)
	if err != nil {
		web.WriteAPIError(w, http.StatusServiceUnavailable, "unavailable", "the audit trail cannot be read now: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", ContentType)
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(events) == limit {
		w.Header().Set(NextHeader, events[len(events)-1].ID)
	}
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(audit.FromStore(e)); err != nil {
			return // the client went away
		}
	}
}
