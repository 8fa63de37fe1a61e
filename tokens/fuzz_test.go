package tokens

// Fuzz targets for the token reader, beside FuzzParseAccessClaims (parse_test.go): the JOSE
// header parser and the whole verification of a compact token, as the gateway (bearer tokens,
// session cookies) and the authorization and logout endpoints (id_token_hint) receive it.
// Run one with
//
//	go test -run '^$' -fuzz '^FuzzVerifyToken$' -fuzztime 60s ./tokens
//
// or every fuzz target with scripts/fuzz.sh.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// FuzzParseHeader: the strict JOSE header reader never panics, and a header it accepts is
// one JSON object that encoding/json reads the same way (same alg, kid, typ), whose member
// names are unique even case-insensitively, and that has none of crit, jku, x5u, jwk, x5c,
// zip or enc in any spelling (JW-08, JW-09, JW-16, JW-17, JW-21).
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`, `{"alg":"ES256","kid":"k\u0031","typ":"JWT","x":{"y":[1,2]}}`,
		`{"alg":"none"}`, `{"alg":"RS256","alg":"HS256"}`, `{"alg":"RS256","ALG":"HS256"}`, `{"alg":"RS256","jku":"https://evil.test"}`,
		`{"alg":"RS256","Jwk":{"kty":"oct"}}`, `{"alg":"RS256","crit":["exp"]}`, `{"alg":"RS256","zip":"DEF"}`,
		`{"alg":null}`, `{"alg":1}`, `{"kid":"../../etc/passwd"}`, `{"alg":"RS256"} x`, `[]`, `{`, `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		`{"alg":"\ud800"}`, `{"alg":"RS256","kid":"a\u0000b"}`,
	} {
		f.Add(s)
	}
	forbidden := []string{"crit", "jku", "x5u", "jwk", "x5c", "zip", "enc"}
	f.Fuzz(func(t *testing.T, s string) {
		alg, kid, typ, ok := parseHeader(s)
		if !ok {
			return
		}
		var std map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &std); err != nil || std == nil {
			t.Fatalf("accepted %q, encoding/json refuses it: %v", s, err)
		}
		seen := map[string]bool{}
		for _, name := range memberNames(t, s) {
			name = strings.ToLower(name)
			if seen[name] {
				t.Fatalf("accepted %q with member %q twice", s, name)
			}
			seen[name] = true
			for _, fb := range forbidden {
				if name == fb {
					t.Fatalf("accepted %q with member %q", s, name)
				}
			}
		}
		for name, got := range map[string]string{"alg": alg, "kid": kid, "typ": typ} {
			raw, present := std[name]
			var want string
			if present {
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("accepted %q: %s is not a string", s, name)
				}
			}
			if got != want {
				t.Fatalf("%q: %s %q, encoding/json reads %q", s, name, got, want)
			}
		}
	})
}

// FuzzVerifyToken: verifying an access token or an ID token never panics, and the only
// tokens that verify are the ones the key ring signed: no alg none (JW-01), no HMAC keyed
// with anything public (JW-02), no other algorithm under a key's kid (JW-03), no zero ECDSA
// signature (JW-04), no tampered or stripped signature and no alternative encoding of a
// token — trailing bits, padding, line breaks (JW-05); and an access token never verifies as
// an ID token or the other way round (JW-15).
func FuzzVerifyToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := memory.New()
	ring, err := keys.Load(context.Background(), s, keys.Algorithms, clock)
	if err != nil {
		f.Fatal(err)
	}
	v := &Verifier{Issuer: "https://login.example.com", Keys: ring, Now: clock, Leeway: 30 * time.Second, MaxLifetime: 10 * time.Minute}
	at := map[string]any{"iss": v.Issuer, "sub": "user-1", "aud": "web", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "jti": "jti-1", "client_id": "web", "scope": "openid read", "sid": "s1", "gid": "g1", "groups": []string{"staff"}}
	id := map[string]any{"iss": v.Issuer, "sub": "user-1", "aud": "web", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nonce": "n", "sid": "s1"}
	minted := map[string]string{} // token -> type
	enc := base64.RawURLEncoding
	for _, alg := range keys.Algorithms {
		key, err := ring.Signer(alg)
		if err != nil {
			f.Fatal(err)
		}
		for _, tc := range []struct {
			typ    string
			claims map[string]any
		}{{TypeAccessToken, at}, {TypeIDToken, id}} {
			typ, claims := tc.typ, tc.claims
			tok, err := Sign(key, typ, claims)
			if err != nil {
				f.Fatal(err)
			}
			minted[tok] = typ
			f.Add(tok)
			head, rest, _ := strings.Cut(tok, ".")
			payload, sig, _ := strings.Cut(rest, ".")
			f.Add(head + "." + payload + ".")                                                            // stripped signature
			f.Add(enc.EncodeToString([]byte(`{"alg":"none","kid":"`+key.ID+`"}`)) + "." + payload + ".") // alg none
			hm := hmac.New(sha256.New, []byte(key.ID))
			hm.Write([]byte(head + "." + payload))
			f.Add(enc.EncodeToString([]byte(`{"alg":"HS256","kid":"`+key.ID+`","typ":"at+jwt"}`)) + "." + payload + "." + enc.EncodeToString(hm.Sum(nil)))
			for _, other := range keys.Algorithms {
				if other != alg {
					f.Add(enc.EncodeToString([]byte(`{"alg":"`+other+`","kid":"`+key.ID+`","typ":"`+typ+`"}`)) + "." + payload + "." + sig)
				}
			}
			f.Add(head + "." + payload + "." + enc.EncodeToString(make([]byte, 64))) // r = s = 0
			f.Add(tok + "=")
			f.Add(head + "." + payload + "." + sig[:len(sig)-1] + "\n" + sig[len(sig)-1:])
			f.Add(strings.Repeat(".", 100) + tok)
		}
	}
	f.Add("")
	f.Add("a.b.c")
	for tok, typ := range minted {
		if _, err := v.VerifyAccessToken(tok); (err == nil) != (typ == TypeAccessToken) {
			f.Fatalf("minted %s token: access verification %v", typ, err)
		}
		if _, err := v.VerifyIDToken(tok, false); (err == nil) != (typ == TypeIDToken) {
			f.Fatalf("minted %s token: ID verification %v", typ, err)
		}
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if _, err := v.VerifyAccessToken(tok); err == nil && minted[tok] != TypeAccessToken {
			t.Fatalf("accepted as an access token: %q", tok)
		}
		if _, err := v.VerifyAccessTokenIgnoringExpiry(tok); err == nil && minted[tok] != TypeAccessToken {
			t.Fatalf("accepted as an expired access token: %q", tok)
		}
		if _, err := v.VerifyIDToken(tok, true); err == nil && minted[tok] != TypeIDToken {
			t.Fatalf("accepted as an ID token: %q", tok)
		}
	})
}
