package e2e

// One test per row of THREATS.md §3 (JWT attacks against the gateway's validator, JW-*).
// Tokens are presented at the protected route /docs (gatehouse_protect, audience app, scope
// read:docs) and, where the token could be an access token at all, at /userinfo.

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
)

// cfGenuine starts the suite and returns a genuine access token of client app (scope openid
// email read:docs) that passes /docs, with its decoded header, claims and raw parts.
func cfGenuine(t *testing.T, extra ...string) (*Env, *Browser, string, map[string]any, map[string]any, []string) {
	t.Helper()
	e, _, b := cfStart(t, extra...)
	at := cfStr(cfAppTokens(t, e, b), "access_token")
	cfAccepted(t, e, "genuine token", at)
	hdr, payload, parts := splitJWT(t, at)
	return e, b, at, hdr, payload, parts
}

// cfRawPayload returns the JSON of payload with overrides spliced in verbatim (values that
// encoding/json cannot produce, such as 1e309): each override replaces the member of that
// name, or is added.
func cfRawPayload(t *testing.T, payload map[string]any, overrides map[string]string) string {
	t.Helper()
	m := map[string]any{}
	for k, v := range payload {
		if _, ok := overrides[k]; !ok {
			m[k] = v
		}
	}
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(j), "}")
	for k, v := range overrides {
		s += fmt.Sprintf(",%q:%s", k, v)
	}
	return s + "}"
}

// cfSignAT signs raw payload JSON with the current RS256 key as an access token.
func cfSignAT(t *testing.T, payload string) string {
	t.Helper()
	key := cfSigner(t, "RS256")
	return cfSignRaw(t, key, "RS256", cfHeader(key, "at+jwt"), payload)
}

func TestJW01_AlgNone(t *testing.T) {
	// JW-01 expects: "401 invalid_token" for alg none, None, NONE, nOnE, missing alg, empty
	// signature with alg RS256.
	e, _, at, hdr, _, parts := cfGenuine(t)
	for _, alg := range []string{"none", "None", "NONE", "nOnE", "", "null"} {
		h := map[string]any{"typ": "at+jwt", "kid": hdr["kid"]}
		switch alg {
		case "":
		case "null":
			h["alg"] = nil
		default:
			h["alg"] = alg
		}
		cfRejected(t, e, "alg="+alg, b64json(t, h)+"."+parts[1]+".")
		cfRejected(t, e, "alg="+alg+" keeping the signature", b64json(t, h)+"."+parts[1]+"."+parts[2])
	}
	cfRejected(t, e, "RS256 with an empty signature", parts[0]+"."+parts[1]+".")
	cfAccepted(t, e, "genuine token after the forgeries", at)
}

func TestJW02_HSRSAlgorithmConfusion(t *testing.T) {
	// JW-02 expects: "401" for HS256/384/512 tokens keyed with the RSA/EC public key from /jwks
	// (PEM, DER, raw n, JWK JSON) and the real kid.
	e, _, _, hdr, payload, _ := cfGenuine(t)
	kid := cfStr(hdr, "kid")
	secrets := map[string][]byte{}
	for name, s := range publicKeySecrets(t, e, kid) {
		secrets["RSA "+name] = s
	}
	set, raw := cfJWKS(t, e)
	var ecKid string
	for i, k := range set {
		if k.Kty != "EC" {
			continue
		}
		ecKid = k.Kid
		pub, err := k.public()
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(pub)
		j, _ := json.Marshal(raw[i])
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		secrets["EC PKIX DER"] = der
		secrets["EC PEM"] = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		secrets["EC JWK JSON"] = j
		secrets["EC x||y"] = append(x, y...)
	}
	if ecKid == "" {
		t.Fatal("no EC key in /jwks")
	}
	for name, secret := range secrets {
		h := map[string]any{"typ": "at+jwt", "kid": kid}
		if strings.HasPrefix(name, "EC") {
			h["kid"] = ecKid
		}
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			cfRejected(t, e, alg+" keyed with the "+name, hmacJWT(t, alg, h, payload, secret))
		}
	}
}

