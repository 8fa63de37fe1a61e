package input

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Error is a user-facing validation error naming the field.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// MaxCustomData is the largest custom_data / custom_app_data / group data payload (bytes).
const MaxCustomData = 100 * 1024

var (
	phoneRe    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	usernameRe = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
)

// NormalizeEmail returns the canonical form of an email address: NFKC-normalised (so that
// full-width look-alikes collide with their ASCII form), trimmed and lower-cased. It refuses
// anything that is not a bare addr-spec of at most 254 bytes.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
	if s == "" {
		return "", &Error{Field: "email", Message: "enter your email address"}
	}
	if len(s) > 254 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		// Format characters (zero-width space, soft hyphen, bidi overrides) are invisible:
		// "admin@example.com\u200b" would look like another account.
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}) {
		return "", &Error{Field: "email", Message: "enter a valid email address"}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || strings.Count(s, "@") != 1 {
		return "", &Error{Field: "email", Message: "enter a valid email address such as name@example.com"}
	}
	if at := strings.LastIndexByte(s, '@'); at == 0 || at == len(s)-1 || !strings.Contains(s[at:], ".") {
		return "", &Error{Field: "email", Message: "enter a valid email address such as name@example.com"}
	}
	return s, nil
}

// NormalizePhone returns the E.164 form of a phone number typed with spaces, dashes, dots or
// parentheses ("+1 (415) 555-0100" → "+14155550100"). Only international numbers (leading
// +) are accepted: a national number is ambiguous.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", &Error{Field: "phone_number", Message: "enter the number with digits only, starting with + and the country code (+14155550100)"}
		}
	}
	n := b.String()
	if !phoneRe.MatchString(n) {
		return "", &Error{Field: "phone_number", Message: "enter the number in international form, starting with + and the country code (+14155550100)"}
	}
	return n, nil
}

// IsE164 tells whether s is a phone number in E.164 form (+ and 7 to 15 digits).
func IsE164(s string) bool { return phoneRe.MatchString(s) }

// IsUsername tells whether s is a valid username: 1-64 letters, digits and . _ @ -.
func IsUsername(s string) bool { return usernameRe.MatchString(s) }

// CheckName validates a person's name part: at most 100 bytes, valid UTF-8, no control
// characters.
func CheckName(field, v string) error {
	if len(v) > 100 || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return &Error{Field: field, Message: "use at most 100 characters, no control characters"}
	}
	return nil
}

// CheckText validates a free-text field: at most n bytes, valid UTF-8, no control or
// invisible characters.
func CheckText(field, v string, n int) error {
	if len(v) > n || strings.ContainsFunc(v, unicode.IsControl) || strings.ContainsFunc(v, isInvisible) {
		return &Error{Field: field, Message: fmt.Sprintf("use at most %d bytes, no control or invisible characters", n)}
	}
	return nil
}

// CheckList validates a list of short texts: at most 256 non-empty entries of at most 128
// bytes each.
func CheckList(field string, vs []string) error {
	if len(vs) > 256 {
		return &Error{Field: field, Message: "at most 256 entries"}
	}
	for _, v := range vs {
		if v == "" {
			return &Error{Field: field, Message: "empty entry"}
		}
		if err := CheckText(field, v, 128); err != nil {
			return err
		}
	}
	return nil
}

// isInvisible reports format characters (zero-width, bidi controls) that make look-alikes.
func isInvisible(r rune) bool { return unicode.Is(unicode.Cf, r) }

// ValidateGroups checks group names: 1-64 characters among letters, digits and . _ : -
// (so that they can be joined with commas in a header without escaping).
func ValidateGroups(groups []string) error {
	if len(groups) > 256 {
		return &Error{Field: "groups", Message: "at most 256 groups"}
	}
	for _, g := range groups {
		if len(g) == 0 || len(g) > 64 {
			return &Error{Field: "groups", Message: fmt.Sprintf("group %q: use 1-64 characters", g)}
		}
		for _, r := range g {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
				return &Error{Field: "groups", Message: fmt.Sprintf("group %q: use letters, digits and . _ : - only", g)}
			}
		}
	}
	return nil
}

// ValidateCustomData checks a custom data payload before it is stored: a JSON object of at
// most 100 KB (bytes, multi-byte characters included), nested at most 32 deep (RB-06).
func ValidateCustomData(field string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if len(raw) > MaxCustomData {
		return &Error{Field: field, Message: fmt.Sprintf("at most %d bytes (got %d)", MaxCustomData, len(raw))}
	}
	if d := JSONDepth(string(raw)); d < 1 || d > 32 {
		return &Error{Field: field, Message: "must be a JSON object nested at most 32 deep"}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return &Error{Field: field, Message: "must be a JSON object"}
	}
	return nil
}

// JSONDepth returns the maximum nesting of objects and arrays in s (-1 if brackets do not
// balance), ignoring brackets inside strings.
func JSONDepth(s string) int {
	depth, maxD := 0, 0
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			maxD = max(maxD, depth)
		case '}', ']':
			depth--
			if depth < 0 {
				return -1
			}
		}
	}
	if depth != 0 {
		return -1
	}
	return maxD
}

// Sanitize makes a client-supplied value safe to echo in an error description: printable
// ASCII only (no CR, LF, TAB, quotes), at most 64 characters.
func Sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
