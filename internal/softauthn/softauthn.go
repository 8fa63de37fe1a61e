// Package softauthn is a software WebAuthn authenticator and client for tests and benchmarks.
//
// An Authenticator holds resident (discoverable) credentials and plays both roles a browser
// and a passkey play in a ceremony: it reads the options JSON a relying party's begin
// endpoint returns (PublicKeyCredentialCreationOptions or PublicKeyCredentialRequestOptions,
// wrapped in {"publicKey": ...} as go-webauthn writes them), builds clientDataJSON and
// authenticatorData, signs, and returns the RegistrationResponseJSON or
// AuthenticationResponseJSON a browser would post back (WebAuthn Level 3 §5.1.8-§5.1.9).
//
// New credentials are ES256 (P-256) keys with "none" attestation. By default the client is
// honest: the right type, challenge and origin, crossOrigin false, the SHA-256 of the RP ID,
// the flags UP and UV (plus BE and BS: a synced passkey; AT on registration) and a signature
// counter that goes up by one at every assertion.
//
// Every value is overridable for attack tests. Create and Get first build an Attestation or
// Assertion holding exactly what an honest authenticator would send, then run the options
// given to them, which may change any field (the origin, the ceremony type, the RP ID that is
// hashed, the flags, the counter, the challenge, the credential ID, the user handle, the COSE
// key, the signature, the raw authenticator data or attestation object, the final JSON), and
// only then encode and sign:
//
//	resp, err := a.Get(options, func(as *softauthn.Assertion) {
//		as.ClientData.Origin = "https://evil.test"
//	})
//
// The package has no global state; an Authenticator is safe for use by one goroutine at a time.
package softauthn

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	FlagUP byte = 0x01 // user present
	FlagUV byte = 0x04 // user verified
	FlagBE byte = 0x08 // backup eligible
	FlagBS byte = 0x10 // backed up
	FlagAT byte = 0x40 // attested credential data included
	FlagED byte = 0x80 // extension data included
)

// COSE algorithm identifiers (RFC 9053, IANA COSE Algorithms).
const (
	AlgES256 int64 = -7
	AlgEdDSA int64 = -8
	AlgRS256 int64 = -257
)

// Ceremony types of clientDataJSON.
const (
	TypeCreate = "webauthn.create"
	TypeGet    = "webauthn.get"
)

// Errors of the authenticator (what a browser reports as NotAllowedError or
// InvalidStateError).
var (
	ErrNoCredential = errors.New("softauthn: no credential for this relying party is allowed by the request")
	ErrExcluded     = errors.New("softauthn: the authenticator already holds a credential the request excludes")
	ErrUnsupported  = errors.New("softauthn: the request offers no algorithm this authenticator supports (ES256)")
)

// Authenticator is a software authenticator with its client. Build it with New; its exported
// fields may be changed between ceremonies.
type Authenticator struct {
	// Origin is the origin the client reports in clientDataJSON, such as
	// "https://login.example.com". When a request names no RP ID, the origin's host is used.
	Origin string
	// Flags are the flags of every ceremony's authenticator data besides AT, which Create
	// adds (default UP|UV|BE|BS).
	Flags byte
	// AAGUID identifies the authenticator model (default: all zero, as "none" attestation
	// reports it).
	AAGUID [16]byte
	// ZeroCounter keeps every signature counter at 0, as synced passkeys do; otherwise each
	// assertion counts one more than the last, as security keys do.
	ZeroCounter bool
	// Transports are reported with new credentials (default "internal", "hybrid").
	Transports []string
	// Attachment is the authenticatorAttachment reported (default "platform").
	Attachment string
	// Rand is the source of keys, credential IDs and signatures (default crypto/rand).
	Rand io.Reader

	creds []*Credential
}

