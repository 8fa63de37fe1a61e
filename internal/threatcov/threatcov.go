// Package threatcov maps the threat catalogue (docs/threat-catalogue.md) to the tests that
// name its rows, and renders the map as docs/threats.md.
//
// A test names a row by its ID (two capital letters, a hyphen, two digits, with one of the
// catalogue's prefixes) in its function name (TestAS01_…, TestCR22ChallengeReplay), in a
// comment or in a string literal (a subtest's name). A mention inside a test function counts
// for that test. A mention in a helper function, a method or a package-level declaration of a
// _test.go file counts for every test function of the same directory that reaches the
// declaration through its identifiers (a call graph by name, over-approximated); a comment
// between declarations belongs to the declaration that follows it, and one before the
// package clause to every test function of its file. JavaScript test files (*.test.js,
// *.test.mjs, e.g. e2e/node/) are read line by line: a mention belongs to the test('…') or
// it('…') call right below its comment, else to the closest one above it, else (a file
// header) to every test of the file.
//
// The package is used by its own test, which regenerates docs/threats.md with -update and
// otherwise fails when the file is stale or when a row is claimed but no test names it:
//
//	go test ./internal/threatcov -update
package threatcov

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Paths of the catalogue copy and of the generated map, relative to the repository root.
const (
	CataloguePath = "docs/threat-catalogue.md"
	DocPath       = "docs/threats.md"
	// SharedCatalogue is where the catalogue copy comes from, relative to the repository
	// root (a sibling checkout; absent in CI).
	SharedCatalogue = "../shared/THREATS.md"
	// UpdateCommand regenerates DocPath.
	UpdateCommand = "go test ./internal/threatcov -update"
)

// prefixes are the catalogue's ID prefixes.
const prefixes = "OC|AS|JW|PX|CR|RB"

var (
	// idRE finds a row ID in text.
	idRE = regexp.MustCompile(`\b(?:` + prefixes + `)-\d{2}\b`)
	// nameRE finds the IDs at the start of a test function's name: TestOC01_…, TestCR22…,
	// Test_PX13…, TestCR22CR23….
	nameRE = regexp.MustCompile(`^(?:Test|Fuzz|Benchmark|Example)_?((?:(?:` + prefixes + `)_?\d{2}_?)+)`)
	nameID = regexp.MustCompile(`(` + prefixes + `)_?(\d{2})`)
	// rowRE is a catalogue row: | ID[ + ID…] | P0 | name | ….
	rowRE = regexp.MustCompile(`^\|\s*((?:` + prefixes + `)-\d{2}(?:\s*\+\s*(?:` + prefixes + `)-\d{2})*)\s*\|\s*(P[0-2])\s*\|\s*([^|]*?)\s*\|`)
	// jsTestRE is a JavaScript test declaration: test('…', it("…", with any quote.
	jsTestRE = regexp.MustCompile("^\\s*(?:test|it)(?:\\.only|\\.skip)?\\(\\s*([`'\"])(.*?)([`'\"])")
)

// Row is one row of the catalogue; a row may combine several IDs ("CR-22 + CR-23").
type Row struct {
	IDs      []string
	Priority string // P0, P1 or P2
	Name     string
}

// Label is the row's IDs as the catalogue writes them.
func (r Row) Label() string { return strings.Join(r.IDs, " + ") }

// Catalogue is the parsed threat catalogue.
type Catalogue struct {
	Rows   []Row
	SHA256 string
	byID   map[string]int // ID -> index in Rows
}

// Has tells whether id is a row ID of the catalogue.
func (c *Catalogue) Has(id string) bool { _, ok := c.byID[id]; return ok }

