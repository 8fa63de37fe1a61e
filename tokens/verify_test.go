package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const issuer = "https://login.example.com"

// now is the fixed clock of these tests.
var now = time.Unix(1_800_000_000, 0)

func clock() time.Time { return now }

// fixture is one key ring (RS256 + ES256) on an in-memory store, shared by the tests
// that do not change it: generating an RSA key costs tens of milliseconds.
var fixture struct {
	store store.Store
	ring  *keys.Ring
	rs    *keys.Key
	es    *keys.Key
	ed    *keys.Key
}

// TestMain builds the shared key ring once for the package.
func TestMain(m *testing.M) {
	s := memory.New()
	ring, err := keys.Load(context.Background(), s, keys.Algorithms, clock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load keys:", err)
		os.Exit(1)
	}
	fixture.store, fixture.ring = s, ring
	fixture.rs, _ = ring.Signer(keys.RS256)
	fixture.es, _ = ring.Signer(keys.ES256)
	fixture.ed, _ = ring.Signer(keys.EdDSA)
	code := m.Run()
	_ = s.Close()
	os.Exit(code)
}

func verifier() *tokens.Verifier {
	return &tokens.Verifier{Issuer: issuer, Keys: fixture.ring, Now: clock, Leeway: 30 * time.Second,
		MaxLifetime: 10 * time.Minute}
}

// claims returns valid access-token claims issued at now, as a map so that tests can bend
// any member out of shape.
func claims() map[string]any {
	return map[string]any{
		"iss": issuer, "sub": "user-1", "aud": "web", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "jti": "jti-1", "client_id": "web", "scope": "openid read",
		"sid": "session-1", "gid": "grant-1", "groups": []string{"staff"},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(m, k)
		} else {
			m[k] = kv[i+1]
		}
	}
	return m
}

var enc = base64.RawURLEncoding

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// method returns golang-jwt's signing method for any alg name, including those Gatehouse
// never uses (to forge substitution attacks).
func method(alg string) jwt.SigningMethod {
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		panic("unknown alg " + alg)
	}
	return m
}

