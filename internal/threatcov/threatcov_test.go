package threatcov

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// update rewrites docs/threats.md from the test sources instead of comparing:
//
//	go test ./internal/threatcov -update
var update = flag.Bool("update", false, "rewrite "+DocPath+" from the test sources")

// This package's own directory is not scanned: its tests mention IDs only as examples.
const self = "internal/threatcov"

type repo struct {
	root string
	cat  *Catalogue
	scan *Scan
}

// loaded is the repository, read once for all the tests of the package.
var loaded struct {
	sync.Once
	r   repo
	err error
}

func load(t *testing.T) repo {
	t.Helper()
	loaded.Do(func() { loaded.r, loaded.err = read() })
	if loaded.err != nil {
		t.Fatal(loaded.err)
	}
	return loaded.r
}

func read() (repo, error) {
	wd, err := os.Getwd()
	if err != nil {
		return repo{}, err
	}
	root, err := FindRoot(wd)
	if err != nil {
		return repo{}, err
	}
	data, err := os.ReadFile(filepath.Join(root, CataloguePath))
	if err != nil {
		return repo{}, fmt.Errorf("read the catalogue: %w", err)
	}
	cat, err := ParseCatalogue(data)
	if err != nil {
		return repo{}, fmt.Errorf("%s: %w", CataloguePath, err)
	}
	scan, err := ScanRepo(root, self)
	if err != nil {
		return repo{}, err
	}
	return repo{root: root, cat: cat, scan: scan}, nil
}

// TestThreatsDoc: docs/threats.md is what the generator makes of the current test sources
// and catalogue (with -update, it is rewritten).
func TestThreatsDoc(t *testing.T) {
	r := load(t)
	want := Render(r.cat, r.scan)
	path := filepath.Join(r.root, DocPath)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; generate it with: %s", err, UpdateCommand)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the test sources (first difference: %s); regenerate it with:\n\t%s",
			DocPath, firstDiff(got, want), UpdateCommand)
	}
}

// TestClaimedRowsHaveTests: every row docs/threats.md lists as covered, and every row ID
// written in README.md or docs/*.md, is named by a test; this holds even when the committed
// map is stale. Lines saying a row is "not covered", "not tested" or "untested" are not
// claims.
func TestClaimedRowsHaveTests(t *testing.T) {
	r := load(t)
	tests := r.scan.Tests()
	doc, err := os.ReadFile(filepath.Join(r.root, DocPath))
	if err != nil {
		t.Fatalf("%v; generate it with: %s", err, UpdateCommand)
	}
	for _, id := range CoveredInDoc(doc) {
		if len(tests[id]) == 0 {
			t.Errorf("%s lists %s as covered, but no test names it (regenerate with %s, or restore the test)", DocPath, id, UpdateCommand)
		}
	}
	claims, err := DocClaims(r.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claims {
		switch {
		case !r.cat.Has(c.ID):
			t.Errorf("%s:%d names %s, which is not a row of %s", c.File, c.Line, c.ID, CataloguePath)
		case len(tests[c.ID]) == 0:
			t.Errorf("%s:%d names %s, but no test does (name it in the test that covers it, or write \"not tested\" on that line)", c.File, c.Line, c.ID)
		}
	}
}

// TestNamedIDsExist: a test naming an ID the catalogue does not have is a typo, and a
// mention in a helper no test reaches counts for nothing.
func TestNamedIDsExist(t *testing.T) {
	r := load(t)
	for _, m := range r.scan.Mentions {
		if !r.cat.Has(m.ID) {
			t.Errorf("%s:%d (%s) names %s, which is not a row of %s", m.File, m.Line, m.Where, m.ID, CataloguePath)
		}
	}
}

// TestCatalogueCopy: the catalogue in the repository is byte-for-byte the shared one, when
// the shared checkout is next to the repository (CI has only the repository).
func TestCatalogueCopy(t *testing.T) {
	r := load(t)
	shared, err := os.ReadFile(filepath.Join(r.root, SharedCatalogue))
	if os.IsNotExist(err) {
		t.Skipf("%s not present", SharedCatalogue)
	} else if err != nil {
		t.Fatal(err)
	}
	ours, err := os.ReadFile(filepath.Join(r.root, CataloguePath))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, ours) {
		t.Fatalf("%s differs from %s: copy it again (cp %s %s), then run %s",
			CataloguePath, SharedCatalogue, SharedCatalogue, CataloguePath, UpdateCommand)
	}
}

