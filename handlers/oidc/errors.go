package oidc

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/handlers/web"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// writeTokenError writes an RFC 6749 §5.2 error.
func writeTokenError(w http.ResponseWriter, e *oauth.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	web.WriteJSON(w, status, map[string]string{"error": e.Code, "error_description": cleanDescription(e.Description)})
}

// cleanDescription keeps error_description within RFC 6749's character set (%x20-21 /
// %x23-5B / %x5D-7E): no CR, LF, TAB, quote or backslash.
func cleanDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
}
