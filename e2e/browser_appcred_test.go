package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAppPassword — issue 16, in headless Chromium, clicking what a user clicks: on
// the account page Ada creates an app password (name, scopes, expiry); the page shows it
// once; a WebDAV-like client (Go's net/http, Basic) reads a file with it; the reloaded page
// lists it with its last use and without the secret; "Revoke" ends it, and the client's next
// request is refused.
func TestBrowserAppPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := brNeedChromium(t)
	davRoot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(davRoot, "dav"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(davRoot, "dav", "cal.ics"), []byte("BEGIN:VCALENDAR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sites := strings.ReplaceAll(`
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect /dav/* {
		client app
		scope files:read
		allow app_passwords
	}
	handle /dav/* {
		root * DAVROOT
		file_server browse
	}
	handle {
		reverse_proxy {{.UpstreamAddr}}
	}
}`, "DAVROOT", davRoot)
	e := Start(t, Config{Localhost: true, Gatehouse: appCredClient, Sites: sites})
	b := brStartBrowser(t, e, chromium)
	const ada = "ada@example.test"
	e.CreateUser(ada)
	portal := e.Issuer
	b.run("log in with a password", 15*time.Second, brPasswordLogin(portal, ada), brAt(portal, "/"))

	var secret string
	b.run("create an app password", 15*time.Second,
		chromedp.Click(`details:has(form[action$="/account/credentials"]) > summary`, chromedp.ByQuery),
		chromedp.SendKeys(`form[action$="/account/credentials"] input[name=name]`, "Phone calendar", chromedp.ByQuery),
		chromedp.SetValue(`form[action$="/account/credentials"] select[name=kind]`, "app_password", chromedp.ByQuery),
		chromedp.SendKeys(`form[action$="/account/credentials"] input[name=scopes]`, "files:read", chromedp.ByQuery),
		chromedp.SetValue(`form[action$="/account/credentials"] select[name=expires_in_days]`, "90", chromedp.ByQuery),
		chromedp.Click(`form[action$="/account/credentials"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-new-secret]`, chromedp.ByQuery),
		chromedp.Value(`[data-new-secret]`, &secret, chromedp.ByQuery))
	if !strings.HasPrefix(secret, "gh_app_") || len(secret) != 43 {
		t.Fatalf("the page showed %q as the new app password", secret)
	}

	dav := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.App+"/dav/cal.ics", nil)
		req.SetBasicAuth(ada, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := dav(); code != http.StatusOK {
		t.Fatalf("client with the new app password: %d", code)
	}
	time.Sleep(200 * time.Millisecond) // the last use is written in the background

	b.run("reload the account page", 15*time.Second, chromedp.Navigate(portal+"/"), brAt(portal, "/"),
		chromedp.WaitVisible(`[data-credential-id]`, chromedp.ByQuery))
	row := b.text(`[data-credential-id]`)
	if !strings.Contains(row, "Phone calendar") || !strings.Contains(row, "last used") || !strings.Contains(row, "127.0.0.1") ||
		!strings.Contains(row, "active") {
		t.Errorf("credential row says %q", row)
	}
	if page := b.text("main"); strings.Contains(page, secret) || b.attr(`[data-new-secret]`, "value") != "" {
		t.Error("the reloaded page shows the secret again")
	}

	b.run("revoke it", 15*time.Second,
		chromedp.Click(`[data-credential-id] form[action$="/revoke"] button`, chromedp.ByQuery),
		brAt(portal, "/"), chromedp.WaitVisible(`[data-credential-id] .badge.warn`, chromedp.ByQuery))
	if row := b.text(`[data-credential-id]`); !strings.Contains(row, "revoked") {
		t.Errorf("after revoking, the row says %q", row)
	}
	if code := dav(); code != http.StatusUnauthorized {
		t.Fatalf("client after the revocation: %d, want 401", code)
	}
}
