// Package i18n translates the portal's pages and messages. Message IDs are the English
// source texts (gettext style): T(lang, "Log in") returns the German, French or Spanish text
// from the embedded catalog of that language, or the English text itself when nobody
// translated it yet, so a new string is readable before it is translated.
//
// The catalogs are catalog/<lang>.json, one per language, a flat JSON object from English
// text to translation. A text with a count is an object of CLDR plural forms
// ({"one": "%d Minute", "other": "%d Minuten"}), selected by the first argument; English
// has a catalog for those plural texts only. Translations are plain text: html/template
// escapes them like any other value.
//
// Formatting and plural rules come from golang.org/x/text/message and its catalog (already a
// dependency for language matching): one message.Printer per language is built at start and
// shared by every request (a Printer is safe for concurrent use) for the texts with plural
// forms; every other text is a map lookup.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Default is the language of the message IDs and the default deployment locale.
const Default = "en"

// Languages are the languages with a complete catalog, Default first.
var Languages = []string{"en", "de", "fr", "es"}

//go:embed catalog/*.json
var catalogFS embed.FS

var (
	tags     []language.Tag
	matcher  language.Matcher
	printers = map[string]*message.Printer{}
	// entries keeps each language's catalog for the completeness test.
	entries = map[string]map[string]Entry{}
)

// Entry is one catalog entry: a plain translation (Text) or plural forms (Plural, keyed by
// CLDR category: zero, one, two, few, many, other).
type Entry struct {
	Text   string
	Plural map[string]string
}

// UnmarshalJSON reads a string or an object of plural forms.
func (e *Entry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Text)
	}
	return json.Unmarshal(b, &e.Plural)
}

func init() {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	for _, lang := range Languages {
		tag := language.MustParse(lang)
		tags = append(tags, tag)
		m, err := load(lang)
		if err != nil {
			panic(err) // the catalogs are embedded: a broken one fails every test
		}
		entries[lang] = m
		for key, e := range m {
			if err := set(b, tag, key, e); err != nil {
				panic(fmt.Errorf("catalog %s: %q: %w", lang, key, err))
			}
		}
	}
	matcher = language.NewMatcher(tags)
	for i, lang := range Languages {
		printers[lang] = message.NewPrinter(tags[i], message.Catalog(b))
	}
}

func load(lang string) (map[string]Entry, error) {
	raw, err := catalogFS.ReadFile(path.Join("catalog", lang+".json"))
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	m := map[string]Entry{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	return m, nil
}

// pluralOrder is the order catalog.Selectf expects cases in (other last).
var pluralOrder = []string{"zero", "one", "two", "few", "many", "other"}

func set(b *catalog.Builder, tag language.Tag, key string, e Entry) error {
	if e.Plural == nil {
		return b.SetString(tag, key, e.Text)
	}
	if _, ok := e.Plural["other"]; !ok {
		return fmt.Errorf(`plural forms need "other"`)
	}
	var cases []any
	for _, c := range pluralOrder {
		if s, ok := e.Plural[c]; ok {
			cases = append(cases, c, s)
		}
	}
	return b.Set(tag, key, plural.Selectf(1, "%d", cases...))
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(Languages, lang) }

// T translates the English text msg into lang (one of Languages; anything else means
// English) and formats it with args like fmt.Sprintf.
//
// A plain text costs a map lookup (and fmt.Sprintf with arguments); only the texts with
// plural forms go through the message.Printer, which selects the form by CLDR rules.
func T(lang, msg string, args ...any) string {
	cat, ok := entries[lang]
	if !ok {
		lang, cat = Default, entries[Default]
	}
	s := msg
	if e, ok := cat[msg]; ok {
		if e.Plural != nil {
			return printers[lang].Sprintf(msg, args...)
		}
		s = e.Text
	}
	if len(args) == 0 && !strings.Contains(s, "%") {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// N marks msg as a text to translate later (where it is shown) and returns it unchanged,
// like gettext's N_: the catalog test finds it.
func N(msg string) string { return msg }

// Match returns the supported language that best fits a list of tags in order of
// preference, and whether any fits (a tag of another language does not).
func Match(prefs ...language.Tag) (string, bool) {
	if len(prefs) == 0 {
		return "", false
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return "", false
	}
	return Languages[i], true
}

// maxHeader bounds the Accept-Language and ui_locales values parsed.
const maxHeader = 256

// Choose picks the language of a page: the first supported one of uiLocales (OpenID
// Connect Core 3.1.2.1: space-separated BCP47 tags in order of preference), else of the
// Accept-Language header (q-values honoured), else def (or English when def is not
// supported). Unknown or malformed tags are skipped.
func Choose(uiLocales, acceptLanguage, def string) string {
	if l, ok := FromUILocales(uiLocales); ok {
		return l
	}
	if l, ok := FromAcceptLanguage(acceptLanguage); ok {
		return l
	}
	if Supported(def) {
		return def
	}
	return Default
}

// FromUILocales matches an ui_locales value (space-separated tags).
func FromUILocales(v string) (string, bool) {
	if v == "" || len(v) > maxHeader {
		return "", false
	}
	var prefs []language.Tag
	for _, f := range strings.Fields(v) {
		if t, err := language.Parse(f); err == nil && t != language.Und {
			prefs = append(prefs, t)
		}
	}
	return Match(prefs...)
}

// FromAcceptLanguage matches an Accept-Language header (RFC 9110 12.5.4).
func FromAcceptLanguage(v string) (string, bool) {
	if v == "" || len(v) > maxHeader {
		return "", false
	}
	return Match(parseAccept(v)...)
}

// parseAccept parses an Accept-Language value into tags by falling q-value (stable for equal
// ones), skipping malformed or unknown entries and q=0, where language.ParseAcceptLanguage
// rejects the whole header for one unknown tag.
func parseAccept(v string) []language.Tag {
	type pref struct {
		tag language.Tag
		q   float64
	}
	var prefs []pref
	for _, item := range strings.Split(v, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(item), ";")
		q := 1.0
		if qs, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(qs, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if name == "*" || q == 0 {
			continue
		}
		t, err := language.Parse(name)
		if err != nil || t == language.Und {
			continue
		}
		prefs = append(prefs, pref{t, q})
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	out := make([]language.Tag, len(prefs))
	for i, p := range prefs {
		out[i] = p.tag
	}
	return out
}

// Keys returns the keys of lang's catalog, sorted (for tests and tools).
func Keys(lang string) []string {
	var out []string
	for k := range entries[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Lookup returns lang's catalog entry for key.
func Lookup(lang, key string) (Entry, bool) {
	e, ok := entries[lang][key]
	return e, ok
}
