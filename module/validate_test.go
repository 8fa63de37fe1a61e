package module_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/module"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// check validates a whole Caddy JSON configuration and returns its errors and warnings as
// "path: message" lines, in the validator's order.
func check(t *testing.T, cfg string) (errs, warns []string) {
	t.Helper()
	warnings, err := module.ValidateJSON([]byte(cfg))
	for _, w := range warnings {
		warns = append(warns, w.Error())
	}
	var j interface{ Unwrap() []error }
	switch {
	case err == nil:
	case errors.As(err, &j):
		for _, e := range j.Unwrap() {
			var p module.Problem
			if !errors.As(e, &p) {
				t.Fatalf("error %T is not a module.Problem: %v", e, e)
			}
			errs = append(errs, e.Error())
		}
	default:
		t.Fatalf("ValidateJSON: %v", err)
	}
	return errs, warns
}

// checkApp validates the gatehouse app's JSON.
func checkApp(t *testing.T, app string) (errs, warns []string) {
	t.Helper()
	return check(t, `{"apps":{"gatehouse":`+app+`}}`)
}

// containsLine tells whether one of lines starts with prefix.
func containsLine(lines []string, prefix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// TestValidateReportsEveryProblemInStableOrder: a configuration with many mistakes gets
// every one of them at once, each naming its option path, the allowed and the given value,
// sorted by path (list indexes as numbers) — the same list on every run, whatever the order
// of Go's map iteration (STYLE.md §9.15). Security-relevant rows: JW-01/JW-02 (no none or
// HMAC algorithm), AS-02 (no cleartext redirect URI), AS-09 (no public client without PKCE),
// JW-22 (an unset secret variable does not make a client public), RFC 6749 §4.1.2.
func TestValidateReportsEveryProblemInStableOrder(t *testing.T) {
	const cfg = `{"apps":{"gatehouse":{
		"issuer":"https://192.0.2.10","signup":"sometimes","login":["password","carrier_pigeon","passkey","sms_code"],
		"tokens":{"code_lifetime":"1h","access_token_alg":"HS256","id_token_alg":"none","refresh_token_idle":-1,"access_token_lifetime":"2h"},
		"lockout":{"account_max_failures":-3,"window":"-1m"},
		"keys":{"rotate_every":"30m"},
		"clients":[
			{"id":"web","redirect_uris":["http://app.example.com/cb","https://app.example.com/cb#x"],"pkce":"optional"},
			{"id":"web","secret":"{env.GH_TEST_UNSET_CLIENT_SECRET}","redirect_uris":["https://app.example.com/cb"]},
			{"id":"api","secret":"{env.GH_TEST_API_SECRET}","grant_types":["client_credentials","password"],"pkce":"optional","scopes":["a\\b"]},
			{"id":"bad id","redirect_uris":["https://app.example.com/cb"]}
		],
		"social":[
			{"name":"google","client_id":"a"},
			{"name":"corp","client_id":"a","client_secret":"{env.GH_TEST_API_SECRET}","onboarding":true}
		],
		"social_limits":{"window":"10s"},
		"sms":{"allowed_prefixes":["+44","44"]},
		"branding":{"color":"red"}
	},
	"http":{"servers":{"srv0":{"routes":[{"handle":[
		{"handler":"gatehouse_sanitize","insecure_allow_noncanonical_paths":true},
		{"handler":"gatehouse_protect","headers":{"X User":"{gatehouse.user.id}","X-Host":"{http.request.host}"},"cache_size":-1}
	]}]}}}}}`
	t.Setenv("GH_TEST_API_SECRET", "0123456789abcdef-api")
	wantErrs := []string{
		"apps.http.servers.srv0.routes[0].handle[1]: no client and no audience, and the gatehouse app has several clients (api, bad id, web): " +
			"set `client <id>` (browsers log in through it, and only its tokens are accepted) or `audience <client ID or resource URI>` " +
			"(only tokens for that audience are accepted; browsers get 401)",
		`apps.http.servers.srv0.routes[0].handle[1].cache_size: must be a positive whole number (or left out for the default), got -1`,
		`apps.http.servers.srv0.routes[0].handle[1].headers[X User]: must be a header name of letters, digits and '-', got "X User"`,
		`apps.http.servers.srv0.routes[0].handle[1].headers[X-Host]: must use only the gatehouse.* identity placeholders (gatehouse.user.id, .email, .name, .groups, ...; for other values add a request_header directive after gatehouse_protect), got {http.request.host}`,
		`gatehouse.branding.color: must be a hex colour such as #0a84ff (it goes into inline CSS), got "red"`,
		`gatehouse.clients[1]: must have an ID of its own (client IDs are unique), got "web" again (first at clients[0])`,
		`gatehouse.clients[1].secret: must resolve to a value, got nothing from {env.GH_TEST_UNSET_CLIENT_SECRET}: set the environment variable or create the file it names`,
		`gatehouse.clients[3].id: must be 1-128 characters among letters, digits and . _ - : @, got "bad id"`,
		`gatehouse.clients[api].grant_types[1]: must be one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (or device_code), got "password"`,
		`gatehouse.clients[api].scopes[0]: must be 1-128 printable ASCII characters without spaces, quotes or backslashes (RFC 6749 §3.3), got "a\\b"`,
		`gatehouse.clients[web].pkce: must be required for a public client (no secret), got optional`,
		`gatehouse.clients[web].redirect_uris[0]: plain http is only allowed for loopback hosts (127.0.0.1, [::1], localhost); use https, got "http://app.example.com/cb"`,
		`gatehouse.clients[web].redirect_uris[1]: must not contain a fragment (#...), got "https://app.example.com/cb#x"`,
		`gatehouse.keys.rotate_every: must be at least 1h, got 30m`,
		`gatehouse.lockout.account_max_failures: must be a positive whole number (or left out for the default), got -3`,
		`gatehouse.lockout.window: must be a positive duration (or left out for the default), got -1m`,
		`gatehouse.login[1]: must be one of password, passkey, email_code, magic_link, sms_code, got "carrier_pigeon"`,
		`gatehouse.login[3]: sms_code sends text messages: must have an SMS sender (sms.sender twilio or webhook), got none`,
		`gatehouse.signup: must be one of open, closed, invite, got "sometimes"`,
		`gatehouse.sms.allowed_prefixes[1]: must be + and 1 to 6 digits of an E.164 prefix (+1, +44, +4930), got "44"`,
		`gatehouse.social[corp].issuer: is required for preset oidc: the provider's OpenID issuer URL, such as https://sso.example.com`,
		`gatehouse.social[google].client_secret: is required: the client secret registered at the provider`,
		`gatehouse.social_limits.window: must be at least 1m, got 10s`,
		`gatehouse.tokens.access_token_alg: must be one of RS256, ES256, EdDSA, got "HS256"`,
		`gatehouse.tokens.code_lifetime: must be at most 10m (RFC 6749 §4.1.2), got 1h`,
		`gatehouse.tokens.id_token_alg: must be one of RS256, ES256, EdDSA, got "none"`,
		`gatehouse.tokens.refresh_token_idle: must be a positive duration (or left out for the default), got -1ns`,
	}
	wantWarns := []string{
		`apps.http.servers.srv0.routes[0].handle[0].insecure_allow_noncanonical_paths: is set: paths with dot segments, encoded slashes or path parameters reach the upstream, which may read them as another path than a policy judged`,
		`gatehouse.clients[api].pkce: is optional: a stolen authorization code can be redeemed without the verifier (RFC 9700 §2.1.1 recommends PKCE for every client)`,
		`gatehouse.passkeys: are off: the issuer's host 192.0.2.10 is an IP address and WebAuthn needs a domain name; use a host name (localhost works)`,
		`gatehouse.tokens.access_token_lifetime: is 2h: APIs that verify access tokens themselves accept a stolen one that long, whatever a logout revokes; keep it at 1h or less`,
	}
	for run := range 20 {
		errs, warns := check(t, cfg)
		if d := diffLines(errs, wantErrs); d != "" {
			t.Fatalf("run %d: errors differ:\n%s", run, d)
		}
		if d := diffLines(warns, wantWarns); d != "" {
			t.Fatalf("run %d: warnings differ:\n%s", run, d)
		}
	}
}

func diffLines(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := " "
		if g != w {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s got  %s\n%s want %s\n", mark, g, mark, w)
	}
	return b.String()
}

// TestValidateEveryOption: each option's rule, one mistake at a time, reported at the
// option's path. The JSON needs no Caddyfile in front of it to get these checks.
func TestValidateEveryOption(t *testing.T) {
	t.Setenv("GH_TEST_HTTP_ISSUER", "http://login.example.com")
	t.Setenv("GH_TEST_SHORT_SECRET", "short")
	const cb = `"redirect_uris":["https://app.example.com/cb"]`
	client := func(opts string) string {
		return `"clients":[{"id":"web",` + cb + `,` + opts + `}]`
	}
	social := func(opts string) string { return `"social":[{` + opts + `}]` }
	hash := secret.HashClientSecret("0123456789abcdef-hashed")
	tests := []struct{ name, cfg, want string }{
		{"issuer missing", `"signup":"open"`, "gatehouse.issuer: is required"},
		{"issuer trailing slash (JW-14)", `"issuer":"https://login.example.com/"`, `gatehouse.issuer: must not end with a slash, got "https://login.example.com/"`},
		{"issuer cleartext", `"issuer":"http://login.example.com"`, "gatehouse.issuer: must use https"},
		{"issuer query", `"issuer":"https://login.example.com?x=1"`, "gatehouse.issuer: must not have a query"},
		{"issuer relative", `"issuer":"login.example.com"`, "gatehouse.issuer: must be an absolute URL"},
		{"issuer placeholder unset", `"issuer":"{env.GH_TEST_UNSET_ISSUER}"`, "gatehouse.issuer: must resolve to a value, got nothing from {env.GH_TEST_UNSET_ISSUER}"},
		{"issuer placeholder resolved (JW-14)", `"issuer":"{env.GH_TEST_HTTP_ISSUER}"`, `gatehouse.issuer: must use https (plain http is only allowed on localhost), got "http://login.example.com"`},
		{"storage module", `"storage":{"module":"redis"}`, `gatehouse.storage.module: must be one of badger, postgres, got "redis"`},
		{"storage option", `"storage":{"module":"badger","dir":"/var/lib/x"}`, `gatehouse.storage: must hold the options of the badger storage only, got json: unknown field "dir"`},
		{"signup", `"signup":"sometimes"`, `gatehouse.signup: must be one of open, closed, invite, got "sometimes"`},
		{"locale unsupported", `"locale":"it"`, `gatehouse.locale: must be one of en, de, fr, es, got "it"`},
		{"login unknown", `"login":["password","sms"]`, `gatehouse.login[1]: must be one of password, passkey, email_code, magic_link, sms_code, got "sms"`},
		{"login without password", `"login":["passkey"]`, "gatehouse.login: must include password"},
		{"email method without sender", `"login":["password","email_code"]`, "gatehouse.login[1]: email_code sends email: must have an email sender"},
		{"magic link without sender", `"login":["password","magic_link"]`, "gatehouse.login[1]: magic_link sends email"},
		{"sms method without sender", `"login":["password","sms_code"]`, "gatehouse.login[1]: sms_code sends text messages"},
		{"client id", `"clients":[{"id":"web app",` + cb + `}]`, `gatehouse.clients[0].id: must be 1-128 characters`},
		{"client twice", `"clients":[{"id":"web",` + cb + `},{"id":"web",` + cb + `}]`, `gatehouse.clients[1]: must have an ID of its own (client IDs are unique), got "web" again (first at clients[0])`},
		{"client secret short (JW-22)", client(`"secret":"hunter2"`), "gatehouse.clients[web].secret: must be at least 16 characters (generate one with `openssl rand -base64 32`), got 7"},
		{"client secret from the environment short (JW-22)", client(`"secret":"{env.GH_TEST_SHORT_SECRET}"`), "gatehouse.clients[web].secret: must be at least 16 characters"},
		{"client secret unset (AS-09)", client(`"secret":"{env.GH_TEST_UNSET_SECRET}"`), "gatehouse.clients[web].secret: must resolve to a value, got nothing from {env.GH_TEST_UNSET_SECRET}"},
		{"client secret and hash", client(`"secret":"0123456789abcdef0","secret_hash":"` + hash + `"`), "gatehouse.clients[web]: must have secret or secret_hash, not both, got both"},
		{"client secret_hash malformed", client(`"secret_hash":"5f4dcc3b5aa765d61d8327deb882cf99"`), "gatehouse.clients[web].secret_hash: not a client secret hash: expected $sha256$<salt>$<digest> as printed by `gatehouse hash-secret`, got a value of 32 characters"},
		{"client without redirect_uri", `"clients":[{"id":"web"}]`, "gatehouse.clients[web].redirect_uris: must list at least one URI for the authorization_code grant, got none"},
		{"redirect_uri cleartext (AS-02)", `"clients":[{"id":"web","redirect_uris":["http://example.com/cb"]}]`, "gatehouse.clients[web].redirect_uris[0]: plain http is only allowed for loopback hosts"},
		{"redirect_uri fragment (OC-18)", `"clients":[{"id":"web","redirect_uris":["https://a.example.com/cb#f"]}]`, "gatehouse.clients[web].redirect_uris[0]: must not contain a fragment"},
		{"redirect_uri javascript (AS-02)", `"clients":[{"id":"web","redirect_uris":["JaVaScRiPt:alert(1)"]}]`, `gatehouse.clients[web].redirect_uris[0]: scheme "javascript" is not allowed, got "JaVaScRiPt:alert(1)"`},
		{"redirect_uri relative", `"clients":[{"id":"web","redirect_uris":["/cb"]}]`, "gatehouse.clients[web].redirect_uris[0]: must be an absolute URL"},
		{"redirect_uri userinfo (AS-01)", `"clients":[{"id":"web","redirect_uris":["https://a.example.com@evil.example/cb"]}]`, "gatehouse.clients[web].redirect_uris[0]: must not contain user information"},
		{"post_logout_redirect_uri cleartext", client(`"post_logout_redirect_uris":["http://app.example.com/"]`), "gatehouse.clients[web].post_logout_redirect_uris[0]: plain http"},
		{"client scope", client(`"scopes":["openid","a b"]`), `gatehouse.clients[web].scopes[1]: must be 1-128 printable ASCII characters`},
		{"grant type implicit (AS-12)", client(`"grant_types":["implicit"]`), `gatehouse.clients[web].grant_types[0]: must be one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (or device_code), got "implicit"`},
		{"client_credentials for a public client", client(`"grant_types":["client_credentials"]`), "gatehouse.clients[web].grant_types[0]: client_credentials must have a confidential client"},
		{"pkce value", client(`"pkce":"sometimes"`), `gatehouse.clients[web].pkce: must be one of required, optional, got "sometimes"`},
		{"consent value", client(`"consent":"always"`), `gatehouse.clients[web].consent: must be one of required, none, got "always"`},
		{"client approval way", client(`"approval":{"allow":["sms"]}`), `gatehouse.clients[web].approval.allow[0]: must be one of otp, got "sms"`},
		{"approval way", `"approval":{"allow":["password"]}`, `gatehouse.approval.allow[0]: must be one of otp, got "password"`},
		{"par lifetime long (RFC 9126 §2.2)", `"par":{"lifetime":"1h"}`, "gatehouse.par.lifetime: must be at most 10m"},
		{"par lifetime short", `"par":{"lifetime":"1s"}`, "gatehouse.par.lifetime: must be at least 5s"},
		{"pkce optional public (AS-09)", client(`"pkce":"optional"`), "gatehouse.clients[web].pkce: must be required for a public client"},
		{"client access token lifetime", client(`"access_token_lifetime":"48h"`), "gatehouse.clients[web].access_token_lifetime: must be at most 24h (use refresh tokens for long sessions), got 48h"},
		{"client negative lifetime", client(`"refresh_token_idle":"-1h"`), "gatehouse.clients[web].refresh_token_idle: must be a positive duration"},
		{"registration without mode", `"registration":{}`, "gatehouse.registration.mode: must be approval or open, got nothing"},
		{"registration mode", `"registration":{"mode":"always"}`, `gatehouse.registration.mode: must be one of approval, open, got "always"`},
		// RFC 7591 §3: an open endpoint is protected by an initial access token unless the
		// operator says explicitly that anyone may register.
		{"registration open without token", `"registration":{"mode":"open"}`, "gatehouse.registration.initial_access_token: is required in open mode"},
		{"registration token short", `"registration":{"mode":"open","initial_access_token":"{env.GH_TEST_SHORT_SECRET}"}`, "gatehouse.registration.initial_access_token: must be at least 32 characters"},
		{"registration token unset", `"registration":{"mode":"approval","initial_access_token":"{env.GH_TEST_UNSET_IAT}"}`, "gatehouse.registration.initial_access_token: must resolve to a value"},
		{"registration token and none", `"registration":{"mode":"open","initial_access_token":"{env.GH_TEST_SHORT_SECRET}","no_initial_access_token":true}`, "gatehouse.registration: must have initial_access_token or no_initial_access_token, not both"},
		{"client id_token_alg (JW-01)", client(`"id_token_alg":"none"`), `gatehouse.clients[web].id_token_alg: must be one of RS256, ES256, EdDSA, got "none"`},
		{"client access_token_alg (JW-02)", client(`"access_token_alg":"HS256"`), `gatehouse.clients[web].access_token_alg: must be one of RS256, ES256, EdDSA, got "HS256"`},
		{"client resource", client(`"resources":["api"]`), `gatehouse.clients[web].resources[0]: must be an absolute URI without fragment`},
		{"client backchannel cleartext", client(`"backchannel_logout_uri":"http://app.example.com/bc"`), "gatehouse.clients[web].backchannel_logout_uri: must be an https URL"},
		{"tokens code lifetime", `"tokens":{"code_lifetime":"11m"}`, "gatehouse.tokens.code_lifetime: must be at most 10m (RFC 6749 §4.1.2), got 11m"},
		{"tokens access lifetime", `"tokens":{"access_token_lifetime":"25h"}`, "gatehouse.tokens.access_token_lifetime: must be at most 24h"},
		{"tokens leeway", `"tokens":{"leeway":"10m"}`, "gatehouse.tokens.leeway: must be at most 5m, got 10m"},
		{"tokens negative", `"tokens":{"id_token_lifetime":"-5m"}`, "gatehouse.tokens.id_token_lifetime: must be a positive duration (or left out for the default), got -5m"},
		{"tokens alg (JW-02)", `"tokens":{"id_token_alg":"HS256"}`, `gatehouse.tokens.id_token_alg: must be one of RS256, ES256, EdDSA, got "HS256"`},
		{"sessions negative", `"sessions":{"idle":"-1h"}`, "gatehouse.sessions.idle: must be a positive duration"},
		{"lockout negative", `"lockout":{"ip_max_failures":-1}`, "gatehouse.lockout.ip_max_failures: must be a positive whole number"},
		{"keys rotate too often", `"keys":{"rotate_every":"10m"}`, "gatehouse.keys.rotate_every: must be at least 1h, got 10m"},
		{"account editable email", `"account":{"editable_fields":["fname","email"]}`, `gatehouse.account.editable_fields[1]: "email" cannot be edited by users: addresses and phone numbers change only through verification`},
		{"account editable unknown", `"account":{"editable_fields":["nickname"]}`, `gatehouse.account.editable_fields[0]: unknown field "nickname" (fields: fname, mname, lname, username, birthday, picture)`},
		{"account editable twice", `"account":{"editable_fields":["fname","fname"]}`, `gatehouse.account.editable_fields[1]: lists "fname" again (first at editable_fields[0])`},
		{"passkeys rp_id foreign", `"passkeys":{"rp_id":"evil.example"}`, `gatehouse.passkeys.rp_id: must be the issuer's host "login.example.com" or a parent domain of it, got "evil.example"`},
		{"passkeys rp_id IP", `"passkeys":{"rp_id":"192.0.2.1"}`, "gatehouse.passkeys.rp_id: must be a bare domain name"},
		{"passkeys origin path", `"passkeys":{"origins":["https://login.example.com/portal"]}`, "gatehouse.passkeys.origins[0]: must be an origin such as https://login.example.com (no path)"},
		{"passkeys origin http", `"passkeys":{"origins":["http://login.example.com"]}`, "gatehouse.passkeys.origins[0]: must use https"},
		{"passkeys origin elsewhere", `"passkeys":{"origins":["https://login.example.org"]}`, `gatehouse.passkeys.origins[0]: must be under the rp_id "login.example.com"`},
		{"social name", social(`"name":"Google!","preset":"google","client_id":"a","client_secret":"{env.GH_TEST_SHORT_SECRET}"`), `gatehouse.social[Google!].name: must be 1 to 32 lowercase letters`},
		{"social preset", social(`"name":"x","preset":"myspace","client_id":"a","client_secret":"b"`), `gatehouse.social[x].preset: must be one of google, microsoft, gitlab, apple, github, oidc, got "myspace"`},
		{"social twice", `"social":[{"name":"google","client_id":"a","client_secret":"b"},{"name":"google","client_id":"a","client_secret":"b"}]`, `gatehouse.social[1]: must have a name of its own (provider names are unique), got "google" again (first at social[0])`},
		{"social no client_id", social(`"name":"google","client_secret":"b"`), "gatehouse.social[google].client_id: is required"},
		{"social no secret", social(`"name":"google","client_id":"a"`), "gatehouse.social[google].client_secret: is required"},
		{"social secret unset", social(`"name":"google","client_id":"a","client_secret":"{env.GH_TEST_UNSET}"`), "gatehouse.social[google].client_secret: must resolve to a value, got nothing from {env.GH_TEST_UNSET}"},
		{"social oidc without issuer", social(`"name":"corp","client_id":"a","client_secret":"b"`), "gatehouse.social[corp].issuer: is required for preset oidc"},
		{"social cleartext issuer", social(`"name":"corp","issuer":"http://sso.example.com","client_id":"a","client_secret":"b"`), `gatehouse.social[corp].issuer: must use https (plain http only on a loopback host), got "http://sso.example.com"`},
		{"social github cleartext api", social(`"name":"github","client_id":"a","client_secret":"b","api_url":"http://api.github.example"`), `gatehouse.social[github].api_url: must use https (plain http only on a loopback host), got "http://api.github.example"`},
		{"social groups without claim", social(`"name":"google","client_id":"a","client_secret":"b","required_groups":["staff"]`), "gatehouse.social[google].groups_claim: is required by import_groups and required_groups"},
		{"social groups on github", social(`"name":"github","client_id":"a","client_secret":"b","groups_claim":"groups","import_groups":["staff"]`), "gatehouse.social[github].groups_claim: must be an OpenID provider's claim"},
		{"social bad import group", social(`"name":"google","client_id":"a","client_secret":"b","groups_claim":"g","import_groups":["a,b"]`), `gatehouse.social[google].import_groups[0]: must be 1-64 letters, digits and . _ : - (a Gatehouse group name), got "a,b"`},
		{"social allowed domain", social(`"name":"google","client_id":"a","client_secret":"b","allowed_domains":["@example.com"]`), `gatehouse.social[google].allowed_domains[0]: must be a bare domain such as example.com, got "@example.com"`},
		{"social apple key without team", social(`"name":"apple","client_id":"a","key_id":"K","private_key":"{env.GH_TEST_SHORT_SECRET}"`), "gatehouse.social[apple].private_key: must be Apple's .p8 key"},
		{"social apple team_id", social(`"name":"apple","client_id":"a","key_id":"K","private_key":"x"`), "gatehouse.social[apple].team_id: is required with private_key"},
		{"social_limits negative", `"social_limits":{"max_unfinished_per_ip":-1}`, "gatehouse.social_limits.max_unfinished_per_ip: must be a positive whole number"},
		{"social_limits window", `"social_limits":{"window":"48h"}`, "gatehouse.social_limits.window: must be at most 24h, got 48h"},
		{"email sender unknown", `"email":{"sender":{"sender":"sendgrid"}}`, `gatehouse.email.sender.sender: must be one of outbox, smtp, got "sendgrid"`},
		{"email sender unknown option", `"email":{"sender":{"sender":"smtp","host":"smtp.example.com","from":"a@example.com","starttls":true}}`, `gatehouse.email.sender: must hold the options of the smtp sender only, got json: unknown field "starttls"`},
		{"smtp tls none remote", `"email":{"sender":{"sender":"smtp","host":"smtp.example.com","from":"a@example.com","tls":"none"}}`, "gatehouse.email.sender.tls: tls none is only allowed for a loopback host"},
		{"smtp from missing", `"email":{"sender":{"sender":"smtp","host":"smtp.example.com"}}`, "gatehouse.email.sender.from: from is required"},
		{"smtp port", `"email":{"sender":{"sender":"smtp","host":"smtp.example.com","port":99999,"from":"a@example.com"}}`, "gatehouse.email.sender.port: port 99999 is not a TCP port"},
		{"smtp password unset", `"email":{"sender":{"sender":"smtp","host":"smtp.example.com","from":"a@example.com","username":"u","password":"{env.GH_TEST_UNSET_PW}"}}`, "gatehouse.email.sender.password: must resolve to a value, got nothing from {env.GH_TEST_UNSET_PW}"},
		{"smtp ca_file", `"email":{"sender":{"sender":"smtp","host":"smtp.example.com","from":"a@example.com","ca_file":"/nonexistent/ca.pem"}}`, `gatehouse.email.sender.ca_file: must be a PEM file of CA certificates, got "/nonexistent/ca.pem"`},
		{"twilio from", `"sms":{"sender":{"sender":"twilio","account_sid":"AC1","auth_token":"{env.GH_TEST_SHORT_SECRET}"}}`, "gatehouse.sms.sender.from: from or messaging_service_sid is required"},
		{"webhook secret", `"sms":{"sender":{"sender":"webhook","url":"https://sms.example.com/send","secret":"{env.GH_TEST_SHORT_SECRET}"}}`, "gatehouse.sms.sender.secret: secret must be at least 32 bytes"},
		{"webhook cleartext", `"sms":{"sender":{"sender":"webhook","url":"http://sms.example.com/send","secret":"0123456789abcdef0123456789abcdef"}}`, "gatehouse.sms.sender.url: url \"http://sms.example.com/send\" must use https"},
		{"sms prefix", `"sms":{"allowed_prefixes":["44"]}`, `gatehouse.sms.allowed_prefixes[0]: must be + and 1 to 6 digits of an E.164 prefix (+1, +44, +4930), got "44"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := `{"issuer":"https://login.example.com",` + tt.cfg + `}`
			if strings.HasPrefix(tt.cfg, `"issuer"`) || strings.HasPrefix(tt.name, "issuer") {
				app = `{` + tt.cfg + `}`
			}
			errs, _ := checkApp(t, app)
			if !containsLine(errs, tt.want) {
				t.Fatalf("errors:\n%s\nwant one starting %q", strings.Join(errs, "\n"), tt.want)
			}
			for _, e := range errs {
				if strings.Contains(e, "0123456789abcdef") {
					t.Errorf("an error shows a secret: %s", e)
				}
			}
		})
	}
}

// TestValidateProtectDefaults: JW-13, AS-25 — a gatehouse_protect with neither client nor
// audience would accept a token issued to any client unless the app has exactly one client
// (then the audience): the validator refuses it with several clients or none, naming the
// handler and the options to set; an audience or a client makes it explicit.
func TestValidateProtectDefaults(t *testing.T) {
	cfg := func(clients, h string) string {
		return `{"apps":{"gatehouse":{"issuer":"https://login.example.com","clients":[` + clients + `]},` +
			`"http":{"servers":{"srv0":{"routes":[{"handle":[` + h + `]}]}}}}}`
	}
	const web = `{"id":"web","redirect_uris":["https://app.example.com/.gatehouse/callback"]}`
	const cli = `{"id":"cli","redirect_uris":["https://app.example.com/cb"]}`
	const at = "apps.http.servers.srv0.routes[0].handle[0]: "
	for _, tt := range []struct{ name, clients, h, want string }{
		{"several clients", web + "," + cli, `{"handler":"gatehouse_protect","scopes":["read"]}`,
			at + "no client and no audience, and the gatehouse app has several clients (cli, web): set `client <id>`"},
		{"no client at all", "", `{"handler":"gatehouse_protect"}`,
			at + "no client and no audience would accept an access token issued to any client"},
		{"one client", web, `{"handler":"gatehouse_protect"}`, ""},
		{"several clients, a client", web + "," + cli, `{"handler":"gatehouse_protect","client":"cli"}`, ""},
		{"several clients, an audience", web + "," + cli, `{"handler":"gatehouse_protect","audience":["https://api.example.com"]}`, ""},
		{"no client, an audience", "", `{"handler":"gatehouse_protect","audience":["web"]}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs, _ := check(t, cfg(tt.clients, tt.h))
			var mine []string
			for _, e := range errs {
				if strings.HasPrefix(e, "apps.") {
					mine = append(mine, e)
				}
			}
			switch {
			case tt.want == "" && len(mine) > 0:
				t.Fatalf("refused: %q", mine)
			case tt.want != "" && !containsLine(mine, tt.want):
				t.Fatalf("errors:\n%s\nwant one starting %q", strings.Join(errs, "\n"), tt.want)
			}
		})
	}
}