// ParseCatalogue reads the rows of the catalogue's tables.
func ParseCatalogue(data []byte) (*Catalogue, error) {
	sum := sha256.Sum256(data)
	c := &Catalogue{SHA256: hex.EncodeToString(sum[:]), byID: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		m := rowRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		row := Row{Priority: m[2], Name: m[3]}
		for _, id := range strings.Split(m[1], "+") {
			id = strings.TrimSpace(id)
			if _, dup := c.byID[id]; dup {
				return nil, fmt.Errorf("catalogue line %d: row ID %s appears twice", line, id)
			}
			c.byID[id] = len(c.Rows)
			row.IDs = append(row.IDs, id)
		}
		c.Rows = append(c.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(c.Rows) == 0 {
		return nil, fmt.Errorf("no catalogue rows found")
	}
	return c, nil
}

// Test is a test function (or a JavaScript test) in the repository.
type Test struct {
	Dir  string // directory relative to the root, "." for the root
	Name string // function name, or "node:test \"title\"" for JavaScript
	File string // file relative to the root
}

// String is how docs/threats.md names the test.
func (t Test) String() string {
	if t.Dir == "." {
		return t.Name
	}
	return t.Dir + "." + t.Name
}

// Mention is one occurrence of a row ID in a test source.
type Mention struct {
	ID    string
	File  string // relative to the root
	Line  int
	Tests []Test // the tests it counts for (none: a helper no test reaches)
	Where string // the enclosing declaration, for messages
	// Via is the helper or package-level declaration the tests reach the mention through
	// ("" when the mention is in a test function or a file header).
	Via string
}

// Scan is the result of reading every test source of the repository.
type Scan struct {
	Mentions []Mention
}

// Tests returns, for each ID, the tests that name it, sorted and unique.
func (s *Scan) Tests() map[string][]Test {
	out := map[string][]Test{}
	for _, m := range s.Mentions {
		out[m.ID] = append(out[m.ID], m.Tests...)
	}
	for id, ts := range out {
		out[id] = sortTests(ts)
	}
	return out
}

func sortTests(ts []Test) []Test {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Dir != ts[j].Dir {
			return ts[i].Dir < ts[j].Dir
		}
		return ts[i].Name < ts[j].Name
	})
	return slices.CompactFunc(ts, func(a, b Test) bool { return a.Dir == b.Dir && a.Name == b.Name })
}

// maxListed is the number of tests a helper's mention is listed with one by one; above it,
// docs/threats.md shows the helper and the number of tests that use it.
const maxListed = 6

// entry is one item of a row's Tests cell.
type entry struct{ label, file string }

// entries returns, for each ID, what docs/threats.md lists: the tests, with a helper that
// many tests use shown once.
func (s *Scan) entries() map[string][]entry {
	direct := map[string][]Test{}
	type agg struct {
		via, dir, file string
		tests          []Test
	}
	helpers := map[string]map[string]*agg{} // id -> file+via -> tests
	for _, m := range s.Mentions {
		if m.Via == "" || len(m.Tests) <= maxListed {
			direct[m.ID] = append(direct[m.ID], m.Tests...)
			continue
		}
		if helpers[m.ID] == nil {
			helpers[m.ID] = map[string]*agg{}
		}
		k := m.File + " " + m.Via
		a := helpers[m.ID][k]
		if a == nil {
			a = &agg{via: m.Via, dir: m.Tests[0].Dir, file: m.File}
			helpers[m.ID][k] = a
		}
		a.tests = append(a.tests, m.Tests...)
	}
	out := map[string][]entry{}
	for id, ts := range direct {
		for _, t := range sortTests(ts) {
			out[id] = append(out[id], entry{t.String(), t.File})
		}
	}
	for id, hs := range helpers {
		keys := make([]string, 0, len(hs))
		for k := range hs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a := hs[k]
			out[id] = append(out[id], entry{fmt.Sprintf("%d tests of %s through %s", len(sortTests(a.tests)), a.dir, a.via), a.file})
		}
	}
	return out
}

// skipDir reports directories that hold no test sources of ours.
func skipDir(name string) bool {
	return name == "node_modules" || name == "testdata" || name == "vendor" ||
		(strings.HasPrefix(name, ".") && name != ".")
}