// Credential is a credential the authenticator holds.
type Credential struct {
	// ID is the credential ID.
	ID []byte
	// Key signs assertions: an *ecdsa.PrivateKey (ES256) for credentials made by Create;
	// ed25519.PrivateKey and *rsa.PrivateKey also work (see Alg).
	Key crypto.Signer
	// Alg is the COSE algorithm of Key: AlgES256, AlgEdDSA or AlgRS256.
	Alg int64
	// RPID is the relying party the credential is scoped to.
	RPID string
	// UserHandle is the user.id of the creation options, returned in assertions.
	UserHandle []byte
	// UserName is the user.name of the creation options.
	UserName string
	// SignCount is the highest signature counter this credential has sent.
	SignCount uint32
}

// Clone returns a copy of c sharing its key: a cloned authenticator.
func (c *Credential) Clone() *Credential {
	d := *c
	d.ID = slices.Clone(c.ID)
	d.UserHandle = slices.Clone(c.UserHandle)
	return &d
}

// New returns an authenticator whose client runs at origin.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, Flags: FlagUP | FlagUV | FlagBE | FlagBS,
		Transports: []string{"internal", "hybrid"}, Attachment: "platform"}
}

// Credentials returns the credentials the authenticator holds, oldest first.
func (a *Authenticator) Credentials() []*Credential { return slices.Clone(a.creds) }

// Add makes the authenticator hold c too (a credential of another authenticator, or a clone).
func (a *Authenticator) Add(c *Credential) { a.creds = append(a.creds, c) }

func (a *Authenticator) rand() io.Reader {
	if a.Rand != nil {
		return a.Rand
	}
	return rand.Reader
}

// ClientData is clientDataJSON before encoding (WebAuthn §5.8.1).
type ClientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
	TopOrigin   string `json:"topOrigin,omitempty"`
}

// ---------------------------------------------------------------------------------------
// Registration

// Attestation is a registration response under construction. Create fills every field as an
// honest authenticator would, runs the AttestationOptions, then encodes it. The derived
// fields (ClientDataJSON, AuthData, AttestationObject, RawID; ID when empty) are computed
// from the fields they are made of when left nil; set (even to an empty slice), they are sent
// as they are.
type Attestation struct {
	// Credential is the new credential; the authenticator keeps it if Create succeeds.
	Credential *Credential

	// ClientData is encoded into ClientDataJSON unless that is set.
	ClientData     ClientData
	ClientDataJSON []byte

	// RPID is hashed into the authenticator data's rpIdHash.
	RPID string
	// Flags of the authenticator data (default: the authenticator's flags plus AT).
	Flags     byte
	SignCount uint32
	AAGUID    []byte
	// CredentialID is the credential ID in the attested credential data.
	CredentialID []byte
	// COSEKey is the credential public key (default: Credential's key, COSE-encoded).
	COSEKey []byte
	// Extensions is CBOR appended after the attested credential data (set FlagED too).
	Extensions []byte
	// AuthData is sent as is when set; otherwise it is built from the fields above.
	AuthData []byte

	// Format and AttStmt make up the attestation object with AuthData ("none", {}).
	Format  string
	AttStmt map[string]any
	// AttestationObject is sent as is when set.
	AttestationObject []byte

	// ID and RawID are the JSON id and rawId (default: base64url(CredentialID) and
	// CredentialID).
	ID    string
	RawID []byte
	// Type is the credential type ("public-key").
	Type       string
	Transports []string
	Attachment string
	// ClientExtensionResults is the clientExtensionResults object (default empty).
	ClientExtensionResults map[string]any
	// EditJSON, if set, may change the final JSON object just before it is marshalled.
	EditJSON func(map[string]any)
}

// AttestationOption changes a registration response before it is encoded.
type AttestationOption func(*Attestation)

type descriptor struct {
	Type string       `json:"type"`
	ID   base64String `json:"id"`
}

type credParam struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
}

