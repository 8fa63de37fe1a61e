package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

var b64 = base64.RawURLEncoding

func b64json(t *testing.T, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(j)
}

// splitJWT returns the decoded header and payload (numbers kept exact) and the raw parts.
func splitJWT(t *testing.T, tok string) (hdr, payload map[string]any, parts []string) {
	t.Helper()
	parts = strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	for i, dst := range []*map[string]any{&hdr, &payload} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("decode JWT part %d: %v", i, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("decode JWT part %d: %v", i, err)
		}
	}
	return hdr, payload, parts
}

func hmacJWT(t *testing.T, alg string, hdr, payload map[string]any, key []byte) string {
	t.Helper()
	h := map[string]any{}
	for k, v := range hdr {
		h[k] = v
	}
	h["alg"] = alg
	signing := b64json(t, h) + "." + b64json(t, payload)
	var fn func() hash.Hash
	switch alg {
	case "HS256":
		fn = sha256.New
	case "HS384":
		fn = sha512.New384
	default:
		fn = sha512.New
	}
	m := hmac.New(fn, key)
	m.Write([]byte(signing))
	return signing + "." + b64.EncodeToString(m.Sum(nil))
}

// rsaJWT signs with an arbitrary RSA key (an attacker's).
func rsaJWT(t *testing.T, hdr, payload map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	signing := b64json(t, hdr) + "." + b64json(t, payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, 5 /* crypto.SHA256 */, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64.EncodeToString(sig)
}

// publicKeySecrets fetches /jwks and returns the representations of the RSA key kid that a
// confused verifier might use as an HMAC secret.
func publicKeySecrets(t *testing.T, e *Env, kid string) map[string][]byte {
	t.Helper()
	r := Get(t, e.Issuer+"/jwks", "")
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %s", r)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS publishes the private member %q of key %v (OC-26)", private, k["kid"])
			}
		}
		if k["kid"] != kid {
			continue
		}
		nb, err1 := b64.DecodeString(k["n"].(string))
		eb, err2 := b64.DecodeString(k["e"].(string))
		if err1 != nil || err2 != nil {
			t.Fatalf("JWK n/e: %v %v", err1, err2)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
		pkix, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		jwk, _ := json.Marshal(k)
		return map[string][]byte{
			"PKIX PEM":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
			"PKCS1 PEM":      pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}),
			"PKIX DER":       pkix,
			"modulus":        nb,
			"JWK JSON":       jwk,
			"PEM no newline": bytes.TrimSpace(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})),
		}
	}
	t.Fatalf("kid %s not in /jwks", kid)
	return nil
}