func TestJW03_AlgSubstitutionAsymmetric(t *testing.T) {
	// JW-03 expects: "401 — each key usable with exactly one alg" (real RS256 signature with
	// header PS256/RS512; ES256 key with ES384 header; RSA key with ES256 header).
	e, _, at, _, payload, parts := cfGenuine(t)
	rsaKey := cfSigner(t, "RS256")
	ecKey := cfSigner(t, "ES256")
	edKey := cfSigner(t, "EdDSA")
	p, _ := json.Marshal(payload)
	retype := func(alg, kid string) string {
		return b64json(t, map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"})
	}
	for _, alg := range []string{"PS256", "RS384", "RS512", "ES256", "EdDSA", "HS256", "rs256"} {
		cfRejected(t, e, "RS256 signature under header alg "+alg, retype(alg, rsaKey.ID)+"."+parts[1]+"."+parts[2])
	}
	// Valid signatures made with the real RSA key under other RSA algorithms.
	for _, alg := range []string{"PS256", "RS384", "RS512", "PS512"} {
		cfRejected(t, e, alg+" signed with the RS256 key", cfSignRaw(t, rsaKey, alg, fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"at+jwt"}`, alg, rsaKey.ID), string(p)))
	}
	// The ES256 key: a genuine ES256 token passes (control), its signature under ES384 or an
	// RSA kid does not.
	es := cfSignRaw(t, ecKey, "ES256", cfHeader(ecKey, "at+jwt"), string(p))
	cfAccepted(t, e, "token signed with the ES256 key", es)
	esParts := strings.Split(es, ".")
	cfRejected(t, e, "ES256 signature under ES384", retype("ES384", ecKey.ID)+"."+esParts[1]+"."+esParts[2])
	cfRejected(t, e, "ES256 signature under ES512", retype("ES512", ecKey.ID)+"."+esParts[1]+"."+esParts[2])
	cfRejected(t, e, "ES256 signature with the RSA kid", retype("ES256", rsaKey.ID)+"."+esParts[1]+"."+esParts[2])
	cfRejected(t, e, "ES256-signed, RSA kid, header RS256", retype("RS256", rsaKey.ID)+"."+esParts[1]+"."+esParts[2])
	cfRejected(t, e, "RS256 signature with the EC kid", retype("RS256", ecKey.ID)+"."+parts[1]+"."+parts[2])
	cfRejected(t, e, "RS256 signature with the EC kid, header ES256", retype("ES256", ecKey.ID)+"."+parts[1]+"."+parts[2])
	ed := cfSignRaw(t, edKey, "EdDSA", cfHeader(edKey, "at+jwt"), string(p))
	edParts := strings.Split(ed, ".")
	cfRejected(t, e, "EdDSA signature with the RSA kid", retype("EdDSA", rsaKey.ID)+"."+edParts[1]+"."+edParts[2])
	cfRejected(t, e, "EdDSA signature under header Ed25519", retype("Ed25519", edKey.ID)+"."+edParts[1]+"."+edParts[2])
	cfAccepted(t, e, "genuine token", at)
}

func TestJW04_ECDSAZeroSignature(t *testing.T) {
	// JW-04 expects: "401" for an ES256 token whose signature is 64 zero bytes (r=s=0), or has
	// r or s ≥ n.
	e, _, _, _, payload, _ := cfGenuine(t, `
		tokens {
			access_token_alg ES256
		}`)
	ecKey := cfSigner(t, "ES256")
	p, _ := json.Marshal(payload)
	genuine := cfSignRaw(t, ecKey, "ES256", cfHeader(ecKey, "at+jwt"), string(p))
	cfAccepted(t, e, "ES256 token", genuine)
	signing := genuine[:strings.LastIndexByte(genuine, '.')]
	n := elliptic.P256().Params().N
	be := func(x *big.Int) []byte { b := make([]byte, 32); x.FillBytes(b); return b }
	sig := mustB64(t, genuine[strings.LastIndexByte(genuine, '.')+1:])
	r, s := sig[:32], sig[32:]
	one := big.NewInt(1)
	for name, forged := range map[string][]byte{
		"r=s=0":          make([]byte, 64),
		"r=s=n":          append(be(n), be(n)...),
		"r=n, real s":    append(be(n), s...),
		"real r, s=n":    append(append([]byte{}, r...), be(n)...),
		"r=2^256-1":      append(bytes.Repeat([]byte{0xff}, 32), s...),
		"r=1, s=1":       append(be(one), be(one)...),
		"s=n-s (high-s)": append(append([]byte{}, r...), be(new(big.Int).Sub(n, new(big.Int).SetBytes(s)))...),
		"DER instead":    []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00},
		"65 bytes":       append(append([]byte{}, sig...), 0),
	} {
		tok := signing + "." + b64.EncodeToString(forged)
		if name == "s=n-s (high-s)" {
			// (r, n-s) is mathematically valid ECDSA too: accepting it is malleability, not
			// a forgery (the payload is unchanged), so it is not required to fail.
			continue
		}
		cfRejected(t, e, "ES256 signature "+name, tok)
	}
	edKey := cfSigner(t, "EdDSA")
	ed := cfSignRaw(t, edKey, "EdDSA", cfHeader(edKey, "at+jwt"), string(p))
	cfRejected(t, e, "EdDSA zero signature", ed[:strings.LastIndexByte(ed, '.')]+"."+b64.EncodeToString(make([]byte, 64)))
}

func TestJW05_SignatureStrippingTampering(t *testing.T) {
	// JW-05 expects: "401; strict base64url (RawURLEncoding)" for a modified payload with the
	// signature kept, 2-, 4- and 5-segment tokens, padding, std base64, whitespace.
	e, _, at, hdr, payload, parts := cfGenuine(t)
	tampered := map[string]any{}
	for k, v := range payload {
		tampered[k] = v
	}
	tampered["groups"] = []string{"admin"}
	sig := mustB64(t, parts[2])
	for name, tok := range map[string]string{
		"payload with groups admin":  parts[0] + "." + b64json(t, tampered) + "." + parts[2],
		"two segments":               parts[0] + "." + parts[1],
		"two segments, trailing dot": parts[0] + "." + parts[1] + ".",
		"four segments":              at + "." + parts[2],
		"five segments":              at + ".." + parts[2],
		"empty payload":              parts[0] + ".." + parts[2],
		"padded signature":           at + "==",
		"padded payload":             parts[0] + "." + parts[1] + "=." + parts[2],
		"std base64 signature":       parts[0] + "." + parts[1] + "." + base64.StdEncoding.EncodeToString(sig),
		"std base64 no padding":      parts[0] + "." + parts[1] + "." + base64.RawStdEncoding.EncodeToString(sig),
		"space inside":               parts[0] + "." + parts[1][:10] + " " + parts[1][10:] + "." + parts[2],
		"newline in signature":       parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:],
		"CR in payload":              parts[0] + "." + parts[1][:10] + "\r" + parts[1][10:] + "." + parts[2],
		"truncated signature":        parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-2],
		"extra signature byte":       parts[0] + "." + parts[1] + "." + b64.EncodeToString(append(append([]byte{}, sig...), 0)),
		"header re-encoded":          b64json(t, hdr) + "." + parts[1] + "." + parts[2],
		"header swapped to JWT typ":  b64json(t, map[string]any{"alg": "RS256", "kid": hdr["kid"], "typ": "JWT"}) + "." + parts[1] + "." + parts[2],
	} {
		if name == "header re-encoded" && b64json(t, hdr) == parts[0] {
			continue // the same bytes: not a modification
		}
		if strings.ContainsAny(tok, "\r\n") {
			// Not expressible in an HTTP header: /userinfo's form body carries it.
			if r := Do(t, API, NewRequest(t, http.MethodPost, e.Issuer+"/userinfo", url.Values{"access_token": {tok}})); r.Status != http.StatusUnauthorized {
				t.Errorf("%s at /userinfo: %s", name, r)
			}
			continue
		}
		if strings.Contains(tok, " ") {
			cfRefused(t, e, name, tok) // not a valid Authorization header: 400 is right too
			continue
		}
		cfRejected(t, e, name, tok)
	}
	cfAccepted(t, e, "genuine token", at)
}

func TestJW06_KidInjection(t *testing.T) {
	// JW-06 expects: "401, no file/DB lookup, no 500/panic, log escaped" for kid path
	// traversal, SQL, 64 KB, non-string kids, NUL.
	e, _, at, _, payload, _ := cfGenuine(t)
	for name, kid := range map[string]any{
		"path traversal": "../../../../dev/null", "proc": "/proc/self/environ", "sql": "x' OR '1'='1",
		"64 KB": strings.Repeat("k", 64<<10), "number": 123, "array": []any{}, "object": map[string]any{}, "null": nil,
		"NUL": "a\x00b", "empty": "", "url": "https://evil.test/key", "newline": "a\nb",
	} {
		h := map[string]any{"typ": "at+jwt", "kid": kid}
		check := cfRejected
		if name == "64 KB" {
			check = cfRefused // over the header size limit: 431 before any parsing
		}
		check(t, e, "kid "+name+" with HS256 and an empty key", hmacJWT(t, "HS256", h, payload, []byte{}))
		h["alg"] = "RS256"
		check(t, e, "kid "+name+" with RS256", b64json(t, h)+"."+strings.Split(at, ".")[1]+"."+strings.Split(at, ".")[2])
	}
	cfAccepted(t, e, "genuine token after the kid injections", at)
}

func TestJW07_UnknownKidRefetchStorm(t *testing.T) {
	// JW-07 expects: "401; JWKS refresh rate-limited (≤1/min per issuer), no outbound flood"
	// (1000 tokens with random kid). Gatehouse accepts only its own keys and never fetches a
	// JWK Set; an unknown kid reloads the key ring from the local store at most once a second.
	e, _, at, _, payload, _ := cfGenuine(t)
	attacker := cfListen(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	startT := time.Now()
	for i := range 1000 {
		h := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": fmt.Sprintf("rnd-%d-%x", i, time.Now().UnixNano()), "jku": attacker.URL() + "/jwks"}
		tok := rsaJWT(t, h, payload, key)
		if i%100 == 0 {
			cfRejected(t, e, "random kid", tok)
			continue
		}
		if r := Get(t, e.App+"/docs", tok); r.Status != http.StatusUnauthorized {
			t.Fatalf("random kid %d: %s", i, r)
		}
	}
	if d := time.Since(startT); d > 30*time.Second {
		t.Errorf("1000 unknown-kid tokens took %v", d)
	}
	if n := len(attacker.Requests()); n != 0 {
		t.Errorf("%d outbound requests to the attacker's jku", n)
	}
	cfAccepted(t, e, "genuine token after the storm", at)
}

func TestJW08_JkuX5uNotTrusted(t *testing.T) {
	// JW-08 expects: "ignored; no outbound request seen by listener; 401" (jku / x5u headers
	// naming an attacker's key).
	e, _, _, hdr, payload, _ := cfGenuine(t)
	attacker := cfListen(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"jku", "x5u"} {
		for _, kid := range []any{hdr["kid"], "attacker-kid"} {
			h := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid, member: attacker.URL() + "/" + member}
			cfRejected(t, e, fmt.Sprintf("%s with kid %v", member, kid), rsaJWT(t, h, payload, key))
		}
	}
	// The real key's signature with a jku header: refused as well (unknown header).
	rk := cfSigner(t, "RS256")
	p, _ := json.Marshal(payload)
	cfRejected(t, e, "real key, jku header", cfSignRaw(t, rk, "RS256",
		fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"at+jwt","jku":%q}`, rk.ID, attacker.URL()+"/jwks"), string(p)))
	time.Sleep(300 * time.Millisecond)
	if n := len(attacker.Requests()); n != 0 {
		t.Errorf("%d outbound requests to the attacker's listener", n)
	}
}

