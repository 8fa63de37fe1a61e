package assertion

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuotesVerify: the README's "Signed identity assertion" example is exactly the
// code of Verify that the suite runs (e2e/assertion_test.go, handlers/protect), so the
// documentation cannot drift from what is tested.
func TestReadmeQuotesVerify(t *testing.T) {
	src, err := os.ReadFile("verify.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, code, ok := strings.Cut(string(src), "// README:begin\n")
	code, _, ok2 := strings.Cut(code, "\n// README:end")
	_, doc, ok3 := strings.Cut(string(readme), "<!-- assertion-example:begin -->\n```go\n")
	doc, _, ok4 := strings.Cut(doc, "```\n<!-- assertion-example:end -->")
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatal("markers missing in verify.go or README.md")
	}
	if strings.TrimRight(code, "\n")+"\n" != doc {
		t.Fatalf("README.md quotes another Verify than verify.go:\n--- README\n%s\n--- verify.go\n%s", doc, code)
	}
}
