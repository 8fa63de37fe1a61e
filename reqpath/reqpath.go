// Package reqpath decides whether a request path is canonical: written in the one form that
// Caddy's matchers, Gatehouse's policy and every kind of upstream read as the same path.
//
// Caddy's path matcher judges a cleaned copy of the path (dot segments resolved, slashes
// merged, lower case), while reverse_proxy forwards the path exactly as the client sent it,
// and upstreams resolve it in their own ways: RFC 3986 dot-segment removal (Node's URL,
// Java's URI.normalize), `;` path parameters dropped (Tomcat, Spring), backslashes as
// slashes and trailing dots or spaces trimmed (IIS, Windows), percent-decoding applied twice,
// Unicode compatibility folding (full-width letters). Any of these turns a path the policy
// judged as `/secret` into `/admin/secret` upstream (THREATS PX-13). Rather than guess which
// resolution the upstream applies, Gatehouse refuses every path on which they could differ;
// a canonical path reads the same under all of them.
//
// A path is canonical when:
//
//   - it starts with "/" (origin form);
//   - it has no empty segment ("//") except the last (a trailing slash), and no segment
//     ending in "." or " " (which covers "." and ".." and the trailing dots and spaces that
//     Windows trims);
//   - it contains no backslash, no ";" (path parameters), no control character, no "#";
//   - every percent-encoding is valid and encodes a character that must be encoded: an
//     encoded unreserved character ("%2e", "%61"), "/" ("%2f"), "\" ("%5c"), "%" ("%25",
//     which double-decoding upstreams read as an escape), ";" ("%3b"), "?" or "#" ("%3f",
//     "%23", where a decode-and-reparse upstream cuts the path) or a control character
//     ("%00") is refused;
//   - no segment looks like a Windows 8.3 short name ("ADMINI~1");
//   - decoded, it is valid UTF-8 (no overlong encoding such as "%c0%ae") in Unicode
//     normalisation form NFKC (no full-width or other compatibility characters), without
//     the look-alike slashes that Windows' best-fit code pages turn into "/" or "\", and
//     without letters whose upper- or lower-case form is ASCII (the dotless ı, the long ſ).
//
// Case is not part of the canonical form: paths are case-sensitive, and Caddy's path matcher
// compares without case, so a policy on /admin/* also covers /ADMIN/x.
package reqpath

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Error says why a path is not canonical. Its message names the offending part without
// echoing the path.
type Error struct {
	// Reason is a lower-case phrase, such as "a dot segment".
	Reason string
}

func (e *Error) Error() string { return "the request path is not canonical: " + e.Reason }

// Errors returned by Check, comparable with errors.Is.
var (
	ErrNotOrigin       = &Error{"it must start with /"}
	ErrEmptySegment    = &Error{"it has an empty segment (//)"}
	ErrDotSegment      = &Error{"a segment ends with a dot (., .. or a trailing dot)"}
	ErrTrailingSpace   = &Error{"a segment ends with a space"}
	ErrBackslash       = &Error{"it contains a backslash"}
	ErrSemicolon       = &Error{"it contains ';' (path parameters)"}
	ErrControl         = &Error{"it contains a control character"}
	ErrFragment        = &Error{"it contains '#' or '?'"}
	ErrRawNonASCII     = &Error{"it contains unencoded non-ASCII bytes"}
	ErrBadEscape       = &Error{"it has an invalid percent-encoding"}
	ErrOverEncoded     = &Error{"it percent-encodes a character that must be written as itself (letters, digits, - . _ ~)"}
	ErrEncodedSlash    = &Error{"it percent-encodes a slash or backslash (%2f, %5c)"}
	ErrEncodedPercent  = &Error{"it percent-encodes a percent sign (%25)"}
	ErrEncodedSemi     = &Error{"it percent-encodes ';' (%3b)"}
	ErrEncodedDelim    = &Error{"it percent-encodes '?' or '#' (%3f, %23), which a decode-and-reparse upstream cuts the path at"}
	ErrCaseFoldsASCII  = &Error{"it decodes to a letter whose case mapping is ASCII (such as the dotless i or the long s)"}
	ErrShortName       = &Error{"a segment looks like a Windows 8.3 short name (such as ADMINI~1)"}
	ErrEncodedControl  = &Error{"it percent-encodes a control character"}
	ErrInvalidUTF8     = &Error{"it decodes to invalid UTF-8 (an overlong or truncated encoding)"}
	ErrNotNFKC         = &Error{"it decodes to compatibility characters (such as full-width letters)"}
	ErrLookalikeSlash  = &Error{"it decodes to a character that looks like a slash or backslash"}
	ErrDecodedMismatch = &Error{"its decoded and encoded forms disagree"}
)