func TestJW09_EmbeddedKeyNotTrusted(t *testing.T) {
	// JW-09 expects: "401" for a header jwk={attacker pubkey} or x5c=[self-signed], signed with
	// the attacker's key.
	e, _, _, hdr, payload, _ := cfGenuine(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := keys.PublicJWK(&key.PublicKey, cfStr(hdr, "kid"), "RS256")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	x5c := []string{base64.StdEncoding.EncodeToString(der)}
	for name, h := range map[string]map[string]any{
		"jwk, real kid":     {"alg": "RS256", "typ": "at+jwt", "kid": hdr["kid"], "jwk": jwk},
		"jwk, no kid":       {"alg": "RS256", "typ": "at+jwt", "jwk": jwk},
		"x5c, real kid":     {"alg": "RS256", "typ": "at+jwt", "kid": hdr["kid"], "x5c": x5c},
		"x5c, no kid":       {"alg": "RS256", "typ": "at+jwt", "x5c": x5c},
		"x5c and x5t":       {"alg": "RS256", "typ": "at+jwt", "x5c": x5c, "x5t#S256": "AAAA"},
		"jwk and jwk thumb": {"alg": "RS256", "typ": "at+jwt", "kid": jwk.Kid, "jwk": jwk},
	} {
		cfRejected(t, e, name, rsaJWT(t, h, payload, key))
	}
}

func TestJW10_ForeignIssuerSameKid(t *testing.T) {
	// JW-10 expects: "401; key set selected by expected issuer, iss must equal own issuer
	// exactly" (another IdP signs with a kid identical to the gateway's; an ID token presented
	// as access token). Gatehouse trusts no upstream IdP for access tokens.
	e, _, at, hdr, payload, _ := cfGenuine(t)
	fake, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign := map[string]any{}
	for k, v := range payload {
		foreign[k] = v
	}
	foreign["iss"] = "https://idp.evil.test"
	cfRejected(t, e, "fake IdP key, gateway kid, gateway iss", rsaJWT(t, hdr, payload, fake))
	cfRejected(t, e, "fake IdP key, gateway kid, own iss", rsaJWT(t, hdr, foreign, fake))
	cfRejected(t, e, "gateway key, foreign iss", cfResign(t, at, func(m map[string]any) { m["iss"] = "https://idp.evil.test" }))
	// An ID token (what an upstream IdP would hand out) is not an access token.
	b := NewBrowser(t)
	e.PortalLogin(b, cfUser, Password)
	cfRejected(t, e, "ID token as access token", cfStr(cfAppTokens(t, e, b), "id_token"))
}

func TestJW11_ExpiryHandling(t *testing.T) {
	// JW-11 expects: "all rejected; fractional NumericDate is legal but must not overflow"
	// (exp missing; exp=now−(leeway+1); "9999999999" string; 1e12 far future; -1; 1e309; null;
	// true).
	e, _, _, _, payload, _ := cfGenuine(t)
	now := time.Now().Unix()
	leeway := int64(30)
	for name, exp := range map[string]string{
		"missing": "", "expired beyond the leeway": fmt.Sprint(now - leeway - 2), "string": `"9999999999"`,
		"1e12": "1e12", "far future integer": "1000000000000", "-1": "-1", "1e309": "1e309", "null": "null", "true": "true",
		"huge integer": "99999999999999999999999999", "array": "[9999999999]", "object": `{"v":1}`, "negative zero": "-0",
		"exp before iat": fmt.Sprint(now - 100),
	} {
		p := payload
		overrides := map[string]string{"exp": exp, "iat": fmt.Sprint(now - 60)}
		if name == "exp before iat" {
			overrides["iat"] = fmt.Sprint(now)
		}
		if exp == "" {
			p = map[string]any{}
			for k, v := range payload {
				if k != "exp" {
					p[k] = v
				}
			}
			delete(overrides, "exp")
		}
		cfRejected(t, e, "exp "+name, cfSignAT(t, cfRawPayload(t, p, overrides)))
	}
	// Control: the same construction with a valid exp passes.
	cfAccepted(t, e, "valid exp", cfSignAT(t, cfRawPayload(t, payload, map[string]string{"exp": fmt.Sprint(now + 120), "iat": fmt.Sprint(now)})))
	// A fractional exp must not crash or overflow: refused (integers only) or honoured.
	if r := Get(t, e.App+"/docs", cfSignAT(t, cfRawPayload(t, payload, map[string]string{"exp": fmt.Sprint(now-3600) + ".5"}))); r.Status != http.StatusUnauthorized {
		t.Errorf("expired fractional exp: %s", r)
	}
}

func TestJW12_NbfIatSkew(t *testing.T) {
	// JW-12 expects: "rejected beyond leeway; WithIssuedAt()" (nbf=now+5 min; iat=now+1 day;
	// iat absent).
	e, _, _, _, payload, _ := cfGenuine(t)
	now := time.Now().Unix()
	for name, o := range map[string]map[string]string{
		"nbf now+5min":       {"nbf": fmt.Sprint(now + 300)},
		"iat now+1day":       {"iat": fmt.Sprint(now + 86400), "exp": fmt.Sprint(now + 86400 + 60)},
		"iat now+5min":       {"iat": fmt.Sprint(now + 300), "exp": fmt.Sprint(now + 360)},
		"nbf as string":      {"nbf": fmt.Sprintf("%q", fmt.Sprint(now))},
		"iat as string":      {"iat": fmt.Sprintf("%q", fmt.Sprint(now))},
		"iat null":           {"iat": "null"},
		"nbf far future":     {"nbf": "1e12"},
		"iat absent (below)": nil,
	} {
		p := payload
		if o == nil {
			p = map[string]any{}
			for k, v := range payload {
				if k != "iat" {
					p[k] = v
				}
			}
			o = map[string]string{}
		}
		cfRejected(t, e, name, cfSignAT(t, cfRawPayload(t, p, o)))
	}
	// Within the 30 s leeway: accepted.
	cfAccepted(t, e, "nbf now+10s", cfSignAT(t, cfRawPayload(t, payload, map[string]string{"nbf": fmt.Sprint(now + 10)})))
	cfAccepted(t, e, "iat now+10s", cfSignAT(t, cfRawPayload(t, payload, map[string]string{"iat": fmt.Sprint(now + 10), "exp": fmt.Sprint(now + 300)})))
}

func TestJW13_AudienceConfusion(t *testing.T) {
	// JW-13 expects: "reject unless policy audience present (typed compare, WithAudience);
	// string and array forms treated identically" (aud missing, "", [], ["other"], "other",
	// [123], ["other","gateway"] for a route bound to another resource).
	e, _, _, _, payload, _ := cfGenuine(t)
	for name, aud := range map[string]string{
		"missing": "", `""`: `""`, "[]": "[]", `["other"]`: `["other"]`, `"other"`: `"other"`, "[123]": "[123]",
		`["other","gateway"]`: `["other","gateway"]`, "null": "null", `[null]`: `[null]`, `"APP"`: `"APP"`, `"app "`: `"app "`,
		`{"app":1}`: `{"app":1}`, `[["app"]]`: `[["app"]]`, `"app,other"`: `"app,other"`, `123`: `123`,
	} {
		p := payload
		o := map[string]string{"aud": aud}
		if aud == "" {
			p = map[string]any{}
			for k, v := range payload {
				if k != "aud" {
					p[k] = v
				}
			}
			o = nil
		}
		tok := cfSignAT(t, cfRawPayload(t, p, o))
		if r := Get(t, e.App+"/docs", tok); r.Status != http.StatusUnauthorized {
			t.Errorf("aud %s at the route bound to app: %s", name, r)
		}
	}
	for _, aud := range []string{`"app"`, `["app"]`, `["other","app"]`} {
		cfAccepted(t, e, "aud "+aud, cfSignAT(t, cfRawPayload(t, payload, map[string]string{"aud": aud})))
	}
	both := cfSignAT(t, cfRawPayload(t, payload, map[string]string{"aud": `["app","other-api"]`}))
	if r := Get(t, e.App+"/aud/x", both); r.Status != http.StatusOK {
		t.Errorf(`aud ["app","other-api"] at the route bound to other-api: %s`, r)
	}
	if r := Get(t, e.App+"/api/x", both); r.Status != http.StatusUnauthorized {
		t.Errorf(`aud ["app","other-api"] at the route bound to https://api.test: %s`, r)
	}
}

func TestJW14_IssuerExactness(t *testing.T) {
	// JW-14 expects: "401 (byte-exact)" for iss with trailing /, upper-case scheme/host,
	// http://, extra path, unicode look-alike.
	e, _, at, _, _, _ := cfGenuine(t)
	u, _ := url.Parse(e.Issuer)
	for name, iss := range map[string]string{
		"trailing slash": e.Issuer + "/", "upper-case scheme": "HTTP://" + u.Host, "https": "https://" + u.Host,
		"extra path": e.Issuer + "/x", "localhost": "http://localhost:" + u.Port(), "look-alike": "http://127.0.0.1:" + u.Port() + "\u200b",
		"fullwidth digit": strings.Replace(e.Issuer, "1", "１", 1), "empty": "", "port added": e.Issuer + "0", "userinfo": "http://a@" + u.Host,
		"with query": e.Issuer + "?", "with fragment": e.Issuer + "#",
	} {
		cfRejected(t, e, "iss "+name, cfResign(t, at, func(m map[string]any) { m["iss"] = iss }))
	}
	cfRejected(t, e, "iss missing", cfResign(t, at, func(m map[string]any) { delete(m, "iss") }))
	cfRejected(t, e, "iss array", cfResign(t, at, func(m map[string]any) { m["iss"] = []string{e.Issuer} }))
}

func TestJW15_CrossJWTConfusion(t *testing.T) {
	// JW-15 expects: "401; ATs carry typ: at+jwt and validator requires it; other token kinds
	// have distinct typ/claims and mutually exclusive rules" (ID token, logout token, refresh
	// token as Bearer AT; AT as id_token_hint).
	rp := cfListen(t)
	e, b, at, _, _, _ := cfGenuine(t, `
		client rp-bc {
			redirect_uri {{.RP}}/cb-bc
			backchannel_logout_uri `+rp.URL()+`/bc
		}`)
	if h, _ := cfClaims(t, at); h["typ"] != "at+jwt" {
		t.Errorf("access token typ %v", h["typ"])
	}
	tok := cfAppTokens(t, e, b, "openid email read:docs offline_access")
	idt := cfStr(tok, "id_token")
	if h, _ := cfClaims(t, idt); h["typ"] == "at+jwt" {
		t.Errorf("ID token typ %v", h["typ"])
	}
	cfRejected(t, e, "ID token as access token", idt)
	cfRejected(t, e, "refresh token as access token", cfStr(tok, "refresh_token"))
	cfRejected(t, e, "ID token retyped at+jwt", cfResign(t, idt, func(map[string]any) {}))
	key := cfSigner(t, "RS256")
	_, atc := cfClaims(t, at)
	atPayload, _ := json.Marshal(atc)
	cfRejected(t, e, "access token claims with typ JWT", cfSignRaw(t, key, "RS256", cfHeader(key, "JWT"), string(atPayload)))
	cfRejected(t, e, "access token claims without typ", cfSignRaw(t, key, "RS256", fmt.Sprintf(`{"alg":"RS256","kid":%q}`, key.ID), string(atPayload)))

	// A logout token (back-channel) is not an access token either.
	cfTokens(t, e, b, cfNewFlow("rp-bc", "", e.RP+"/cb-bc", "openid"))
	cfPortalLogout(t, e, b, "")
	if !rp.wait(1, 10*time.Second) {
		t.Fatal("no back-channel logout token arrived")
	}
	lt := rp.Requests()[0].Form.Get("logout_token")
	if h, _ := cfClaims(t, lt); h["typ"] != "logout+jwt" {
		t.Errorf("logout token typ %v", h["typ"])
	}
	cfRejected(t, e, "logout token as access token", lt)

	// An access token is not an ID token: not as id_token_hint, not at /logout.
	nb := NewBrowser(t)
	e.PortalLogin(nb, cfUser, Password)
	fresh := cfAppTokens(t, e, nb)
	f := cfNewFlow("app", "", e.RP+"/app-cb", "openid")
	f.Params.Set("prompt", "none")
	f.Params.Set("id_token_hint", cfStr(fresh, "access_token"))
	cfErrorRedirect(t, e, "access token as id_token_hint", cfAuthorizeRaw(t, e, nb, f.Params), e.RP+"/app-cb", f.Params.Get("state"), "invalid_request")
	f.Params.Set("id_token_hint", lt)
	cfErrorRedirect(t, e, "logout token as id_token_hint", cfAuthorizeRaw(t, e, nb, f.Params), e.RP+"/app-cb", f.Params.Get("state"), "invalid_request")
	if r := nb.Do(http.MethodGet, e.Issuer+"/logout?id_token_hint="+cfStr(fresh, "access_token"), nil); r.Status != http.StatusBadRequest {
		t.Errorf("access token as id_token_hint at /logout: %s", r)
	}
	f.Params.Set("id_token_hint", cfStr(fresh, "id_token"))
	if q := e.Authorize(nb, f.Params); q.Get("code") == "" {
		t.Errorf("the ID token as id_token_hint (control): %v", q)
	}
}

func TestJW16_CritHeader(t *testing.T) {
	// JW-16 expects: "reject unknown critical params" ({"crit":["foo"],"foo":1} validly
	// signed; crit:[]; crit:["exp"]).
	e, _, _, _, payload, _ := cfGenuine(t)
	key := cfSigner(t, "RS256")
	p, _ := json.Marshal(payload)
	for _, extra := range []string{`"crit":["foo"],"foo":1`, `"crit":[]`, `"crit":["exp"]`, `"crit":"foo"`, `"crit":null`, `"crit":["b64"],"b64":false`} {
		h := fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"at+jwt",%s}`, key.ID, extra)
		cfRejected(t, e, "header "+extra, cfSignRaw(t, key, "RS256", h, string(p)))
	}
	cfAccepted(t, e, "the same construction without crit", cfSignRaw(t, key, "RS256", cfHeader(key, "at+jwt"), string(p)))
}

func TestJW17_DuplicateAndCaseVariantClaims(t *testing.T) {
	// JW-17 expects: "reject (Go encoding/json is last-wins and case-insensitive)" for
	// {"sub":"alice","sub":"admin"}, {"exp":1,"EXP":9999999999}, groups/Groups, duplicate
	// header alg.
	e, _, _, _, payload, _ := cfGenuine(t)
	key := cfSigner(t, "RS256")
	now := time.Now().Unix()
	for name, o := range map[string][2]string{
		"duplicate sub":       {"sub", `"alice","sub":"admin"`},
		"exp and EXP":         {"exp", fmt.Sprintf(`1,"EXP":%d`, now+600)},
		"groups and Groups":   {"groups", `["u"],"Groups":["admins"]`},
		"duplicate scope":     {"scope", `"openid","scope":"openid email read:docs write:docs"`},
		"duplicate aud":       {"aud", `"other","aud":"app"`},
		"sub and Sub":         {"sub", `"x","Sub":"admin"`},
		"duplicate client_id": {"client_id", `"evil","client_id":"app"`},
		"duplicate gty":       {"gty", `"client_credentials","gty":""`},
	} {
		cfRejected(t, e, name, cfSignAT(t, cfRawPayload(t, payload, map[string]string{o[0]: o[1]})))
	}
	p, _ := json.Marshal(payload)
	for name, h := range map[string]string{
		"duplicate header alg": fmt.Sprintf(`{"alg":"none","alg":"RS256","kid":%q,"typ":"at+jwt"}`, key.ID),
		"duplicate header kid": fmt.Sprintf(`{"alg":"RS256","kid":"other","kid":%q,"typ":"at+jwt"}`, key.ID),
		"ALG and alg":          fmt.Sprintf(`{"ALG":"none","alg":"RS256","kid":%q,"typ":"at+jwt"}`, key.ID),
		"duplicate typ":        fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"JWT","typ":"at+jwt"}`, key.ID),
	} {
		cfRejected(t, e, name, cfSignRaw(t, key, "RS256", h, string(p)))
	}
}

