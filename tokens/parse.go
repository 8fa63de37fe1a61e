package tokens

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a strict, allocation-light JSON reader for the two small objects verified on
// the protect hot path: the JOSE header and the access-token claims. It exists because
// encoding/json is both too lenient for tokens (case-insensitive field matching, last
// duplicate wins, null into anything, RFC 8725 §3 and JW-17/JW-18) and, with the extra checks
// that leniency forces, the most expensive part of verifying a token after the signature.
//
// Rules: the input is one JSON object and nothing else; member names are unique, also
// case-insensitively; a member whose name differs from a known claim only by case is
// refused; known claims must have their exact JSON type (strings, integers without fraction
// or exponent, booleans, arrays of strings — never null); unknown members may hold any valid
// JSON nested at most maxDepth deep. Strings without escapes are returned as substrings of
// the input (no copy).

const maxDepth = 16

type reader struct {
	s string
	i int
}

func (r *reader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) peek() byte {
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

func (r *reader) eat(c byte) bool {
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// str reads a JSON string.
func (r *reader) str() (string, bool) {
	r.ws()
	if r.peek() != '"' {
		return "", false
	}
	r.i++
	start := r.i
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			v := r.s[start:r.i]
			r.i++
			return v, true
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return "", false
		}
		r.i++
	}
	return "", false
}

// escaped finishes a string containing escapes, from start (just after the quote).
func (r *reader) escaped(start int) (string, bool) {
	var b strings.Builder
	b.WriteString(r.s[start:r.i])
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return b.String(), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b.WriteByte(c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.s) {
			return "", false
		}
		e := r.s[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r1, ok := r.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r1) {
				// A surrogate must be followed by its pair (RB-04: no lone surrogates).
				if r.i+1 >= len(r.s) || r.s[r.i] != '\\' || r.s[r.i+1] != 'u' {
					return "", false
				}
				r.i += 2
				r2, ok := r.hex4()
				if !ok {
					return "", false
				}
				r1 = utf16.DecodeRune(r1, r2)
				if r1 == utf8.RuneError {
					return "", false
				}
			}
			b.WriteRune(r1)
		default:
			return "", false
		}
	}
	return "", false
}

func (r *reader) hex4() (rune, bool) {
	if r.i+4 > len(r.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(r.s[r.i:r.i+4], 16, 16)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return rune(n), true
}

// integer reads a JSON number that must be an integer (no fraction or exponent) fitting in
// int64.
func (r *reader) integer() (int64, bool) {
	r.ws()
	start := r.i
	if r.peek() == '-' {
		r.i++
	}
	digits := r.i
	for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
		r.i++
	}
	if r.i == digits || (r.s[digits] == '0' && r.i-digits > 1) {
		return 0, false
	}
	if c := r.peek(); c == '.' || c == 'e' || c == 'E' {
		return 0, false
	}
	n, err := strconv.ParseInt(r.s[start:r.i], 10, 64)
	return n, err == nil
}

func (r *reader) literal(word string) bool {
	r.ws()
	if strings.HasPrefix(r.s[r.i:], word) {
		r.i += len(word)
		return true
	}
	return false
}

func (r *reader) boolean() (bool, bool) {
	if r.literal("true") {
		return true, true
	}
	if r.literal("false") {
		return false, true
	}
	return false, false
}

// strings reads an array of strings (no null elements).
func (r *reader) strings() ([]string, bool) {
	if !r.eat('[') {
		return nil, false
	}
	out := []string{}
	if r.eat(']') {
		return out, true
	}
	for {
		s, ok := r.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if r.eat(']') {
			return out, true
		}
		if !r.eat(',') {
			return nil, false
		}
	}
}

// number reads any JSON number (for skipping).
func (r *reader) number() bool {
	r.ws()
	start := r.i
	if r.peek() == '-' {
		r.i++
	}
	d := r.i
	for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
		r.i++
	}
	if r.i == d || (r.s[d] == '0' && r.i-d > 1) {
		return false
	}
	if r.peek() == '.' {
		r.i++
		d = r.i
		for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
			r.i++
		}
		if r.i == d {
			return false
		}
	}
	if c := r.peek(); c == 'e' || c == 'E' {
		r.i++
		if c := r.peek(); c == '+' || c == '-' {
			r.i++
		}
		d = r.i
		for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
			r.i++
		}
		if r.i == d {
			return false
		}
	}
	return r.i > start
}

