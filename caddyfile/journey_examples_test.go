package caddyfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdaptJourneyExamples: every examples/journeys/*.Caddyfile (issue 19: "the built-in
// sign-up as a journey, plus three realistic ones") adapts — the journey is compiled while
// adapting, so an unknown step type, a bad goto, an expression that does not type-check or a
// step needing an authenticated user where none can be fails here — and to the JSON reviewed
// in testdata/example_journeys_<name>.json (-update rewrites it).
func TestAdaptJourneyExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "journeys", "*.Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("expected the journey examples, found %v", files)
	}
	for _, ex := range files {
		name := strings.TrimSuffix(filepath.Base(ex), ".Caddyfile")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(ex)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := adapt(t, string(src))
			if err != nil {
				t.Fatalf("adapt %s: %v", ex, err)
			}
			gotNorm := normalize(t, "adapted", got)
			golden := filepath.Join("testdata", "example_journeys_"+name+".json")
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
