package softauthn

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ---------------------------------------------------------------------------------------
// Authentication

// Assertion is an authentication response under construction. Get fills every field as an
// honest authenticator would, runs the AssertionOptions, then encodes and signs it. The
// derived fields (ClientDataJSON, AuthData, Signature, RawID; ID when empty) are computed when
// left nil; set (even to an empty slice), they are sent as they are.
type Assertion struct {
	// Credential is the credential answering; its counter is advanced when Get succeeds.
	Credential *Credential

	// ClientData is encoded into ClientDataJSON unless that is set.
	ClientData     ClientData
	ClientDataJSON []byte

	// RPID is hashed into the authenticator data's rpIdHash.
	RPID      string
	Flags     byte
	SignCount uint32
	// Extensions is CBOR appended to the authenticator data (set FlagED too).
	Extensions []byte
	// AuthData is sent (and signed) as is when set.
	AuthData []byte

	// CredentialID is the credential ID sent (default: Credential.ID).
	CredentialID []byte
	// UserHandle is sent unless nil (default: Credential.UserHandle).
	UserHandle []byte
	// Signer signs authData || SHA-256(clientDataJSON) with Alg (default: Credential's).
	Signer crypto.Signer
	Alg    int64
	// Signature is sent as is when set.
	Signature []byte

	// ID and RawID are the JSON id and rawId (default: base64url(CredentialID) and
	// CredentialID).
	ID         string
	RawID      []byte
	Type       string
	Attachment string
	// ClientExtensionResults is the clientExtensionResults object (default empty).
	ClientExtensionResults map[string]any
	// EditJSON, if set, may change the final JSON object just before it is marshalled.
	EditJSON func(map[string]any)
}

// AssertionOption changes an authentication response before it is encoded and signed.
type AssertionOption func(*Assertion)

type requestOptions struct {
	PublicKey struct {
		Challenge        base64String `json:"challenge"`
		RPID             string       `json:"rpId"`
		AllowCredentials []descriptor `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Get answers request options (the JSON of navigator.credentials.get's argument) the way a
// user picking a passkey would: with the first credential it holds for the RP ID that
// allowCredentials lists, or, when the list is empty (a discoverable-credential request),
// with its first credential for the RP ID. It returns ErrNoCredential if there is none.
func (a *Authenticator) Get(options []byte, opts ...AssertionOption) ([]byte, error) {
	o, rpID, err := a.parseRequest(options)
	if err != nil {
		return nil, err
	}
	allow := o.PublicKey.AllowCredentials
	c := a.find(rpID, func(c *Credential) bool {
		return len(allow) == 0 || slices.ContainsFunc(allow, func(d descriptor) bool { return bytes.Equal(d.ID, c.ID) })
	})
	if c == nil {
		return nil, ErrNoCredential
	}
	return a.assert(c, o, rpID, opts)
}

// GetWith answers request options with credential c, whether or not the request allows it.
func (a *Authenticator) GetWith(c *Credential, options []byte, opts ...AssertionOption) ([]byte, error) {
	o, rpID, err := a.parseRequest(options)
	if err != nil {
		return nil, err
	}
	return a.assert(c, o, rpID, opts)
}

func (a *Authenticator) parseRequest(options []byte) (requestOptions, string, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return o, "", fmt.Errorf("softauthn: request options: %w", err)
	}
	rpID, err := a.rpID(o.PublicKey.RPID)
	return o, rpID, err
}

func (a *Authenticator) assert(c *Credential, o requestOptions, rpID string, opts []AssertionOption) ([]byte, error) {
	count := c.SignCount + 1
	if a.ZeroCounter {
		count = 0
	}
	as := &Assertion{
		Credential: c,
		ClientData: ClientData{Type: TypeGet, Challenge: b64(o.PublicKey.Challenge), Origin: a.Origin},
		RPID:       rpID, Flags: a.Flags, SignCount: count, CredentialID: c.ID, UserHandle: c.UserHandle,
		Signer: c.Key, Alg: c.Alg, Type: "public-key", Attachment: a.Attachment,
		ClientExtensionResults: map[string]any{},
	}
	for _, opt := range opts {
		opt(as)
	}
	resp, err := as.encode(a.rand())
	if err != nil {
		return nil, err
	}
	as.Credential.SignCount = max(as.Credential.SignCount, as.SignCount)
	return resp, nil
}

func (as *Assertion) encode(r io.Reader) ([]byte, error) {
	cdj := as.ClientDataJSON
	if cdj == nil {
		var err error
		if cdj, err = json.Marshal(as.ClientData); err != nil {
			return nil, fmt.Errorf("softauthn: client data: %w", err)
		}
	}
	authData := as.AuthData
	if authData == nil {
		authData = append(AuthData(as.RPID, as.Flags, as.SignCount), as.Extensions...)
	}
	sig := as.Signature
	if sig == nil {
		if as.Signer == nil {
			return nil, errors.New("softauthn: no signer")
		}
		hash := sha256.Sum256(cdj)
		var err error
		if sig, err = Sign(r, as.Signer, as.Alg, append(slices.Clone(authData), hash[:]...)); err != nil {
			return nil, err
		}
	}
	rawID := as.RawID
	if rawID == nil {
		rawID = as.CredentialID
	}
	id := as.ID
	if id == "" {
		id = b64(rawID)
	}
	response := map[string]any{"clientDataJSON": b64(cdj), "authenticatorData": b64(authData), "signature": b64(sig)}
	if as.UserHandle != nil {
		response["userHandle"] = b64(as.UserHandle)
	}
	m := map[string]any{"id": id, "rawId": b64(rawID), "type": as.Type, "response": response,
		"clientExtensionResults": as.ClientExtensionResults}
	if as.Attachment != "" {
		m["authenticatorAttachment"] = as.Attachment
	}
	if as.EditJSON != nil {
		as.EditJSON(m)
	}
	return json.Marshal(m)
}