// TestForgedTokens: the gateway and /userinfo accept only access tokens Gatehouse signed,
// unexpired, for the route's audience. Refused with 401 invalid_token, never reaching the
// upstream: alg=none in every spelling and an empty signature (JW-01); HS256/384/512 signed
// with the RSA public key from /jwks in several encodings, with the real kid (JW-02); a
// tampered payload, extra segments, padding (JW-05); an attacker's key with the real kid,
// and jku/jwk headers (JW-08, JW-09, JW-10); an expired token, an over-long lifetime and a
// future iat, signed with the real key in-process (JW-11, JW-12); another client's token and
// a route bound to another audience (JW-13, AS-25); the ID token used as an access token
// (JW-15); an oversized token (JW-20).
func TestForgedTokens(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient + `
		client other {
			redirect_uri {{.RP}}/other-cb
			scopes openid email read:docs
		}`, Sites: apiSites})
	e.CreateUser("hank@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "hank@example.test", Password)
	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email read:docs")
	at, idt := toks["access_token"].(string), toks["id_token"].(string)
	if r := Get(t, e.App+"/docs", at); r.Status != http.StatusOK {
		t.Fatalf("genuine token: %s", r)
	}
	hdr, payload, parts := splitJWT(t, at)
	kid, _ := hdr["kid"].(string)
	if hdr["alg"] != "RS256" || kid == "" || hdr["typ"] != "at+jwt" {
		t.Fatalf("unexpected access-token header %v", hdr)
	}
	forged := map[string]string{}

	// JW-01: alg none.
	for _, alg := range []string{"none", "None", "NONE", "nOnE", ""} {
		h := map[string]any{"typ": "at+jwt", "kid": kid}
		if alg != "" {
			h["alg"] = alg
		}
		forged["alg="+alg] = b64json(t, h) + "." + parts[1] + "."
	}
	forged["RS256 with empty signature"] = parts[0] + "." + parts[1] + "."
	// JW-02: HMAC with the public key.
	for name, secret := range publicKeySecrets(t, e, kid) {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			forged[alg+" keyed with the "+name] = hmacJWT(t, alg, hdr, payload, secret)
		}
	}
	// JW-05: tampering and serialisation tricks.
	tampered := map[string]any{}
	for k, v := range payload {
		tampered[k] = v
	}
	tampered["groups"] = []string{"admins"}
	tampered["scope"] = "openid email read:docs write:docs"
	forged["tampered payload"] = parts[0] + "." + b64json(t, tampered) + "." + parts[2]
	forged["two segments"] = parts[0] + "." + parts[1]
	forged["four segments"] = at + "." + parts[2]
	forged["padded signature"] = at + "=="
	forged["std base64 signature"] = parts[0] + "." + parts[1] + "." + base64.StdEncoding.EncodeToString(mustB64(t, parts[2]))
	// JW-08/09/10: an attacker's key.
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged["attacker key, real kid"] = rsaJWT(t, hdr, payload, attacker)
	ajwk, _ := keys.PublicJWK(&attacker.PublicKey, kid, "RS256")
	forged["embedded jwk"] = rsaJWT(t, map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid, "jwk": ajwk}, payload, attacker)
	forged["jku"] = rsaJWT(t, map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid, "jku": e.RP + "/jwks"}, payload, attacker)
	// JW-15: the ID token is not an access token.
	forged["ID token as access token"] = idt
	// JW-20: oversized.
	forged["oversized"] = parts[0] + "." + strings.Repeat("A", 20000) + "." + parts[2]

	// JW-11/JW-12: well-signed tokens with bad times, signed in-process with the real key.
	key, err := Provider(t).Keys.Signer("RS256")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(mod func(map[string]any)) string {
		c := map[string]any{}
		for k, v := range payload {
			c[k] = v
		}
		mod(c)
		tok, err := tokens.Sign(key, tokens.TypeAccessToken, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now().Unix()
	control := sign(func(c map[string]any) { c["jti"] = "control"; c["iat"] = now; c["exp"] = now + 60 })
	if r := Get(t, e.App+"/docs", control); r.Status != http.StatusOK {
		t.Fatalf("a token signed in-process with fresh times must pass (harness check): %s", r)
	}
	forged["expired"] = sign(func(c map[string]any) { c["iat"] = now - 600; c["exp"] = now - 120 })
	forged["exp missing"] = sign(func(c map[string]any) { delete(c, "exp") })
	forged["exp as string"] = sign(func(c map[string]any) { c["exp"] = "9999999999" })
	forged["lifetime far too long"] = sign(func(c map[string]any) { c["iat"] = now; c["exp"] = now + 1e9 })
	forged["iat in the future"] = sign(func(c map[string]any) { c["iat"] = now + 86400; c["exp"] = now + 86400 + 60 })
	forged["nbf in the future"] = sign(func(c map[string]any) { c["nbf"] = now + 3600 })
	forged["foreign issuer"] = sign(func(c map[string]any) { c["iss"] = e.Issuer + "/" })

	// JW-13/AS-25: audience.
	otherAT := e.Tokens(b, "other", e.RP+"/other-cb", "openid email read:docs")["access_token"].(string)
	forged["token of another client"] = otherAT

	before := e.Upstream.Count()
	for name, tok := range forged {
		r := Get(t, e.App+"/docs", tok)
		if r.Status != http.StatusUnauthorized || !strings.Contains(wwwAuth(r), `error="invalid_token"`) {
			t.Errorf("%s: want 401 invalid_token at the protected route, got %s (WWW-Authenticate %q)", name, r, wwwAuth(r))
		}
		if name == "token of another client" {
			continue // a valid token for its own client: /userinfo accepts it
		}
		if r := e.Userinfo(tok); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: want 401 at /userinfo, got %s", name, r)
		}
	}
	if r := Get(t, e.App+"/aud/x", at); r.Status != http.StatusUnauthorized || !strings.Contains(wwwAuth(r), `error="invalid_token"`) {
		t.Errorf("route bound to audience other-api: %s", r)
	}
	if n := e.Upstream.Count(); n != before {
		t.Errorf("%d forged tokens reached the upstream", n-before)
	}
	// The genuine token still works.
	if r := Get(t, e.App+"/docs", at); r.Status != http.StatusOK {
		t.Errorf("genuine token after the forgeries: %s", r)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
