package approval

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/store"
)

// nonceSize is the server nonce's length in a challenge.
const nonceSize = 16

// PurposeCode is the one-time code purpose of approval codes (followed by the channel).
const PurposeCode = "code:approve:"

// Errors shown to users.
var (
	ErrOTPNotAllowed = errors.New("approval by code is not allowed here; approve with your passkey")
	ErrNoChannel     = errors.New("no verified email address or phone number can receive a code")
)

// Challenge returns the WebAuthn challenge approving tx: nonce (16 bytes) followed by the
// SHA-256 of tx's canonical encoding.
func Challenge(nonce []byte, tx Transaction) []byte {
	h := tx.Hash()
	return append(append([]byte{}, nonce...), h[:]...)
}

// answers tells whether challenge is one Challenge made for tx.
func answers(challenge []byte, tx Transaction) bool {
	h := tx.Hash()
	return len(challenge) == nonceSize+len(h) && subtle.ConstantTimeCompare(challenge[nonceSize:], h[:]) == 1
}

// Approver runs approvals. Passkeys is required; Codes only for the code path.
type Approver struct {
	Passkeys *passkey.Method
	Codes    *otp.Codes
}

// Begin starts a passkey approval of tx by u, bound to bind (the flow it approves): the
// returned ceremony's Options go to navigator.credentials.get, its Secret to the browser's
// cookie.
func (a *Approver) Begin(ctx context.Context, tx Transaction, u store.User, bind string) (*passkey.Ceremony, error) {
	if err := tx.Validate(); err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Passkeys.BeginApproval(ctx, u, bind, Challenge(nonce, tx))
}

// Finish verifies the passkey approval of tx by u started by Begin with the same bind and
// secret, and returns what it proves (amr webauthn). An assertion made for another
// transaction fails: its challenge is not tx's.
func (a *Approver) Finish(ctx context.Context, tx Transaction, u store.User, bind, secret string, response []byte) (string, error) {
	if _, err := a.Passkeys.FinishApproval(ctx, u, bind, secret, response, func(ch []byte) bool { return answers(ch, tx) }); err != nil {
		return "", err
	}
	return passkey.AMR, nil
}

// Channel returns the channel a code for u goes to: email for a verified address when email
// can be sent, else SMS for a verified phone when SMS can be sent, else "".
func (a *Approver) Channel(u store.User) (channel, dest string) {
	switch {
	case a.Codes == nil:
	case u.Email != "" && u.EmailVerified && a.Codes.CanEmail():
		return otp.ChannelEmail, u.Email
	case u.PhoneNumber != "" && u.PhoneNumberVerified && a.Codes.CanSMS() && a.Codes.SMSAllowed(u.PhoneNumber):
		return otp.ChannelSMS, u.PhoneNumber
	}
	return "", ""
}

// SendCode sends u a code approving tx for bind and returns the flow secret (the browser's
// cookie: the code works only with it).
func (a *Approver) SendCode(ctx context.Context, tx Transaction, u store.User, bind, lang, clientIP string) (string, error) {
	channel, dest := a.Channel(u)
	if channel == "" {
		return "", ErrNoChannel
	}
	h := tx.Hash()
	return a.Codes.Start(ctx, otp.Request{Purpose: PurposeCode + channel, Channel: channel, Dest: dest, Subject: u.ID,
		Kind: otp.MsgApprovalCode, Vars: otp.MessageVars{Email: u.Email, Language: lang, Amount: tx.Amount + " " + tx.Currency, Payee: tx.Payee},
		Data: map[string]string{"tx": hex.EncodeToString(h[:]), "bind": bind}}, clientIP)
}

// CheckCode checks the code approving tx for bind sent by SendCode (flow is its secret) and
// returns what it proves: amr eotp (email) or sms.
func (a *Approver) CheckCode(ctx context.Context, tx Transaction, u store.User, bind, flow, code, clientIP string) (string, error) {
	rec, err := a.Codes.Check(ctx, PurposeCode, flow, code, clientIP)
	if err != nil {
		return "", err
	}
	h := tx.Hash()
	if rec.Subject != u.ID || rec.Data["bind"] != bind || !bytes.Equal([]byte(rec.Data["tx"]), []byte(hex.EncodeToString(h[:]))) {
		return "", otp.ErrCodeExpired
	}
	if rec.Purpose == PurposeCode+otp.ChannelSMS {
		return login.AMRSMS, nil
	}
	return login.AMREmailCode, nil
}
