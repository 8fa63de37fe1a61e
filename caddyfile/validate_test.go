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
			want:      []string{"gatehouse.clients[web].secret: must be at least 16 characters"},
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
			`gatehouse.clients[web].secret: must resolve to a value, got nothing from {env.GH_TEST_UNSET_CLIENT_SECRET}`},
		{"missing file", `{"id":"web","secret":"{file.` + filepath.Join(dir, "missing") + `}",` + cb + `}`,
			`gatehouse.clients[web].secret: must resolve to a value, got nothing from {file.`},
		{"malformed hash", `{"id":"web","secret_hash":"5f4dcc3b5aa765d61d8327deb882cf99",` + cb + `}`,
			`gatehouse.clients[web].secret_hash: not a client secret hash`},
		{"secret and hash", `{"id":"web","secret":"{env.GH_TEST_CLIENT_SECRET}","secret_hash":"` + secret.HashClientSecret("0123456789abcdef-hashed") + `",` + cb + `}`,
			`gatehouse.clients[web]: must have secret or secret_hash, not both`},
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
		`gatehouse.signup: must be one of open, closed, invite, got "sometimes"`,
		`gatehouse.login[0]: must be one of password, passkey, email_code, magic_link, sms_code, got "carrier_pigeon"`,
		`gatehouse.tokens.access_token_alg: must be one of RS256, ES256, EdDSA, got "HS256"`,
		`gatehouse.tokens.id_token_alg: must be one of RS256, ES256, EdDSA, got "none"`,
		"gatehouse.tokens.refresh_token_idle: must be a positive duration",
		"gatehouse.lockout.account_max_failures: must be a positive whole number",
		"gatehouse.clients[web].redirect_uris[0]: plain http",
		`gatehouse.clients[1]: must have an ID of its own (client IDs are unique), got "web" again (first at clients[0])`,
		"gatehouse.clients[1].pkce: must be required for a public client",
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
		{"rp_id foreign domain", `{"rp_id":"evil.example"}`, `passkeys.rp_id: must be the issuer's host "login.example.com" or a parent domain of it, got "evil.example"`},
		{"rp_id suffix without dot", `{"rp_id":"ample.com"}`, `passkeys.rp_id: must be the issuer's host "login.example.com" or a parent domain of it, got "ample.com"`},
		{"rp_id with scheme", `{"rp_id":"https://example.com"}`, "bare domain name"},
		{"rp_id IP", `{"rp_id":"192.0.2.1"}`, "bare domain name"},
		{"origin with path", `{"origins":["https://login.example.com/portal"]}`, "no path"},
		{"origin plain http", `{"origins":["http://login.example.com"]}`, "must use https"},
		{"origin outside rp_id", `{"origins":["https://login.example.org"]}`, `passkeys.origins[0]: must be under the rp_id "login.example.com"`},
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
	if err == nil || !strings.Contains(err.Error(), "gatehouse.login: must include password") {
		t.Errorf("passkey-only login: got %v, want a clear refusal", err)
	}
}

