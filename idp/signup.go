package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Sign-up that proves the address first (CR-06, CR-07). The answer to a sign-up must not
// tell whether the address already has an account, so no account is created, and no
// session started, until a code emailed to the address comes back:
//
//   - StartSignup (password) and FinishPasskeySignupByCode (passkey) do the same work for
//     every address — the password hash, the lookup, one stored challenge, one email queued
//     in the background — and answer the same flow secret. A new address gets the code
//     (verify_email); an address that has an account gets a notice instead
//     (signup_existing: "someone tried to sign up with your address; log in or recover
//     your account"), and no code.
//   - FinishSignup creates the account, with its address verified, from the right code. The
//     challenge of a taken address has no subject, so every code fails on it exactly as a
//     wrong code fails on a real one (invalid, then burned after 5, failures counted per
//     address in both cases): entering codes teaches nothing, and nothing of the sign-up
//     (its password, its passkey, its names) ever reaches the existing account.

// SignupVerifiesFirst tells whether sign-up proves the address with an emailed code before
// the account exists (StartSignup, FinishPasskeySignupByCode, FinishSignup): whenever email
// can be sent, unless SignupRevealsExisting is set. Otherwise sign-up creates the account at
// once (Signup, FinishPasskeySignup) and refuses a taken address with ErrEmailTaken.
func (p *Provider) SignupVerifiesFirst() bool { return p.CanEmail() && !p.SignupRevealsExisting }

// StartSignup begins a password sign-up under the signup mode (invite: the invitation code,
// checked now and used at FinishSignup): it emails the code that FinishSignup needs and
// returns the flow secret for the browser's cookie. The answer, its timing and the limits
// are the same whether or not the address has an account (see the comment above).
func (p *Provider) StartSignup(ctx context.Context, in NewUser, invite, lang, clientIP string) (string, error) {
	if !p.SignupVerifiesFirst() {
		return "", ErrMethodDisabled
	}
	if err := p.checkSignup(ctx, invite, clientIP); err != nil {
		return "", err
	}
	in.Groups, in.ExternalUserID, in.EmailVerified = nil, "", false
	u, err := p.buildUser(in)
	if err != nil {
		return "", err
	}
	if err := password.Check(in.Password); err != nil {
		return "", &InputError{Field: "password", Message: err.Error()}
	}
	inviteID, err := p.checkInvite(ctx, invite, u.Email)
	if err != nil {
		return "", err
	}
	// Hashed for every address, taken or not: the answer takes the same time.
	hash, err := p.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return p.startPendingSignup(ctx, u, map[string]string{"password": hash}, inviteID, lang, clientIP)
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
	inviteID, err := p.checkInvite(ctx, rec.Data["invite"], u.Email)
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return "", fmt.Errorf("encode passkey: %w", err)
	}
	return p.startPendingSignup(ctx, u, map[string]string{"passkey": string(raw), "passkey_name": name}, inviteID, lang, clientIP)
}

// checkInvite checks the invitation code of a sign-up in invite mode and returns its store
// ID, to be used at FinishSignup ("" in the other modes).
func (p *Provider) checkInvite(ctx context.Context, code, email string) (string, error) {
	if p.SignupMode != SignupInvite {
		return "", nil
	}
	if code == "" {
		return "", ErrInviteRequired
	}
	if len(code) > 128 {
		return "", ErrInviteInvalid
	}
	rec, err := p.findInvite(ctx, secret.Hash(code), email)
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// startPendingSignup stores the pending account u with its credential data and sends the
// address its code — or, when the address has an account, the signup_existing notice and no
// code. Both branches do the same store work.
func (p *Provider) startPendingSignup(ctx context.Context, u store.User, data map[string]string, inviteID, lang, clientIP string) (string, error) {
	owner, err := p.Store.GetUserByEmail(ctx, u.Email)
	taken := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read user: %w", err)
	}
	pending, err := json.Marshal(u)
	if err != nil {
		return "", fmt.Errorf("encode sign-up: %w", err)
	}
	data["user"], data["invite"] = string(pending), inviteID
	req := codeRequest{purpose: purposeSignup + channelEmail, channel: channelEmail, dest: u.Email,
		kind: MsgVerifyEmail, vars: MessageVars{Email: u.Email, Language: lang}, data: data}
	if taken {
		// The owner is told; whoever typed the address gets nothing to enter.
		req.notice = MsgSignupExisting
		req.vars.Link = p.Issuer + "/login"
		if owner.Language != "" {
			req.vars.Language = owner.Language
		}
	} else {
		req.subject = u.ID
	}
	return p.startCode(ctx, req, clientIP)
}

// SignedUp is an account FinishSignup created.
type SignedUp struct {
	User store.User
	// AMR is how the new session authenticated: pwd, or webauthn for a passkey sign-up.
	AMR []string
	// Passkey is the ID of the sign-up's passkey ("" for a password sign-up).
	Passkey string
}

// FinishSignup checks the code of a sign-up started with StartSignup or
// FinishPasskeySignupByCode (in the browser holding flow) and creates the account, its
// address verified, with the sign-up's password or passkey. Wrong codes are limited like
// every code (checkCode). ErrEmailTaken is returned only when an account got the address
// after the code was sent: only who read the code learns it.
func (p *Provider) FinishSignup(ctx context.Context, flow, code, clientIP string) (SignedUp, error) {
	rec, err := p.checkCode(ctx, purposeSignup, flow, code, clientIP)
	if err != nil {
		return SignedUp{}, err
	}
	var u store.User
	if err := json.Unmarshal([]byte(rec.Data["user"]), &u); err != nil || u.ID != rec.Subject || u.Email != rec.Data["dest"] ||
		(rec.Data["password"] == "") == (rec.Data["passkey"] == "") {
		return SignedUp{}, ErrCodeExpired
	}
	if p.SignupMode != SignupOpen && p.SignupMode != SignupInvite {
		return SignedUp{}, ErrSignupClosed // closed since the code was sent
	}
	var inv store.OneTimeCode
	if p.SignupMode == SignupInvite {
		if rec.Data["invite"] == "" {
			return SignedUp{}, ErrInviteRequired
		}
		if inv, err = p.useInvite(ctx, rec.Data["invite"], u.Email); err != nil {
			return SignedUp{}, err
		}
		u.Groups = splitGroups(inv.Data["groups"])
	}
	now := p.Now()
	u.EmailVerified, u.CreatedAt, u.UpdatedAt = true, now, now
	if err := p.Store.CreateUser(ctx, u); err != nil {
		if p.SignupMode == SignupInvite {
			_ = p.Store.CreateOneTimeCode(ctx, inv) // not used: give it back
		}
		if errors.Is(err, store.ErrAlreadyExists) {
			return SignedUp{}, ErrEmailTaken
		}
		return SignedUp{}, fmt.Errorf("create user: %w", err)
	}
	out := SignedUp{User: u, AMR: []string{"pwd"}}
	if raw := rec.Data["passkey"]; raw != "" {
		var cred webauthn.Credential
		err = json.Unmarshal([]byte(raw), &cred)
		if err == nil {
			var pk store.Passkey
			if pk, err = p.storePasskey(ctx, u, &cred, rec.Data["passkey_name"]); err == nil {
				out.AMR, out.Passkey = []string{AMRWebAuthn}, pk.ID
			}
		}
	} else {
		err = p.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: rec.Data["password"], UpdatedAt: now})
	}
	if err != nil {
		// An account without its way in is no use: the sign-up starts again.
		_ = p.Store.DeleteUser(ctx, u.ID)
		return SignedUp{}, fmt.Errorf("store credential: %w", err)
	}
	return out, nil
}