func TestJW18_ClaimTypeConfusion(t *testing.T) {
	// JW-18 expects: "explicit typed parsing; unexpected types → 401; no coercion;
	// delimiter-safe header rendering" (scope array, groups string, groups ["a,admin"],
	// email_verified "true", sub number).
	e, _, _, _, payload, _ := cfGenuine(t)
	for name, o := range map[string]string{
		"scope array":           `["openid","read:docs"]`,
		"groups string":         `"admins"`,
		"email_verified string": `"true"`,
		"sub number":            `123`,
		"sub null":              `null`,
		"client_id number":      `1`,
		"groups null element":   `["staff",null]`,
		"groups number element": `["staff",1]`,
		"scope number":          `1`,
		"groups object":         `{"admins":true}`,
		"auth_time string":      `"1"`,
		"amr string":            `"pwd"`,
		"gty number":            `1`,
		"ucr object":            `{"userinfo":{}}`,
	} {
		claim := strings.Fields(name)[0]
		cfRejected(t, e, name, cfSignAT(t, cfRawPayload(t, payload, map[string]string{claim: o})))
	}
	// A comma inside a group name must not become two groups in X-User-Groups, and cannot
	// satisfy a route requiring one of the parts.
	tok := cfSignAT(t, cfRawPayload(t, payload, map[string]string{"groups": `["staff,admins"]`}))
	if r := Get(t, e.App+"/admin/x", tok); r.Status == http.StatusOK {
		t.Errorf(`groups ["staff,admins"] passed the route requiring admins`)
	}
	if r := Get(t, e.App+"/docs", tok); r.Status == http.StatusOK {
		if g := e.Upstream.Last(t).Values("X-User-Groups"); len(g) > 0 && strings.Contains(strings.Join(g, ","), "admins") {
			t.Errorf(`X-User-Groups %q for the group "staff,admins": reads as two groups`, g)
		}
	}
}

