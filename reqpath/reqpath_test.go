package reqpath

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// check runs Check the way the handlers do: on a request target parsed by net/url.
func check(t *testing.T, target string) error {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		// net/http answers 400 itself for these; treat as refused.
		return ErrBadEscape
	}
	return Check(u.EscapedPath(), u.Path)
}

// TestCanonicalPathsPass: ordinary paths, including encoded reserved characters and UTF-8,
// must keep working — a gateway that refuses real traffic gets switched off.
func TestCanonicalPathsPass(t *testing.T) {
	for _, p := range []string{
		"/", "/admin", "/admin/", "/admin/x", "/ADMIN/X", "/a/b/c/d.txt", "/.well-known/openid-configuration",
		"/files/a%20b.txt", "/search/a%2Bb", "/wiki/Z%C3%BCrich", "/wiki/%E6%9D%B1%E4%BA%AC", "/a~b/c-d_e.f",
		"/x/%20y", "/api/v1/items/123", "/a..b/c", "/a/.hidden", "/a/b.c/d", "/~user/x", "/a~b/1", "/v~1x/y",
		"/%C3%84rger", "/stra%C3%9Fe", "/%C4%B0stanbul-no", "/caf%C3%A9",
	} {
		if err := check(t, p); err != nil {
			t.Errorf("%s: refused (%v), want accepted", p, err)
		}
	}
}

// TestNonCanonicalPathsRefused is the PX-13 list: every variant on which Caddy's matcher,
// an RFC 3986 resolver (Node, Java), Tomcat/Spring, IIS or a double-decoding upstream could
// disagree about which resource is meant.
func TestNonCanonicalPathsRefused(t *testing.T) {
	cases := map[string]error{
		// RFC 3986 §5.2.4 dot segments, and the empty segment that ".." removes upstream while
		// Caddy's matcher merges slashes first ("/admin//../secret" -> "/secret" vs
		// "/admin/secret").
		"/admin//../secret": ErrEmptySegment,
		"/admin/x/..":       ErrDotSegment,
		"/admin/.":          ErrDotSegment,
		"/admin/./x":        ErrDotSegment,
		"/../admin":         ErrDotSegment,
		"//admin":           ErrEmptySegment,
		"/admin//x":         ErrEmptySegment,
		"/api//../docs":     ErrEmptySegment,
		"/mfa//../settings": ErrEmptySegment,
		// Encoded dots and slashes (WHATWG URL treats %2e as a dot segment).
		"/admin/%2e%2e/secret":       ErrOverEncoded,
		"/admin/%2E%2E/secret":       ErrOverEncoded,
		"/admin/.%2e/secret":         ErrOverEncoded,
		"/x/..%2fadmin":              ErrEncodedSlash,
		"/x/..%2Fadmin":              ErrEncodedSlash,
		"/admin%2fsecret":            ErrEncodedSlash,
		"/admin%5cx":                 ErrEncodedSlash,
		"/admin%5Cx":                 ErrEncodedSlash,
		"/%2561dmin/x":               ErrEncodedPercent,
		"/%61dmin/x":                 ErrOverEncoded,
		"/%41DMIN/x":                 ErrOverEncoded,
		"/admin%3bx/secret":          ErrEncodedSemi,
		"/admin%00/x":                ErrEncodedControl,
		"/admin%0a/x":                ErrEncodedControl,
		"/admin%7f/x":                ErrEncodedControl,
		"/admin%c0%ae%c0%ae/x":       ErrInvalidUTF8, // overlong "."
		"/admin%e0%80%ae/x":          ErrInvalidUTF8,
		"/admin%ff/x":                ErrInvalidUTF8,
		"/%EF%BD%81dmin/x":           ErrNotNFKC,        // full-width "a"
		"/admin%EF%BC%8Fx":           ErrNotNFKC,        // full-width solidus
		"/admin%EF%BC%BCx":           ErrNotNFKC,        // full-width reverse solidus
		"/admin%EF%BC%8E%EF%BC%8E/x": ErrNotNFKC,        // full-width full stops
		"/admin%E2%88%95x":           ErrLookalikeSlash, // division slash
		"/admin%E2%81%84x":           ErrLookalikeSlash, // fraction slash
		// Tomcat/Spring path parameters, IIS backslash and trimming.
		"/admin;x/secret": ErrSemicolon,
		"/admin..;/x":     ErrSemicolon,
		"/admin;/x":       ErrSemicolon,
		"/admin\\x":       ErrEncodedSlash, // net/url escapes a raw backslash
		"/admin./x":       ErrDotSegment,
		"/admin%20/x":     ErrTrailingSpace,
		"/admin.../x":     ErrDotSegment,
		// Found by review: decode-and-reparse chains (nginx $uri) cut at ? and #; Java's
		// equalsIgnoreCase reads the dotless i as i; NTFS resolves 8.3 short names.
		"/admin%3F/x":         ErrEncodedDelim,
		"/admin%23/x":         ErrEncodedDelim,
		"/adm%C4%B1n/secret":  ErrCaseFoldsASCII, // ı U+0131
		"/admin/%C5%BFecret":  ErrCaseFoldsASCII, // ſ U+017F
		"/ADMINI~1/x":         ErrShortName,
		"/docs/REPORT~12.TXT": ErrShortName,
	}
	for p, want := range cases {
		err := check(t, p)
		if err == nil {
			t.Errorf("%s: accepted, want refused (%v)", p, want)
			continue
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: refused with %v, want %v", p, err, want)
		}
	}
}

// TestRawBytesRefused (PX-17, malformed request targets fail closed): targets that reach a
// handler only over HTTP/2 or through a rewrite,
// where net/url did not see the request line.
func TestRawBytesRefused(t *testing.T) {
	for _, c := range []struct{ escaped, decoded string }{
		{"admin", "admin"},
		{"", ""},
		{"*", "*"},
		{"/a\x00b", "/a\x00b"},
		{"/a\tb", "/a\tb"},
		{"/a#b", "/a#b"},
		{"/a?b", "/a?b"},
		{"/\xc3\xbc", "/\xc3\xbc"},
		{"/a", "/b/../a"},  // decoded form changed behind the encoded one
		{"/a%20", "/a%20"}, // encoded and decoded forms disagree
		{"/a/b", "/a//b"},  // length mismatch
		{"/a", "a"},        // decoded not rooted
		{"/ok/%C3", "/ok/\xc3"},
	} {
		if err := Check(c.escaped, c.decoded); err == nil {
			t.Errorf("Check(%q, %q) = nil, want refused", c.escaped, c.decoded)
		}
	}
}

// TestCheckDoesNotAllocate: the check runs on every protected request (hot path).
func TestCheckDoesNotAllocate(t *testing.T) {
	u, _ := url.ParseRequestURI("/api/v1/items/Z%C3%BCrich/123")
	esc, dec := u.EscapedPath(), u.Path
	if n := testing.AllocsPerRun(100, func() { _ = Check(esc, dec) }); n != 0 {
		t.Errorf("Check allocates %v times per call", n)
	}
}

// TestErrorDoesNotEchoPath: the message goes into responses and logs; it must not reflect
// attacker input.
func TestErrorDoesNotEchoPath(t *testing.T) {
	err := check(t, "/admin/<script>/..")
	if err == nil || strings.Contains(err.Error(), "script") {
		t.Fatalf("error %v", err)
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, p := range []string{"/api/v1/items/123", "/wiki/Z%C3%BCrich/section/history"} {
		u, _ := url.ParseRequestURI(p)
		esc, dec := u.EscapedPath(), u.Path
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Check(esc, dec)
			}
		})
	}
}