// ScanRepo reads every *_test.go and JavaScript test file under root, except those in the
// directories listed in exclude (relative to root).
func ScanRepo(root string, exclude ...string) (*Scan, error) {
	goFiles := map[string][]string{} // dir -> files
	var jsFiles []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if path != root && (skipDir(d.Name()) || slices.Contains(exclude, rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, "_test.go"):
			dir := filepath.ToSlash(filepath.Dir(rel))
			goFiles[dir] = append(goFiles[dir], rel)
		case strings.HasSuffix(name, ".test.js") || strings.HasSuffix(name, ".test.mjs") ||
			strings.HasSuffix(name, ".test.ts") || strings.HasSuffix(name, "_test.js"):
			jsFiles = append(jsFiles, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &Scan{}
	dirs := make([]string, 0, len(goFiles))
	for d := range goFiles {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		ms, err := scanGoDir(root, dir, goFiles[dir])
		if err != nil {
			return nil, err
		}
		s.Mentions = append(s.Mentions, ms...)
	}
	sort.Strings(jsFiles)
	for _, f := range jsFiles {
		ms, err := scanJS(root, f)
		if err != nil {
			return nil, err
		}
		s.Mentions = append(s.Mentions, ms...)
	}
	return s, nil
}

// decl is a top-level declaration of a test file.
type decl struct {
	key     string // unique within the directory: file + position
	names   []string
	isTest  bool
	test    Test
	refs    map[string]bool // identifiers used inside
	pos     token.Pos       // start, doc comment included
	end     token.Pos
	file    string
	display string
	imports bool
}

// recvName is the type name of a method receiver.
func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvName(x.X)
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.IndexListExpr:
		return recvName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}

func isTestFunc(fd *ast.FuncDecl) bool {
	if fd.Recv != nil {
		return false
	}
	for _, p := range []string{"Test", "Fuzz", "Benchmark", "Example"} {
		if rest, ok := strings.CutPrefix(fd.Name.Name, p); ok {
			return rest == "" || !(rest[0] >= 'a' && rest[0] <= 'z')
		}
	}
	return false
}

// scanGoDir reads the test files of one directory.
func scanGoDir(root, dir string, files []string) ([]Mention, error) {
	fset := token.NewFileSet()
	type pending struct {
		id   string
		file string
		line int
		d    *decl // nil: file header or trailing comment
		head bool  // in the file header
	}
	var decls []*decl
	byName := map[string][]*decl{}
	var found []pending
	fileTests := map[string][]*decl{}
	sort.Strings(files)
	for _, rel := range files {
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, rel, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", rel, err)
		}
		var fileDecls []*decl
		for _, gd := range f.Decls {
			d := &decl{refs: map[string]bool{}, file: rel, pos: gd.Pos(), end: gd.End()}
			switch x := gd.(type) {
			case *ast.FuncDecl:
				if x.Doc != nil {
					d.pos = x.Doc.Pos()
				}
				d.names = []string{x.Name.Name}
				d.display = x.Name.Name
				if x.Recv != nil && len(x.Recv.List) > 0 {
					d.display = recvName(x.Recv.List[0].Type) + "." + x.Name.Name
				}
				if isTestFunc(x) && x.Name.Name != "TestMain" {
					d.isTest = true
					d.test = Test{Dir: dir, Name: x.Name.Name, File: rel}
					fileTests[rel] = append(fileTests[rel], d)
					if m := nameRE.FindStringSubmatch(x.Name.Name); m != nil {
						for _, sm := range nameID.FindAllStringSubmatch(m[1], -1) {
							found = append(found, pending{id: sm[1] + "-" + sm[2], file: rel,
								line: fset.Position(x.Name.Pos()).Line, d: d})
						}
					}
				}
			case *ast.GenDecl:
				if x.Doc != nil {
					d.pos = x.Doc.Pos()
				}
				for _, sp := range x.Specs {
					switch s := sp.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							d.names = append(d.names, n.Name)
						}
					case *ast.TypeSpec:
						d.names = append(d.names, s.Name.Name)
					}
				}
				d.display = strings.Join(d.names, ", ")
				d.imports = x.Tok == token.IMPORT
			}
			d.key = rel + ":" + strconv.Itoa(int(d.pos))
			ast.Inspect(gd, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.Ident:
					d.refs[x.Name] = true
				case *ast.BasicLit:
					if x.Kind == token.STRING {
						for _, id := range idRE.FindAllString(x.Value, -1) {
							found = append(found, pending{id: id, file: rel, line: fset.Position(x.Pos()).Line, d: d})
						}
					}
				}
				return true
			})
			for _, n := range d.names {
				byName[n] = append(byName[n], d)
			}
			decls = append(decls, d)
			fileDecls = append(fileDecls, d)
		}
		// Comments: inside a declaration (doc included), before the next one, or in the
		// file header (before the package clause).
		for _, cg := range f.Comments {
			if !idRE.MatchString(cg.Text()) {
				continue
			}
			var owner *decl
			header := cg.End() <= f.Package
			if !header {
				for _, d := range fileDecls {
					if cg.Pos() >= d.pos && cg.End() <= d.end {
						owner = d
						break
					}
				}
				if owner == nil {
					for _, d := range fileDecls {
						if d.pos >= cg.End() {
							owner = d
							break
						}
					}
				}
			}
			if owner != nil && owner.imports {
				owner, header = nil, true
			}
			// Line of each ID within the comment group.
			for _, c := range cg.List {
				for _, id := range idRE.FindAllString(c.Text, -1) {
					found = append(found, pending{id: id, file: rel, line: fset.Position(c.Pos()).Line, d: owner, head: header})
				}
			}
		}
	}
	// reachedBy: for each declaration, the tests that reach it through identifiers.
	reached := map[string][]Test{}
	for _, d := range decls {
		if !d.isTest {
			continue
		}
		seen := map[string]bool{d.key: true}
		queue := []*decl{d}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			reached[cur.key] = append(reached[cur.key], d.test)
			for name := range cur.refs {
				for _, next := range byName[name] {
					if !seen[next.key] && !next.isTest {
						seen[next.key] = true
						queue = append(queue, next)
					}
				}
			}
		}
	}
	var out []Mention
	for _, p := range found {
		m := Mention{ID: p.id, File: p.file, Line: p.line}
		switch {
		case p.d == nil && p.head:
			m.Where = "file header"
			for _, t := range fileTests[p.file] {
				m.Tests = append(m.Tests, t.test)
			}
		case p.d == nil:
			m.Where = "comment after the last declaration"
		case p.d.isTest:
			m.Where = p.d.test.Name
			m.Tests = []Test{p.d.test}
		default:
			m.Where, m.Via = p.d.display, p.d.display
			m.Tests = reached[p.d.key]
		}
		out = append(out, m)
	}
	return out, nil
}