func TestJW19_ErrorPrecedence(t *testing.T) {
	// JW-19 expects: "treated as invalid signature (401), never routed to an 'expired →
	// refresh' path" (token both expired and badly signed).
	e, b, at, _, _, _ := cfGenuine(t)
	now := time.Now().Unix()
	expired := cfResign(t, at, func(m map[string]any) { m["iat"] = now - 1200; m["exp"] = now - 600 })
	p := strings.Split(expired, ".")
	badSig := p[0] + "." + p[1] + "." + p[2][:len(p[2])-6] + "AAAAAA"
	r := Get(t, e.App+"/docs", badSig)
	if r.Status != http.StatusUnauthorized || !strings.Contains(wwwAuth(r), `error="invalid_token"`) || strings.Contains(strings.ToLower(wwwAuth(r)+string(r.Body)), "expired") {
		t.Errorf("expired and badly signed: %s (WWW-Authenticate %q), want invalid, not expired", r, wwwAuth(r))
	}
	if r := Get(t, e.App+"/docs", expired); r.Status != http.StatusUnauthorized || !strings.Contains(strings.ToLower(wwwAuth(r)), "expired") {
		t.Errorf("expired with a valid signature (control): %s (WWW-Authenticate %q)", r, wwwAuth(r))
	}
	// The site session cookie refreshes an expired access token in-process: that path must
	// not be reachable with a token the client chose. The cookie is a sealed handle (no
	// token can be read from it or put into it), and a cookie of the earlier plain format
	// "<access token>~<refresh token>" — badly signed or well signed — is refused, not
	// refreshed.
	if r := b.Go(http.MethodGet, e.App+"/page", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("browser login at the protected site: %s", r)
	}
	site := b.Cookie(e.App, "gatehouse_auth")
	if site == "" || strings.Contains(site, "~") || strings.Contains(site, "eyJ") || strings.Contains(site, ".") {
		t.Fatalf("site cookie %q: want an opaque sealed value", site)
	}
	before := e.Upstream.Count()
	for name, forged := range map[string]string{"expired, badly signed": badSig + "~" + site, "expired, well signed": expired + "~" + site} {
		req := NewRequest(t, http.MethodGet, e.App+"/page", nil)
		req.Header.Set("Cookie", "gatehouse_auth="+forged)
		if r := Do(t, API, req); r.Status != http.StatusUnauthorized || e.Upstream.Count() != before {
			t.Errorf("plain-format site cookie with an %s access token: %s", name, r)
		}
	}
	req := NewRequest(t, http.MethodGet, e.App+"/page", nil)
	req.Header.Set("Cookie", "gatehouse_auth="+site)
	if r := Do(t, API, req); r.Status != http.StatusOK {
		t.Errorf("the genuine site cookie (control): %s", r)
	}
}

