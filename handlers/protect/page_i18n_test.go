package protect

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The protected site's own pages (access denied, logout, login errors) follow the browser's
// Accept-Language like the portal's; what they show of a user or a policy stays escaped
// text (PX-21).
func TestPX21_SitePagesTranslatedAndEscaped(t *testing.T) {
	r := httptest.NewRequest("GET", "/admin", nil)
	r.Header.Set("Accept-Language", "fr-CH, de;q=0.5")
	w := httptest.NewRecorder()
	renderPage(w, r, 403, pageData{Title: "Access denied",
		Message: pageT(r, "You are logged in as %s, but this page needs more access: %s.", "<b>eve</b>@example.test", "scope admin"),
		Link:    "/.gatehouse/logout", LinkText: "Log in as someone else"})
	body := w.Body.String()
	for _, want := range []string{`<html lang="fr">`, "<h2>Accès refusé</h2>", "Vous êtes connecté en tant que &lt;b&gt;eve&lt;/b&gt;@example.test",
		"Se connecter sous un autre compte"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if got := w.Header().Get("Content-Language"); got != "fr" {
		t.Errorf("Content-Language %q", got)
	}

	r = httptest.NewRequest("GET", "/.gatehouse/logout", nil)
	w = httptest.NewRecorder()
	renderPage(w, r, 200, pageData{Title: "Log out", Message: "Log out of this site and every other app that uses this login?", Form: "/.gatehouse/logout", CSRF: "t"})
	if body := w.Body.String(); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, `<button type="submit">Log out</button>`) {
		t.Errorf("without Accept-Language the page is not English:\n%s", body)
	}
}
