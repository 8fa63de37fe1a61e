package softauthn_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
)

const origin = "https://login.example.com"

type user struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.id }
func (u *user) WebAuthnName() string                       { return "ada@example.com" }
func (u *user) WebAuthnDisplayName() string                { return "Ada" }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func relyingParty(t *testing.T) *webauthn.WebAuthn {
	t.Helper()
	wa, err := webauthn.New(&webauthn.Config{RPID: "login.example.com", RPDisplayName: "Test", RPOrigins: []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired}})
	if err != nil {
		t.Fatal(err)
	}
	return wa
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// register runs a registration ceremony of u with a and returns the verified credential.
func register(t *testing.T, wa *webauthn.WebAuthn, a *softauthn.Authenticator, u *user, opts ...softauthn.AttestationOption) (*webauthn.Credential, error) {
	t.Helper()
	creation, sd, err := wa.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := a.Create(mustJSON(t, creation), opts...)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	return wa.CreateCredential(u, *sd, parsed)
}

// login runs a discoverable login with a; the handler resolves the user handle to u.
func login(t *testing.T, wa *webauthn.WebAuthn, a *softauthn.Authenticator, u *user, opts ...softauthn.AssertionOption) (*webauthn.Credential, error) {
	t.Helper()
	assertion, sd, err := wa.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(mustJSON(t, assertion), opts...)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	_, cred, err := wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		if string(userHandle) != string(u.id) {
			return nil, errors.New("unknown user")
		}
		return u, nil
	}, *sd, parsed)
	return cred, err
}