func TestJW20_OversizedTokens(t *testing.T) {
	// JW-20 expects: "fast 400/401; token length capped (e.g. 16 KB) before parse" (Bearer + 1
	// MB of '.', 100 k segments, 64 KB header JSON nested 10 k deep, 10 MB base64).
	e, _, at, _, _, parts := cfGenuine(t)
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	cases := map[string]string{
		"1 MB of dots":       strings.Repeat(".", 1<<20),
		"100k segments":      strings.Repeat("a.", 100000) + "a",
		"header nested 10k":  b64.EncodeToString([]byte(deep)) + "." + parts[1] + "." + parts[2],
		"64 KB header":       b64.EncodeToString([]byte(`{"alg":"RS256","x":"`+strings.Repeat("x", 64<<10)+`"}`)) + "." + parts[1] + "." + parts[2],
		"20 KB payload":      parts[0] + "." + strings.Repeat("A", 20000) + "." + parts[2],
		"10 MB base64":       strings.Repeat("A", 10<<20),
		"16 KB + 1 of valid": parts[0] + "." + parts[1] + strings.Repeat("A", 16<<10) + "." + parts[2],
	}
	client := &http.Client{Timeout: 20 * time.Second}
	for name, tok := range cases {
		for _, target := range []string{e.App + "/docs", e.Issuer + "/userinfo"} {
			req := NewRequest(t, http.MethodGet, target, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			start := time.Now()
			resp, err := client.Do(req)
			d := time.Since(start)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest &&
					resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
					t.Errorf("%s at %s: HTTP %d", name, target, resp.StatusCode)
				}
			}
			// A refused connection (headers over the server's limit) is a refusal too.
			if d > 3*time.Second {
				t.Errorf("%s at %s took %v", name, target, d)
			}
		}
	}
	cfAccepted(t, e, "genuine token after the oversized ones", at)
}

