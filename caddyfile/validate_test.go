package caddyfile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/module"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// validateJSON runs Caddy's own validation (`caddy validate`: provision every app, then clean
// up) on a JSON configuration.
func validateJSON(t *testing.T, cfgJSON []byte) error {
	t.Helper()
	var cfg caddy.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatalf("config JSON: %v\n%s", err, cfgJSON)
	}
	return caddy.Validate(&cfg)
}

// appJSON wraps the gatehouse app's JSON in a configuration with a private store directory.
func appJSON(t *testing.T, app string) []byte {
	t.Helper()
	storage, _ := json.Marshal(map[string]string{"module": "badger", "path": filepath.Join(t.TempDir(), "db")})
	return []byte(`{"admin":{"disabled":true},"apps":{"gatehouse":` +
		strings.Replace(app, "{", `{"storage":`+string(storage)+`,`, 1) + `}}`)
}

// TestValidateAcceptsGoodConfig is the control for the JSON-only checks below: a correct app
// configuration provisions (store opened, keys generated) and validates, so a failure below
// is caused by the one bad value.
func TestValidateAcceptsGoodConfig(t *testing.T) {
	err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","signup":"open",
		"clients":[{"id":"web","secret":"0123456789abcdef0123","redirect_uris":["https://app.example.com/cb"]}],
		"tokens":{"code_lifetime":60000000000,"access_token_alg":"ES256"}}`))
	if err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
}

// TestValidateCatchesWhatTheCaddyfileCannot: values the Caddyfile adapter cannot check — a
// placeholder only known at run time, limits that need the whole configuration — are
// refused when the app is provisioned (`caddy validate`, `caddy run`), with the option named.
// JW-14 (issuer exactness, via placeholder), RFC 6749 §4.1.2 (code lifetime at most 10
// minutes), JW-22 (client secret from the environment too short).
func TestValidateCatchesWhatTheCaddyfileCannot(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		caddyfile string // global options of the gatehouse app
		want      []string
	}{
		{
			name:      "issuer placeholder resolving to cleartext http (JW-14)",
			env:       map[string]string{"GH_TEST_ISSUER": "http://login.example.com"},
			caddyfile: "issuer {env.GH_TEST_ISSUER}\n",
			want:      []string{"issuer", "https"},
		},
		{
			name:      "issuer placeholder resolving to a trailing slash (JW-14)",
			env:       map[string]string{"GH_TEST_ISSUER": "https://login.example.com/"},
			caddyfile: "issuer {env.GH_TEST_ISSUER}\n",
			want:      []string{"issuer", "slash"},
		},
		{
			name:      "client secret from the environment too short (JW-22)",
			env:       map[string]string{"GH_TEST_SECRET": "short"},
			caddyfile: "issuer https://login.example.com\nclient web {\nsecret {env.GH_TEST_SECRET}\nredirect_uri https://app.example.com/cb\n}\n",
			want:      []string{"client", "secret must be at least 16"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			src := "{\n\tgatehouse {\n" + tt.caddyfile + "\t}\n}\n"
			out, _, err := adapt(t, src)
			if err != nil {
				t.Fatalf("the Caddyfile adapter refused it (%v); this case is about what only provisioning can see", err)
			}
			var cfg map[string]map[string]map[string]any
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			app := cfg["apps"]["gatehouse"]
			app["storage"] = map[string]string{"module": "badger", "path": filepath.Join(t.TempDir(), "db")}
			full, _ := json.Marshal(map[string]any{"admin": map[string]any{"disabled": true}, "apps": map[string]any{"gatehouse": app}})
			err = validateJSON(t, full)
			if err == nil {
				t.Fatalf("validation accepted %s", full)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestValidateClientSecrets: a client secret kept out of the configuration — a placeholder
// resolved at provisioning, or only its hash — works, and every way it can go wrong is a
// load error naming the client and the option, never the secret: an unset variable or a
// missing file does not silently turn a confidential client into a public one (AS-09: a
// public client has no secret to check), and a secret_hash that is not one cannot be
// mistaken for "no secret" (JW-22).
func TestValidateClientSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "web-secret")
	if err := os.WriteFile(file, []byte("0123456789abcdef-from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GH_TEST_CLIENT_SECRET", "0123456789abcdef-from-the-environment")
	const cb = `"redirect_uris":["https://app.example.com/cb"]`
	good := map[string]string{
		"environment": `{"id":"web","secret":"{env.GH_TEST_CLIENT_SECRET}",` + cb + `}`,
		"file":        `{"id":"web","secret":"{file.` + file + `}",` + cb + `}`,
		"hash":        `{"id":"web","secret_hash":"` + secret.HashClientSecret("0123456789abcdef-hashed") + `",` + cb + `}`,
	}
	for name, client := range good {
		if err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","clients":[`+client+`]}`)); err != nil {
			t.Errorf("client secret from the %s refused: %v", name, err)
		}
	}
	bad := []struct{ name, client, want string }{
		{"unset variable", `{"id":"web","secret":"{env.GH_TEST_UNSET_CLIENT_SECRET}",` + cb + `}`,
			`clients[0] "web": secret {env.GH_TEST_UNSET_CLIENT_SECRET} is empty`},
		{"missing file", `{"id":"web","secret":"{file.` + filepath.Join(dir, "missing") + `}",` + cb + `}`,
			`clients[0] "web": secret {file.`},
		{"malformed hash", `{"id":"web","secret_hash":"5f4dcc3b5aa765d61d8327deb882cf99",` + cb + `}`,
			`clients[0]: client "web": secret_hash: not a client secret hash`},
		{"secret and hash", `{"id":"web","secret":"{env.GH_TEST_CLIENT_SECRET}","secret_hash":"` + secret.HashClientSecret("0123456789abcdef-hashed") + `",` + cb + `}`,
			`secret or secret_hash, not both`},
	}
	for _, tc := range bad {
		err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","clients":[`+tc.client+`]}`))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "from-the-environment") {
			t.Errorf("%s: the error shows the secret: %v", tc.name, err)
		}
	}
}