// TestRegistrationAndAssertionVerify: a credential made by softauthn verifies with
// go-webauthn's registration (none attestation, ES256) and its assertions verify in both a
// discoverable and an identified login, with the signature counter advancing.
func TestRegistrationAndAssertionVerify(t *testing.T) {
	wa := relyingParty(t)
	u := &user{id: []byte("0123456789abcdef")}
	a := softauthn.New(origin)

	cred, err := register(t, wa, a, u)
	if err != nil {
		t.Fatalf("registration refused: %v", err)
	}
	if !cred.Flags.UserVerified || !cred.Flags.BackupEligible || cred.AttestationFormat != "none" {
		t.Fatalf("unexpected credential: flags %+v, format %q", cred.Flags, cred.AttestationFormat)
	}
	held := a.Credentials()
	if len(held) != 1 || string(held[0].ID) != string(cred.ID) || held[0].RPID != "login.example.com" {
		t.Fatalf("authenticator holds %+v", held)
	}
	u.creds = append(u.creds, *cred)

	got, err := login(t, wa, a, u)
	if err != nil {
		t.Fatalf("discoverable login refused: %v", err)
	}
	if got.Authenticator.SignCount != 1 || got.Authenticator.CloneWarning {
		t.Fatalf("sign count %d, clone warning %v; want 1, false", got.Authenticator.SignCount, got.Authenticator.CloneWarning)
	}
	u.creds[0] = *got

	assertion, sd, err := wa.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(mustJSON(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = wa.ValidateLogin(u, *sd, parsed); err != nil || got.Authenticator.SignCount != 2 {
		t.Fatalf("identified login: %v (count %v)", err, got)
	}
}

// TestOverridesReachTheRelyingParty: each override changes what the relying party sees, so
// that attack tests really send what they claim to.
func TestOverridesReachTheRelyingParty(t *testing.T) {
	wa := relyingParty(t)
	u := &user{id: []byte("0123456789abcdef")}
	a := softauthn.New(origin)
	cred, err := register(t, wa, a, u)
	if err != nil {
		t.Fatal(err)
	}
	u.creds = append(u.creds, *cred)

	cases := map[string]softauthn.AssertionOption{
		"origin":    func(as *softauthn.Assertion) { as.ClientData.Origin = "https://evil.test" },
		"type":      func(as *softauthn.Assertion) { as.ClientData.Type = softauthn.TypeCreate },
		"challenge": func(as *softauthn.Assertion) { as.ClientData.Challenge = "AAAAAAAAAAAAAAAAAAAAAA" },
		"rp id":     func(as *softauthn.Assertion) { as.RPID = "evil.test" },
		"no UP":     func(as *softauthn.Assertion) { as.Flags &^= softauthn.FlagUP },
		"no UV":     func(as *softauthn.Assertion) { as.Flags &^= softauthn.FlagUV },
		"BE flip":   func(as *softauthn.Assertion) { as.Flags &^= softauthn.FlagBE | softauthn.FlagBS },
		"handle":    func(as *softauthn.Assertion) { as.UserHandle = []byte("someone else") },
		"signature": func(as *softauthn.Assertion) { as.Signature = []byte{0x30, 0x00} },
		"auth data": func(as *softauthn.Assertion) { as.AuthData = []byte{} },
		"truncated": func(as *softauthn.Assertion) {
			as.AuthData = softauthn.AuthData(as.RPID, as.Flags, as.SignCount)[:30]
		},
	}
	for name, opt := range cases {
		if _, err := login(t, wa, a, u, opt); err == nil {
			t.Errorf("%s: override accepted; the relying party did not see it", name)
		}
	}
	// The counter override is visible too: a count at or below the stored one is flagged.
	got, err := login(t, wa, a, u, func(as *softauthn.Assertion) { as.SignCount = 5 })
	if err != nil || got.Authenticator.SignCount != 5 || got.Authenticator.CloneWarning {
		t.Fatalf("count 5 over stored 0: %v, %+v", err, got)
	}
	u.creds[0] = *got
	if got, err = login(t, wa, a, u, func(as *softauthn.Assertion) { as.SignCount = 3 }); err != nil || !got.Authenticator.CloneWarning {
		t.Fatalf("count 3 under stored 5: %v, clone warning not raised", err)
	}
}

// TestRegistrationOverrides: registration overrides reach the relying party too, and other
// key types can be attested.
func TestRegistrationOverrides(t *testing.T) {
	wa := relyingParty(t)
	bad := map[string]softauthn.AttestationOption{
		"origin": func(at *softauthn.Attestation) { at.ClientData.Origin = "https://evil.test" },
		"type":   func(at *softauthn.Attestation) { at.ClientData.Type = softauthn.TypeGet },
		"rp id":  func(at *softauthn.Attestation) { at.RPID = "evil.test" },
		"no UV":  func(at *softauthn.Attestation) { at.Flags &^= softauthn.FlagUV },
		"alg": func(at *softauthn.Attestation) {
			at.COSEKey, _ = softauthn.COSEKey(at.Credential.Key.Public(), -9999)
		},
	}
	for name, opt := range bad {
		a := softauthn.New(origin)
		if _, err := register(t, wa, a, &user{id: []byte("0123456789abcdef")}, opt); err == nil {
			t.Errorf("%s: override accepted", name)
		}
	}

	// An Ed25519 credential (EdDSA is offered by go-webauthn's defaults).
	a := softauthn.New(origin)
	u := &user{id: []byte("fedcba9876543210")}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := register(t, wa, a, u, func(at *softauthn.Attestation) {
		at.Credential.Key, at.Credential.Alg = priv, softauthn.AlgEdDSA
		at.COSEKey, err = softauthn.COSEKey(pub, softauthn.AlgEdDSA)
	})
	if err != nil {
		t.Fatalf("EdDSA registration: %v", err)
	}
	u.creds = append(u.creds, *cred)
	if _, err := login(t, wa, a, u); err != nil {
		t.Fatalf("EdDSA login: %v", err)
	}
}

// TestExclusionsAndSelection: a request excluding a held credential fails like a browser's
// InvalidStateError, and a request allowing none of the held credentials finds none.
func TestExclusionsAndSelection(t *testing.T) {
	wa := relyingParty(t)
	u := &user{id: []byte("0123456789abcdef")}
	a := softauthn.New(origin)
	cred, err := register(t, wa, a, u)
	if err != nil {
		t.Fatal(err)
	}
	u.creds = append(u.creds, *cred)
	creation, _, err := wa.BeginRegistration(u, webauthn.WithExclusions([]protocol.CredentialDescriptor{cred.Descriptor()}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Create(mustJSON(t, creation)); !errors.Is(err, softauthn.ErrExcluded) {
		t.Fatalf("excluded credential: got %v, want ErrExcluded", err)
	}
	other := softauthn.New(origin)
	assertion, _, err := wa.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(mustJSON(t, assertion)); !errors.Is(err, softauthn.ErrNoCredential) {
		t.Fatalf("no matching credential: got %v, want ErrNoCredential", err)
	}
	// GetWith answers with any credential (attack tests); a clone shares the key.
	if _, err := other.GetWith(a.Credentials()[0].Clone(), mustJSON(t, assertion)); err != nil {
		t.Fatal(err)
	}
}
