package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Lister reads the stored trail (store.AuditEvents).
type Lister interface {
	ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// ContentType is the media type of an export: JSON lines, one Event per line.
const ContentType = "application/jsonl"

// ErrBadQuery is wrapped by the errors of ParseQuery (a 400 for an API).
var ErrBadQuery = errors.New("bad audit query")

// ParseQuery reads the filter of an export query: user, actor, type (exact values), since
// and until (RFC 3339 times; since inclusive, until exclusive), after (the cursor: the last
// event ID of the previous page) and limit (1-1000, default 100). Unknown or repeated
// parameters are refused, so that a misspelt filter never exports the whole trail. The
// errors name the parameter and wrap ErrBadQuery.
func ParseQuery(q url.Values) (store.AuditFilter, error) {
	var f store.AuditFilter
	bad := func(format string, args ...any) (store.AuditFilter, error) {
		return store.AuditFilter{}, fmt.Errorf("%w: "+format, append([]any{ErrBadQuery}, args...)...)
	}
	for k, v := range q {
		if len(v) != 1 {
			return bad("parameter %q: give it once", k)
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
			} else if err != nil {
				err = fmt.Errorf("%q is not a whole number", val)
			}
		default:
			return bad("unknown parameter %q (use user, actor, type, since, until, after, limit)", k)
		}
		if err != nil {
			return bad("parameter %q: %v", k, err)
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return bad("since must be before until")
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

// Query runs an export query (ParseQuery) on l and returns the events, oldest first, and
// the cursor of the next page ("" when this page was not full).
func Query(ctx context.Context, l Lister, q url.Values) (events []Event, next string, err error) {
	f, err := ParseQuery(q)
	if err != nil {
		return nil, "", err
	}
	recs, err := l.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("read the audit trail: %w", err)
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(recs) == limit {
		next = recs[len(recs)-1].ID
	}
	events = make([]Event, len(recs))
	for i, r := range recs {
		events[i] = FromStore(r)
	}
	return events, next, nil
}

// WriteJSONL writes events as JSON lines.
func WriteJSONL(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}
