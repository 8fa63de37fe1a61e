package passkey

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/store"
)

// ceremonyApproval is the kind of a transaction approval's assertion.
const ceremonyApproval = "webauthn:approval"

// BeginApproval starts a passkey assertion of u whose challenge is the caller's (package
// approval: a server nonce and the transaction's hash), with user verification required.
// bind ties the ceremony to the flow it approves.
func (m *Method) BeginApproval(ctx context.Context, u store.User, bind string, challenge []byte) (*Ceremony, error) {
	if m.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	w, err := m.loadUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(w.creds) == 0 {
		return nil, ErrNoPasskey
	}
	assertion, sd, err := m.WebAuthn.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationRequired),
		webauthn.WithChallenge(challenge))
	if err != nil {
		return nil, fmt.Errorf("begin approval: %w", err)
	}
	sec, err := m.saveCeremony(ctx, ceremonyApproval, u.ID, sd, map[string]string{"bind": bind})
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: assertion}, nil
}

// FinishApproval verifies the assertion of an approval ceremony started for u with the same
// binding. expect checks the ceremony's challenge (the transaction's hash in it) before the
// assertion is verified against that challenge; the passkey used is returned.
func (m *Method) FinishApproval(ctx context.Context, u store.User, bind, sec string, response []byte, expect func(challenge []byte) bool) (store.Passkey, error) {
	if m.WebAuthn == nil {
		return store.Passkey{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.Passkey{}, err
	}
	rec, sd, err := m.takeCeremony(ctx, ceremonyApproval, sec)
	if err != nil {
		return store.Passkey{}, err
	}
	if rec.Subject != u.ID || rec.Data["bind"] != bind {
		return store.Passkey{}, ErrCeremonyExpired
	}
	challenge, err := base64.RawURLEncoding.DecodeString(sd.Challenge)
	if err != nil || !expect(challenge) {
		m.logger().Info("passkey approval refused: the ceremony was for another transaction", "user", u.ID)
		return store.Passkey{}, ErrPasskeyFailed
	}
	return m.assertFor(ctx, u, sd, response, "approval")
}