// TestValidateSocialAndSenders: social providers and the email/SMS methods are checked at
// load time with messages naming what to change.
func TestValidateSocialAndSenders(t *testing.T) {
	for _, tc := range []struct{ name, cfg, want string }{
		{"oidc without issuer", `"social":[{"name":"corp","client_id":"a","client_secret":"b"}]`, "gatehouse.social[corp].issuer: is required"},
		{"http issuer", `"social":[{"name":"corp","issuer":"http://sso.example.com","client_id":"a","client_secret":"b"}]`, "gatehouse.social[corp].issuer: must use https"},
		{"no client id", `"social":[{"name":"google","client_secret":"b"}]`, "gatehouse.social[google].client_id: is required"},
		{"no secret", `"social":[{"name":"google","client_id":"a"}]`, "gatehouse.social[google].client_secret: is required"},
		{"bad name", `"social":[{"name":"Google!","preset":"google","client_id":"a","client_secret":"b"}]`, "gatehouse.social[Google!].name: must be 1 to 32 lowercase"},
		{"unknown preset", `"social":[{"name":"x","preset":"myspace","client_id":"a","client_secret":"b"}]`, `gatehouse.social[x].preset: must be one of google, microsoft, gitlab, apple, github, oidc, got "myspace"`},
		{"twice", `"social":[{"name":"google","client_id":"a","client_secret":"b"},{"name":"google","client_id":"a","client_secret":"b"}]`, `gatehouse.social[1]: must have a name of its own`},
		{"groups without a claim", `"social":[{"name":"google","client_id":"a","client_secret":"b","required_groups":["staff"]}]`, "gatehouse.social[google].groups_claim: is required by import_groups and required_groups"},
		{"groups on github", `"social":[{"name":"github","client_id":"a","client_secret":"b","groups_claim":"groups","import_groups":["staff"]}]`, "gatehouse.social[github].groups_claim: must be an OpenID provider's claim"},
		{"bad import group", `"social":[{"name":"google","client_id":"a","client_secret":"b","import_groups":["a,b"]}]`, "gatehouse.social[google].import_groups[0]: must be 1-64 letters"},
		{"email method without sender", `"login":["password","email_code"]`, "gatehouse.login[1]: email_code sends email: must have an email sender"},
		{"sms method without sender", `"login":["password","sms_code"]`, "gatehouse.login[1]: sms_code sends text messages: must have an SMS sender"},
		{"bad sms prefix", `"sms":{"allowed_prefixes":["44"]}`, `gatehouse.sms.allowed_prefixes[0]: must be + and 1 to 6 digits of an E.164 prefix`},
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
	if err == nil || !strings.Contains(err.Error(), "gatehouse.social[google].client_secret: must resolve to a value, got nothing from {env.GATEHOUSE_TEST_UNSET}") {
		t.Errorf("unset secret variable: got %v, want an error naming it", err)
	}
}

// TestValidateJSONMissingIssuer: a JSON configuration without an issuer is refused (the
// Caddyfile requires it too; the JSON path must not be weaker).
func TestValidateJSONMissingIssuer(t *testing.T) {
	err := validateJSON(t, appJSON(t, `{"signup":"open"}`))
	if err == nil || !strings.Contains(err.Error(), "gatehouse.issuer: is required") {
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
		{"request placeholder", module.Protect{Headers: map[string]string{"X-A": "{http.request.header.Cookie}"}}, "gatehouse_protect.headers[X-A]: must use only the gatehouse.* identity placeholders"},
		{"bad header name", module.Protect{Headers: map[string]string{"X A": "{gatehouse.user.id}"}}, `gatehouse_protect.headers[X A]: must be a header name of letters, digits and '-', got "X A"`},
		{"header name with colon", module.Protect{Headers: map[string]string{"X-A:": "{gatehouse.user.id}"}}, "header name"},
		{"negative cache size", module.Protect{CacheSize: -1}, "cache_size"},
		{"empty scope", module.Protect{Scopes: []string{"read", ""}}, `gatehouse_protect.scopes[1]: must be a scope`},
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

// TestValidateCaddyfileValues: the value checks that the Caddyfile adapter made until the
// configuration had one validator. The adapter now accepts these (they are syntactically
// right) and loading refuses them, with the option's JSON path instead of a line — the same
// check, with the same words, as for a JSON configuration. Security rows: AS-01/AS-02 (no
// user information, cleartext or javascript: redirect URIs), OC-18 (no fragment), JW-14
// (issuer exactness), JW-22 (no short client secret, no secret_hash that verifies nothing),
// AS-09/AS-12/AS-13 (PKCE for public clients, no implicit or password grant), JW-01/JW-02,
// PX-05 (header templates only use identity values), no clear-text SMTP or webhook.
func TestValidateCaddyfileValues(t *testing.T) {
	global := func(body string) string {
		return "{\n\tgatehouse {\n" + body + "\t}\n}\n"
	}
	const issuer = "\t\tissuer https://login.example.com\n"
	site := func(body string) string {
		return global(issuer) + "\napp.example.com {\n" + body + "\treverse_proxy localhost:3000\n}\n"
	}
	client := func(opts string) string {
		return global(issuer + "\t\tclient web {\n" + opts + "\t\t}\n")
	}
	const cb = "\t\t\tredirect_uri https://app.example.com/cb\n"
	sender := func(body string) string { return global(issuer + body) }
	const protect = "apps.http.servers.srv0.routes[0].handle[0].routes[0].handle[0]"
	tests := []struct{ name, src, want string }{
		{"missing issuer", global("\t\tsignup open\n"), "gatehouse.issuer: is required"},
		{"issuer trailing slash (JW-14)", global("\t\tissuer https://login.example.com/\n"), "gatehouse.issuer: must not end with a slash"},
		{"issuer http non-loopback", global("\t\tissuer http://login.example.com\n"), "gatehouse.issuer: must use https"},
		{"issuer with query", global("\t\tissuer https://login.example.com?x=1\n"), "gatehouse.issuer: must not have a query or fragment"},
		{"issuer relative", global("\t\tissuer login.example.com\n"), "gatehouse.issuer: must be an absolute URL"},
		{"bad signup mode", global(issuer + "\t\tsignup sometimes\n"), `gatehouse.signup: must be one of open, closed, invite, got "sometimes"`},
		{"unsupported locale", global(issuer + "\t\tlocale pt-BR\n"), `gatehouse.locale: must be one of en, de, fr, es, got "pt-BR"`},
		{"unknown login method", global(issuer + "\t\tlogin password carrier_pigeon\n"), `gatehouse.login[1]: must be one of password, passkey, email_code, magic_link, sms_code, got "carrier_pigeon"`},
		{"social twice", global(issuer + "\t\tsocial google {\n\t\t}\n\t\tsocial google {\n\t\t}\n"), `gatehouse.social[1]: must have a name of its own (provider names are unique), got "google" again`},
		{"code lifetime above 10 minutes", global(issuer + "\t\ttokens {\n\t\t\tcode_lifetime 1h\n\t\t}\n"), "gatehouse.tokens.code_lifetime: must be at most 10m (RFC 6749 §4.1.2), got 1h"},
		{"access token lifetime above 24 hours", global(issuer + "\t\ttokens {\n\t\t\taccess_token_lifetime 48h\n\t\t}\n"), "gatehouse.tokens.access_token_lifetime: must be at most 24h"},
		{"keys rotate_every below 1 hour", global(issuer + "\t\tkeys {\n\t\t\trotate_every 30m\n\t\t}\n"), "gatehouse.keys.rotate_every: must be at least 1h, got 30m"},
		{"tokens alg HS256 (JW-02)", global(issuer + "\t\ttokens {\n\t\t\taccess_token_alg HS256\n\t\t}\n"), `gatehouse.tokens.access_token_alg: must be one of RS256, ES256, EdDSA, got "HS256"`},
		{"tokens alg none (JW-01)", global(issuer + "\t\ttokens {\n\t\t\tid_token_alg none\n\t\t}\n"), `gatehouse.tokens.id_token_alg: must be one of RS256, ES256, EdDSA, got "none"`},
		{"malformed redirect_uri", client("\t\t\tredirect_uri https://app.example.com/%zz\n"), "gatehouse.clients[web].redirect_uris[0]: not a valid URL"},
		{"redirect_uri with fragment (OC-18)", client("\t\t\tredirect_uri https://app.example.com/cb#frag\n"), "gatehouse.clients[web].redirect_uris[0]: must not contain a fragment"},
		{"redirect_uri cleartext (AS-02)", client("\t\t\tredirect_uri http://example.com/cb\n"), "gatehouse.clients[web].redirect_uris[0]: plain http is only allowed for loopback hosts"},
		{"redirect_uri javascript (AS-02)", client("\t\t\tredirect_uri javascript:alert(1)\n"), `gatehouse.clients[web].redirect_uris[0]: scheme "javascript" is not allowed`},
		{"redirect_uri JavaScript mixed case (AS-02)", client("\t\t\tredirect_uri JaVaScRiPt://x/%0aalert(1)\n"), "gatehouse.clients[web].redirect_uris[0]: "},
		{"redirect_uri relative", client("\t\t\tredirect_uri /callback\n"), "gatehouse.clients[web].redirect_uris[0]: must be an absolute URL"},
		{"redirect_uri userinfo (AS-01)", client("\t\t\tredirect_uri https://app.example.com@evil.example/cb\n"), "gatehouse.clients[web].redirect_uris[0]: must not contain user information"},
		{"post_logout_redirect_uri cleartext", client(cb + "\t\t\tpost_logout_redirect_uri http://app.example.com/\n"), "gatehouse.clients[web].post_logout_redirect_uris[0]: plain http"},
		{"short client secret (JW-22)", client(cb + "\t\t\tsecret hunter2\n"), "gatehouse.clients[web].secret: must be at least 16 characters"},
		{"malformed secret_hash", client(cb + "\t\t\tsecret_hash 5f4dcc3b5aa765d61d8327deb882cf99\n"), "gatehouse.clients[web].secret_hash: not a client secret hash: expected $sha256$<salt>$<digest> as printed by `gatehouse hash-secret`"},
		{"secret_hash of the wrong kind", client(cb + "\t\t\tsecret_hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA\n"), "gatehouse.clients[web].secret_hash: not a client secret hash"},
		{"secret and secret_hash", client(cb + "\t\t\tsecret {env.WEB_SECRET}\n\t\t\tsecret_hash $sha256$rBp2Kwwaa69TwdOKTPcCrg$EtOW7JMCA+bUymwfUuzbsvKCX3eTu1EsYsoqRqhvvE0\n"), "gatehouse.clients[web]: must have secret or secret_hash, not both"},
		{"bad pkce", client(cb + "\t\t\tpkce sometimes\n"), `gatehouse.clients[web].pkce: must be one of required, optional, got "sometimes"`},
		{"public client pkce optional (AS-09)", client(cb + "\t\t\tpkce optional\n"), "gatehouse.clients[web].pkce: must be required for a public client (no secret), got optional"},
		{"unsupported grant type (AS-13)", client(cb + "\t\t\tgrant_types password\n"), `gatehouse.clients[web].grant_types[0]: must be one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (or device_code), got "password"`},
		{"implicit grant (AS-12)", client(cb + "\t\t\tgrant_types implicit\n"), `gatehouse.clients[web].grant_types[0]: must be one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (or device_code), got "implicit"`},
		{"client without redirect_uri", client("\t\t\tname Web\n"), "gatehouse.clients[web].redirect_uris: must list at least one URI"},
		{"client bad id", global(issuer + "\t\tclient \"web app\" {\n" + cb + "\t\t}\n"), `gatehouse.clients[0].id: must be 1-128 characters among letters, digits and . _ - : @, got "web app"`},
		{"client defined twice", global(issuer + "\t\tclient web {\n" + cb + "\t\t}\n\t\tclient web {\n" + cb + "\t\t}\n"), `gatehouse.clients[1]: must have an ID of its own (client IDs are unique), got "web" again (first at clients[0])`},
		{"client bad scope", client(cb + "\t\t\tscopes openid \"a\\\\b\"\n"), `gatehouse.clients[web].scopes[1]: must be 1-128 printable ASCII characters`},
		{"client access token above 24 hours", client(cb + "\t\t\taccess_token_lifetime 25h\n"), "gatehouse.clients[web].access_token_lifetime: must be at most 24h"},
		{"client id_token_alg", client(cb + "\t\t\tid_token_alg HS256\n"), `gatehouse.clients[web].id_token_alg: must be one of RS256, ES256, EdDSA, got "HS256"`},
		{"client resource", client(cb + "\t\t\tresource api\n"), "gatehouse.clients[web].resources[0]: must be an absolute URI"},
		{"client backchannel cleartext", client(cb + "\t\t\tbackchannel_logout_uri http://app.example.com/bc\n"), "gatehouse.clients[web].backchannel_logout_uri: must be an https URL"},
		{"allowed origin with a path", client(cb + "\t\t\tallowed_origins https://app.example.com/\n"), `gatehouse.clients[web].allowed_origins[0]: must be an origin such as https://app.example.com: no path`},
		{"allowed origin cleartext", client(cb + "\t\t\tallowed_origins http://app.example.com\n"), "gatehouse.clients[web].allowed_origins[0]: plain http is only allowed for loopback hosts"},
		{"allowed origin wildcard", client(cb + "\t\t\tallowed_origins *\n"), "gatehouse.clients[web].allowed_origins[0]: must be an origin"},
		{"allowed origins of a confidential client", client(cb + "\t\t\tsecret {env.WEB_SECRET}\n\t\t\tallowed_origins https://app.example.com\n"), "gatehouse.clients[web].allowed_origins: must be empty for a confidential client"},
		{"protect header unknown placeholder (PX-05)", site("\tgatehouse_protect {\n\t\theader X-Nope {gatehouse.user.nope}\n\t}\n"), protect + ".headers[X-Nope]: must use only the gatehouse.* identity placeholders"},
		{"protect header request placeholder", site("\tgatehouse_protect {\n\t\theader X-Host {http.request.host}\n\t}\n"), protect + ".headers[X-Host]: must use only the gatehouse.* identity placeholders"},
		{"protect header bad name", site("\tgatehouse_protect {\n\t\theader \"X User\" {gatehouse.user.id}\n\t}\n"), protect + `.headers[X User]: must be a header name of letters, digits and '-', got "X User"`},
		{"bad cookie_name", site("\tgatehouse_protect {\n\t\tcookie_name \"a;b\"\n\t}\n"), protect + `.cookie_name: must be letters, digits, '_' and '-', got "a;b"`},
		{"smtp port out of range", sender("\t\temail smtp mail.example.com:99999 {\n\t\t\tfrom no-reply@example.com\n\t\t}\n"), "gatehouse.email.sender.port: port 99999 is not a TCP port"},
		{"smtp unknown tls mode", sender("\t\temail smtp mail.example.com {\n\t\t\tfrom no-reply@example.com\n\t\t\ttls opportunistic\n\t\t}\n"), `gatehouse.email.sender.tls: tls "opportunistic": use starttls, implicit or none`},
		{"smtp tls none to a remote host", sender("\t\temail smtp mail.example.com {\n\t\t\tfrom no-reply@example.com\n\t\t\ttls none\n\t\t}\n"), "gatehouse.email.sender.tls: tls none is only allowed for a loopback host"},
		{"smtp missing from", sender("\t\temail smtp mail.example.com {\n\t\t\tusername apikey\n\t\t}\n"), "gatehouse.email.sender.from: from is required"},
		{"smtp bad from", sender("\t\temail smtp mail.example.com {\n\t\t\tfrom \"Acme no-reply\"\n\t\t}\n"), "gatehouse.email.sender.from: from \"Acme no-reply\" is not an email address"},
		{"smtp password without username", sender("\t\temail smtp mail.example.com {\n\t\t\tfrom no-reply@example.com\n\t\t\tpassword {env.GH_TEST_SMTP_PW}\n\t\t}\n"), "gatehouse.email.sender.username: username is required when a password is set"},
		{"twilio missing account_sid", sender("\t\tsms twilio {\n\t\t\tauth_token {env.GH_TEST_SMTP_PW}\n\t\t\tfrom +15550100\n\t\t}\n"), "gatehouse.sms.sender.account_sid: account_sid is required"},
		{"twilio missing from", sender("\t\tsms twilio {\n\t\t\taccount_sid AC123\n\t\t\tauth_token {env.GH_TEST_SMTP_PW}\n\t\t}\n"), "gatehouse.sms.sender.from: from or messaging_service_sid is required"},
		{"twilio from and messaging service", sender("\t\tsms twilio {\n\t\t\taccount_sid AC123\n\t\t\tauth_token {env.GH_TEST_SMTP_PW}\n\t\t\tfrom +15550100\n\t\t\tmessaging_service_sid MG1\n\t\t}\n"), "gatehouse.sms.sender.from: from and messaging_service_sid exclude each other"},
		{"twilio bad from", sender("\t\tsms twilio {\n\t\t\taccount_sid AC123\n\t\t\tauth_token {env.GH_TEST_SMTP_PW}\n\t\t\tfrom 555-0100\n\t\t}\n"), `gatehouse.sms.sender.from: from "555-0100" must be a phone number in E.164 form`},
		{"twilio http base_url", sender("\t\tsms twilio {\n\t\t\taccount_sid AC123\n\t\t\tauth_token {env.GH_TEST_SMTP_PW}\n\t\t\tfrom +15550100\n\t\t\tbase_url http://twilio.example.com\n\t\t}\n"), "gatehouse.sms.sender.base_url: base_url \"http://twilio.example.com\" must use https"},
		{"webhook http to a remote host", sender("\t\tsms webhook http://sms.example.com/send {\n\t\t\tsecret {env.GH_TEST_WEBHOOK_SECRET}\n\t\t}\n"), "gatehouse.sms.sender.url: url \"http://sms.example.com/send\" must use https"},
		{"webhook short secret", sender("\t\tsms webhook https://sms.example.com/send {\n\t\t\tsecret {env.GH_TEST_SMTP_PW}\n\t\t}\n"), "gatehouse.sms.sender.secret: secret must be at least 32 bytes"},
		{"webhook missing secret", sender("\t\tsms webhook https://sms.example.com/send {\n\t\t\ttimeout 5s\n\t\t}\n"), "gatehouse.sms.sender.secret: secret is required"},
		{"branding bad colour", sender("\t\tbranding {\n\t\t\tcolor \"red;background:url(x)\"\n\t\t}\n"), `gatehouse.branding.color: must be a hex colour such as #0a84ff (it goes into inline CSS), got "#red;background:url(x)"`},
		{"branding http logo", sender("\t\tbranding {\n\t\t\tlogo_url http://cdn.example.com/logo.png\n\t\t}\n"), `gatehouse.branding.logo_url: must use https (plain http only on a loopback host), got "http://cdn.example.com/logo.png"`},
	}
	t.Setenv("GH_TEST_SMTP_PW", "pa55word")
	t.Setenv("GH_TEST_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := adapt(t, tt.src)
			if err != nil {
				t.Fatalf("the adapter refused a syntactically right Caddyfile (it checks syntax only): %v\n%s", err, tt.src)
			}
			_, err = module.ValidateJSON(out)
			if err == nil {
				t.Fatalf("validation accepted it; want an error starting %q\n%s", tt.want, out)
			}
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				found = found || strings.HasPrefix(line, tt.want)
			}
			if !found {
				t.Fatalf("errors:\n%v\nwant one starting %q", err, tt.want)
			}
		})
	}
}

