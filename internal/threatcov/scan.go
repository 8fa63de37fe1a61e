package threatcov

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

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