// raw builds a compact JWS from literal header and payload JSON, signed with signKey under
// the algorithm alg (nil signKey: empty signature).
func raw(t testing.TB, header, payload, alg string, signKey any) string {
	t.Helper()
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	if signKey == nil {
		return signing + "."
	}
	sig, err := method(alg).Sign(signing, signKey)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

// signed signs payload JSON with a real ring key and a header carrying its kid, the given
// typ and any extra header members (raw JSON, e.g. `"crit":["x"]`).
func signed(t testing.TB, key *keys.Key, typ, payload string, extraHeader string) string {
	t.Helper()
	h := `{"alg":"` + key.Alg + `","kid":"` + key.ID + `","typ":"` + typ + `"`
	if extraHeader != "" {
		h += "," + extraHeader
	}
	return raw(t, h+"}", payload, key.Alg, key.Signer)
}

// access signs an access token with the ring's key.
func access(t testing.TB, key *keys.Key, c map[string]any) string {
	t.Helper()
	return signed(t, key, tokens.TypeAccessToken, mustJSON(t, c), "")
}

// hmacEmptyKey signs HS256 with an empty key, which golang-jwt refuses to do.
func hmacEmptyKey(header, payload string) string {
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, nil)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

func expectErr(t *testing.T, tok string, want error) {
	t.Helper()
	c, err := verifier().VerifyAccessToken(tok)
	if err == nil {
		t.Fatalf("token accepted (sub %q); want %v\ntoken: %.200s", c.Subject, want, tok)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v\ntoken: %.200s", err, want, tok)
	}
}

// TestVerifyValid: a token signed by Gatehouse's RS256 or ES256 key with the expected
// type, issuer and lifetime verifies and yields its claims (the control for every rejection
// below, OC-01).
func TestVerifyValid(t *testing.T) {
	for _, key := range []*keys.Key{fixture.rs, fixture.es} {
		t.Run(key.Alg, func(t *testing.T) {
			in := &tokens.AccessClaims{Issuer: issuer, Subject: "user-1", Audience: tokens.Audience{"web", "api"},
				ExpiresAt: now.Add(5 * time.Minute).Unix(), IssuedAt: now.Unix(), ID: "j", ClientID: "web",
				Scope: "openid read", SessionID: "s1", GrantID: "g1", Email: "a@example.com", EmailVerified: true,
				Groups: []string{"staff", "admins"}, AMR: []string{"pwd"}}
			tok, err := tokens.Sign(key, tokens.TypeAccessToken, in)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifier().VerifyAccessToken(tok)
			if err != nil {
				t.Fatalf("valid %s token rejected: %v", key.Alg, err)
			}
			if c.Subject != "user-1" || c.ClientID != "web" || !c.Audience.Contains("api") || c.Email != "a@example.com" ||
				len(c.Groups) != 2 || c.Groups[1] != "admins" || strings.Join(c.Scopes(), ",") != "openid,read" {
				t.Fatalf("claims = %+v", c)
			}
			// The typ header may also be spelled as a media type (RFC 9068 §2.1).
			tok2 := signed(t, key, "application/at+jwt", mustJSON(t, claims()), "")
			if _, err := verifier().VerifyAccessToken(tok2); err != nil {
				t.Fatalf("typ application/at+jwt rejected: %v", err)
			}
		})
	}
}

// TestVerifyAlgNone: JW-01 — unsigned tokens (alg none in any case, no alg, empty
// signature) are rejected, with or without a real kid.
func TestVerifyAlgNone(t *testing.T) {
	p := mustJSON(t, claims())
	kid := fixture.rs.ID
	for _, h := range []string{
		`{"alg":"none","typ":"at+jwt"}`,
		`{"alg":"none","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"None","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"NONE","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"nOnE","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"RS256","kid":"` + kid + `","typ":"at+jwt"}`, // empty signature
		`{"alg":"ES256","kid":"` + fixture.es.ID + `","typ":"at+jwt"}`,
	} {
		t.Run(h, func(t *testing.T) {
			expectErr(t, raw(t, h, p, "", nil), nil)
		})
	}
	// An unsigned token whose signature segment is "none" or the RS256 header with a
	// signature of the right length but all zero.
	expectErr(t, raw(t, `{"alg":"RS256","kid":"`+kid+`","typ":"at+jwt"}`, p, "", nil)+enc.EncodeToString(make([]byte, 256)), tokens.ErrSignature)
}

// TestVerifyHMACConfusion: JW-02 — an HMAC token keyed with the RSA or EC public key in
// every encoding an attacker can fetch (DER, PEM, JWK JSON, raw modulus) and carrying the
// real kid is rejected: the algorithm comes from the key, never from the token.
func TestVerifyHMACConfusion(t *testing.T) {
	p := mustJSON(t, claims())
	for _, key := range []*keys.Key{fixture.rs, fixture.es} {
		der, err := x509.MarshalPKIXPublicKey(key.Public)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		jwk, err := keys.PublicJWK(key.Public, key.ID, key.Alg)
		if err != nil {
			t.Fatal(err)
		}
		jwkJSON := []byte(mustJSON(t, jwk))
		secrets := map[string][]byte{"DER": der, "PEM": pemBytes, "JWK": jwkJSON, "JWKS": fixture.ring.JWKS(), "empty": {}}
		if rk, ok := key.Public.(*rsa.PublicKey); ok {
			secrets["n"] = rk.N.Bytes()
			secrets["n-b64"] = []byte(jwk.N)
		}
		for name, secret := range secrets {
			for _, alg := range []string{"HS256", "HS384", "HS512"} {
				t.Run(key.Alg+"/"+name+"/"+alg, func(t *testing.T) {
					h := `{"alg":"` + alg + `","kid":"` + key.ID + `","typ":"at+jwt"}`
					if len(secret) == 0 {
						expectErr(t, hmacEmptyKey(h, p), tokens.ErrSignature)
						return
					}
					expectErr(t, raw(t, h, p, alg, secret), tokens.ErrSignature)
				})
			}
		}
	}
}

// TestVerifyAlgSubstitution: JW-03 — each key is usable with exactly one algorithm: a
// genuine signature by the RSA key under RS512 or PS256, an RSA kid with an ES256 header, an
// EC kid with ES384 or RS256 are all refused.
func TestVerifyAlgSubstitution(t *testing.T) {
	p := mustJSON(t, claims())
	rsKid, esKid := fixture.rs.ID, fixture.es.ID
	tests := []struct {
		name      string
		headerAlg string
		kid       string
		signAlg   string
		signKey   any
	}{
		{"RS512 by the RSA key", "RS512", rsKid, "RS512", fixture.rs.Signer},
		{"RS384 by the RSA key", "RS384", rsKid, "RS384", fixture.rs.Signer},
		{"PS256 by the RSA key", "PS256", rsKid, "PS256", fixture.rs.Signer},
		{"ES256 header on the RSA kid", "ES256", rsKid, "ES256", fixture.es.Signer},
		{"ES384 by the EC key", "ES384", esKid, "ES256", fixture.es.Signer},
		{"RS256 header on the EC kid", "RS256", esKid, "RS256", fixture.rs.Signer},
		{"EdDSA header", "EdDSA", esKid, "ES256", fixture.es.Signer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := `{"alg":"` + tt.headerAlg + `","kid":"` + tt.kid + `","typ":"at+jwt"}`
			signing := enc.EncodeToString([]byte(h)) + "." + enc.EncodeToString([]byte(p))
			sig, err := method(tt.signAlg).Sign(signing, tt.signKey)
			if err != nil {
				t.Fatal(err)
			}
			expectErr(t, signing+"."+enc.EncodeToString(sig), tokens.ErrSignature)
		})
	}
}

