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
	"regexp"
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
