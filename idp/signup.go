package idp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/login"
)

// SignupVerifiesFirst tells whether sign-up proves the address with an emailed code before
// the account exists (account.Signup.VerifiesFirst).
func (p *Provider) SignupVerifiesFirst() bool { return p.Signups.VerifiesFirst() }

// StartSignup begins a password sign-up that proves the address first.
func (p *Provider) StartSignup(ctx context.Context, in NewUser, invite, lang, clientIP string) (string, error) {
	return p.Signups.Start(ctx, in, invite, lang, clientIP)
}

// FinishPasskeySignupByCode verifies the passkey of a sign-up ceremony and emails the code
// that FinishSignup needs (passkey.Method.FinishSignupByCode).
func (p *Provider) FinishPasskeySignupByCode(ctx context.Context, sec string, response []byte, name, lang, clientIP string) (string, error) {
	return p.Passkey.FinishSignupByCode(ctx, sec, response, name, lang, clientIP)
}

// SignedUp is an account FinishSignup created.
type SignedUp = login.Result

// FinishSignup checks the code of a sign-up and creates the account (account.Signup.Finish).
func (p *Provider) FinishSignup(ctx context.Context, flow, code, clientIP string) (SignedUp, error) {
	return p.Signups.Finish(ctx, flow, code, clientIP)
}