func TestJW21_JWEAndCompression(t *testing.T) {
	// JW-21 expects: "rejected without decrypting if JWE unsupported" (5-part compact token;
	// zip:"DEF").
	e, _, at, _, payload, parts := cfGenuine(t)
	jweHdr := b64json(t, map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "zip": "DEF", "kid": "x"})
	cfRejected(t, e, "5-part JWE", jweHdr+"."+b64.EncodeToString(make([]byte, 256))+"."+b64.EncodeToString(make([]byte, 12))+"."+
		b64.EncodeToString(bytes.Repeat([]byte{0x78}, 1024))+"."+b64.EncodeToString(make([]byte, 16)))
	cfRejected(t, e, "5-part dir JWE", b64json(t, map[string]any{"alg": "dir", "enc": "A128CBC-HS256"})+"...."+parts[2])
	key := cfSigner(t, "RS256")
	p, _ := json.Marshal(payload)
	cfRejected(t, e, "JWS with zip DEF", cfSignRaw(t, key, "RS256", fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"at+jwt","zip":"DEF"}`, key.ID), string(p)))
	cfRejected(t, e, "JWS with enc", cfSignRaw(t, key, "RS256", fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"at+jwt","enc":"A256GCM"}`, key.ID), string(p)))
	cfAccepted(t, e, "genuine token", at)
}

func TestJW22_SymmetricSecretStrength(t *testing.T) {
	// JW-22 expects: "key ≥256-bit random, not a passphrase; config with short/default secret
	// refused at startup" (any HS-signed internal JWT). Gatehouse signs no JWT with an HMAC:
	// the state, CSRF and site-session cookies are sealed with keys derived from a 512-bit
	// crypto/rand secret generated on first start; configured client secrets must have at
	// least 16 characters.
	e, _, b := cfStart(t)
	secret := Provider(t).Keys.Secret()
	if len(secret) < 32 {
		t.Fatalf("shared secret of %d bytes", len(secret))
	}
	distinct := map[byte]bool{}
	for _, c := range secret {
		distinct[c] = true
	}
	if len(distinct) < len(secret)/3 {
		t.Errorf("shared secret looks low-entropy: %d distinct bytes of %d", len(distinct), len(secret))
	}
	if k := Provider(t).Keys.DeriveKey("x"); len(k) < 32 {
		t.Errorf("derived keys of %d bytes", len(k))
	}
	tok := cfPublicTokens(t, e, b, "openid")
	for _, name := range []string{"access_token", "id_token"} {
		if h, _ := cfClaims(t, cfStr(tok, name)); strings.HasPrefix(cfStr(h, "alg"), "HS") {
			t.Errorf("%s signed with %v", name, h["alg"])
		}
	}
	for _, short := range []string{"short", "0123456789abcde", "password"} {
		if err := cfAdapt(t, e, `
		client weak {
			secret `+short+`
			redirect_uri https://rp.test/cb
		}`); err == nil {
			t.Errorf("client secret %q accepted at config load", short)
		}
	}
}

func TestJW23_RemovedKeyStopsWorking(t *testing.T) {
	// JW-23 expects: "401" for a token signed by kid K after K was removed from the signing set.
	e, b, at, hdr, _, _ := cfGenuine(t)
	oldKid := cfStr(hdr, "kid")
	idt := cfStr(cfAppTokens(t, e, b), "id_token")
	// Used twice: the gateway has it in its verified-credential cache.
	cfAccepted(t, e, "old key, first use", at)
	cfAccepted(t, e, "old key, second use", at)
	if r := e.Admin(http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"alg": "RS256", "immediate": true}); r.Status != http.StatusOK {
		t.Fatalf("rotate: %s", r)
	}
	cfAccepted(t, e, "old key after rotation, before removal", at)
	if r := e.Admin(http.MethodDelete, "/gatehouse/keys/"+url.PathEscape(oldKid), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete key: %s", r)
	}
	cfRejected(t, e, "token signed by the removed key", at)
	set, _ := cfJWKS(t, e)
	for _, k := range set {
		if k.Kid == oldKid {
			t.Errorf("removed kid %s still in /jwks", oldKid)
		}
	}
	if _, _, err := cfVerify(t, e, idt); err == nil {
		t.Errorf("ID token of the removed key still verifies with /jwks")
	}
	f := cfNewFlow("app", "", e.RP+"/app-cb", "openid")
	f.Params.Set("prompt", "none")
	f.Params.Set("id_token_hint", idt)
	cfErrorRedirect(t, e, "id_token_hint of the removed key", cfAuthorizeRaw(t, e, b, f.Params), e.RP+"/app-cb", f.Params.Get("state"), "invalid_request")
	cfAccepted(t, e, "a new token", cfStr(cfAppTokens(t, e, b), "access_token"))
}

