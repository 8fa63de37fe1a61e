package module_test

import (
	"strings"
	"testing"
)

// A device client (RFC 8628) opts in with grant_types
// urn:ietf:params:oauth:grant-type:device_code or its short form device_code; a public client
// may (RFC 8628 §1: devices are usually public clients), and one without the
// authorization_code grant needs no redirect URI. A misspelt grant is refused with the
// spelling to use.
func TestValidateDeviceClients(t *testing.T) {
	errs, _ := checkApp(t, `{"issuer":"https://login.example.com","clients":[`+
		`{"id":"tv","grant_types":["device_code","refresh_token"]},`+
		`{"id":"cli","secret":"0123456789abcdef0","grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}]}`)
	if len(errs) != 0 {
		t.Fatalf("device clients refused:\n%s", strings.Join(errs, "\n"))
	}
	errs, _ = checkApp(t, `{"issuer":"https://login.example.com","clients":[{"id":"tv","grant_types":["device"]}]}`)
	want := `gatehouse.clients[tv].grant_types[0]: must be one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (or device_code), got "device"`
	if !containsLine(errs, want) {
		t.Fatalf("errors:\n%s\nwant %q", strings.Join(errs, "\n"), want)
	}
}