// TestVerifyECDSAZeroSignature: JW-04 ("psychic signatures", CVE-2022-21449) — an ES256
// token whose signature is r=s=0, or r and s equal to the curve order, is rejected.
func TestVerifyECDSAZeroSignature(t *testing.T) {
	signing := enc.EncodeToString([]byte(`{"alg":"ES256","kid":"`+fixture.es.ID+`","typ":"at+jwt"}`)) + "." +
		enc.EncodeToString([]byte(mustJSON(t, claims())))
	order := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	for name, sig := range map[string][]byte{
		"zero":       make([]byte, 64),
		"order":      append(append([]byte{}, order...), order...),
		"r=0 s=1":    append(make([]byte, 63), 1),
		"0xff":       []byte(strings.Repeat("\xff", 64)),
		"too short":  make([]byte, 32),
		"DER-shaped": {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00},
	} {
		t.Run(name, func(t *testing.T) {
			expectErr(t, signing+"."+enc.EncodeToString(sig), tokens.ErrSignature)
		})
	}
}

// TestVerifyTamperingAndEncoding: JW-05 — a modified payload with the original signature,
// the wrong number of segments, padding, standard-base64 characters and whitespace are
// all refused: the serialisation is strictly compact base64url.
func TestVerifyTamperingAndEncoding(t *testing.T) {
	good := access(t, fixture.rs, claims())
	if _, err := verifier().VerifyAccessToken(good); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}
	parts := strings.Split(good, ".")
	forged := enc.EncodeToString([]byte(mustJSON(t, with(claims(), "groups", []string{"admins"}))))

	// A signature containing '-' or '_' so that the standard alphabet can be substituted.
	urlSafe := access(t, fixture.rs, with(claims(), "jti", "other"))
	for i := 0; !strings.ContainsAny(strings.Split(urlSafe, ".")[2], "-_"); i++ {
		urlSafe = access(t, fixture.rs, with(claims(), "jti", fmt.Sprint("j", i)))
	}
	us := strings.Split(urlSafe, ".")
	stdSig := strings.NewReplacer("-", "+", "_", "/").Replace(us[2])

	tests := map[string]struct {
		tok  string
		want error
	}{
		"tampered payload":           {parts[0] + "." + forged + "." + parts[2], tokens.ErrSignature},
		"tampered header":            {enc.EncodeToString([]byte(`{"alg":"RS256","kid":"`+fixture.rs.ID+`","typ":"at+jwt","x":1}`)) + "." + parts[1] + "." + parts[2], tokens.ErrSignature},
		"signature of another token": {parts[0] + "." + parts[1] + "." + us[2], tokens.ErrSignature},
		"two segments":               {parts[0] + "." + parts[1], tokens.ErrMalformed},
		"two segments trailing dot":  {parts[0] + "." + parts[1] + ".", tokens.ErrSignature},
		"one segment":                {parts[0], tokens.ErrMalformed},
		"four segments":              {good + "." + parts[2], tokens.ErrMalformed},
		"five segments (JWE shape)":  {parts[0] + "..." + parts[1] + "." + parts[2], tokens.ErrMalformed},
		"empty":                      {"", tokens.ErrMalformed},
		"dots only":                  {"..", tokens.ErrMalformed},
		"padded header":              {parts[0] + "=." + parts[1] + "." + parts[2], tokens.ErrMalformed},
		"padded payload":             {parts[0] + "." + parts[1] + "==." + parts[2], tokens.ErrSignature},
		"padded signature":           {parts[0] + "." + parts[1] + "." + parts[2] + "==", tokens.ErrMalformed},
		"standard base64 signature":  {us[0] + "." + us[1] + "." + stdSig, tokens.ErrMalformed},
		"space in signature":         {parts[0] + "." + parts[1] + "." + parts[2][:10] + " " + parts[2][10:], tokens.ErrMalformed},
		"newline in signature":       {parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:], tokens.ErrMalformed},
		"CR in signature":            {parts[0] + "." + parts[1] + "." + parts[2][:10] + "\r" + parts[2][10:], tokens.ErrMalformed},
		"CRLF at the end":            {good + "\r\n", tokens.ErrMalformed},
		"tab in payload":             {parts[0] + "." + parts[1][:5] + "\t" + parts[1][5:] + "." + parts[2], tokens.ErrMalformed},
		"leading space":              {" " + good, tokens.ErrMalformed},
		"newline in header":          {parts[0][:4] + "\n" + parts[0][4:] + "." + parts[1] + "." + parts[2], tokens.ErrMalformed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := verifier().VerifyAccessToken(tt.tok)
			if err == nil {
				t.Fatalf("accepted")
			}
			// Malformed input may be reported as a bad signature when only the signed part
			// is affected; either way it must be one of the two.
			if !errors.Is(err, tt.want) && !errors.Is(err, tokens.ErrMalformed) && !errors.Is(err, tokens.ErrSignature) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyKidInjection: JW-06 — kid values that would be dangerous as paths, SQL or huge
// strings, or that are not strings at all, never select a key and never panic.
func TestVerifyKidInjection(t *testing.T) {
	p := mustJSON(t, claims())
	big := strings.Repeat("A", 64<<10)
	tests := map[string]string{
		"path traversal":  `"../../../../dev/null"`,
		"proc":            `"/proc/self/environ"`,
		"sql":             `"x' OR '1'='1"`,
		"64 KB":           `"` + big + `"`,
		"number":          `123`,
		"float":           `1.5`,
		"array":           `[]`,
		"object":          `{}`,
		"null":            `null`,
		"bool":            `true`,
		"NUL":             `"` + fixture.rs.ID + `\u0000"`,
		"kid with prefix": `" ` + fixture.rs.ID + `"`,
		"kid upper case":  `"` + strings.ToUpper(fixture.rs.ID) + `"`,
	}
	for name, kid := range tests {
		t.Run(name, func(t *testing.T) {
			for _, alg := range []string{"HS256", "RS256"} {
				h := `{"alg":"` + alg + `","kid":` + kid + `,"typ":"at+jwt"}`
				var tok string
				if alg == "HS256" {
					tok = hmacEmptyKey(h, p) // "../../dev/null" read as an empty key
				} else {
					tok = raw(t, h, p, "RS256", fixture.rs.Signer)
				}
				_, err := verifier().VerifyAccessToken(tok)
				if err == nil {
					t.Fatalf("%s token with kid %.40s accepted", alg, kid)
				}
				if !errors.Is(err, tokens.ErrUnknownKey) && !errors.Is(err, tokens.ErrMalformed) && !errors.Is(err, tokens.ErrSignature) {
					t.Fatalf("kid %.40s: unexpected error %v", kid, err)
				}
			}
		})
	}
	t.Run("missing kid", func(t *testing.T) {
		expectErr(t, raw(t, `{"alg":"RS256","typ":"at+jwt"}`, p, "RS256", fixture.rs.Signer), tokens.ErrUnknownKey)
	})
}

// TestVerifyKeyHeaders: JW-08/JW-09 (and JW-21) — jku, x5u, jwk, x5c, crit (JW-16), zip
// and enc headers are refused even on a token genuinely signed by Gatehouse's key: nothing
// is fetched or trusted from the token, and no extension is processed.
func TestVerifyKeyHeaders(t *testing.T) {
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ajwk, _ := keys.PublicJWK(attacker.Public(), "attacker", "ES256")
	p := mustJSON(t, claims())
	for name, extra := range map[string]string{
		"jku":         `"jku":"https://attacker.example/jwks.json"`,
		"x5u":         `"x5u":"https://attacker.example/cert.pem"`,
		"jwk":         `"jwk":` + mustJSON(t, ajwk),
		"x5c":         `"x5c":["MIIBszCCAVmgAwIBAgIUQ"]`,
		"crit foo":    `"crit":["foo"],"foo":1`,
		"crit empty":  `"crit":[]`,
		"crit exp":    `"crit":["exp"]`,
		"crit null":   `"crit":null`,
		"zip":         `"zip":"DEF"`,
		"enc":         `"enc":"A128GCM"`,
		"JKU (case)":  `"JKU":"https://attacker.example/jwks.json"`,
		"Crit (case)": `"Crit":["foo"]`,
	} {
		t.Run(name, func(t *testing.T) {
			for _, key := range []*keys.Key{fixture.rs, fixture.es} {
				expectErr(t, signed(t, key, tokens.TypeAccessToken, p, extra), nil)
			}
		})
	}
	// A token signed by the attacker's key, with that key embedded and Gatehouse's kid.
	h := `{"alg":"ES256","kid":"` + fixture.es.ID + `","typ":"at+jwt","jwk":` + mustJSON(t, ajwk) + `}`
	expectErr(t, raw(t, h, p, "ES256", attacker), tokens.ErrMalformed)
	h = `{"alg":"ES256","kid":"` + fixture.es.ID + `","typ":"at+jwt"}`
	expectErr(t, raw(t, h, p, "ES256", attacker), tokens.ErrSignature)
}

// TestVerifyIssuer: JW-10, JW-14 — a token whose iss is not byte-for-byte the configured
// issuer is refused even when signed by Gatehouse's own key; a foreign key reusing
// Gatehouse's kid fails the signature.
func TestVerifyIssuer(t *testing.T) {
	for _, iss := range []string{
		"https://evil.example", issuer + "/", "HTTPS://login.example.com", "https://LOGIN.example.com",
		"http://login.example.com", issuer + "/tenant", issuer + ":443", "https://login.example.com.evil.example",
		"https://lоgin.example.com", // Cyrillic о
		"", issuer + "\u0000",
	} {
		t.Run(iss, func(t *testing.T) {
			expectErr(t, access(t, fixture.rs, with(claims(), "iss", iss)), tokens.ErrIssuer)
		})
	}
	t.Run("iss missing", func(t *testing.T) {
		expectErr(t, access(t, fixture.rs, with(claims(), "iss", nil)), tokens.ErrIssuer)
	})
	t.Run("iss array", func(t *testing.T) {
		expectErr(t, access(t, fixture.rs, with(claims(), "iss", []string{issuer})), tokens.ErrMalformed)
	})
	t.Run("foreign key with our kid", func(t *testing.T) {
		foreign, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		h := `{"alg":"RS256","kid":"` + fixture.rs.ID + `","typ":"at+jwt"}`
		expectErr(t, raw(t, h, mustJSON(t, claims()), "RS256", foreign), tokens.ErrSignature)
	})
}

// TestVerifyTimes: JW-11, JW-12 — exp is required and must be a whole number in the
// future; nbf and iat may not be in the future beyond the leeway; a lifetime longer than
// the maximum access-token lifetime (exp far in the future) is refused.
func TestVerifyTimes(t *testing.T) {
	leeway := int64(30)
	tests := []struct {
		name string
		kv   []any
		want error
	}{
		{"exp missing", []any{"exp", nil}, tokens.ErrMalformed},
		{"exp just past the leeway", []any{"exp", now.Unix() - leeway, "iat", now.Unix() - 600}, tokens.ErrExpired},
		{"exp an hour ago", []any{"exp", now.Unix() - 3600, "iat", now.Unix() - 3900}, tokens.ErrExpired},
		{"exp as string", []any{"exp", "9999999999"}, tokens.ErrMalformed},
		{"exp 1e12 (number literal)", []any{"exp", json.RawMessage("1e12")}, tokens.ErrMalformed},
		{"exp 10^12 (integer)", []any{"exp", int64(1_000_000_000_000)}, tokens.ErrLifetime},
		{"exp -1", []any{"exp", -1}, tokens.ErrExpired},
		{"exp 1e309", []any{"exp", json.RawMessage("1e309")}, tokens.ErrMalformed},
		{"exp 2^63", []any{"exp", json.RawMessage("9223372036854775808")}, tokens.ErrMalformed},
		{"exp null", []any{"exp", json.RawMessage("null")}, tokens.ErrMalformed},
		{"exp true", []any{"exp", true}, tokens.ErrMalformed},
		{"exp fractional", []any{"exp", json.RawMessage(fmt.Sprint(now.Unix()+60, ".5"))}, tokens.ErrMalformed},
		{"exp 0", []any{"exp", 0}, tokens.ErrMalformed},
		{"iat missing", []any{"iat", nil}, tokens.ErrMalformed},
		{"iat a day ahead", []any{"iat", now.Add(24 * time.Hour).Unix(), "exp", now.Add(24*time.Hour + 5*time.Minute).Unix()}, tokens.ErrNotYetValid},
		{"iat just beyond leeway", []any{"iat", now.Unix() + leeway + 1}, tokens.ErrNotYetValid},
		{"nbf five minutes ahead", []any{"nbf", now.Add(5 * time.Minute).Unix()}, tokens.ErrNotYetValid},
		{"nbf as string", []any{"nbf", "0"}, tokens.ErrMalformed},
		{"lifetime 11 minutes", []any{"exp", now.Add(11 * time.Minute).Unix()}, tokens.ErrLifetime},
		{"lifetime a year", []any{"exp", now.Add(365 * 24 * time.Hour).Unix()}, tokens.ErrLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErr(t, access(t, fixture.rs, with(claims(), tt.kv...)), tt.want)
		})
	}
	// Inside the leeway is accepted (the controls).
	for name, kv := range map[string][]any{
		"exp within leeway": {"exp", now.Unix() - leeway + 1, "iat", now.Unix() - 300},
		"iat within leeway": {"iat", now.Unix() + leeway, "exp", now.Unix() + 300},
		"nbf within leeway": {"nbf", now.Unix() + leeway},
		"lifetime exactly":  {"exp", now.Add(10 * time.Minute).Unix()},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := verifier().VerifyAccessToken(access(t, fixture.rs, with(claims(), kv...))); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

// TestAudience: JW-13 (CVE-2020-26160) — aud is a string or an array of strings and
// nothing else; both forms compare identically and exactly.
func TestAudience(t *testing.T) {
	for in, want := range map[string]string{
		`"web"`:         "web",
		`["web"]`:       "web",
		`["a","web"]`:   "a,web",
		`[]`:            "",
		`"Web"`:         "Web",
		`["web","web"]`: "web,web",
	} {
		var a tokens.Audience
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := strings.Join(a, ","); got != want {
			t.Fatalf("%s: got %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{`123`, `[123]`, `["web",1]`, `{"aud":"web"}`, `true`, `[["web"]]`, `[null]`} {
		var a tokens.Audience
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Fatalf("%s: unmarshalled to %q; want an error", in, a)
		}
	}
	if a := (tokens.Audience{"web"}); !a.Contains("web") || a.Contains("Web") || a.Contains("we") || a.Contains("") {
		t.Fatal("Contains is not an exact comparison")
	}
	// Marshalling: one audience is a string, several an array (round trip).
	if b, _ := json.Marshal(tokens.Audience{"web"}); string(b) != `"web"` {
		t.Fatalf("single audience marshals to %s", b)
	}
	if b, _ := json.Marshal(tokens.Audience{"a", "b"}); string(b) != `["a","b"]` {
		t.Fatalf("two audiences marshal to %s", b)
	}
	// In a token: numbers, missing and empty arrays are refused.
	for name, aud := range map[string]any{
		"number": 123, "array of numbers": []int{1, 2}, "mixed": []any{"web", 1}, "object": map[string]string{"a": "b"},
		"empty array": []string{}, "null": json.RawMessage("null"),
	} {
		t.Run(name, func(t *testing.T) {
			expectErr(t, access(t, fixture.rs, with(claims(), "aud", aud)), tokens.ErrMalformed)
		})
	}
	t.Run("missing", func(t *testing.T) {
		expectErr(t, access(t, fixture.rs, with(claims(), "aud", nil)), tokens.ErrMalformed)
	})
}

// TestVerifyTokenTypeConfusion: JW-15 — an ID token (typ JWT) presented as an access token
// is refused, and so is an access token presented as an ID token (id_token_hint); a token
// without typ is not an access token.
func TestVerifyTokenTypeConfusion(t *testing.T) {
	idClaims := map[string]any{"iss": issuer, "sub": "user-1", "aud": "web", "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "nonce": "n"}
	idt, err := tokens.Sign(fixture.rs, tokens.TypeIDToken, idClaims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier().VerifyIDToken(idt, false); err != nil {
		t.Fatalf("control: ID token rejected as ID token: %v", err)
	}
	expectErr(t, idt, tokens.ErrType)

	at := access(t, fixture.rs, claims())
	if _, err := verifier().VerifyIDToken(at, true); !errors.Is(err, tokens.ErrType) {
		t.Fatalf("access token as ID token: got %v, want ErrType", err)
	}
	// Access-token claims under an ID-token typ (or none) are still not an ID token.
	for _, typ := range []string{"JWT", ""} {
		tok := signed(t, fixture.rs, typ, mustJSON(t, claims()), "")
		if _, err := verifier().VerifyIDToken(tok, true); !errors.Is(err, tokens.ErrType) {
			t.Fatalf("access claims with typ %q as ID token: got %v, want ErrType", typ, err)
		}
	}
	for _, typ := range []string{"", "JWT", "jwt", "at+JWT+x", "application/jwt", "logout+jwt", "refresh+jwt"} {
		t.Run("typ "+typ, func(t *testing.T) {
			expectErr(t, signed(t, fixture.rs, typ, mustJSON(t, claims()), ""), tokens.ErrType)
		})
	}
	t.Run("typ number", func(t *testing.T) {
		h := `{"alg":"RS256","kid":"` + fixture.rs.ID + `","typ":1}`
		expectErr(t, raw(t, h, mustJSON(t, claims()), "RS256", fixture.rs.Signer), tokens.ErrMalformed)
	})
	t.Run("expired ID token hint", func(t *testing.T) {
		old := with(idClaims, "exp", now.Add(-time.Hour).Unix(), "iat", now.Add(-2*time.Hour).Unix())
		tok, _ := tokens.Sign(fixture.rs, tokens.TypeIDToken, old)
		if _, err := verifier().VerifyIDToken(tok, false); !errors.Is(err, tokens.ErrExpired) {
			t.Fatalf("expired ID token: got %v, want ErrExpired", err)
		}
		if _, err := verifier().VerifyIDToken(tok, true); err != nil {
			t.Fatalf("expired ID token allowed as hint: %v", err)
		}
	})
}

// TestVerifyDuplicateMembers: JW-17 — Go's encoding/json is last-wins and case-insensitive,
// so duplicate or case-variant members in the payload or the header are refused outright
// rather than resolved.
func TestVerifyDuplicateMembers(t *testing.T) {
	base := mustJSON(t, with(claims(), "sub", nil, "groups", nil, "exp", nil, "scope", nil))
	body := strings.TrimSuffix(base, "}") // open object to append members to
	exp := fmt.Sprint(now.Add(5 * time.Minute).Unix())
	for name, payload := range map[string]string{
		"duplicate sub":            body + `,"exp":` + exp + `,"sub":"alice","sub":"admin"}`,
		"case-variant groups":      body + `,"exp":` + exp + `,"sub":"a","groups":["users"],"Groups":["admins"]}`,
		"case-variant only Groups": body + `,"exp":` + exp + `,"sub":"a","Groups":["admins"]}`,
		"EXP":                      body + `,"exp":` + exp + `,"sub":"a","EXP":9999999999}`,
		"Sub only":                 body + `,"exp":` + exp + `,"Sub":"admin"}`,
		"duplicate in nested":      body + `,"exp":` + exp + `,"sub":"a","x":{"k":1,"k":2}}`,
		"duplicate scope":          body + `,"exp":` + exp + `,"sub":"a","scope":"read","scope":"admin"}`,
		"trailing data":            mustJSON(t, claims()) + `{}`,
		"not an object":            `["sub","admin"]`,
		"invalid UTF-8":            body + `,"exp":` + exp + `,"sub":"a` + "\xff" + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			expectErr(t, signed(t, fixture.rs, tokens.TypeAccessToken, payload, ""), tokens.ErrMalformed)
		})
	}
	p := mustJSON(t, claims())
	for name, h := range map[string]string{
		"duplicate alg": `{"alg":"none","alg":"RS256","kid":"` + fixture.rs.ID + `","typ":"at+jwt"}`,
		"case alg":      `{"alg":"RS256","ALG":"none","kid":"` + fixture.rs.ID + `","typ":"at+jwt"}`,
		"duplicate kid": `{"alg":"RS256","kid":"x","kid":"` + fixture.rs.ID + `","typ":"at+jwt"}`,
		"duplicate typ": `{"alg":"RS256","kid":"` + fixture.rs.ID + `","typ":"JWT","typ":"at+jwt"}`,
	} {
		t.Run(name, func(t *testing.T) {
			expectErr(t, raw(t, h, p, "RS256", fixture.rs.Signer), tokens.ErrMalformed)
		})
	}
}

// TestVerifyClaimTypes: JW-18 — claims must have their JSON types exactly; nothing is
// coerced (a scope array, a groups string, a numeric sub are refused).
func TestVerifyClaimTypes(t *testing.T) {
	for name, kv := range map[string][]any{
		"scope as array":          {"scope", []string{"read", "admin"}},
		"groups as string":        {"groups", "admins"},
		"groups with a number":    {"groups", []any{"a", 1}},
		"sub as number":           {"sub", 123},
		"sub empty":               {"sub", ""},
		"client_id missing":       {"client_id", nil},
		"client_id as number":     {"client_id", 7},
		"email_verified string":   {"email_verified", "true"},
		"amr as string":           {"amr", "pwd"},
		"sid as number":           {"sid", 1},
		"auth_time as string":     {"auth_time", "1"},
		"nested too deep":         {"x", json.RawMessage(strings.Repeat("[", 20) + strings.Repeat("]", 20))},
		"jti as object":           {"jti", map[string]any{}},
		"email as array":          {"email", []string{"a@example.com"}},
		"name with invalid UTF-8": {"name", json.RawMessage("\"\xff\"")},
	} {
		t.Run(name, func(t *testing.T) {
			expectErr(t, access(t, fixture.rs, with(claims(), kv...)), nil)
		})
	}
	// A group containing a comma is a type-correct value; it is kept as one element (the
	// protect handler renders lists; see handlers/protect).
	c, err := verifier().VerifyAccessToken(access(t, fixture.rs, with(claims(), "groups", []string{"a,admin"})))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Groups) != 1 || c.Groups[0] != "a,admin" {
		t.Fatalf("groups = %q", c.Groups)
	}
}

// TestVerifyErrorPrecedence: JW-19 (CVE-2024-51744) — a token both expired and badly signed
// is reported as badly signed, never as merely expired (which would route it to a refresh
// path).
func TestVerifyErrorPrecedence(t *testing.T) {
	expired := with(claims(), "exp", now.Add(-time.Hour).Unix(), "iat", now.Add(-time.Hour-5*time.Minute).Unix())
	good := access(t, fixture.rs, expired)
	expectErr(t, good, tokens.ErrExpired) // control: the well-signed one is "expired"
	parts := strings.Split(good, ".")
	sig, _ := enc.DecodeString(parts[2])
	sig[0] ^= 1
	expectErr(t, parts[0]+"."+parts[1]+"."+enc.EncodeToString(sig), tokens.ErrSignature)
	// Signed by another key, expired, with our kid.
	foreign, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := `{"alg":"ES256","kid":"` + fixture.es.ID + `","typ":"at+jwt"}`
	expectErr(t, raw(t, h, mustJSON(t, expired), "ES256", foreign), tokens.ErrSignature)
	// VerifyAccessTokenIgnoringExpiry (logout) still checks the signature.
	if _, err := verifier().VerifyAccessTokenIgnoringExpiry(parts[0] + "." + parts[1] + "." + enc.EncodeToString(sig)); !errors.Is(err, tokens.ErrSignature) {
		t.Fatalf("ignoring expiry: got %v, want ErrSignature", err)
	}
	if c, err := verifier().VerifyAccessTokenIgnoringExpiry(good); err != nil || c.Subject != "user-1" {
		t.Fatalf("ignoring expiry: got %v", err)
	}
}

// TestVerifyPathologicalInput: JW-20 (CVE-2025-30204) — a megabyte of dots, 100 000
// segments or an oversized header fail fast with ErrMalformed, before any decoding work
// proportional to the input.
func TestVerifyPathologicalInput(t *testing.T) {
	tests := map[string]string{
		"1 MB of dots":     strings.Repeat(".", 1<<20),
		"100k segments":    strings.Repeat("a.", 100_000),
		"10 MB base64":     strings.Repeat("A", 10<<20),
		"just over 16 KiB": strings.Repeat("A", tokens.MaxTokenSize-2) + ".A.",
		"64 KB deep header": enc.EncodeToString([]byte(strings.Repeat(`{"a":`, 10_000)+"1"+strings.Repeat("}", 10_000))) +
			".e30.AAAA",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := verifier().VerifyAccessToken(tok)
			if !errors.Is(err, tokens.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Fatalf("took %v to reject", d)
			}
		})
	}
	t.Run("deeply nested header within size", func(t *testing.T) {
		h := `{"alg":"RS256","kid":"` + fixture.rs.ID + `","typ":"at+jwt","x":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`
		expectErr(t, raw(t, h, mustJSON(t, claims()), "RS256", fixture.rs.Signer), tokens.ErrMalformed)
	})
}

