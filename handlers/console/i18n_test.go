package console_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
)

// Issue 18 asks for a console "usable" by "a person who has never seen a Caddyfile", and
// the hosted pages speak the browser's language: every console label, heading, button and
// notice goes through the catalogs, and "Every API field is validated with a message naming
// it" — in the console, a translated message naming the field's label, while the API keeps
// its English problem+json (programs read it) naming the field, with a stable code.
func TestConsoleSpeaksTheBrowsersLanguage(t *testing.T) {
	e := newEnv(t)
	b := e.as(t, e.admin, "pwd", "mfa")
	b.Header.Set("Accept-Language", "de-CH, de;q=0.9, en;q=0.5")

	page := b.Get("/admin/clients")
	status(t, page, http.StatusOK)
	for _, want := range []string{`<html lang="de">`, "· Konsole</p>", ">Client registrieren<", "<th scope=\"col\">Client-ID</th>"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("clients page in German: no %q", want)
		}
	}
	if strings.Contains(page.Body, ">Register a client<") {
		t.Error("clients page in German shows an English heading")
	}

	// A client with a javascript: redirect URI: the field's label and the error, in German.
	r := b.PostForm("/admin/clients", url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.com/cb\njavascript:alert(1)"}, "scopes": {"openid"}})
	status(t, r, http.StatusBadRequest)
	body := html.UnescapeString(r.Body)
	if want := "Weiterleitungs-URIs, Zeile 2: Diese Art von Adresse ist nicht erlaubt"; !strings.Contains(body, want) {
		t.Errorf("javascript: redirect URI in German: want %q in %.600s", want, errorText(body))
	}
	if strings.Contains(body, "is not allowed") || strings.Contains(body, "redirect_uris[1]") {
		t.Errorf("the German page shows the API's English words: %s", errorText(body))
	}

	// The API itself answers the same request (same browser, same Accept-Language) in
	// English problem+json naming the field, with the code the console translated.
	b.Header.Set(adminv1.CSRFHeader, b.CSRF())
	api := b.PostJSON(adminv1.Prefix+"/clients", map[string]any{"name": "Wiki",
		"redirect_uris": []string{"https://wiki.example.com/cb", "javascript:alert(1)"}, "scopes": []string{"openid"}})
	b.Header.Del(adminv1.CSRFHeader)
	status(t, api, http.StatusBadRequest)
	var p adminv1.Problem
	if err := json.Unmarshal([]byte(api.Body), &p); err != nil || !strings.HasPrefix(api.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("API answer %q: %s (%v)", api.Header.Get("Content-Type"), api.Body, err)
	}
	if p.Field != "redirect_uris[1]" || p.Code != adminv1.CodeScheme || p.Detail != `scheme "javascript" is not allowed` {
		t.Errorf("API problem = %+v, want field redirect_uris[1], code scheme and the English detail", p)
	}

	// A field of the settings form: the label and the code's message.
	r = b.PostForm("/admin/settings", url.Values{"etag": {settingsETag(t, b.Get("/admin/settings").Body)}, "method.password": {"1"}, "session_idle": {"soon"}})
	status(t, r, http.StatusBadRequest)
	if want := "Sitzungs-Leerlaufzeit: Geben Sie eine Dauer zwischen 1m und 9600h ein"; !strings.Contains(html.UnescapeString(r.Body), want) {
		t.Errorf("bad session idle timeout in German: want %q in %s", want, errorText(html.UnescapeString(r.Body)))
	}

	// Login methods and sign-up modes by their human names, not their identifiers.
	s := b.Get("/admin/settings")
	status(t, s, http.StatusOK)
	for _, want := range []string{`<label for="m-email_code">E-Mail-Code</label>`, `<label for="m-passkey">Passkey</label>`,
		`<label for="m-magic_link">Magischer Link</label>`, `<label for="m-password">Passwort</label>`, ">Nur auf Einladung</option>"} {
		if !strings.Contains(s.Body, want) {
			t.Errorf("settings page in German: no %q", want)
		}
	}
	if strings.Contains(s.Body, ">email_code<") || strings.Contains(s.Body, ">invite</option>") {
		t.Error("settings page shows a method or sign-up mode by its identifier")
	}

	// Two administrators, one client: the second edit, from a page read before the first,
	// is refused (412) with a notice in German saying to reload.
	r = b.PostForm("/admin/clients", url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.com/cb"}, "scopes": {"openid"}})
	status(t, r, http.StatusCreated)
	id := regexp.MustCompile(`data-created-client="([^"]+)"`).FindStringSubmatch(r.Body)[1]
	etag := settingsETag(t, b.Get("/admin/clients/"+id).Body)
	edit := url.Values{"etag": {etag}, "name": {"Wiki 2"}, "redirect_uris": {"https://wiki.example.com/cb"}, "scopes": {"openid"}}
	status(t, b.PostForm("/admin/clients/"+id+"/edit", edit), http.StatusSeeOther)
	r = b.PostForm("/admin/clients/"+id+"/edit", edit)
	status(t, r, http.StatusBadRequest)
	if want := "Jemand anderes hat dies geändert, seit Sie es geöffnet haben. Laden Sie die Seite neu"; !strings.Contains(html.UnescapeString(r.Body), want) {
		t.Errorf("412 in German: want %q in %s", want, errorText(html.UnescapeString(r.Body)))
	}

	// The same refusal for an English browser is in English, naming the label too.
	b.Header.Set("Accept-Language", "en")
	r = b.PostForm("/admin/clients", url.Values{"name": {"Wiki"}, "redirect_uris": {"javascript:alert(1)"}, "scopes": {"openid"}})
	status(t, r, http.StatusBadRequest)
	if want := "Redirect URIs, line 1: this kind of address is not allowed"; !strings.Contains(html.UnescapeString(r.Body), want) {
		t.Errorf("javascript: redirect URI in English: want %q in %s", want, errorText(html.UnescapeString(r.Body)))
	}
}

var errorPara = regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`)

// errorText is the page's error message (for failure output).
func errorText(body string) string {
	if m := errorPara.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "(no error message)"
}

// settingsETag is the etag form field of a page.
func settingsETag(t *testing.T, body string) string {
	t.Helper()
	m := etagField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no etag field: %.500s", body)
	}
	return html.UnescapeString(m[1])
}
