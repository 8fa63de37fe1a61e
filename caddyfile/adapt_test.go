package caddyfile_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/gatehouse-dev/gatehouse/caddyfile"
)

// update rewrites the expected JSON of the golden files instead of comparing:
//
//	go test ./caddyfile -run 'TestAdapt' -update
//
// Review the diff before keeping it: a golden file is only as good as its review.
var update = flag.Bool("update", false, "rewrite the expected JSON of caddyfile/testdata golden files")

// separator splits a .caddyfiletest file into the Caddyfile and the expected JSON (Caddy's
// caddytest/integration/caddyfile_adapt convention).
const separator = "----------"

// adapt runs the Caddyfile adapter as `caddy adapt` does, with the standard modules and the
// gatehouse option and directives registered by the blank imports above.
func adapt(t *testing.T, src string) ([]byte, []caddyconfig.Warning, error) {
	t.Helper()
	return caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
}

// normalize re-indents a JSON document with tabs so that whitespace differences between the
// golden file and the adapter's output do not matter, and key order does (it is stable).
func normalize(t *testing.T, name string, b []byte) string {
	t.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, b)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "\t"); err != nil {
		t.Fatalf("%s: indent: %v", name, err)
	}
	return out.String()
}

// TestAdaptGolden: every form of the grammar documented in global.go and directives.go adapts
// to the JSON reviewed in testdata/*.caddyfiletest (Caddyfile, a line of dashes, the JSON).
// A change in the produced configuration — a renamed field, a lost option, a different
// directive order, the missing extra route for /.gatehouse/callback — fails here.
func TestAdaptGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d golden files in testdata, want at least 8", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.ReplaceAll(string(data), "\r\n", "\n")
			caddyfileText, expected, ok := strings.Cut(text, "\n"+separator+"\n")
			if !ok {
				t.Fatalf("%s: no %q line separating the Caddyfile from the expected JSON", file, separator)
			}
			caddyfileText = strings.TrimSpace(caddyfileText) + "\n"
			got, warnings, err := adapt(t, caddyfileText)
			if err != nil {
				t.Fatalf("adapt %s: %v", file, err)
			}
			for _, w := range warnings {
				t.Logf("warning: %s", w.String())
			}
			gotNorm := normalize(t, "adapted", got)
			if *update {
				out := caddyfileText + separator + "\n" + gotNorm + "\n"
				if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.TrimSpace(expected) == "" {
				t.Fatalf("%s: no expected JSON (run with -update and review the result)", file)
			}
			if wantNorm := normalize(t, "expected", []byte(expected)); gotNorm != wantNorm {
				t.Fatalf("%s: adapted JSON differs from the golden file\n--- got\n%s\n--- want\n%s", file, gotNorm, wantNorm)
			}
		})
	}
}

// TestAdaptExamples: every examples/*/Caddyfile adapts, and to the JSON reviewed in
// testdata/example_<dir>.json, so that the shipped examples cannot rot silently (STYLE.md §9.7).
func TestAdaptExamples(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) == 0 {
		t.Fatal("no examples/*/Caddyfile found")
	}
	for _, ex := range examples {
		name := filepath.Base(filepath.Dir(ex))
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(ex)
			if err != nil {
				t.Fatal(err)
			}
			got, warnings, err := adapt(t, string(src))
			if err != nil {
				t.Fatalf("adapt %s: %v", ex, err)
			}
			for _, w := range warnings {
				t.Logf("warning: %s", w.String())
			}
			gotNorm := normalize(t, "adapted", got)
			golden := filepath.Join("testdata", "example_"+name+".json")
			if *update {
				if err := os.WriteFile(golden, []byte(gotNorm+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%s has no golden file %s (run with -update and review it): %v", ex, golden, err)
			}
			if wantNorm := normalize(t, golden, want); gotNorm != wantNorm {
				t.Fatalf("%s: adapted JSON differs from %s\n--- got\n%s\n--- want\n%s", ex, golden, gotNorm, wantNorm)
			}
		})
	}
}