// TestSignUnsupported: Sign refuses a key whose algorithm Gatehouse does not sign with.
func TestSignUnsupported(t *testing.T) {
	k := *fixture.rs
	k.Alg = "HS256"
	if _, err := tokens.Sign(&k, tokens.TypeAccessToken, claims()); err == nil {
		t.Fatal("signed with HS256")
	}
}

// BenchmarkVerifyAccessToken: full verification (parse, member checks, signature, claims)
// of one access token, RS256 against ES256.
func BenchmarkVerifyAccessToken(b *testing.B) {
	for _, key := range []*keys.Key{fixture.rs, fixture.es, fixture.ed} {
		b.Run(key.Alg, func(b *testing.B) {
			tok := access(b, key, claims())
			v := verifier()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.VerifyAccessToken(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSign: signing one access token, RS256 against ES256.
func BenchmarkSign(b *testing.B) {
	for _, key := range []*keys.Key{fixture.rs, fixture.es, fixture.ed} {
		b.Run(key.Alg, func(b *testing.B) {
			c := &tokens.AccessClaims{Issuer: issuer, Subject: "user-1", Audience: tokens.Audience{"web"},
				ExpiresAt: now.Add(5 * time.Minute).Unix(), IssuedAt: now.Unix(), ID: "j", ClientID: "web",
				Scope: "openid read", SessionID: "s1", GrantID: "g1", Groups: []string{"staff"}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := tokens.Sign(key, tokens.TypeAccessToken, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
