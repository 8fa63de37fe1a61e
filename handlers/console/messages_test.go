package console

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
)

// The console shows an API refusal as "a translated message naming the field's label"
// (problem field + code → catalog text), and falls back to the API's English detail when no
// translation exists.
func TestProblemMessage(t *testing.T) {
	for _, tc := range []struct {
		name, lang string
		p          adminv1.Problem
		want       string
	}{
		{"code with a message, indexed field", "de", adminv1.Problem{Field: "redirect_uris[0]", Code: "fragment", Detail: "must not contain a fragment (#...)"},
			"Weiterleitungs-URIs, Zeile 1: Entfernen Sie den Teil nach # (eine Adresse hat hier kein Fragment)."},
		{"label by last segment", "fr", adminv1.Problem{Field: "providers.corp.issuer", Code: "https", Detail: "must be an https URL"},
			"Émetteur : utilisez une adresse https (http simple uniquement sur cet ordinateur : localhost, 127.0.0.1)."},
		{"label by prefix", "de", adminv1.Problem{Field: "branding.color", Code: "color"},
			"Farbe: Geben Sie eine Farbe als #rgb oder #rrggbb ein, etwa #2454d6."},
		{"label by prefix of a deeper path", "fr", adminv1.Problem{Field: "branding.templates.email.login_code.subject", Code: "template", Detail: "does not work"},
			"Modèle ne fonctionne pas : vérifiez ses parties {{...}} (l’aperçu montre l’erreur)."},
		{"invalid: the label and the API's English detail", "de", adminv1.Problem{Field: "login.mfa.passkey", Code: "invalid", Detail: `must be if_enrolled or required, got "x"`},
			`Zweiter Faktor: must be if_enrolled or required, got "x"`},
		{"invalid: a detail the catalogs translate", "de", adminv1.Problem{Field: "email", Code: "invalid", Detail: "enter a valid email address"},
			"E-Mail: Geben Sie eine gültige E-Mail-Adresse ein"},
		{"an unknown code is invalid", "de", adminv1.Problem{Field: "email", Code: "from_the_future", Detail: "is odd"},
			"E-Mail: is odd"},
		{"no label: the field's name and the detail", "de", adminv1.Problem{Field: "tenant", Code: "scheme", Detail: "is odd"},
			"tenant: is odd"},
		{"no field", "de", adminv1.Problem{Code: "changed", Detail: "the resource changed since you read it"},
			"Jemand anderes hat dies geändert, seit Sie es geöffnet haben. Laden Sie die Seite neu und nehmen Sie Ihre Änderung erneut vor."},
		{"a read-only record", "en", adminv1.Problem{Field: "id", Code: "read_only", Detail: "this client is set in the Caddyfile"},
			"This is set in the Caddyfile: change it there."},
		{"no field, no code", "de", adminv1.Problem{Title: "invalid request", Detail: "send one JSON object, with nothing after it"},
			"Send one JSON object, with nothing after it"},
		{"a detail with a percent sign is not formatted", "de", adminv1.Problem{Field: "name", Detail: "100% wrong %s"},
			"Name: 100% wrong %s"},
		{"a language without a catalog is English", "xx", adminv1.Problem{Field: "redirect_uris[2]", Code: "scheme"},
			"Redirect URIs, line 3: this kind of address is not allowed (use https, or a reverse-domain scheme such as com.example.app for a native app)."},
	} {
		if got := problemMessage(tc.lang, tc.p); got != tc.want {
			t.Errorf("%s: problemMessage(%s, %+v)\n got %q\nwant %q", tc.name, tc.lang, tc.p, got, tc.want)
		}
	}
}

// Every problem code the API documents has a message here (CodeInvalid shows the detail).
func TestEveryProblemCodeHasAMessage(t *testing.T) {
	for _, c := range adminv1.Codes {
		_, field := fieldMessages[c]
		_, plain := plainMessages[c]
		if c != adminv1.CodeInvalid && !field && !plain {
			t.Errorf("problem code %q has no console message", c)
		}
	}
}

// BenchmarkProblemMessage measures the translation of an API refusal for the page (the
// field's label, the code's message), in English and in German.
//
//	go test ./handlers/console/ -run '^$' -bench ProblemMessage
func BenchmarkProblemMessage(b *testing.B) {
	p := adminv1.Problem{Field: "redirect_uris[1]", Code: adminv1.CodeScheme, Detail: `scheme "javascript" is not allowed`}
	for _, lang := range []string{"en", "de"} {
		b.Run(lang, func(b *testing.B) {
			for b.Loop() {
				_ = problemMessage(lang, p)
			}
		})
	}
}