type creationOptions struct {
	PublicKey struct {
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID   base64String `json:"id"`
			Name string       `json:"name"`
		} `json:"user"`
		Challenge          base64String `json:"challenge"`
		PubKeyCredParams   []credParam  `json:"pubKeyCredParams"`
		ExcludeCredentials []descriptor `json:"excludeCredentials"`
	} `json:"publicKey"`
}

// Create answers creation options (the JSON of navigator.credentials.create's argument) with
// a new ES256 credential: it returns the RegistrationResponseJSON and the credential, which
// the authenticator now holds.
func (a *Authenticator) Create(options []byte, opts ...AttestationOption) ([]byte, *Credential, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("softauthn: creation options: %w", err)
	}
	pk := o.PublicKey
	rpID, err := a.rpID(pk.RP.ID)
	if err != nil {
		return nil, nil, err
	}
	if len(pk.PubKeyCredParams) > 0 && !slices.Contains(pk.PubKeyCredParams, credParam{"public-key", AlgES256}) {
		return nil, nil, ErrUnsupported
	}
	for _, ex := range pk.ExcludeCredentials {
		if a.find(rpID, func(c *Credential) bool { return bytes.Equal(c.ID, ex.ID) }) != nil {
			return nil, nil, ErrExcluded
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), a.rand())
	if err != nil {
		return nil, nil, fmt.Errorf("softauthn: generate key: %w", err)
	}
	id := make([]byte, 32)
	if _, err := io.ReadFull(a.rand(), id); err != nil {
		return nil, nil, fmt.Errorf("softauthn: credential ID: %w", err)
	}
	cred := &Credential{ID: id, Key: key, Alg: AlgES256, RPID: rpID, UserHandle: pk.User.ID, UserName: pk.User.Name}
	coseKey, err := COSEKey(key.Public(), AlgES256)
	if err != nil {
		return nil, nil, err
	}
	att := &Attestation{
		Credential: cred,
		ClientData: ClientData{Type: TypeCreate, Challenge: b64(pk.Challenge), Origin: a.Origin},
		RPID:       rpID, Flags: a.Flags | FlagAT, AAGUID: a.AAGUID[:], CredentialID: id, COSEKey: coseKey,
		Format: "none", AttStmt: map[string]any{}, Type: "public-key",
		Transports: slices.Clone(a.Transports), Attachment: a.Attachment, ClientExtensionResults: map[string]any{},
	}
	for _, opt := range opts {
		opt(att)
	}
	resp, err := att.encode()
	if err != nil {
		return nil, nil, err
	}
	att.Credential.SignCount = att.SignCount
	a.creds = append(a.creds, att.Credential)
	return resp, att.Credential, nil
}

func (att *Attestation) encode() ([]byte, error) {
	cdj := att.ClientDataJSON
	if cdj == nil {
		var err error
		if cdj, err = json.Marshal(att.ClientData); err != nil {
			return nil, fmt.Errorf("softauthn: client data: %w", err)
		}
	}
	authData := att.AuthData
	if authData == nil {
		authData = AuthData(att.RPID, att.Flags, att.SignCount)
		authData = append(authData, AttestedCredentialData(att.AAGUID, att.CredentialID, att.COSEKey)...)
		authData = append(authData, att.Extensions...)
	}
	obj := att.AttestationObject
	if obj == nil {
		var err error
		obj, err = cbor.Marshal(map[string]any{"fmt": att.Format, "attStmt": att.AttStmt, "authData": authData})
		if err != nil {
			return nil, fmt.Errorf("softauthn: attestation object: %w", err)
		}
	}
	rawID := att.RawID
	if rawID == nil {
		rawID = att.CredentialID
	}
	id := att.ID
	if id == "" {
		id = b64(rawID)
	}
	response := map[string]any{"clientDataJSON": b64(cdj), "attestationObject": b64(obj),
		"authenticatorData": b64(authData)}
	if att.Transports != nil {
		response["transports"] = att.Transports
	}
	m := map[string]any{"id": id, "rawId": b64(rawID), "type": att.Type, "response": response,
		"clientExtensionResults": att.ClientExtensionResults}
	if att.Attachment != "" {
		m["authenticatorAttachment"] = att.Attachment
	}
	if att.EditJSON != nil {
		att.EditJSON(m)
	}
	return json.Marshal(m)
}

