package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// templateKey finds {{t "..."}} (and (t "...") inside an expression) in the page templates.
var templateKey = regexp.MustCompile(`\bt\s+"((?:[^"\\]|\\.)*)"`)

// textArgs says which arguments of a call are English catalog texts, by the called
// function's name: the translation functions themselves (T, Text, N) and the portal's page
// helpers that translate their title and message where they render them, and the notices
// of account-change emails (translated by the messenger).
var textArgs = map[string][]int{
	"T": {1}, "Text": {1}, "N": {0}, "Notify": {1}, "pageT": {1},
	"Fail": {3, 4}, "Page": {4, 5}, "Render": {5, 6}, "RenderError": {3}, "errorPage": {3, 4},
}

// textFields are the fields, by type, of page data that the renderers translate: the code
// pages' (CodeStartPage, CodeVerifyPage) and the protected sites' own pages (renderPage).
var textFields = map[string]map[string]bool{
	"CodeStartData":  {"Title": true, "Intro": true, "Button": true},
	"CodeVerifyData": {"Title": true, "Intro": true},
	"pageData":       {"Title": true, "Message": true, "LinkText": true},
	"pageLink":       {"Text": true},
}

// usedKeys collects every text the templates and the Go code hand to the catalogs, with
// where it was found.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	root := ".."
	used := map[string]string{}
	pages, err := filepath.Glob(filepath.Join(root, "ui", "templates", "*.html"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
			s, err := strconv.Unquote(`"` + m[1] + `"`)
			if err != nil {
				t.Fatalf("%s: %s: %v", p, m[1], err)
			}
			used[s] = filepath.Base(p)
		}
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "e2e", "testdata", "node_modules", "bench", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				for _, i := range textArgs[name] {
					if i < len(n.Args) {
						if s, ok := literal(n.Args[i]); ok && s != "" {
							used[s] = fset.Position(n.Pos()).String()
						}
					}
				}
			case *ast.CompositeLit:
				elts := []ast.Expr{n}
				typ := typeName(n.Type)
				if arr, ok := n.Type.(*ast.ArrayType); ok {
					// []pageLink{{...}, {...}}: the elements' type is implicit.
					typ, elts = typeName(arr.Elt), n.Elts
				}
				fields := textFields[typ]
				if fields == nil {
					return true
				}
				for _, el := range elts {
					lit, ok := el.(*ast.CompositeLit)
					if !ok {
						continue
					}
					for _, e := range lit.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						if k, ok := kv.Key.(*ast.Ident); ok && fields[k.Name] {
							if s, ok := literal(kv.Value); ok && s != "" {
								used[s] = fset.Position(kv.Pos()).String()
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return used
}

// typeName is the name of a (possibly qualified) type expression, or "".
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// literal returns the value of a string literal or a sum of string literals.
func literal(e ast.Expr) (string, bool) {
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
		x, okx := literal(b.X)
		y, oky := literal(b.Y)
		return x + y, okx && oky
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// Every text a page or message uses is translated in every language but English, no
// catalog keeps a text nobody uses any more, and English has entries for the texts with
// plural forms only.
func TestCatalogsComplete(t *testing.T) {
	used := usedKeys(t)
	if len(used) < 100 {
		t.Fatalf("found only %d texts: the scanner is broken", len(used))
	}
	var keys []string
	for k := range used {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, lang := range Languages[1:] {
		for _, k := range keys {
			e, ok := Lookup(lang, k)
			if !ok {
				t.Errorf("catalog/%s.json misses %q (used at %s)", lang, k, used[k])
				continue
			}
			if e.Plural == nil && strings.Count(e.Text, "%") != strings.Count(k, "%") {
				t.Errorf("catalog/%s.json: %q has other verbs than its key: %q", lang, k, e.Text)
			}
		}
	}
	for _, lang := range Languages {
		for _, k := range Keys(lang) {
			if _, ok := used[k]; !ok {
				t.Errorf("catalog/%s.json has the stale key %q (used nowhere)", lang, k)
			}
			if e, _ := Lookup(lang, k); lang == Default && e.Plural == nil {
				t.Errorf("catalog/en.json: %q is not a plural text (English needs none)", k)
			}
		}
	}
}
