package caddyfile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/module"
)

// placeholderRE finds the {env.NAME} and {file.path} placeholders of a configuration.
var placeholderRE = regexp.MustCompile(`\{(env|file)\.([^{}"]+)\}`)

// TestExamplesLoad: every examples/*/Caddyfile adapts and then passes the checks Caddy runs
// when it loads a configuration (`caddy validate`: every app provisioned, the gatehouse app's
// store opened and keys generated, every handler and route-order check), as a user running it
// would see. The secrets the examples name are given as they would be: each {env.NAME} is set
// and each {file.path} points at a file, with a stand-in value of 32 characters; the store
// goes to a temporary directory instead of the example's ./data/<name>. The validator reports
// no error and no warning other than the development issuer's.
func TestExamplesLoad(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*", "Caddyfile"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples/*/Caddyfile found: %v", err)
	}
	// The journey examples beside examples/journeys/Caddyfile (TestAdaptJourneyExamples).
	more, _ := filepath.Glob(filepath.Join("..", "examples", "journeys", "*.Caddyfile"))
	examples = append(examples, more...)
	for _, ex := range examples {
		name := filepath.Base(filepath.Dir(ex))
		if base := filepath.Base(ex); base != "Caddyfile" {
			name += "/" + strings.TrimSuffix(base, ".Caddyfile")
		}
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(ex)
			if err != nil {
				t.Fatal(err)
			}
			adapted, _, err := adapt(t, string(src))
			if err != nil {
				t.Fatalf("adapt %s: %v", ex, err)
			}
			dir := t.TempDir()
			text := placeholderRE.ReplaceAllStringFunc(string(adapted), func(p string) string {
				m := placeholderRE.FindStringSubmatch(p)
				if m[1] == "env" {
					t.Setenv(m[2], strings.Repeat("x", 32))
					return p
				}
				file := filepath.Join(dir, "secret-"+strings.NewReplacer("/", "_", "\\", "_").Replace(m[2]))
				if err := os.WriteFile(file, []byte(strings.Repeat("y", 32)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return "{file." + file + "}"
			})
			// The validator alone: no error, and no warning but the development issuer's.
			warnings, err := module.ValidateJSON([]byte(text))
			if err != nil {
				t.Fatalf("%s: validator: %v", ex, err)
			}
			for _, w := range warnings {
				if !strings.HasPrefix(w.Error(), "gatehouse.issuer: plain http on a loopback host is for development only") {
					t.Errorf("%s: warning: %v", ex, w)
				}
			}
			var cfg map[string]any
			if err := json.Unmarshal([]byte(text), &cfg); err != nil {
				t.Fatalf("adapted %s: %v", ex, err)
			}
			app, _ := cfg["apps"].(map[string]any)["gatehouse"].(map[string]any)
			if app == nil {
				t.Fatalf("%s configures no gatehouse app", ex)
			}
			app["storage"] = map[string]any{"module": "badger", "path": filepath.Join(dir, "db")}
			out, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(t, out); err != nil {
				t.Fatalf("%s does not load: %v", ex, err)
			}
		})
	}
}
