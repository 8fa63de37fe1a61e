package idp

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/store"
)

// SignupVerifiesFirst tells whether sign-up proves the address with an emailed code before
// the account exists (account.Signup.VerifiesFirst).
func (p *Provider) SignupVerifiesFirst() bool { return p.Signups.VerifiesFirst() }

// StartSignup begins a password sign-up that proves the address first.
func (p *Provider) StartSignup(ctx context.Context, in NewUser, invite, lang, clientIP string) (string, error) {
	return p.Signups.Start(ctx, in, invite, lang, clientIP)
}

// FinishPasskeySignupByCode verifies the passkey of a sign-up ceremony (BeginPasskeySignup)
// and, instead of creating the account, emails the code that FinishSignup needs, like
// StartSignup; it returns the flow secret.
func (p *Provider) FinishPasskeySignupByCode(ctx context.Context, sec string, response []byte, name, lang, clientIP string) (string, error) {
	if !p.SignupVerifiesFirst() {
		return "", ErrMethodDisabled
	}
	u, cred, rec, err := p.signupCredential(ctx, sec, response)
	if err != nil {
		return "", err
	}
	if name, err = passkeyName(name, cred); err != nil {
		return "", err
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return "", fmt.Errorf("encode passkey: %w", err)
	}
	return p.Signups.StartPending(ctx, u, raw, name, rec.Data["invite"], lang, clientIP)
}

// StoreSignupPasskey implements account.PasskeyStore.
func (p *Provider) StoreSignupPasskey(ctx context.Context, u store.User, credential []byte, name string) (store.Passkey, error) {
	var cred webauthn.Credential
	if err := json.Unmarshal(credential, &cred); err != nil {
		return store.Passkey{}, err
	}
	return p.storePasskey(ctx, u, &cred, name)
}

// SignedUp is an account FinishSignup created.
type SignedUp = login.Result

// FinishSignup checks the code of a sign-up and creates the account (account.Signup.Finish).
func (p *Provider) FinishSignup(ctx context.Context, flow, code, clientIP string) (SignedUp, error) {
	return p.Signups.Finish(ctx, flow, code, clientIP)
}
