package caddyfile_test

// Fuzz targets for the Caddyfile adapter: the gatehouse global option and the
// gatehouse_protect directive, adapted exactly as `caddy adapt` does. Run one with
//
//	go test -run '^$' -fuzz '^FuzzAdaptGlobal$' -fuzztime 60s ./caddyfile
//
// or every fuzz target with scripts/fuzz.sh. Seeds are the Caddyfiles of testdata/ and
// examples/, cut down to the option or directive under test.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/gatehouse-dev/gatehouse/caddyfile"
	"github.com/gatehouse-dev/gatehouse/module"
)

// seedCaddyfiles returns the Caddyfile half of every golden file and every example.
func seedCaddyfiles(tb testing.TB) []string {
	tb.Helper()
	var out []string
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "*", "Caddyfile"))
	for _, file := range append(goldens, examples...) {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		text, _, _ := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"+separator+"\n")
		out = append(out, text)
	}
	if len(out) == 0 {
		tb.Fatal("no seed Caddyfiles")
	}
	return out
}

// blocks returns, for each line of text starting (after tabs) with word, the rest of that
// line and the block it opens, up to the matching closing brace.
func blocks(text, word string) []string {
	var out []string
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(strings.TrimLeft(l, "\t"), word)
		if !ok || (rest != "" && rest[0] != ' ') {
			continue
		}
		var b strings.Builder
		b.WriteString(strings.TrimPrefix(rest, " "))
		depth := strings.Count(rest, "{") - strings.Count(rest, "}")
		for j := i + 1; j < len(lines) && depth > 0; j++ {
			b.WriteString("\n" + lines[j])
			depth += strings.Count(lines[j], "{") - strings.Count(lines[j], "}")
		}
		out = append(out, b.String())
	}
	return out
}

// checkAdapted: an adapted configuration is JSON whose gatehouse app and gatehouse handlers
// load as Caddy loads them (strictly: no unknown field), and the validator checks it without
// panicking (its findings are the configuration's business, not the adapter's).
func checkAdapted(t *testing.T, src string, out []byte) {
	_, _ = module.ValidateJSON(out)
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("adapted to invalid JSON: %v\n%s\n%s", err, src, out)
	}
	if apps, ok := cfg["apps"].(map[string]any); ok {
		if app, ok := apps["gatehouse"]; ok {
			raw, _ := json.Marshal(app)
			if err := caddy.StrictUnmarshalJSON(raw, new(module.App)); err != nil {
				t.Fatalf("the gatehouse app does not load: %v\n%s\n%s", err, src, raw)
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			var target any
			switch x["handler"] {
			case "gatehouse_protect":
				target = new(module.Protect)
			case "gatehouse_portal":
				target = new(module.Portal)
			case "gatehouse_sanitize":
				target = new(module.Sanitize)
			}
			if target != nil {
				m := make(map[string]any, len(x))
				for k, v := range x {
					if k != "handler" {
						m[k] = v
					}
				}
				raw, _ := json.Marshal(m)
				if err := caddy.StrictUnmarshalJSON(raw, target); err != nil {
					t.Fatalf("handler %v does not load: %v\n%s\n%s", x["handler"], err, src, raw)
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(cfg)
}

func adaptForFuzz(t *testing.T, src string) {
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	if err == nil {
		checkAdapted(t, src, out)
	}
}

// FuzzAdaptGlobal: whatever the body of the gatehouse global option, adapting never panics;
// an error is an error, and a configuration that adapts loads strictly.
func FuzzAdaptGlobal(f *testing.F) {
	for _, text := range seedCaddyfiles(f) {
		for _, b := range blocks(text, "gatehouse") {
			if body, ok := strings.CutPrefix(b, "{"); ok {
				f.Add(strings.TrimSuffix(strings.TrimRight(body, "\n\t "), "}"))
			}
		}
	}
	for _, s := range []string{"issuer", "issuer https://login.example.com/", "issuer http://example.com\n\tclient x {\n\tredirect_uri javascript:alert(1)\n}",
		"client {\n}", "tokens {\n\taccess_token_alg none\n}", "session {\n\tlifetime -1s\n}", "issuer {env.X}\n\tclient a {\n\tsecret {$Y}\n\t}",
		"lockout {\n\taccount 99999999999999999999\n}", "}\n}\n{\n", "\"\\", "`", "{\n{\n{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if strings.Contains(body, "import") {
			return // reads files: not the parser under test
		}
		adaptForFuzz(t, "{\n\tgatehouse {\n"+body+"\n\t}\n}\n\nhttps://login.example.com {\n\tgatehouse_portal\n}\n")
	})
}

// FuzzAdaptProtect: whatever follows gatehouse_protect on a site (matcher, arguments,
// block), adapting never panics; an error is an error, and a configuration that adapts
// loads strictly.
func FuzzAdaptProtect(f *testing.F) {
	for _, text := range seedCaddyfiles(f) {
		for _, b := range blocks(text, "gatehouse_protect") {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "@admin", "/admin/*", "{\n\tscope\n}", "{\n\theader X-A {gatehouse.user.nope}\n}", "{\n\tmfa maybe\n}",
		"{\n\tcache_size -1\n}", "{\n\tclaim a b c d\n}", "{\n\theader X-User-Id\n}", "@a @b {", "{\n}\n}\n{"} {
		f.Add(s)
	}
	const global = "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n\t\tclient web {\n" +
		"\t\t\tredirect_uri https://app.example.com/.gatehouse/callback\n\t\t\tscopes openid read\n\t\t}\n\t}\n}\n\n" +
		"https://login.example.com {\n\tgatehouse_portal\n}\n\n"
	f.Fuzz(func(t *testing.T, directive string) {
		if strings.Contains(directive, "import") {
			return
		}
		adaptForFuzz(t, global+"https://app.example.com {\n\t@admin path /admin/*\n\tgatehouse_protect "+directive+
			"\n\treverse_proxy localhost:3000\n}\n")
	})
}
