package passkey

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/store"
)

// BeginLogin starts a passkey login: usernameless (discoverable credentials, also for
// browser autofill) without email, or for the account of email. An unknown email gets a
// plausible list of credential IDs derived from it, so the answer reveals nothing (CR-08).
// User verification is required.
func (m *Method) BeginLogin(ctx context.Context, email string) (*Ceremony, error) {
	if m.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	if !m.LoginEnabled() {
		return nil, m.loginOff(ctx)
	}
	if email == "" {
		assertion, sd, err := m.WebAuthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, fmt.Errorf("begin login: %w", err)
		}
		sec, err := m.saveCeremony(ctx, ceremonyLogin, "", sd, nil)
		if err != nil {
			return nil, err
		}
		return &Ceremony{Secret: sec, Options: assertion}, nil
	}
	email, err := input.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var allow []protocol.CredentialDescriptor
	subject := ""
	u, err := m.Store.GetUserByEmail(ctx, email)
	if err == nil && !u.Disabled {
		w, err := m.loadUser(ctx, u)
		if err != nil {
			return nil, err
		}
		for _, c := range w.creds {
			// Without transports: the decoys have none, and a list with them would tell
			// real accounts from unknown emails (CR-08).
			d := c.Descriptor()
			d.Transport = nil
			allow = append(allow, d)
		}
		if len(allow) > 0 {
			subject = u.ID
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if len(allow) == 0 {
		allow = m.decoyCredentials(email)
	}
	assertion, sd, err := m.WebAuthn.BeginDiscoverableLogin(webauthn.WithAllowedCredentials(allow),
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	sec, err := m.saveCeremony(ctx, ceremonyLogin, subject, sd, nil)
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: assertion}, nil
}

// decoyCredentials returns one credential descriptor derived from email with the shared
// secret: stable for an email, unguessable, and never a real credential.
func (m *Method) decoyCredentials(email string) []protocol.CredentialDescriptor {
	h := hmac.New(sha256.New, m.Keys.DeriveKey("webauthn-decoy"))
	h.Write([]byte(email))
	id := h.Sum(nil)
	return []protocol.CredentialDescriptor{{Type: protocol.PublicKeyCredentialType, CredentialID: id}}
}

// FinishLogin verifies an assertion and returns its user (amr webauthn) and the passkey
// used. The credential must belong to the user its user handle names (CR-26); a signature
// counter that went backwards is refused (CR-25).
func (m *Method) FinishLogin(ctx context.Context, sec string, response []byte) (login.Result, error) {
	res, err := m.finishLogin(ctx, sec, response)
	login.Audit(ctx, m.Audit, "passkey", "", res, err, ErrPasskeyFailed, ErrClonedAuthenticator, ErrNoPasskey, account.ErrUserDisabled, otp.ErrMethodDisabled)
	return login.Count(m.Metrics, "passkey", res, err, ErrPasskeyFailed, ErrClonedAuthenticator, ErrNoPasskey, otp.ErrMethodDisabled)
}

func (m *Method) finishLogin(ctx context.Context, sec string, response []byte) (login.Result, error) {
	if m.WebAuthn == nil {
		return login.Result{}, ErrPasskeysDisabled
	}
	if !m.LoginEnabled() {
		// Also a ceremony begun before the method was turned off: refused before the
		// assertion is looked at (the challenge stays unused).
		return login.Result{}, otp.ErrMethodDisabled
	}
	// The ceremony is read, and consumed only in the write that records the passkey's use
	// (one store write for a login): every failure on the way consumes it (burnCeremony),
	// so that a ceremony is answered once either way.
	rec, sd, err := m.readCeremony(ctx, ceremonyLogin, sec)
	if err != nil {
		if rec.ID != "" && isCeremony(rec.Purpose) {
			m.burnCeremony(ctx, rec.ID) // another kind of ceremony (CR-23), or expired
		}
		return login.Result{}, err
	}
	used := false
	defer func() {
		if !used {
			m.burnCeremony(ctx, rec.ID)
		}
	}()
	if err := checkResponseSize(response); err != nil {
		return login.Result{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return login.Result{}, ErrPasskeyMalformed
	}
	var found *waUser
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		pk, err := m.Store.GetPasskey(ctx, base64.RawURLEncoding.EncodeToString(rawID))
		if err != nil {
			return nil, fmt.Errorf("unknown credential")
		}
		u, err := m.Store.GetUser(ctx, pk.UserID)
		if err != nil {
			return nil, fmt.Errorf("unknown user")
		}
		if !bytes.Equal(userHandle, (&waUser{u: u}).WebAuthnID()) {
			return nil, fmt.Errorf("user handle does not match the credential's user")
		}
		if rec.Subject != "" && rec.Subject != u.ID {
			return nil, fmt.Errorf("credential of another account")
		}
		// Only the passkey that answered: the other passkeys of the user play no part.
		w, err := singleKeyUser(u, pk)
		if err != nil {
			return nil, err
		}
		found = w
		return w, nil
	}
	_, cred, err := m.WebAuthn.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil || found == nil {
		m.logger().Info("passkey login refused", "error", err)
		return login.Result{}, ErrPasskeyFailed
	}
	if found.u.Disabled {
		return login.Result{}, account.ErrUserDisabled
	}
	pk, err := m.recordUse(ctx, found.u, cred, rec.ID)
	if err != nil {
		return login.Result{}, err
	}
	used = true
	return login.Result{User: found.u, AMR: []string{AMR}, Passkey: pk.ID}, nil
}

// recordUse stores the credential's new signature counter and last use, refusing a counter
// that went backwards (a cloned authenticator, CR-25); the stored counter never decreases.
// With a ceremony ID, the ceremony is consumed in the same store write (ErrCeremonyExpired
// if it is gone: a parallel answer used it).
func (m *Method) recordUse(ctx context.Context, u store.User, cred *webauthn.Credential, ceremonyID string) (store.Passkey, error) {
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	if cred.Authenticator.CloneWarning {
		// The same answer sent twice at once also gets here, once the first has moved the
		// counter: the ceremony tells them apart (the first one consumed it).
		if ceremonyID != "" {
			if _, err := m.Store.ConsumeOneTimeCode(ctx, ceremonyID); errors.Is(err, store.ErrNotFound) {
				return store.Passkey{}, ErrCeremonyExpired
			}
		}
		m.logger().Warn("passkey refused: signature counter regression (cloned authenticator?)", "user", u.ID, "passkey", id)
		return store.Passkey{}, ErrClonedAuthenticator
	}
	now := m.Now()
	update := func(pk store.Passkey) (store.Passkey, error) {
		var stored webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &stored); err != nil {
			return pk, err
		}
		if cred.Authenticator.SignCount != 0 && cred.Authenticator.SignCount <= stored.Authenticator.SignCount {
			return pk, ErrClonedAuthenticator // a concurrent use advanced the counter past this one
		}
		stored.Authenticator.SignCount = max(stored.Authenticator.SignCount, cred.Authenticator.SignCount)
		stored.Flags.BackupState = cred.Flags.BackupState
		raw, err := json.Marshal(stored)
		if err != nil {
			return pk, err
		}
		pk.Credential, pk.LastUsedAt, pk.UseCount = raw, now, pk.UseCount+1
		return pk, nil
	}
	var pk store.Passkey
	var err error
	if ceremonyID != "" {
		_, pk, err = m.Store.UpdatePasskeyConsuming(ctx, ceremonyID, id, update)
	} else {
		pk, err = m.Store.UpdatePasskey(ctx, id, update)
	}
	if errors.Is(err, ErrClonedAuthenticator) {
		m.logger().Warn("passkey refused: signature counter regression", "user", u.ID, "passkey", id)
		return store.Passkey{}, err
	} else if ceremonyID != "" && errors.Is(err, store.ErrNotFound) {
		return store.Passkey{}, ErrCeremonyExpired // answered in parallel (or the passkey was deleted)
	} else if err != nil {
		return store.Passkey{}, fmt.Errorf("record passkey use: %w", err)
	}
	return pk, nil
}

