package recovery

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// CodePath is the portal page of an issued code: its link is
// <issuer>CodePath?flow=<Issued.Flow> (handlers/login/recovery).
const CodePath = "/recover/code"

// IssuedTTL is how long a recovery code an administrator issues stays valid: long enough
// to hand over, short enough not to linger (a self-service code lives minutes, as it reaches
// its owner at once).
const IssuedTTL = 72 * time.Hour

// Issued is an account-recovery code an administrator issued for a user: Flow is the
// secret that the recovery link carries (its page keeps it in a hidden field of the code
// form, never in a cookie), Code the 6 digits the user enters. Only their hash is stored; Finish accepts
// them once, like a code the user asked for (attempt-limited, single use, superseded by a
// newer recovery code of the account).
type Issued struct {
	Flow, Code string
	ExpiresAt  time.Time
}

// Issue makes a recovery code for u (an account with an email address) on an
// administrator's behalf: nothing is sent; the caller shows it once or sends it with
// SendIssued. The code recovers the account through Finish, as one sent to its address.
func (m *Method) Issue(ctx context.Context, u store.User) (Issued, error) {
	flow, code, err := m.Codes.Issue(ctx, otp.Request{Purpose: otp.PurposeRecover + otp.ChannelEmail, Channel: otp.ChannelEmail,
		Dest: u.Email, Subject: u.ID}, IssuedTTL)
	if err != nil {
		return Issued{}, err
	}
	return Issued{Flow: flow, Code: code, ExpiresAt: m.Codes.Now().Add(IssuedTTL)}, nil
}

// CanEmail tells whether SendIssued can send anything.
func (m *Method) CanEmail() bool { return m.Codes.CanEmail() }

// SendIssued emails an issued code and its link (the recovery message) to u's address
// (otp.ErrMethodDisabled when email cannot be sent). A failure of the sender is logged.
func (m *Method) SendIssued(u store.User, is Issued, link string) error {
	if !m.Codes.CanEmail() {
		return otp.ErrMethodDisabled
	}
	m.Codes.SendEmail(otp.MsgRecovery, u.Email, u.ID, otp.MessageVars{Email: u.Email, Code: is.Code, Link: link,
		ExpiresIn: IssuedTTL, Language: u.Language})
	return nil
}

// Destination returns the email address or phone number a live recovery flow's code went
// to (otp.ErrCodeExpired for an unknown, expired or used flow), so that the page of a
// recovery link can show whose account the code recovers.
func (m *Method) Destination(ctx context.Context, flow string) (string, error) {
	return m.Codes.Destination(ctx, otp.PurposeRecover, flow)
}