// scanJS reads a JavaScript test file line by line.
func scanJS(root, rel string) ([]Mention, error) {
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	title := make([]string, len(lines)) // the test declared on the line, if any
	for i, l := range lines {
		if m := jsTestRE.FindStringSubmatch(l); m != nil {
			title[i] = m[2]
		}
	}
	isComment := func(l string) bool {
		t := strings.TrimSpace(l)
		return strings.HasPrefix(t, "//") || strings.HasPrefix(t, "*") || strings.HasPrefix(t, "/*")
	}
	var out []Mention
	for i, l := range lines {
		ids := idRE.FindAllString(l, -1)
		if len(ids) == 0 {
			continue
		}
		owner := -1
		if title[i] != "" {
			owner = i
		} else if isComment(l) {
			for j := i + 1; j < len(lines); j++ {
				if title[j] != "" {
					owner = j
					break
				}
				if !isComment(lines[j]) {
					break
				}
			}
		}
		if owner < 0 {
			for j := i - 1; j >= 0; j-- {
				if title[j] != "" {
					owner = j
					break
				}
			}
		}
		test := func(j int) Test {
			return Test{Dir: filepath.ToSlash(filepath.Dir(rel)), Name: "node:test " + strconv.Quote(title[j]), File: rel}
		}
		for _, id := range ids {
			m := Mention{ID: id, File: rel, Line: i + 1, Where: "file header"}
			if owner >= 0 {
				m.Tests = []Test{test(owner)}
				m.Where = m.Tests[0].Name
			} else {
				for j := range lines {
					if title[j] != "" {
						m.Tests = append(m.Tests, test(j))
					}
				}
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// Claim is a row ID written in a document outside the catalogue and the generated map.
type Claim struct {
	ID   string
	File string
	Line int
}

// notClaimed marks a line that names a row without claiming a test for it.
var notClaimed = regexp.MustCompile(`(?i)\b(not covered|not tested|untested|uncovered|no test)\b`)

// DocClaims returns the row IDs written in README.md and docs/*.md (except the catalogue
// copy and the generated map), skipping lines that say the row is not tested.
func DocClaims(root string) ([]Claim, error) {
	files := []string{"README.md"}
	md, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	for _, f := range md {
		rel, _ := filepath.Rel(root, f)
		rel = filepath.ToSlash(rel)
		if rel != CataloguePath && rel != DocPath {
			files = append(files, rel)
		}
	}
	sort.Strings(files)
	var out []Claim
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		for i, l := range strings.Split(string(data), "\n") {
			if notClaimed.MatchString(l) {
				continue
			}
			for _, id := range idRE.FindAllString(l, -1) {
				out = append(out, Claim{ID: id, File: rel, Line: i + 1})
			}
		}
	}
	return out, nil
}

// Render writes docs/threats.md.
func Render(c *Catalogue, s *Scan) []byte {
	tests := s.entries()
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	type stat struct{ covered, partial, total int }
	stats := map[string]*stat{"P0": {}, "P1": {}, "P2": {}}
	var all stat
	covered := make([]bool, len(c.Rows))
	for i, r := range c.Rows {
		n := 0
		for _, id := range r.IDs {
			if len(tests[id]) > 0 {
				n++
			}
		}
		st := stats[r.Priority]
		st.total++
		all.total++
		if n > 0 {
			covered[i] = true
			st.covered++
			all.covered++
			if n < len(r.IDs) {
				st.partial++
				all.partial++
			}
		}
	}
	pct := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%d %%", a*100/b)
	}

	w("# Threat coverage\n\n")
	w("<!-- Generated by internal/threatcov from the test sources; do not edit. Regenerate with:\n")
	w("     %s -->\n\n", UpdateCommand)
	w("Every row of the threat catalogue and the tests that name it. The catalogue is\n")
	w("[%s](%s), a byte-for-byte copy of the project's shared catalogue\n", filepath.Base(CataloguePath), filepath.Base(CataloguePath))
	w("`%s` (sha256 `%s…`); copy it again when that one changes.\n\n", SharedCatalogue, c.SHA256[:16])
	w("A test names a row when its function name starts with the ID (`TestAS01_…`), or when a\n")
	w("comment or string literal in it mentions the ID. A mention in a helper or a package-level\n")
	w("declaration of a `_test.go` file counts for the tests of its directory that use it (shown as\n")
	w("one item when more than %d tests do); one in a file's header comment, for every test of that\n", maxListed)
	w("file. A row that combines several IDs is covered when at least one of them is named; the\n")
	w("table shows the IDs no test names. ID ranges (\"JW-01..JW-24\") name only their ends.\n\n")
	w("`go test ./internal/threatcov` fails when this file is stale, when a row listed as covered\n")
	w("here or written in README.md or docs/*.md has no test, and when a test names an ID the\n")
	w("catalogue does not have.\n\n")

	w("## Summary\n\n")
	w("| Priority | Rows | Covered | Of which partly | Not covered | Coverage |\n")
	w("|---|---:|---:|---:|---:|---:|\n")
	for _, p := range []string{"P0", "P1", "P2"} {
		st := stats[p]
		w("| %s | %d | %d | %d | %d | %s |\n", p, st.total, st.covered, st.partial, st.total-st.covered, pct(st.covered, st.total))
	}
	w("| **All** | **%d** | **%d** | **%d** | **%d** | **%s** |\n\n", all.total, all.covered, all.partial, all.total-all.covered, pct(all.covered, all.total))
	ids, named := 0, 0
	for _, r := range c.Rows {
		for _, id := range r.IDs {
			ids++
			if len(tests[id]) > 0 {
				named++
			}
		}
	}
	w("%d of the catalogue's %d IDs are named by at least one test.\n\n", named, ids)

	w("## Rows and their tests\n\n")
	w("| ID | P | Threat | Tests |\n|---|---|---|---|\n")
	for _, r := range c.Rows {
		var cells []string
		var missing []string
		for _, id := range r.IDs {
			ts := tests[id]
			if len(ts) == 0 {
				missing = append(missing, id)
				continue
			}
			var names []string
			for _, e := range ts {
				names = append(names, "["+e.label+"](../"+e.file+")")
			}
			if len(r.IDs) > 1 {
				cells = append(cells, "**"+id+"**: "+strings.Join(names, ", "))
			} else {
				cells = append(cells, strings.Join(names, ", "))
			}
		}
		cell := strings.Join(cells, "; ")
		switch {
		case len(cells) == 0:
			cell = "**not covered**"
		case len(missing) > 0:
			cell += "; *" + strings.Join(missing, ", ") + " not named*"
		}
		w("| %s | %s | %s | %s |\n", r.Label(), r.Priority, r.Name, cell)
	}

	w("\n## Not covered\n\n")
	n := 0
	for _, p := range []string{"P0", "P1", "P2"} {
		for i, r := range c.Rows {
			if covered[i] || r.Priority != p {
				continue
			}
			n++
			w("- %s (%s) %s\n", r.Label(), r.Priority, r.Name)
		}
	}
	if n == 0 {
		w("Every row is named by at least one test.\n")
	}

	// Mentions in helpers that no test reaches: visible, not counted.
	var orphans []string
	for _, m := range s.Mentions {
		if len(m.Tests) == 0 {
			orphans = append(orphans, fmt.Sprintf("- %s in %s (%s), reached by no test function", m.ID, m.File, m.Where))
		}
	}
	if len(orphans) > 0 {
		orphans = slices.Compact(orphans)
		w("\n## Mentions that count for no test\n\n%s\n", strings.Join(orphans, "\n"))
	}
	return b.Bytes()
}

// CoveredInDoc returns the row IDs docs/threats.md lists with tests (the rows table's IDs
// whose Tests cell is not "not covered"), with IDs marked "not named" removed.
func CoveredInDoc(doc []byte) []string {
	var out []string
	inTable := false
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "## ") {
			inTable = l == "## Rows and their tests"
			continue
		}
		if !inTable || !strings.HasPrefix(l, "| ") {
			continue
		}
		cells := strings.Split(l, " | ")
		if len(cells) < 4 {
			continue
		}
		last := cells[len(cells)-1]
		if strings.Contains(last, "not covered") {
			continue
		}
		var missing []string
		if i := strings.LastIndex(last, "; *"); i >= 0 && strings.HasSuffix(last, " not named* |") {
			missing = idRE.FindAllString(last[i:], -1)
		}
		for _, id := range idRE.FindAllString(strings.TrimPrefix(cells[0], "| "), -1) {
			if !slices.Contains(missing, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// FindRoot returns the repository root: the closest directory above dir holding go.mod.
func FindRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