func TestJW24_TokenTransport(t *testing.T) {
	// JW-24 expects: "query tokens refused at resource routes; conflicting/duplicate
	// credentials → 400/401; scheme case-insensitive, single-space" (?access_token=; cookie
	// and header of different users; two Authorization headers; "bearer  x" / "Bearer x y").
	e, _, at, _, _, _ := cfGenuine(t)
	e.CreateUser("eve@example.test")
	eb := NewBrowser(t)
	if r := e.BrowserLogin(eb, e.App+"/page", "eve@example.test", Password); r.Status != http.StatusOK {
		t.Fatalf("browser login: %s", r)
	}
	before := e.Upstream.Count()
	if r := Get(t, e.App+"/docs?access_token="+url.QueryEscape(at), ""); r.Status != http.StatusUnauthorized {
		t.Errorf("?access_token= at the protected route: %s", r)
	}
	if r := Get(t, e.Issuer+"/userinfo?access_token="+url.QueryEscape(at), ""); r.Status != http.StatusUnauthorized {
		t.Errorf("?access_token= at /userinfo: %s", r)
	}
	form := NewRequest(t, http.MethodPost, e.App+"/docs", url.Values{"access_token": {at}})
	if r := Do(t, API, form); r.Status != http.StatusUnauthorized {
		t.Errorf("access_token in a form body at the protected route: %s", r)
	}
	// Cookie of one user, bearer token of another.
	both := NewRequest(t, http.MethodGet, e.App+"/docs", nil)
	both.Header.Set("Cookie", "gatehouse_auth="+eb.Cookie(e.App, "gatehouse_auth"))
	both.Header.Set("Authorization", "Bearer "+at)
	if r := Do(t, API, both); r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
		t.Errorf("cookie and bearer token together: %s", r)
	}
	two := NewRequest(t, http.MethodGet, e.App+"/docs", nil)
	two.Header.Add("Authorization", "Bearer "+at)
	two.Header.Add("Authorization", "Bearer "+at)
	for name, req := range map[string]*http.Request{"two Authorization headers": two} {
		if r := Do(t, API, req); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %s", name, r)
		}
	}
	for _, v := range []string{"Bearer  " + at, "Bearer " + at + " x", "Bearer " + at + "\tx", "Bearer", "Bearer ", "Basic " + at, "Token " + at, at} {
		req := NewRequest(t, http.MethodGet, e.App+"/docs", nil)
		req.Header.Set("Authorization", v)
		if r := Do(t, API, req); r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %s", truncate(v, 20), r)
		}
	}
	if n := e.Upstream.Count(); n != before {
		t.Errorf("%d refused requests reached the upstream", n-before)
	}
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		req := NewRequest(t, http.MethodGet, e.App+"/docs", nil)
		req.Header.Set("Authorization", scheme+" "+at)
		if r := Do(t, API, req); r.Status != http.StatusOK {
			t.Errorf("scheme %q: %s", scheme, r)
		}
	}
}

func TestJW25_PerRouteScopeEnforcement(t *testing.T) {
	// JW-25 expects: "403 insufficient_scope (WWW-Authenticate: Bearer
	// error="insufficient_scope", scope="write"); whole-token matching, no prefix/substring
	// match" (scope=read on a write route; readwrite, write:foo, "read write" spacing).
	e, b, at, _, _, _ := cfGenuine(t)
	r := Get(t, e.App+"/write/x", at)
	if r.Status != http.StatusForbidden || !strings.Contains(wwwAuth(r), `error="insufficient_scope"`) || !strings.Contains(wwwAuth(r), `scope="write:docs"`) {
		t.Errorf("read:docs token at the write:docs route: %s (WWW-Authenticate %q)", r, wwwAuth(r))
	}
	for _, scope := range []string{"openid read:docs", "openid write:docsx", "openid write:doc", "openid write", "openid Write:docs",
		"openid readwrite:docs", "openid write:docs:extra", "openid xwrite:docs", "openid read:docs,write:docs", "openid write%3Adocs"} {
		tok := cfResign(t, at, func(m map[string]any) { m["scope"] = scope })
		r := Get(t, e.App+"/write/x", tok)
		if r.Status != http.StatusForbidden || !strings.Contains(wwwAuth(r), `error="insufficient_scope"`) {
			t.Errorf("scope %q at the write:docs route: %s", scope, r)
		}
	}
	// Controls: a token granted write:docs passes, whatever the position of the scope.
	if r := Get(t, e.App+"/write/x", cfStr(cfAppTokens(t, e, b, "openid write:docs read:docs"), "access_token")); r.Status != http.StatusOK {
		t.Errorf("write:docs token: %s", r)
	}
	if r := Get(t, e.App+"/write/x", cfResign(t, at, func(m map[string]any) { m["scope"] = "write:docs openid" })); r.Status != http.StatusOK {
		t.Errorf("scope write:docs first: %s", r)
	}
}

func TestJW26_TokenAfterLogoutOrRevocation(t *testing.T) {
	// JW-26 expects: "401 if session-bound (sid checked against Badger) or AT TTL short (≤5–15
	// min) and documented" (logout, then replay AT at a protected route; disable user, replay
	// AT).
	e, b, at, _, _, _ := cfGenuine(t)
	cfAccepted(t, e, "before logout", at)
	cfAccepted(t, e, "before logout (cached)", at)
	cfPortalLogout(t, e, b, "")
	cfRejected(t, e, "access token after logout", at)

	id := e.CreateUser("dan@example.test")
	db := NewBrowser(t)
	e.PortalLogin(db, "dan@example.test", Password)
	dat := cfStr(cfAppTokens(t, e, db), "access_token")
	cfAccepted(t, e, "before disable", dat)
	cfAccepted(t, e, "before disable (cached)", dat)
	if r := e.Admin(http.MethodPost, "/gatehouse/users/"+id+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %s", r)
	}
	cfRejected(t, e, "access token after the user was disabled", dat)
	if _, c := cfClaims(t, dat); cfNum(c, "exp")-cfNum(c, "iat") > 15*60 {
		t.Errorf("access token lifetime %d s", cfNum(c, "exp")-cfNum(c, "iat"))
	}
}