// TestValidateJSONReportsEveryProblem: a hand-written JSON configuration (no Caddyfile in
// front of it) gets the same checks, and every problem is reported at once with its option
// path (STYLE.md: collect every error, name the option path). JW-01/JW-02 (no none or HMAC
// signing algorithm), AS-02 (cleartext redirect URI), AS-09 (public client without PKCE).
func TestValidateJSONReportsEveryProblem(t *testing.T) {
	err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","signup":"sometimes",
		"login":["carrier_pigeon"],
		"tokens":{"access_token_alg":"HS256","id_token_alg":"none","refresh_token_idle":-1},
		"lockout":{"account_max_failures":-3},
		"clients":[
			{"id":"web","redirect_uris":["http://app.example.com/cb"]},
			{"id":"web","redirect_uris":["https://app.example.com/cb"],"pkce":"optional"}
		]}`))
	if err == nil {
		t.Fatal("validation accepted a configuration with eight mistakes")
	}
	for _, want := range []string{
		`signup "sometimes"`,
		`login method "carrier_pigeon"`,
		`tokens.access_token_alg "HS256"`,
		`tokens.id_token_alg "none"`,
		"tokens.refresh_token_idle must be positive",
		"lockout limits must be positive",
		"clients[0]", "plain http",
		`clients[1]: client "web" is defined twice`,
		"pkce cannot be optional",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
}

// TestValidatePasskeys: the WebAuthn relying party must match the issuer, or browsers would
// refuse every ceremony; each mistake is named.
func TestValidatePasskeys(t *testing.T) {
	for _, tc := range []struct{ name, passkeys, want string }{
		{"rp_id foreign domain", `{"rp_id":"evil.example"}`, `rp_id "evil.example" must be the issuer's host`},
		{"rp_id suffix without dot", `{"rp_id":"ample.com"}`, `rp_id "ample.com" must be the issuer's host`},
		{"rp_id with scheme", `{"rp_id":"https://example.com"}`, "bare domain name"},
		{"rp_id IP", `{"rp_id":"192.0.2.1"}`, "bare domain name"},
		{"origin with path", `{"origins":["https://login.example.com/portal"]}`, "no path"},
		{"origin plain http", `{"origins":["http://login.example.com"]}`, "must use https"},
		{"origin outside rp_id", `{"origins":["https://login.example.org"]}`, `not under the rp_id "login.example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","passkeys":`+tc.passkeys+`}`))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	for _, good := range []string{`{"rp_id":"example.com","origins":["https://login.example.com","https://www.example.com"]}`,
		`{"rp_id":"login.example.com"}`, `{"rp_name":"Acme"}`} {
		if err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","passkeys":`+good+`}`)); err != nil {
			t.Errorf("passkeys %s refused: %v", good, err)
		}
	}
	err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","login":["passkey"]}`))
	if err == nil || !strings.Contains(err.Error(), "login must include password") {
		t.Errorf("passkey-only login: got %v, want a clear refusal", err)
	}
}

