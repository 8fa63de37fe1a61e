package otp

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Completer ends a login whose code checked out: the method's own rules (the address or
// number still the account's, the takeover defence) and its amr. login/emailcode and
// login/smscode implement it.
type Completer interface {
	Complete(ctx context.Context, rec store.OneTimeCode) (login.Result, error)
}

// LoginCodes finishes a login by a code of either channel, the one its record says it was
// sent on: the portal has one step to enter a login code, whichever way it came.
type LoginCodes struct {
	Codes      *Codes
	Email, SMS Completer
	// Audit records each attempt (method email_otp or sms_otp, "code" when the flow is
	// unknown; nil: not recorded).
	Audit audit.Recorder
}

// Finish checks a login code (email or SMS) and returns the account and its amr.
func (l *LoginCodes) Finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	method, userID, res, err := l.finish(ctx, flow, code, clientIP)
	login.Audit(ctx, l.Audit, method, userID, res, err, ErrCodeInvalid, ErrCodeExpired, ErrCodeAttempts, ErrMethodDisabled)
	return res, err
}

func (l *LoginCodes) finish(ctx context.Context, flow, code, clientIP string) (method, userID string, _ login.Result, _ error) {
	rec, err := l.Codes.Check(ctx, PurposeCodeLogin, flow, code, clientIP)
	if err != nil && flow != "" && len(flow) <= 128 {
		// For the audit trail: which channel and account a failed attempt was for.
		if r, gerr := l.Codes.Store.GetOneTimeCode(ctx, secret.Hash(flow)); gerr == nil && strings.HasPrefix(r.Purpose, PurposeCodeLogin) {
			rec = r
		}
	}
	method, userID = "code", rec.Subject
	switch rec.Purpose {
	case PurposeCodeLogin + ChannelSMS:
		method = "sms_otp"
	case PurposeCodeLogin + ChannelEmail:
		method = "email_otp"
	}
	if err != nil {
		return method, userID, login.Result{}, err
	}
	var res login.Result
	if rec.Purpose == PurposeCodeLogin+ChannelSMS {
		res, err = l.SMS.Complete(ctx, rec)
	} else {
		res, err = l.Email.Complete(ctx, rec)
	}
	return method, userID, res, err
}
