package tokens

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseAccessClaims: whatever the hand-written claims parser accepts, encoding/json
// accepts too and decodes to the same claims — the fast parser is only ever stricter, never
// different — and its top-level member names are unique even ignoring case, with every known
// claim spelled exactly (encoding/json would let a duplicate or an "Exp" win: JW-17, JW-18).
func FuzzParseAccessClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://i","sub":"u1","aud":"a","exp":2000000000,"iat":1,"jti":"j","client_id":"c","scope":"openid x","amr":["pwd"],"groups":["g1","g2"],"email":"e@x","email_verified":true}`,
		`{"aud":["a","b"],"sub":"\u00e9\ud83d\ude00","x":{"y":[1,2.5e3,null,true,{"z":"w"}]}}`,
		`{"sub":"a","sub":"b"}`, `{"Sub":"a"}`, `{"exp":1e3}`, `{"groups":[null]}`, `{"aud":[1]}`,
		`{"x":"\ud800"}`, `{}`, `{"a":1} x`, `[1]`, `{"nbf":-0}`, `{"exp":01}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fast AccessClaims
		if !parseAccessClaims(s, &fast) {
			return
		}
		var std AccessClaims
		if err := json.Unmarshal([]byte(s), &std); err != nil {
			t.Fatalf("fast parser accepted %q, encoding/json refused it: %v", s, err)
		}
		// encoding/json leaves absent slices nil; the fast parser too. Compare field by field.
		if !reflect.DeepEqual(normalize(fast), normalize(std)) {
			t.Fatalf("%q:\nfast %+v\nstd  %+v", s, fast, std)
		}
		seen := map[string]bool{}
		for _, name := range memberNames(t, s) {
			lower := strings.ToLower(name)
			if seen[lower] {
				t.Fatalf("accepted %q with member %q twice", s, lower)
			}
			seen[lower] = true
			for _, k := range accessClaimNames {
				if lower == k && name != k {
					t.Fatalf("accepted %q with %q spelled %q", s, k, name)
				}
			}
		}
	})
}

// memberNames lists the names of the top-level members of the JSON object s as
// encoding/json reads them, in order.
func memberNames(t *testing.T, s string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if _, err := dec.Token(); err != nil { // {
		t.Fatalf("%q: %v", s, err)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	return names
}

func normalize(c AccessClaims) AccessClaims {
	if len(c.AMR) == 0 {
		c.AMR = nil
	}
	if len(c.Groups) == 0 {
		c.Groups = nil
	}
	if len(c.Audience) == 0 {
		c.Audience = nil
	}
	return c
}

// TestParseRejects lists inputs encoding/json would take but a token must not have.
func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		`{"sub":"a","sub":"b"}`,                       // duplicate (last wins in encoding/json)
		`{"sub":"a","SUB":"b"}`,                       // case variant
		`{"Sub":"a"}`,                                 // case variant of a known claim
		`{"exp":1e12}`,                                // not an integer
		`{"exp":"9999999999"}`,                        // string number
		`{"exp":null}`,                                // null
		`{"groups":"admin"}`,                          // string for an array
		`{"groups":["a",null]}`,                       // null element
		`{"scope":["a","b"]}`,                         // array for a string
		`{"aud":[1]}`,                                 // number in aud
		`{"email_verified":"true"}`,                   // string for a bool
		`{"x":"\ud800"}`,                              // lone surrogate
		"{\"x\":\"a\x01\"}",                           // control character
		`{"a":{"b":1,"b":2}}`,                         // nested duplicate
		`{"a":1}{"b":2}`,                              // trailing data
		`{"a":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}`, // too deep
		"{\"sub\":\"\xff\"}",                          // invalid UTF-8
	} {
		var c AccessClaims
		if parseAccessClaims(s, &c) {
			t.Errorf("accepted %q", s)
		}
	}
}

func BenchmarkParseAccessClaims(b *testing.B) {
	s := `{"iss":"https://login.example.com","sub":"r0dlg0o836sge6bu2t1l4","aud":"demo-app","exp":2000000000,"iat":1795316299,"jti":"Vq3kX2n9bM1pQ7rT","client_id":"demo-app","scope":"openid profile email read:docs","auth_time":1795316299,"acr":"aal1","amr":["pwd"],"sid":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","gid":"AbCdEfGhIjKlMnOp","email":"alice@example.com","email_verified":true,"name":"Alice Liddell","groups":["staff","editors"]}`
	b.ReportAllocs()
	for b.Loop() {
		var c AccessClaims
		if !parseAccessClaims(s, &c) {
			b.Fatal("rejected")
		}
	}
}