// TestProtectDefaultsRefuse: a gatehouse_protect with neither a client nor an audience would
// accept an access token issued to any client (JW-13, AS-25): it loads only when the app has
// exactly one client, which then is the audience; with several clients, or none (clients
// registered through the admin API only), the configuration is refused with the options to
// set named. An audience alone (an API route) loads whatever the clients.
func TestProtectDefaultsRefuse(t *testing.T) {
	client := func(id string) string {
		return "client " + id + " {\nredirect_uri https://app.example.com/.gatehouse/callback\n}\n"
	}
	tests := []struct {
		name, clients, protect string
		want                   []string // nil: loads
	}{
		{"one client, no options", client("web"), "scope read", nil},
		{"one client named", client("web"), "client web", nil},
		{"several clients, no client, no audience", client("web") + client("cli"), "scope read",
			[]string{"gatehouse_protect", "several clients (cli, web)", "client <id>", "audience <client ID"}},
		{"no client at all, no audience", "", "scope read",
			[]string{"gatehouse_protect", "any client", "audience <client ID", "client <id>"}},
		{"several clients, an audience", client("web") + client("cli"), "audience https://api.example.com", nil},
		{"no client at all, an audience", "", "audience https://api.example.com", nil},
		{"several clients, one chosen", client("web") + client("cli"), "client cli", nil},
		{"unknown client", client("web"), "client nope", []string{"gatehouse_protect.client", `"nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n" + tt.clients + "\t}\n}\n" +
				"https://app.example.com {\n\tgatehouse_protect {\n\t\t" + tt.protect + "\n\t}\n\trespond ok\n}\n"
			out, _, err := adapt(t, src)
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var cfg map[string]any
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			apps := cfg["apps"].(map[string]any)
			apps["gatehouse"].(map[string]any)["storage"] = map[string]string{"module": "badger", "path": filepath.Join(t.TempDir(), "db")}
			delete(apps, "tls") // no certificate management in a unit test
			cfg["admin"] = map[string]any{"disabled": true}
			full, _ := json.Marshal(cfg)
			err = validateJSON(t, full)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded; want a refusal")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