// TestValidateHandlers: the gatehouse_protect and gatehouse_sanitize options, wherever the
// handlers sit, reported at their JSON path. PX-05: only vetted identity values reach
// upstream headers.
func TestValidateHandlers(t *testing.T) {
	handler := func(h string) string {
		return `{"apps":{"http":{"servers":{"srv0":{"routes":[{"handle":[{"handler":"subroute","routes":[{"handle":[` + h + `]}]}]}]}}}}}`
	}
	const at = "apps.http.servers.srv0.routes[0].handle[0].routes[0].handle[0]"
	for _, tt := range []struct{ name, h, want string }{
		{"unknown placeholder (PX-05)", `{"handler":"gatehouse_protect","headers":{"X-A":"{gatehouse.user.nope}"}}`, at + ".headers[X-A]: must use only the gatehouse.* identity placeholders"},
		{"request placeholder", `{"handler":"gatehouse_protect","headers":{"X-A":"{http.request.header.Cookie}"}}`, at + ".headers[X-A]: must use only"},
		{"header name", `{"handler":"gatehouse_protect","headers":{"X-A:":"{gatehouse.user.id}"}}`, at + `.headers[X-A:]: must be a header name of letters, digits and '-', got "X-A:"`},
		{"header twice", `{"handler":"gatehouse_protect","headers":{"X-Email":"{gatehouse.user.email}","x-email":"{gatehouse.user.id}"}}`, at + `.headers[x-email]: must be set once (header names ignore case), got "X-Email" and "x-email"`},
		{"strip header", `{"handler":"gatehouse_protect","strip_headers":["X Remote"]}`, at + `.strip_headers[0]: must be a header name (an RFC 9110 token), got "X Remote"`},
		{"cookie name", `{"handler":"gatehouse_protect","cookie_name":"a;b"}`, at + `.cookie_name: must be letters, digits, '_' and '-', got "a;b"`},
		{"cache size", `{"handler":"gatehouse_protect","cache_size":-5}`, at + ".cache_size: must be a positive whole number"},
		{"empty scope", `{"handler":"gatehouse_protect","scopes":["read",""]}`, at + ".scopes[1]: must be a scope"},
		{"client", `{"handler":"gatehouse_protect","client":"a b"}`, at + `.client: must be a client ID`},
		{"unknown option", `{"handler":"gatehouse_protect","allow_all":true}`, at + `: must be the gatehouse_protect handler's configuration, got json: unknown field "allow_all"`},
		{"sanitize strip header", `{"handler":"gatehouse_sanitize","strip_headers":["X:Y"]}`, at + `.strip_headers[0]: must be a header name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs, _ := check(t, handler(tt.h))
			if !containsLine(errs, tt.want) {
				t.Fatalf("errors:\n%s\nwant one starting %q", strings.Join(errs, "\n"), tt.want)
			}
		})
	}
	if errs, warns := check(t, handler(`{"handler":"gatehouse_protect","client":"web","scopes":["read"],"groups":["staff"],`+
		`"headers":{"X-Email":"{gatehouse.user.email}","X-User-Name":""},"strip_headers":["X-Remote-User"],"cookie_name":"app_auth"}`)); len(errs)+len(warns) > 0 {
		t.Errorf("valid handler: errors %q warnings %q", errs, warns)
	}
	// Caddy validates each handler on its own too (caddy.Validator), under its name.
	p := module.Protect{Headers: map[string]string{"X A": "{gatehouse.user.id}"}}
	if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), `gatehouse_protect.headers[X A]: must be a header name`) {
		t.Errorf("Protect.Validate: %v", err)
	}
	p = module.Protect{MFAAllowsAppCredentials: true}
	if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), `gatehouse_protect.mfa_allows_app_credentials: applies only with "mfa": true`) {
		t.Errorf("mfa_allows_app_credentials without mfa: %v", err)
	}
	p = module.Protect{MFA: true, MFAAllowsAppCredentials: true, AllowAppPasswords: true}
	if err := p.Validate(); err != nil {
		t.Errorf("mfa with app credentials allowed: %v", err)
	}
	s := module.Sanitize{StripHeaders: []string{""}}
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), `gatehouse_sanitize.strip_headers[0]: must be a header name`) {
		t.Errorf("Sanitize.Validate: %v", err)
	}
}

// TestValidateWarnings: choices that load but deserve a second look are logged as warnings,
// each naming the option.
func TestValidateWarnings(t *testing.T) {
	t.Setenv("GH_TEST_SECRET", "0123456789abcdef-from-env")
	const cb = `"redirect_uris":["https://app.example.com/cb"]`
	for _, tt := range []struct{ name, cfg, want string }{
		{"loopback http issuer", `{"issuer":"http://localhost:9000"}`, "gatehouse.issuer: plain http on a loopback host is for development only"},
		{"IP issuer turns passkeys off", `{"issuer":"https://192.0.2.1"}`, "gatehouse.passkeys: are off: the issuer's host 192.0.2.1 is an IP address"},
		{"open signup without email", `{"issuer":"https://login.example.com","signup":"open","login":["password"]}`, "gatehouse.signup: open sign-up without an email sender creates accounts whose addresses nobody verified"},
		{"signup_reveals_existing", `{"issuer":"https://login.example.com","signup":"open","signup_reveals_existing":true,"email":{"sender":{"sender":"outbox"}}}`, "gatehouse.signup_reveals_existing: is set: sign-up answers 409"},
		{"signup_reveals_existing closed", `{"issuer":"https://login.example.com","signup_reveals_existing":true}`, "gatehouse.signup_reveals_existing: has no effect while signup is closed"},
		{"outbox in production", `{"issuer":"https://login.example.com","email":{"sender":{"sender":"outbox"}}}`, "gatehouse.email.sender: is the outbox"},
		{"pkce optional", `{"issuer":"https://login.example.com","clients":[{"id":"web","secret":"{env.GH_TEST_SECRET}",` + cb + `,"pkce":"optional"}]}`, "gatehouse.clients[web].pkce: is optional"},
		{"client secret in clear", `{"issuer":"https://login.example.com","clients":[{"id":"web","secret":"0123456789abcdef-clear",` + cb + `}]}`, "gatehouse.clients[web].secret: is written in the configuration"},
		{"long access tokens", `{"issuer":"https://login.example.com","tokens":{"access_token_lifetime":"3h"}}`, "gatehouse.tokens.access_token_lifetime: is 3h"},
		{"long client access tokens", `{"issuer":"https://login.example.com","clients":[{"id":"web",` + cb + `,"access_token_lifetime":"90m"}]}`, "gatehouse.clients[web].access_token_lifetime: is 1h30m"},
		{"social onboarding with closed signup", `{"issuer":"https://login.example.com","social":[{"name":"google","client_id":"a","client_secret":"{env.GH_TEST_SECRET}","onboarding":true}]}`,
			"gatehouse.social[google].onboarding: is on while signup is closed: anyone with an account at google gets an account here"},
		{"sessions idle longer than lifetime", `{"issuer":"https://login.example.com","sessions":{"idle":"30d","lifetime":"7d"}}`, "gatehouse.sessions.idle: is longer than lifetime (168h), so it never applies, got 720h"},
		{"registration open to anyone", `{"issuer":"https://login.example.com","registration":{"mode":"open","no_initial_access_token":true}}`,
			"gatehouse.registration.no_initial_access_token: is set: anyone can register an OAuth client that works at once"},
		{"registration token in clear", `{"issuer":"https://login.example.com","registration":{"mode":"open","initial_access_token":"0123456789abcdef0123456789abcdef"}}`,
			"gatehouse.registration.initial_access_token: is written in the configuration"},
		{"passkeys block without passkey login", `{"issuer":"https://login.example.com","login":["password"],"passkeys":{"rp_name":"Acme"}}`, "gatehouse.passkeys: is ignored"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs, warns := checkApp(t, tt.cfg)
			if len(errs) > 0 {
				t.Fatalf("errors: %q", errs)
			}
			if !containsLine(warns, tt.want) {
				t.Fatalf("warnings:\n%s\nwant one starting %q", strings.Join(warns, "\n"), tt.want)
			}
		})
	}
	// A production-like configuration has nothing to warn about.
	dir := t.TempDir()
	file := filepath.Join(dir, "smtp")
	if err := os.WriteFile(file, []byte("pa55word\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errs, warns := checkApp(t, `{"issuer":"https://login.example.com","signup":"open","login":["password","passkey","email_code"],
		"email":{"sender":{"sender":"smtp","host":"smtp.example.com","username":"u","password":"{file.`+file+`}","from":"Acme <a@example.com>"}},
		"clients":[{"id":"web","secret":"{env.GH_TEST_SECRET}",`+cb+`}],
		"social":[{"name":"google","client_id":"a","client_secret":"{env.GH_TEST_SECRET}","allowed_domains":["example.com"]}]}`)
	if len(errs)+len(warns) > 0 {
		t.Errorf("errors %q warnings %q", errs, warns)
	}
}

// The Administration API's options: a negative admin_max_age and a group name with spaces
// around it are refused, naming the option.
func TestValidateAdminOptions(t *testing.T) {
	errs, _ := checkApp(t, `{"issuer":"https://login.example.com","admin_group":" admins","admin_max_age":-1}`)
	for _, want := range []string{"gatehouse.admin_group", "gatehouse.admin_max_age"} {
		if !containsLine(errs, want) {
			t.Errorf("no error for %s in %q", want, errs)
		}
	}
	if errs, _ := checkApp(t, `{"issuer":"https://login.example.com","admin_group":"ops","admin_max_age":300000000000}`); len(errs) != 0 {
		t.Errorf("valid admin options refused: %q", errs)
	}
}