// TestScanner runs the scanner on a small tree: names, comments, strings, helpers reached
// through identifiers, file headers, JavaScript tests, doc claims.
func TestScanner(t *testing.T) {
	root := t.TempDir()
	id := func(p string, n int) string { return fmt.Sprintf("%s-%02d", p, n) } // no literal IDs in this file
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("a/a_test.go", `// Header: `+id("RB", 1)+`.
package a

import "testing"

// TestAS07_Race is named.
func TestAS07_Race(t *testing.T) {}

// TestDoc: `+id("PX", 13)+` in the doc comment.
func TestDoc(t *testing.T) {
	t.Run("sub `+id("JW", 2)+`", func(t *testing.T) { helper(t) })
}

// helper checks `+id("OC", 14)+`.
func helper(t *testing.T) { _ = table }

var table = []string{"`+id("CR", 9)+`"}

// unused is reached by no test: `+id("CR", 10)+`.
func unused() {}

func TestOther(t *testing.T) { helper(t) }
`)
	write("e2e/node/x.test.mjs", `// file header `+id("OC", 1)+`

test('first', () => {
  // checks `+id("OC", 2)+`
});
// `+id("OC", 3)+` below
test("second", () => {});
`)
	write("a/testdata/skip_test.go", "package a // "+id("OC", 4)+"\n")
	s, err := ScanRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for gid, ts := range s.Tests() {
		for _, tt := range ts {
			got[gid] = append(got[gid], tt.String())
		}
		sort.Strings(got[gid])
	}
	want := map[string][]string{
		id("RB", 1):  {"a.TestAS07_Race", "a.TestDoc", "a.TestOther"},
		id("AS", 7):  {"a.TestAS07_Race"},
		id("PX", 13): {"a.TestDoc"},
		id("JW", 2):  {"a.TestDoc"},
		id("OC", 14): {"a.TestDoc", "a.TestOther"},
		id("CR", 9):  {"a.TestDoc", "a.TestOther"},
		id("OC", 2):  {`e2e/node.node:test "first"`},
		id("OC", 3):  {`e2e/node.node:test "second"`},
		id("OC", 1):  {`e2e/node.node:test "first"`, `e2e/node.node:test "second"`},
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != strings.Join(v, ",") {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %v", k, got[k])
		}
	}
	orphan := false
	for _, m := range s.Mentions {
		if m.ID == id("CR", 10) && len(m.Tests) == 0 {
			orphan = true
		}
	}
	if !orphan {
		t.Errorf("a mention in an unreached helper should count for no test")
	}

	// The rendered map lists covered rows; CoveredInDoc reads them back.
	cat, err := ParseCatalogue([]byte("| ID | P | Name | x |\n|---|---|---|---|\n" +
		"| " + id("AS", 7) + " | P0 | Race | x |\n" +
		"| " + id("CR", 22) + " + " + id("CR", 9) + " | P0 | Pair | x |\n" +
		"| " + id("RB", 17) + " | P2 | None | x |\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc := Render(cat, s)
	if c := strings.Join(CoveredInDoc(doc), ","); c != id("AS", 7)+","+id("CR", 9) {
		t.Errorf("CoveredInDoc = %s\n%s", c, doc)
	}
	if !bytes.Contains(doc, []byte("| P0 | 2 | 2 | 1 | 0 | 100 % |")) || !bytes.Contains(doc, []byte("- "+id("RB", 17)+" (P2) None")) {
		t.Errorf("summary or uncovered list wrong:\n%s", doc)
	}

	write("README.md", "Tested: "+id("AS", 7)+".\n"+id("RB", 17)+" is not tested yet.\n")
	write("docs/x.md", "Also "+id("RB", 16)+".\n")
	claims, err := DocClaims(root)
	if err != nil {
		t.Fatal(err)
	}
	var cs []string
	for _, c := range claims {
		cs = append(cs, fmt.Sprintf("%s:%s:%d", c.ID, c.File, c.Line))
	}
	if strings.Join(cs, " ") != id("AS", 7)+":README.md:1 "+id("RB", 16)+":docs/x.md:1" {
		t.Errorf("claims: %v", cs)
	}
}

// firstDiff describes the first line where a and b differ.
func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: file has %q, sources give %q", i+1, trim(x), trim(y))
		}
	}
	return "none"
}

func trim(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
