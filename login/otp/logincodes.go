package otp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/login"
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
}

// Finish checks a login code (email or SMS) and returns the account and its amr.
func (l *LoginCodes) Finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	rec, err := l.Codes.Check(ctx, PurposeCodeLogin, flow, code, clientIP)
	if err != nil {
		return login.Result{}, err
	}
	if rec.Purpose == PurposeCodeLogin+ChannelSMS {
		return l.SMS.Complete(ctx, rec)
	}
	return l.Email.Complete(ctx, rec)
}
