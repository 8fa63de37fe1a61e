package passkey_test

// Fuzz targets for what a browser posts at the end of a WebAuthn ceremony. Run one with
//
//	go test -run '^$' -fuzz '^FuzzFinishPasskeyLogin$' -fuzztime 60s ./login/passkey
//
// or all of them with scripts/fuzz.sh. The provider is built as module/app.go builds it
// (internal/idptest); export_test.go opens the unexported pieces (the ceremony store, the
// credential key check).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
)

const fuzzIssuer = idptest.Issuer

// passkeyFixture is a provider with one passkey account, the session data of a
// usernameless login ceremony and a valid answer to it.
type passkeyFixture struct {
	p        *passkey.Method
	sd       webauthn.SessionData
	userID   string
	handle   []byte
	credID   []byte
	response []byte
}

func newPasskeyFixture(tb testing.TB) *passkeyFixture {
	tb.Helper()
	ctx := context.Background()
	p := idptest.New(tb, func(c *idp.Config) { c.SignupMode = idp.SignupOpen }).P.Passkey
	if p.WebAuthn == nil {
		tb.Fatal("passkeys are disabled")
	}
	auth := softauthn.New(fuzzIssuer)
	c, err := p.BeginSignup(ctx, account.NewUser{Email: "pat@example.com"}, "", "192.0.2.1")
	if err != nil {
		tb.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	resp, cred, err := auth.Create(opts)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := p.FinishSignup(ctx, c.Secret, resp, "")
	if err != nil {
		tb.Fatal(err)
	}
	u := r.User
	assertion, sd, err := p.WebAuthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		tb.Fatal(err)
	}
	opts, _ = json.Marshal(assertion)
	answer, err := auth.Get(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return &passkeyFixture{p: p, sd: *sd, userID: u.ID, handle: cred.UserHandle, credID: cred.ID, response: answer}
}

// FuzzFinishPasskeyLogin: the end of a passkey login (Method.FinishLogin: size check, the
// go-webauthn parse, the credential lookup by user handle, verification) never panics on
// what a browser posts, and accepts an assertion only when it is one an honest authenticator
// made for this ceremony: type webauthn.get (CR-23), the ceremony's challenge (CR-22), the
// issuer's origin (CR-20), the RP ID's hash (CR-21), user presence and verification (CR-24),
// the registered credential of the user its user handle names (CR-26). Malformed input is
// refused with passkey.ErrPasskeyMalformed or ErrPasskeyFailed, never a panic (CR-27). Every run
// answers a ceremony stored afresh with the fixture's challenge, so the seed's valid answer
// (and any mutation that keeps it valid) reaches the signature check.
func FuzzFinishPasskeyLogin(f *testing.F) {
	fx := newPasskeyFixture(f)
	f.Add(fx.response)
	var seed map[string]any
	_ = json.Unmarshal(fx.response, &seed)
	edit := func(fn func(m map[string]any)) []byte {
		b, _ := json.Marshal(seed)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		fn(m)
		out, _ := json.Marshal(m)
		return out
	}
	resp, _ := seed["response"].(map[string]any)
	cdj, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(asString(resp["clientDataJSON"]), "="))
	f.Add(edit(func(m map[string]any) {
		r := m["response"].(map[string]any)
		r["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(bytes.Replace(cdj, []byte("webauthn.get"), []byte("webauthn.create"), 1))
	}))
	f.Add(edit(func(m map[string]any) {
		r := m["response"].(map[string]any)
		r["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(bytes.Replace(cdj, []byte(fuzzIssuer), []byte("https://evil.test"), 1))
	}))
	f.Add(edit(func(m map[string]any) { m["response"].(map[string]any)["userHandle"] = "AAAA" }))
	f.Add(edit(func(m map[string]any) { m["response"].(map[string]any)["authenticatorData"] = "" }))
	f.Add(edit(func(m map[string]any) { m["type"] = "password" }))
	for _, s := range []string{`{}`, `null`, `[]`, `{"id":"","rawId":"","type":"public-key","response":{}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA","userHandle":null}}`} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	rpHash := sha256.Sum256([]byte(fx.sd.RelyingPartyID))
	// The harness is sound: the seed's answer is accepted once (later runs replay its
	// counter and get ErrClonedAuthenticator, after verification).
	sd := fx.sd
	sd.Expires = time.Now().Add(time.Minute)
	sec, err := fx.p.SaveLoginCeremony(ctx, &sd)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := fx.p.FinishLogin(ctx, sec, fx.response); err != nil {
		f.Fatalf("the seed assertion is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, response []byte) {
		sd := fx.sd
		sd.Expires = time.Now().Add(time.Minute)
		sec, err := fx.p.SaveLoginCeremony(ctx, &sd)
		if err != nil {
			t.Fatal(err)
		}
		r, err := fx.p.FinishLogin(ctx, sec, response)
		u := r.User
		if err != nil && !errors.Is(err, passkey.ErrClonedAuthenticator) {
			// Cloned: verification passed, the replayed counter is refused after it.
			return
		}
		if err == nil && u.ID != fx.userID {
			t.Fatalf("logged in as %q", u.ID)
		}
		parsed, perr := protocol.ParseCredentialRequestResponseBytes(response)
		if perr != nil {
			t.Fatalf("accepted a response that does not parse: %v", perr)
		}
		cd := parsed.Response.CollectedClientData
		ad := parsed.Response.AuthenticatorData
		switch {
		case cd.Type != protocol.AssertCeremony:
			t.Fatalf("accepted client data type %q", cd.Type)
		case cd.Challenge != sd.Challenge:
			t.Fatalf("accepted challenge %q", cd.Challenge)
		case cd.Origin != fuzzIssuer:
			t.Fatalf("accepted origin %q", cd.Origin)
		case !bytes.Equal(ad.RPIDHash, rpHash[:]):
			t.Fatalf("accepted rpIdHash %x", ad.RPIDHash)
		case !ad.Flags.UserPresent() || !ad.Flags.UserVerified():
			t.Fatalf("accepted flags %08b", ad.Flags)
		case !bytes.Equal(parsed.RawID, fx.credID) || !bytes.Equal(parsed.Response.UserHandle, fx.handle):
			t.Fatalf("accepted credential %x / user handle %x", parsed.RawID, parsed.Response.UserHandle)
		}
	})
}

func asString(v any) string { s, _ := v.(string); return s }

// FuzzPasskeyCredentialKey: the parse of a registration response (what sign-up and "add a
// passkey" receive) and Gatehouse's own check of the new credential's key never panic, and a
// key the check lets through is a well-formed key of an algorithm the ceremony offered, RSA
// keys of at least 2048 bits only (CR-27: malformed attestation, unknown COSE algorithms,
// short RSA keys).
func FuzzPasskeyCredentialKey(f *testing.F) {
	challenge := []byte("0123456789abcdef0123456789abcdef")
	options := func() []byte {
		o := map[string]any{"publicKey": map[string]any{
			"rp":               map[string]any{"id": "login.example.com"},
			"user":             map[string]any{"id": base64.RawURLEncoding.EncodeToString([]byte("user-handle")), "name": "alice"},
			"challenge":        base64.RawURLEncoding.EncodeToString(challenge),
			"pubKeyCredParams": []map[string]any{{"type": "public-key", "alg": -7}},
		}}
		b, _ := json.Marshal(o)
		return b
	}
	auth := softauthn.New(fuzzIssuer)
	withKey := func(pub any, alg int64) softauthn.AttestationOption {
		return func(a *softauthn.Attestation) {
			k, err := softauthn.COSEKey(pub, alg)
			if err != nil {
				f.Fatal(err)
			}
			a.COSEKey = k
		}
	}
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, opt := range []softauthn.AttestationOption{
		func(*softauthn.Attestation) {},
		withKey(ed, softauthn.AlgEdDSA),
		withKey(&rsa1024.PublicKey, softauthn.AlgRS256),
		withKey(&p256.PublicKey, -8),     // EC2 key labelled EdDSA
		withKey(&p256.PublicKey, -65535), // unknown algorithm
		func(a *softauthn.Attestation) { a.COSEKey = []byte{0xa1, 0x01} },
		func(a *softauthn.Attestation) { a.Format = "packed" },
	} {
		resp, _, err := auth.Create(options(), opt)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(resp)
	}
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	offered := webauthn.CredentialParametersDefault()
	honest, _, _ := auth.Create(options())
	if parsed, err := protocol.ParseCredentialCreationResponseBytes(honest); err != nil || passkey.CheckCredentialKey(parsed, offered) != nil {
		f.Fatalf("an honest ES256 credential is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, response []byte) {
		if passkey.CheckResponseSize(response) != nil {
			return
		}
		parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
		if err != nil {
			return
		}
		if passkey.CheckCredentialKey(parsed, offered) != nil {
			return
		}
		key, err := webauthncose.ParsePublicKey(parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey)
		if err != nil {
			t.Fatalf("accepted a key that does not parse: %v", err)
		}
		var alg int64
		switch k := key.(type) {
		case webauthncose.EC2PublicKeyData:
			alg = k.Algorithm
		case webauthncose.OKPPublicKeyData:
			alg = k.Algorithm
		case webauthncose.RSAPublicKeyData:
			alg = k.Algorithm
			if n := new(big.Int).SetBytes(k.Modulus).BitLen(); n < 2048 {
				t.Fatalf("accepted a %d-bit RSA key", n)
			}
		default:
			t.Fatalf("accepted key type %T", key)
		}
		if !slices.ContainsFunc(offered, func(p protocol.CredentialParameter) bool { return int64(p.Algorithm) == alg }) {
			t.Fatalf("accepted algorithm %d, not offered", alg)
		}
	})
}