// skip reads and validates any JSON value; objects must not repeat a member name.
func (r *reader) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	r.ws()
	switch r.peek() {
	case '"':
		_, ok := r.str()
		return ok
	case '{':
		r.i++
		if r.eat('}') {
			return true
		}
		var names []string
		for {
			name, ok := r.str()
			if !ok || !r.eat(':') {
				return false
			}
			for _, n := range names {
				if n == name {
					return false
				}
			}
			names = append(names, name)
			if !r.skip(depth + 1) {
				return false
			}
			if r.eat('}') {
				return true
			}
			if !r.eat(',') {
				return false
			}
		}
	case '[':
		r.i++
		if r.eat(']') {
			return true
		}
		for {
			if !r.skip(depth + 1) {
				return false
			}
			if r.eat(']') {
				return true
			}
			if !r.eat(',') {
				return false
			}
		}
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	default:
		return r.number()
	}
}

// object walks the top-level object of s, calling member for each member with the reader
// positioned at the value; member returns false to reject. known lists the names whose exact
// spelling is required: a name equal to one of them ignoring case, but spelled otherwise, is
// refused, and so is any name repeated (ignoring case).
func object(s string, known []string, member func(r *reader, name string) bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	r := &reader{s: s}
	if !r.eat('{') {
		return false
	}
	if r.eat('}') {
		r.ws()
		return r.i == len(s)
	}
	var seen [64]string
	n := 0
	for {
		name, ok := r.str()
		if !ok || !r.eat(':') {
			return false
		}
		for _, k := range known {
			if len(k) == len(name) && k != name && strings.EqualFold(k, name) {
				return false
			}
		}
		for _, prev := range seen[:n] {
			if len(prev) == len(name) && strings.EqualFold(prev, name) {
				return false
			}
		}
		if n == len(seen) {
			return false // more members than any token of ours has
		}
		seen[n] = name
		n++
		if !member(r, name) {
			return false
		}
		if r.eat('}') {
			r.ws()
			return r.i == len(s)
		}
		if !r.eat(',') {
			return false
		}
	}
}

// headerNames are the JOSE header members whose spelling is checked; the forbidden ones make
// the token invalid when present.
var headerNames = []string{"alg", "kid", "typ", "crit", "jku", "x5u", "jwk", "x5c", "zip", "enc"}

// parseHeader reads a JOSE header: alg, kid and typ as strings, no crit, jku, x5u, jwk, x5c,
// zip or enc (RFC 8725 §3.10, RFC 7515 §4.1.11: nothing we would have to fetch, trust or
// understand).
func parseHeader(s string) (alg, kid, typ string, ok bool) {
	ok = object(s, headerNames, func(r *reader, name string) bool {
		var good bool
		switch name {
		case "alg":
			alg, good = r.str()
		case "kid":
			kid, good = r.str()
		case "typ":
			typ, good = r.str()
		case "crit", "jku", "x5u", "jwk", "x5c", "zip", "enc":
			return false
		default:
			good = r.skip(1)
		}
		return good
	})
	return alg, kid, typ, ok
}

// parseAccessClaims reads access-token claims into c with the types of AccessClaims.
func parseAccessClaims(s string, c *AccessClaims) bool {
	return object(s, accessClaimNames, func(r *reader, name string) bool {
		var ok bool
		switch name {
		case "iss":
			c.Issuer, ok = r.str()
		case "sub":
			c.Subject, ok = r.str()
		case "aud":
			if r.ws(); r.peek() == '"' {
				var a string
				a, ok = r.str()
				c.Audience = Audience{a}
			} else {
				var a []string
				a, ok = r.strings()
				c.Audience = a
			}
		case "exp":
			c.ExpiresAt, ok = r.integer()
		case "iat":
			c.IssuedAt, ok = r.integer()
		case "nbf":
			c.NotBefore, ok = r.integer()
		case "auth_time":
			c.AuthTime, ok = r.integer()
		case "jti":
			c.ID, ok = r.str()
		case "client_id":
			c.ClientID, ok = r.str()
		case "scope":
			c.Scope, ok = r.str()
		case "acr":
			c.ACR, ok = r.str()
		case "amr":
			c.AMR, ok = r.strings()
		case "sid":
			c.SessionID, ok = r.str()
		case "gid":
			c.GrantID, ok = r.str()
		case "email":
			c.Email, ok = r.str()
		case "email_verified":
			c.EmailVerified, ok = r.boolean()
		case "name":
			c.Name, ok = r.str()
		case "groups":
			c.Groups, ok = r.strings()
		case "roles":
			c.Roles, ok = r.strings()
		case "permissions":
			c.Permissions, ok = r.strings()
		case "ucr":
			c.UserinfoClaims, ok = r.str()
		case "gty":
			c.GrantType, ok = r.str()
		default:
			ok = r.skip(1)
		}
		return ok
	})
}

// checkObject validates a JSON object with the rules of object, skipping every value.
func checkObject(s string, known []string) bool {
	return object(s, known, func(r *reader, _ string) bool { return r.skip(1) })
}
