package login

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
)

// Audit records a finished login attempt of method on rec (nil: nothing): LoginSucceeded
// with the AMR, LockedOut for a *lockout.LockedError, LoginFailed otherwise, with a reason
// that never repeats what the user typed (FailureReason: the message of the matching error
// of reasons, which must be constant text, or "error"). userID is the account the attempt was for when the method
// knows it ("" takes res.User.ID).
func Audit(ctx context.Context, rec audit.Recorder, method, userID string, res Result, err error, reasons ...error) {
	if rec == nil {
		return
	}
	if userID == "" {
		userID = res.User.ID
	}
	e := audit.Event{Type: audit.LoginSucceeded, Method: method, UserID: userID}
	if err == nil {
		e.Actor = userID
		e.Details = map[string]string{"amr": strings.Join(res.AMR, " ")}
		if res.NewUser {
			e.Details["new_user"] = "true"
		}
		if res.Passkey != "" {
			e.Details["passkey"] = res.Passkey
		}
		rec.Record(ctx, e)
		return
	}
	e.Type, e.Reason = audit.LoginFailed, FailureReason(err, reasons...)
	var locked *lockout.LockedError
	if errors.As(err, &locked) {
		e.Type, e.Reason = audit.LockedOut, "too many failed attempts"
		e.Details = map[string]string{"retry_after": locked.RetryAfter.Round(1e9).String()}
	}
	rec.Record(ctx, e)
}

// FailureReason names why an attempt failed without repeating the input: the message of
// the first of reasons that err matches (the methods' sentinel errors, constant text), or
// "error".
func FailureReason(err error, reasons ...error) string {
	for _, f := range reasons {
		if errors.Is(err, f) {
			return f.Error()
		}
	}
	var locked *lockout.LockedError
	switch {
	case errors.As(err, &locked):
		return "too many failed attempts"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}
