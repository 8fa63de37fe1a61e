package protect

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/reqpath"
)

// pathWaivedKey marks, in the request state, a request whose path check the site waived
// (insecure_allow_noncanonical_paths): the Gatehouse handlers after the one that waived it
// do not refuse the path either.
const pathWaivedKey = "gatehouse.path_check_waived"

// CheckPath refuses a request whose path is not canonical (package reqpath): it writes
// 400 and returns false. Every Gatehouse handler calls it before it decides anything, so
// the path a policy judges is the path the upstream receives (THREATS PX-13). allow waives
// the check for this request and for the Gatehouse handlers that follow it; state is the
// request's shared state (nil: none).
func CheckPath(w http.ResponseWriter, r *http.Request, state func(*http.Request) map[string]any, allow bool) bool {
	var m map[string]any
	if state != nil {
		m = state(r)
	}
	if allow {
		if m != nil {
			m[pathWaivedKey] = true
		}
		return true
	}
	if m != nil {
		if waived, _ := m[pathWaivedKey].(bool); waived {
			return true
		}
	}
	if r.URL.Opaque != "" {
		refusePath(w, reqpath.ErrNotOrigin)
		return false
	}
	if err := reqpath.Check(r.URL.EscapedPath(), r.URL.Path); err != nil {
		refusePath(w, err)
		return false
	}
	return true
}

// refusePath answers 400 itself rather than through Caddy's error routes, so that no
// handle_errors route can pass the request on with its path.
func refusePath(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte("400 Bad Request: " + err.Error() +
		". Gatehouse refuses paths that Caddy's matchers and upstream servers could read differently.\n"))
}