// BeginSecondFactor starts a passkey assertion for u: the second factor after a password or
// code, or the step-up of a session (UP and UV required). bind ties the ceremony to the
// pending login or the session it completes.
func (m *Method) BeginSecondFactor(ctx context.Context, u store.User, bind string) (*Ceremony, error) {
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
	assertion, sd, err := m.WebAuthn.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	sec, err := m.saveCeremony(ctx, ceremonyFactor, u.ID, sd, map[string]string{"bind": bind})
	if err != nil {
		return nil, err
	}
	metrics.Or(m.Metrics).MFAChallenge("passkey")
	return &Ceremony{Secret: sec, Options: assertion}, nil
}

// FinishSecondFactor verifies the assertion of a second-factor ceremony started for u with
// the same binding (the pending-login or session ID) and returns the passkey used.
func (m *Method) FinishSecondFactor(ctx context.Context, u store.User, bind, sec string, response []byte) (store.Passkey, error) {
	if m.WebAuthn == nil {
		return store.Passkey{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.Passkey{}, err
	}
	rec, sd, err := m.takeCeremony(ctx, ceremonyFactor, sec)
	if err != nil {
		return store.Passkey{}, err
	}
	if rec.Subject != u.ID || rec.Data["bind"] != bind {
		return store.Passkey{}, ErrCeremonyExpired
	}
	return m.assertFor(ctx, u, sd, response, "second factor")
}

// assertFor checks an assertion of one of u's passkeys against the ceremony sd
// (the second factor's and the approval's: the user is known before the ceremony) and
// records the passkey's use; what names the ceremony in the log.
func (m *Method) assertFor(ctx context.Context, u store.User, sd webauthn.SessionData, response []byte, what string) (store.Passkey, error) {
	w, err := m.loadUser(ctx, u)
	if err != nil {
		return store.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return store.Passkey{}, ErrPasskeyMalformed
	}
	cred, err := m.WebAuthn.ValidateLogin(w, sd, parsed)
	if err != nil {
		m.logger().Info("passkey "+what+" refused", "user", u.ID, "error", err)
		return store.Passkey{}, ErrPasskeyFailed
	}
	return m.recordUse(ctx, u, cred, "")
}