// Check reports whether a request path is canonical. escaped is the path as it travels
// upstream (net/url's URL.EscapedPath); decoded is the path matchers see (URL.Path). It
// returns nil or one of the Err values above. It does not allocate.
func Check(escaped, decoded string) error {
	if len(escaped) == 0 || escaped[0] != '/' {
		return ErrNotOrigin
	}
	// The encoded form: escapes, and the characters that must not appear at all.
	nonASCII := false
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c == '%':
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return ErrBadEscape
			}
			b := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			switch {
			case isUnreserved(b):
				return ErrOverEncoded
			case b == '/' || b == '\\':
				return ErrEncodedSlash
			case b == '%':
				return ErrEncodedPercent
			case b == ';':
				return ErrEncodedSemi
			case b == '?' || b == '#':
				return ErrEncodedDelim
			case b < 0x20 || b == 0x7f:
				return ErrEncodedControl
			case b >= 0x80:
				nonASCII = true
			}
			i += 2
		case c == '\\':
			return ErrBackslash
		case c == ';':
			return ErrSemicolon
		case c == '#' || c == '?':
			return ErrFragment
		case c < 0x20 || c == 0x7f:
			return ErrControl
		case c >= 0x80:
			return ErrRawNonASCII
		}
	}
	// The decoded form: segments, UTF-8 and Unicode normalisation. decoded must be what
	// escaped decodes to; a caller that changed one without the other is refused.
	if len(decoded) == 0 || decoded[0] != '/' {
		return ErrDecodedMismatch
	}
	if !nonASCII && len(decoded) != decodedLen(escaped) {
		return ErrDecodedMismatch
	}
	start := 1
	for i := 1; i <= len(decoded); i++ {
		if i < len(decoded) {
			c := decoded[i]
			if c == '\\' || c == ';' || c == '%' || c < 0x20 || c == 0x7f {
				return ErrDecodedMismatch
			}
			if c != '/' {
				continue
			}
		}
		seg := decoded[start:i]
		switch {
		case len(seg) == 0:
			if i < len(decoded) {
				return ErrEmptySegment
			}
		case seg[len(seg)-1] == '.':
			return ErrDotSegment
		case seg[len(seg)-1] == ' ':
			return ErrTrailingSpace
		case shortName(seg):
			return ErrShortName
		}
		start = i + 1
	}
	if nonASCII {
		if !utf8.ValidString(decoded) {
			return ErrInvalidUTF8
		}
		for _, r := range decoded {
			if isLookalikeSlash(r) {
				return ErrLookalikeSlash
			}
			if r >= utf8.RuneSelf && foldsToASCII(r) {
				return ErrCaseFoldsASCII
			}
		}
		// QuickSpan answers for almost every text without allocating; only "maybe" cases
		// (some combining sequences) need the full check.
		if norm.NFKC.QuickSpanString(decoded) != len(decoded) && !norm.NFKC.IsNormalString(decoded) {
			return ErrNotNFKC
		}
	}
	return nil
}

// foldsToASCII reports a non-ASCII letter that Caddy's path matcher (which lower-cases) keeps
// non-ASCII but another case form of which is ASCII: the dotless ı (upper case I), the long
// ſ (upper case S). Case-insensitive routers elsewhere (Java's equalsIgnoreCase) read
// /adm%C4%B1n as /admin while the matcher sees /admın. Letters that lower-case to ASCII
// (İ → i) are judged as ASCII by the matcher too, so they are consistent and allowed.
func foldsToASCII(r rune) bool {
	if unicode.ToLower(r) < utf8.RuneSelf {
		return false
	}
	if unicode.ToUpper(r) < utf8.RuneSelf {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// shortName reports a segment shaped like a Windows 8.3 short name: a tilde followed by
// digits, at the end of the segment or before its extension (ADMINI~1, REPORT~12.TXT). NTFS
// resolves such names to the long name, so /ADMINI~1/x can reach /administration/x.
func shortName(seg string) bool {
	for i := 1; i < len(seg)-1; i++ {
		if seg[i] != '~' || seg[i+1] < '0' || seg[i+1] > '9' {
			continue
		}
		j := i + 1
		for j < len(seg) && seg[j] >= '0' && seg[j] <= '9' {
			j++
		}
		if j == len(seg) || seg[j] == '.' {
			return true
		}
	}
	return false
}

// decodedLen is the length escaped decodes to (escapes already validated).
func decodedLen(escaped string) int {
	n := len(escaped)
	for i := 0; i < len(escaped); i++ {
		if escaped[i] == '%' {
			n -= 2
			i += 2
		}
	}
	return n
}

// isLookalikeSlash reports the characters that Windows' best-fit conversion (and some
// fonts) turn into "/" or "\" and that NFKC leaves alone.
func isLookalikeSlash(r rune) bool {
	switch r {
	case '\u2044', // FRACTION SLASH
		'\u2215', // DIVISION SLASH
		'\u2216', // SET MINUS
		'\u29f5', // REVERSE SOLIDUS OPERATOR
		'\u29f8', // BIG SOLIDUS
		'\u29f9': // BIG REVERSE SOLIDUS
		return true
	}
	return false
}

func isUnreserved(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