// TestValidateSocialAndSenders: social providers and the email/SMS methods are checked at
// load time with messages naming what to change.
func TestValidateSocialAndSenders(t *testing.T) {
	for _, tc := range []struct{ name, cfg, want string }{
		{"oidc without issuer", `"social":[{"name":"corp","client_id":"a","client_secret":"b"}]`, "issuer is required"},
		{"http issuer", `"social":[{"name":"corp","issuer":"http://sso.example.com","client_id":"a","client_secret":"b"}]`, "must be an https URL"},
		{"no client id", `"social":[{"name":"google","client_secret":"b"}]`, "client_id is required"},
		{"no secret", `"social":[{"name":"google","client_id":"a"}]`, "client_secret is required"},
		{"bad name", `"social":[{"name":"Google!","preset":"google","client_id":"a","client_secret":"b"}]`, "use 1 to 32 lowercase"},
		{"unknown preset", `"social":[{"name":"x","preset":"myspace","client_id":"a","client_secret":"b"}]`, `preset "myspace"`},
		{"twice", `"social":[{"name":"google","client_id":"a","client_secret":"b"},{"name":"google","client_id":"a","client_secret":"b"}]`, "defined twice"},
		{"groups without a claim", `"social":[{"name":"google","client_id":"a","client_secret":"b","required_groups":["staff"]}]`, "need groups_claim"},
		{"groups on github", `"social":[{"name":"github","client_id":"a","client_secret":"b","groups_claim":"groups","import_groups":["staff"]}]`, "GitHub sends none"},
		{"bad import group", `"social":[{"name":"google","client_id":"a","client_secret":"b","import_groups":["a,b"]}]`, "import_groups"},
		{"email method without sender", `"login":["password","email_code"]`, "login method email_code sends email"},
		{"sms method without sender", `"login":["password","sms_code"]`, "login method sms_code sends text messages"},
		{"bad sms prefix", `"sms":{"allowed_prefixes":["44"]}`, `sms.allowed_prefixes "44"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com",`+tc.cfg+`}`))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// On a development issuer the outbox is the default sender.
	if err := validateJSON(t, appJSON(t, `{"issuer":"http://localhost:9000","login":["password","email_code","magic_link","sms_code"]}`)); err != nil {
		t.Errorf("email and SMS methods on a localhost issuer: %v", err)
	}
	t.Setenv("GATEHOUSE_TEST_GOOGLE_SECRET", "s3cret")
	if err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","social":[{"name":"google","client_id":"a","client_secret":"{env.GATEHOUSE_TEST_GOOGLE_SECRET}"}]}`)); err != nil {
		t.Errorf("social provider with a placeholder secret: %v", err)
	}
	err := validateJSON(t, appJSON(t, `{"issuer":"https://login.example.com","social":[{"name":"google","client_id":"a","client_secret":"{env.GATEHOUSE_TEST_UNSET}"}]}`))
	if err == nil || !strings.Contains(err.Error(), "client_secret {env.GATEHOUSE_TEST_UNSET} is empty") {
		t.Errorf("unset secret variable: got %v, want an error naming it", err)
	}
}

// TestValidateJSONMissingIssuer: a JSON configuration without an issuer is refused (the
// Caddyfile requires it too; the JSON path must not be weaker).
func TestValidateJSONMissingIssuer(t *testing.T) {
	err := validateJSON(t, appJSON(t, `{"signup":"open"}`))
	if err == nil || !strings.Contains(err.Error(), "issuer is required") {
		t.Fatalf("got %v, want an error saying the issuer is required", err)
	}
}

// TestProtectValidate: the gatehouse_protect handler's JSON is validated without the app:
// unknown header placeholders (PX-05: only vetted identity values reach upstream headers),
// invalid header names, negative cache sizes and empty scopes are refused, each named.
func TestProtectValidate(t *testing.T) {
	tests := []struct {
		name string
		p    module.Protect
		want string // "" = valid
	}{
		{"defaults", module.Protect{}, ""},
		{"custom headers", module.Protect{Headers: map[string]string{"X-Email": "{gatehouse.user.email}", "X-User-Name": ""}}, ""},
		{"unknown placeholder", module.Protect{Headers: map[string]string{"X-A": "{gatehouse.user.nope}"}}, "{gatehouse.user.nope}"},
		{"request placeholder", module.Protect{Headers: map[string]string{"X-A": "{http.request.header.Cookie}"}}, "unknown placeholder"},
		{"bad header name", module.Protect{Headers: map[string]string{"X A": "{gatehouse.user.id}"}}, `header name "X A"`},
		{"header name with colon", module.Protect{Headers: map[string]string{"X-A:": "{gatehouse.user.id}"}}, "header name"},
		{"negative cache size", module.Protect{CacheSize: -1}, "cache_size"},
		{"empty scope", module.Protect{Scopes: []string{"read", ""}}, "empty scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("valid handler refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("handler accepted; want an error naming %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not name %q", err, tt.want)
			}
		})
	}
}
