package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// runCLI runs a registered caddy subcommand (`gatehouse user ...`, `gatehouse invite`)
// in-process with stdin as its standard input and returns what it printed on stdout (what
// it prints on stderr is discarded).
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	c, ok := caddycmd.Commands()[args[0]]
	if !ok {
		t.Fatalf("command %q is not registered", args[0])
	}
	cmd := &cobra.Command{Use: c.Name, Short: c.Short, SilenceUsage: true, SilenceErrors: true}
	c.CobraFunc(cmd)
	cmd.SetArgs(args[1:])

	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	oldIn, oldOut, oldErr := os.Stdin, os.Stdout, os.Stderr
	os.Stdin, os.Stdout, os.Stderr = inR, outW, devNull
	defer func() { os.Stdin, os.Stdout, os.Stderr = oldIn, oldOut, oldErr }()
	go func() {
		_, _ = io.WriteString(inW, stdin)
		inW.Close()
	}()
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(outR)
		done <- b
	}()
	err = cmd.Execute()
	outW.Close()
	out := <-done
	inR.Close()
	outR.Close()
	return string(out), err
}

// TestAdminAPIAndCLI: user management through Caddy's admin endpoint (/gatehouse/...) and
// the `gatehouse user` / `gatehouse invite` commands that call it. Create validates its
// input (duplicate, malformed email, bad group names, unknown fields); list, show by ID or
// email, groups, password and invitations work. Disabling a user takes effect at once — no
// waiting: the protected site's session cookie, bearer tokens, /userinfo, the portal session
// and the refresh token all stop working, and the correct password gets "disabled" (JW-26,
// AS-17, PX-32). Re-enabling allows new logins, not the old tokens. Setting a password ends
// the user's sessions and tokens.
func TestAdminAPIAndCLI(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})

	t.Run("API", func(t *testing.T) {
		e := e.T(t)
		r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "Nina@Example.test", "password": Password,
			"fname": "Nina", "lname": "Simone", "groups": []string{"music"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %s", r)
		}
		u := r.JSON(t)
		id := u["id"].(string)
		if u["email"] != "nina@example.test" || u["disabled"] != false || !slices.Equal(toStrings(u["groups"]), []string{"music"}) {
			t.Errorf("created user %v", u)
		}
		for name, c := range map[string]struct {
			body   any
			status int
			code   string
		}{
			"duplicate":     {map[string]any{"email": "nina@example.test", "password": Password}, http.StatusConflict, "email_taken"},
			"bad email":     {map[string]any{"email": "not-an-email", "password": Password}, http.StatusBadRequest, "invalid_input"},
			"bad group":     {map[string]any{"email": "x@example.test", "groups": []string{"a,b"}}, http.StatusBadRequest, "invalid_input"},
			"short pw":      {map[string]any{"email": "y@example.test", "password": "short"}, http.StatusBadRequest, "invalid_input"},
			"unknown field": {map[string]any{"email": "z@example.test", "admin": true}, http.StatusBadRequest, "invalid_request"},
		} {
			r := e.Admin(http.MethodPost, "/gatehouse/users", c.body)
			if r.Status != c.status || r.JSON(t)["error"] != c.code {
				t.Errorf("create %s: want %d %s, got %s", name, c.status, c.code, r)
			}
		}
		if r := e.Admin(http.MethodGet, "/gatehouse/users", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), id) {
			t.Errorf("list: %s", r)
		}
		for _, key := range []string{id, "nina@example.test", "NINA@example.test"} {
			if r := e.Admin(http.MethodGet, "/gatehouse/users/"+url.PathEscape(key), nil); r.Status != http.StatusOK || r.JSON(t)["id"] != id {
				t.Errorf("show %s: %s", key, r)
			}
		}
		if r := e.Admin(http.MethodGet, "/gatehouse/users/nope", nil); r.Status != http.StatusNotFound {
			t.Errorf("show unknown: %s", r)
		}

		// A live session on the site, a bearer token with its refresh token, a portal session.
		b := NewBrowser(t)
		if r := e.BrowserLogin(b, e.App+"/in", "nina@example.test", Password); r.Status != http.StatusOK {
			t.Fatalf("browser login: %s", r)
		}
		toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email read:docs")
		at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
		if r := Get(t, e.App+"/api", at); r.Status != http.StatusOK {
			t.Fatalf("bearer before disable: %s", r)
		}
		before := e.Upstream.Count()

		// Disable: effective immediately.
		if r := e.Admin(http.MethodPost, "/gatehouse/users/"+id+"/disable", nil); r.Status != http.StatusOK || r.JSON(t)["disabled"] != true {
			t.Fatalf("disable: %s", r)
		}
		if r := b.Go(http.MethodGet, e.App+"/in", nil, nil); r.Status == http.StatusOK && r.URL.Host == strings.TrimPrefix(e.App, "http://") {
			t.Errorf("site session cookie after disable reached the page: %s", r)
		}
		if r := Get(t, e.App+"/api", at); r.Status != http.StatusUnauthorized {
			t.Errorf("bearer after disable: %s", r)
		}
		if r := e.Userinfo(at); r.Status != http.StatusUnauthorized {
			t.Errorf("userinfo after disable: %s", r)
		}
		if r := Do(t, b.C, NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/session", nil)); r.Status != http.StatusUnauthorized {
			t.Errorf("portal session after disable: %s", r)
		}
		wantTokenError(t, "refresh after disable", e.Refresh("app", rt), http.StatusBadRequest, "invalid_grant")
		if r := e.APILogin("nina@example.test", Password); r.Status != http.StatusForbidden || r.JSON(t)["error"] != "user_disabled" {
			t.Errorf("login of a disabled user: %s", r)
		}
		if n := e.Upstream.Count(); n != before {
			t.Errorf("%d requests of the disabled user reached the upstream", n-before)
		}

		// Enable: new logins work (in the next second: revocation covers the second it
		// happened in), the old token stays revoked.
		if r := e.Admin(http.MethodPost, "/gatehouse/users/nina@example.test/enable", nil); r.Status != http.StatusOK || r.JSON(t)["disabled"] != false {
			t.Fatalf("enable: %s", r)
		}
		WaitNextSecond()
		b2 := NewBrowser(t)
		e.PortalLogin(b2, "nina@example.test", Password)
		at2 := e.AccessToken(b2, "openid read:docs")
		if r := Get(t, e.App+"/api", at2); r.Status != http.StatusOK {
			t.Errorf("new token after enable: %s", r)
		}
		if r := Get(t, e.App+"/api", at); r.Status != http.StatusUnauthorized {
			t.Errorf("old token after enable: %s", r)
		}

		// Groups.
		if r := e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/groups", map[string]any{"groups": []string{"a", "b"}}); r.Status != http.StatusOK ||
			!slices.Equal(toStrings(r.JSON(t)["groups"]), []string{"a", "b"}) {
			t.Errorf("set groups: %s", r)
		}
		if r := e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/groups", map[string]any{"groups": []string{"bad group"}}); r.Status != http.StatusBadRequest {
			t.Errorf("set an invalid group: %s", r)
		}

		// Password: the old one stops working, the sessions end.
		newPW := "a brand new passphrase"
		if r := e.Admin(http.MethodPut, "/gatehouse/users/"+id+"/password", map[string]any{"password": newPW}); r.Status != http.StatusNoContent {
			t.Fatalf("set password: %s", r)
		}
		if r := Get(t, e.App+"/api", at2); r.Status != http.StatusUnauthorized {
			t.Errorf("token after a password change: %s", r)
		}
		if r := e.APILogin("nina@example.test", Password); r.Status != http.StatusUnauthorized {
			t.Errorf("old password: %s", r)
		}
		if r := e.APILogin("nina@example.test", newPW); r.Status != http.StatusOK {
			t.Errorf("new password: %s", r)
		}

		// Invitations.
		r = e.Admin(http.MethodPost, "/gatehouse/invites", map[string]any{"email": "new@example.test", "groups": []string{"g"}})
		if r.Status != http.StatusCreated || !strings.HasPrefix(r.JSON(t)["url"].(string), e.Issuer+"/signup?invite=") {
			t.Errorf("invite: %s", r)
		}
	})

	t.Run("CLI", func(t *testing.T) {
		e := e.T(t)
		addr := []string{"--address", e.AdminAddr}
		cli := func(stdin string, args ...string) string {
			t.Helper()
			out, err := runCLI(t, stdin, append(args, addr...)...)
			if err != nil {
				t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return out
		}
		var u struct {
			ID       string   `json:"id"`
			Email    string   `json:"email"`
			Groups   []string `json:"groups"`
			Disabled bool     `json:"disabled"`
		}
		decode := func(out string) {
			t.Helper()
			u.Groups = nil
			if err := json.Unmarshal([]byte(out), &u); err != nil {
				t.Fatalf("CLI output is not the user JSON: %v\n%s", err, out)
			}
		}
		decode(cli(Password+"\n", "user", "add", "--email", "omar@example.test", "--fname", "Omar", "--groups", "ops, dev", "--password-stdin"))
		if u.Email != "omar@example.test" || !slices.Equal(u.Groups, []string{"ops", "dev"}) {
			t.Errorf("user add: %+v", u)
		}
		if r := e.APILogin("omar@example.test", Password); r.Status != http.StatusOK {
			t.Errorf("login with the password given on stdin: %s", r)
		}
		if out := cli("", "user", "list"); !strings.Contains(out, "omar@example.test") || !strings.Contains(out, "ops,dev") {
			t.Errorf("user list:\n%s", out)
		}
		decode(cli("", "user", "show", "omar@example.test"))
		id := u.ID
		decode(cli("", "user", "groups", id, "admins"))
		if !slices.Equal(u.Groups, []string{"admins"}) {
			t.Errorf("user groups: %+v", u)
		}
		decode(cli("", "user", "disable", "omar@example.test"))
		if !u.Disabled {
			t.Errorf("user disable: %+v", u)
		}
		if r := e.APILogin("omar@example.test", Password); r.Status != http.StatusForbidden {
			t.Errorf("login after CLI disable: %s", r)
		}
		decode(cli("", "user", "enable", id))
		if u.Disabled {
			t.Errorf("user enable: %+v", u)
		}
		cli("another long passphrase\n", "user", "passwd", id)
		if r := e.APILogin("omar@example.test", "another long passphrase"); r.Status != http.StatusOK {
			t.Errorf("login with the password set by the CLI: %s", r)
		}
		if out := cli("", "invite", "--email", "pat@example.test"); !strings.HasPrefix(strings.TrimSpace(out), e.Issuer+"/signup?invite=") {
			t.Errorf("invite printed %q", out)
		}
		// Errors from the server reach the user.
		if out, err := runCLI(t, "", append([]string{"user", "show", "nobody@example.test"}, addr...)...); err == nil ||
			!strings.Contains(err.Error(), "404") {
			t.Errorf("user show of an unknown user: err %v, out %q", err, out)
		}
		if _, err := runCLI(t, Password+"\n", append([]string{"user", "add", "--email", "omar@example.test", "--password-stdin"}, addr...)...); err == nil ||
			!strings.Contains(err.Error(), "409") {
			t.Errorf("user add of an existing email: %v", err)
		}
	})
}
