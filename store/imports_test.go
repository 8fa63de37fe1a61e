package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the dependency rules of the store packages (STYLE.md §8, DESIGN.md
// "Nothing in store/ knows about HTTP"): store, store/memory and store/storetest depend on
// the standard library and store only; no package under store/ imports net/http, and only
// store/badger imports badger. (Badger itself pulls in net/http through golang.org/x/net/trace;
// store/badger's own code does not import it.)
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	const module = "github.com/gatehouse-dev/gatehouse/"
	goList := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}

	for _, pkg := range []string{".", "./memory", "./storetest"} {
		for _, line := range goList("-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg) {
			path, std, _ := strings.Cut(line, " ")
			switch {
			case path == "net/http":
				t.Errorf("%s depends on net/http", pkg)
			case std == "true", path == module+"store", path == module+"store/storetest" && pkg == "./storetest",
				path == module+"store/memory" && pkg == "./memory":
			default:
				t.Errorf("%s depends on %s, outside the standard library", pkg, path)
			}
		}
	}

	for _, line := range goList("-f", "{{.ImportPath}} {{join .Imports \" \"}} {{join .TestImports \" \"}} {{join .XTestImports \" \"}}", "./...") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			switch {
			case imp == "net/http" || strings.HasPrefix(imp, "net/http/"):
				t.Errorf("%s imports %s", fields[0], imp)
			case strings.HasPrefix(imp, "github.com/dgraph-io/badger") && fields[0] != module+"store/badger":
				t.Errorf("%s imports %s: only store/badger may", fields[0], imp)
			}
		}
	}
}