// ---------------------------------------------------------------------------------------
// Encoding helpers

// AuthData returns the 37 bytes every authenticator data starts with: SHA-256(rpID), flags
// and the big-endian signature counter (WebAuthn §6.1).
func AuthData(rpID string, flags byte, signCount uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	b := make([]byte, 0, 37)
	b = append(b, h[:]...)
	b = append(b, flags)
	return binary.BigEndian.AppendUint32(b, signCount)
}

// AttestedCredentialData returns aaguid (16 bytes, zero-padded or cut), the credential ID's
// length and the credential ID, and the COSE key (WebAuthn §6.5.2).
func AttestedCredentialData(aaguid, credID, coseKey []byte) []byte {
	b := make([]byte, 16, 18+len(credID)+len(coseKey))
	copy(b, aaguid)
	b = binary.BigEndian.AppendUint16(b, uint16(len(credID)))
	b = append(b, credID...)
	return append(b, coseKey...)
}

// COSEKey encodes a public key as a COSE_Key (RFC 9053) for alg: an *ecdsa.PublicKey on
// P-256 (AlgES256, or any alg, for tests of unknown algorithms), an ed25519.PublicKey
// (AlgEdDSA) or an *rsa.PublicKey (AlgRS256).
func COSEKey(pub crypto.PublicKey, alg int64) ([]byte, error) {
	var m map[int]any
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("softauthn: only P-256 EC keys are supported")
		}
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return nil, fmt.Errorf("softauthn: EC key: %w", err)
		}
		m = map[int]any{1: 2, 3: alg, -1: 1, -2: raw[1:33], -3: raw[33:65]}
	case ed25519.PublicKey:
		m = map[int]any{1: 1, 3: alg, -1: 6, -2: []byte(k)}
	case *rsa.PublicKey:
		m = map[int]any{1: 3, 3: alg, -1: k.N.Bytes(), -2: big.NewInt(int64(k.E)).Bytes()}
	default:
		return nil, fmt.Errorf("softauthn: unsupported public key type %T", pub)
	}
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		return nil, err
	}
	return enc.Marshal(m)
}

// Sign signs msg with key the way alg prescribes: ES256 (ASN.1 ECDSA over SHA-256), EdDSA
// (Ed25519 over msg) or RS256 (PKCS #1 v1.5 over SHA-256).
func Sign(r io.Reader, key crypto.Signer, alg int64, msg []byte) ([]byte, error) {
	switch alg {
	case AlgEdDSA:
		return key.Sign(r, msg, crypto.Hash(0))
	case AlgES256, AlgRS256:
		h := sha256.Sum256(msg)
		return key.Sign(r, h[:], crypto.SHA256)
	default:
		return nil, fmt.Errorf("softauthn: cannot sign with COSE algorithm %d", alg)
	}
}

// rpID returns the RP ID of a request: the one it names, or the client origin's host.
func (a *Authenticator) rpID(named string) (string, error) {
	if named != "" {
		return named, nil
	}
	u, err := url.Parse(a.Origin)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("softauthn: the request names no RP ID and origin %q has no host", a.Origin)
	}
	return u.Hostname(), nil
}

func (a *Authenticator) find(rpID string, ok func(*Credential) bool) *Credential {
	for _, c := range a.creds {
		if c.RPID == rpID && ok(c) {
			return c
		}
	}
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// base64String is a base64url JSON string, padded or not.
type base64String []byte

func (b *base64String) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := base64.RawURLEncoding.DecodeString(trimPadding(s))
	if err != nil {
		return fmt.Errorf("softauthn: bad base64url %q: %w", s, err)
	}
	*b = d
	return nil
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}