// TestAdaptErrors: a syntax mistake in the Caddyfile — a wrong number of arguments, an
// unknown option or sender, a <n> that is not a positive whole number, a <duration> that is
// not a positive duration — is refused when adapting, and the message names the option at
// fault and the line (Caddyfile:<line>) so that the operator can find it. Mistakes in values
// are the validator's (TestValidateCaddyfileValues): the JSON gets the same checks.
func TestAdaptErrors(t *testing.T) {
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
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error: the option and the file:line
	}{
		{"unknown gatehouse option", global(issuer + "\t\tcolour blue\n"), []string{`unknown option "colour"`, "Caddyfile:4"}},
		{"metrics on", global(issuer + "\t\tmetrics on\n"), []string{"expected `metrics off`", "Caddyfile:4"}},
		// Issue 18: "kept in the store with a retention (`audit { retain 90d }`)"; a trail
		// that keeps nothing is refused.
		{"audit retain 0", global(issuer + "\t\taudit {\n\t\t\tretain 0\n\t\t}\n"), []string{"audit retain \"0\": the audit trail cannot be turned off", "Caddyfile:5"}},
		{"audit retain not a duration", global(issuer + "\t\taudit {\n\t\t\tretain forever\n\t\t}\n"), []string{`audit retain "forever"`, "Caddyfile:5"}},
		{"audit unknown option", global(issuer + "\t\taudit {\n\t\t\tkeep 9d\n\t\t}\n"), []string{`audit: unknown option "keep"`, "Caddyfile:5"}},
		{"metrics without value", global(issuer + "\t\tmetrics\n"), []string{"expected `metrics off`", "Caddyfile:4"}},
		{"protect route without name", site("\tgatehouse_protect {\n\t\troute\n\t}\n"), []string{"route takes exactly one name", "Caddyfile:9"}},
		{"issuer without value", global("\t\tissuer\n"), []string{"issuer takes exactly one value", "Caddyfile:3"}},
		{"storage unknown", global(issuer + "\t\tstorage redis\n"), []string{`storage "redis"`, "Caddyfile:4"}},
		{"storage without module", global(issuer + "\t\tstorage\n"), []string{"storage", "Caddyfile:4"}},
		{"storage too many args", global(issuer + "\t\tstorage badger /a /b\n"), []string{"storage", "Caddyfile:4"}},
		{"signup_reveals_existing with a value", global(issuer + "\t\tsignup_reveals_existing no\n"), []string{"signup_reveals_existing takes no value", "Caddyfile:4"}},
		{"login without method", global(issuer + "\t\tlogin\n"), []string{"login", "Caddyfile:4"}},
		{"social without name", global(issuer + "\t\tsocial {\n\t\t}\n"), []string{"social <name>", "Caddyfile:4"}},
		{"social unknown option", global(issuer + "\t\tsocial google {\n\t\t\tclient_id x\n\t\t\tsecret y\n\t\t}\n"), []string{`social google: unknown option "secret"`, "Caddyfile:6"}},
		{"social bad onboarding", global(issuer + "\t\tsocial google {\n\t\t\tonboarding maybe\n\t\t}\n"), []string{`onboarding "maybe"`, "Caddyfile:5"}},
		{"passkeys with argument", global(issuer + "\t\tpasskeys on\n"), []string{"passkeys takes a block", "Caddyfile:4"}},
		{"passkeys unknown option", global(issuer + "\t\tpasskeys {\n\t\t\tattestation direct\n\t\t}\n"), []string{`passkeys: unknown option "attestation"`, "Caddyfile:5"}},
		{"passkeys origins empty", global(issuer + "\t\tpasskeys {\n\t\t\torigins\n\t\t}\n"), []string{"passkeys origins", "Caddyfile:5"}},
		{"bad duration", global(issuer + "\t\tsession {\n\t\t\tidle soon\n\t\t}\n"), []string{`session idle "soon"`, "Caddyfile:5"}},
		{"negative duration", global(issuer + "\t\ttokens {\n\t\t\taccess_token_lifetime -5m\n\t\t}\n"), []string{"tokens access_token_lifetime", "Caddyfile:5"}},
		{"zero duration", global(issuer + "\t\tlockout {\n\t\t\twindow 0s\n\t\t}\n"), []string{"lockout window", "Caddyfile:5"}},
		{"unknown session option", global(issuer + "\t\tsession {\n\t\t\tforever yes\n\t\t}\n"), []string{`session: unknown option "forever"`, "Caddyfile:5"}},
		{"unknown tokens option", global(issuer + "\t\ttokens {\n\t\t\tjwe on\n\t\t}\n"), []string{`tokens: unknown option "jwe"`, "Caddyfile:5"}},
		{"lockout not a number", global(issuer + "\t\tlockout {\n\t\t\taccount_max_failures ten\n\t\t}\n"), []string{`lockout account_max_failures "ten"`, "Caddyfile:5"}},
		{"unknown lockout option", global(issuer + "\t\tlockout {\n\t\t\tcaptcha on\n\t\t}\n"), []string{`lockout: unknown option "captcha"`, "Caddyfile:5"}},
		{"unknown client option", client("\t\t\tredirect_uri https://app.example.com/cb\n\t\t\tlogo https://x/logo.png\n"), []string{`unknown option "logo"`, "Caddyfile:6"}},
		{"unknown protect option", site("\tgatehouse_protect {\n\t\tallow_all yes\n\t}\n"), []string{`gatehouse_protect: unknown option "allow_all"`, "Caddyfile:9"}},
		{"protect header too many args", site("\tgatehouse_protect {\n\t\theader X-A b c\n\t}\n"), []string{"gatehouse_protect", "header", "Caddyfile:9"}},
		{"bad cache_size", site("\tgatehouse_protect {\n\t\tcache_size lots\n\t}\n"), []string{"gatehouse_protect: cache_size", "Caddyfile:9"}},
		{"negative cache_size", site("\tgatehouse_protect {\n\t\tcache_size -1\n\t}\n"), []string{"gatehouse_protect: cache_size", "Caddyfile:9"}},
		{"protect client two ids", site("\tgatehouse_protect {\n\t\tclient a b\n\t}\n"), []string{"gatehouse_protect: client", "Caddyfile:9"}},
		{"protect scope empty", site("\tgatehouse_protect {\n\t\tscope\n\t}\n"), []string{"gatehouse_protect: scope", "Caddyfile:9"}},
		{"allow something else", site("\tgatehouse_protect {\n\t\tallow basic_auth\n\t}\n"), []string{"gatehouse_protect: expected `allow app_passwords`", "Caddyfile:9"}},
		{"allow nothing", site("\tgatehouse_protect {\n\t\tallow\n\t}\n"), []string{"gatehouse_protect: expected `allow app_passwords`", "Caddyfile:9"}},
		{"mfa block unknown", site("\tgatehouse_protect {\n\t\tmfa required {\n\t\t\tallow everyone\n\t\t}\n\t}\n"), []string{"mfa block: expected `allow app_credentials`", "Caddyfile:10"}},
		{"protect argument", site("\tgatehouse_protect everything\n"), []string{"gatehouse_protect", `"everything"`, "Caddyfile:8"}},
		{"max_age without value", site("\tgatehouse_protect {\n\t\tmax_age\n\t}\n"), []string{"max_age takes one duration", "Caddyfile:9"}},
		{"max_age not a duration", site("\tgatehouse_protect {\n\t\tmax_age soon\n\t}\n"), []string{`max_age "soon"`, "at least 1s", "Caddyfile:9"}},
		{"max_age too short", site("\tgatehouse_protect {\n\t\tmax_age 500ms\n\t}\n"), []string{`max_age "500ms"`, "Caddyfile:9"}},
		{"acr other class", site("\tgatehouse_protect {\n\t\tacr aal3\n\t}\n"), []string{"expected `acr aal2`", "Caddyfile:9"}},
		{"acr without class", site("\tgatehouse_protect {\n\t\tacr\n\t}\n"), []string{"expected `acr aal2`", "Caddyfile:9"}},
		{"headers unknown profile", site("\tgatehouse_protect {\n\t\theaders grafanna\n\t}\n"), []string{`unknown header profile "grafanna"`, "known: authelia, forgejo, gitea, grafana, oauth2-proxy, paperless", "Caddyfile:9"}},
		{"headers jellyfin", site("\tgatehouse_protect {\n\t\theaders jellyfin\n\t}\n"), []string{"no profile jellyfin", "OpenID Connect client", "Caddyfile:9"}},
		{"headers home-assistant", site("\tgatehouse_protect {\n\t\theaders home-assistant\n\t}\n"), []string{"no profile home-assistant", "Caddyfile:9"}},
		{"headers nextcloud", site("\tgatehouse_protect {\n\t\theaders nextcloud\n\t}\n"), []string{"no profile nextcloud", "user_oidc", "Caddyfile:9"}},
		{"headers without profile", site("\tgatehouse_protect {\n\t\theaders\n\t}\n"), []string{"headers takes one profile name", "Caddyfile:9"}},
		{"headers twice", site("\tgatehouse_protect {\n\t\theaders gitea\n\t\theaders grafana\n\t}\n"), []string{"headers is set twice", "Caddyfile:10"}},
		{"no_default_headers with argument", site("\tgatehouse_protect {\n\t\tno_default_headers please\n\t}\n"), []string{"no_default_headers", "Caddyfile:9"}},
		{"portal with an argument", global(issuer) + "\nlogin.example.com {\n\tgatehouse_portal extra\n}\n", []string{"gatehouse_portal", "Caddyfile:8"}},
		{"portal with a block", global(issuer) + "\nlogin.example.com {\n\tgatehouse_portal {\n\t\tfoo bar\n\t}\n}\n", []string{"gatehouse_portal takes no options", "Caddyfile:9"}},
		{"session with an argument", global(issuer + "\t\tsession forever {\n\t\t\tidle 1h\n\t\t}\n"), []string{"gatehouse: session takes no arguments", "Caddyfile:4"}},
		{"tokens with an argument", global(issuer + "\t\ttokens short {\n\t\t}\n"), []string{"gatehouse: tokens takes no arguments", "Caddyfile:4"}},
		{"lockout with an argument", global(issuer + "\t\tlockout strict {\n\t\t}\n"), []string{"gatehouse: lockout takes no arguments", "Caddyfile:4"}},
		{"registration without mode", global(issuer + "\t\tregistration\n"), []string{"registration takes one mode", "Caddyfile:4"}},
		{"registration unknown option", global(issuer + "\t\tregistration open {\n\t\t\tsecret x\n\t\t}\n"), []string{`registration: unknown option "secret"`, "Caddyfile:5"}},
		{"registration no token with value", global(issuer + "\t\tregistration open {\n\t\t\tno_initial_access_token yes\n\t\t}\n"), []string{"no_initial_access_token takes no value", "Caddyfile:5"}},
		{"registration twice", global(issuer + "\t\tregistration approval\n\t\tregistration open\n"), []string{"registration may appear only once", "Caddyfile:5"}},
		{"gatehouse global option with an argument", "{\n\tgatehouse extra {\n" + issuer + "\t}\n}\n", []string{`gatehouse: unexpected argument "extra"`, "Caddyfile:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := adapt(t, tt.src)
			if err == nil {
				t.Fatalf("adapted without error; want an error containing %q\nCaddyfile:\n%s\nJSON: %s", tt.want, tt.src, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q\nCaddyfile:\n%s", err, w, tt.src)
				}
			}
		})
	}
}
