package account

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Verification proves that a signed-in user controls an email address or phone number, by
// a code sent there. Both fields are required.
type Verification struct {
	Accounts *Accounts
	Codes    *otp.Codes
}

// StartEmail sends a code proving control of email — the account's address (email empty),
// or a new one it changes to — to the user u of session s. Changing the address needs a
// fresh login (CR-19); verifying the current one does not (s is not looked at then).
func (v *Verification) StartEmail(ctx context.Context, s store.Session, u store.User, email, lang, clientIP string) (string, error) {
	if email != "" {
		if n, err := input.NormalizeEmail(email); err == nil && n != u.Email && !v.Accounts.Sessions.Fresh(s) {
			return "", sessions.ErrReauthenticate
		}
	}
	if !v.Codes.CanEmail() {
		return "", otp.ErrMethodDisabled
	}
	if email == "" {
		email = u.Email
	}
	email, err := input.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	// An address of another account gets its code too: refusing here would tell anyone
	// signed in which addresses have accounts. Only who reads the code learns, at Finish,
	// that the address is taken.
	return v.Codes.Start(ctx, otp.Request{Purpose: otp.PurposeVerify + otp.ChannelEmail, Channel: otp.ChannelEmail, Dest: email,
		Subject: u.ID, Kind: otp.MsgVerifyEmail, Vars: otp.MessageVars{Email: email, Language: lang}}, clientIP)
}

// FinishEmail checks the code and sets the verified address. The code must have been sent
// to this user (CR-11). The previous address, if any, is told of the change.
func (v *Verification) FinishEmail(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error) {
	rec, err := v.Codes.Check(ctx, otp.PurposeVerify+otp.ChannelEmail, flow, code, clientIP)
	if err != nil {
		return store.User{}, err
	}
	if rec.Subject != u.ID {
		return store.User{}, otp.ErrCodeExpired
	}
	email, old := rec.Data["dest"], u.Email
	nu, err := v.Accounts.Update(ctx, u.ID, func(x store.User) (store.User, error) {
		x.Email, x.EmailVerified = email, true
		return x, nil
	})
	if errors.Is(err, ErrEmailTaken) || errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrEmailTaken
	} else if err != nil {
		return store.User{}, err
	}
	if old != "" && old != email {
		v.Codes.Notify(old, "The email address of your account was changed to "+email+".", nu.Language)
	}
	return nu, nil
}

// StartPhone texts a code proving control of phone to the user u of session s. A verified
// number is a way to log in (SMS codes) and to recover the account, so adding one — the
// first or a replacement — needs a fresh login, like adding a passkey: else a stolen old
// session could add the thief's phone and keep the account (CR-19). Verifying the number
// already on the account adds nothing.
func (v *Verification) StartPhone(ctx context.Context, s store.Session, u store.User, phone, lang, clientIP string) (string, error) {
	if n, err := input.NormalizePhone(phone); err == nil && n != u.PhoneNumber && !v.Accounts.Sessions.Fresh(s) {
		return "", sessions.ErrReauthenticate
	}
	if !v.Codes.CanSMS() {
		return "", otp.ErrMethodDisabled
	}
	phone, err := input.NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	if !v.Codes.SMSAllowed(phone) {
		return "", otp.ErrPhoneNotAllowed
	}
	// As for email: a number verified by another account is refused only at Finish.
	return v.Codes.Start(ctx, otp.Request{Purpose: otp.PurposeVerify + otp.ChannelSMS, Channel: otp.ChannelSMS, Dest: phone,
		Subject: u.ID, Kind: otp.MsgVerifyPhone, Vars: otp.MessageVars{Email: u.Email, Language: lang}}, clientIP)
}

// FinishPhone checks the code and sets the user's verified phone number.
func (v *Verification) FinishPhone(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error) {
	rec, err := v.Codes.Check(ctx, otp.PurposeVerify+otp.ChannelSMS, flow, code, clientIP)
	if err != nil {
		return store.User{}, err
	}
	if rec.Subject != u.ID {
		return store.User{}, otp.ErrCodeExpired
	}
	phone, old := rec.Data["dest"], u.PhoneNumber
	nu, err := v.Accounts.Update(ctx, u.ID, func(x store.User) (store.User, error) {
		x.PhoneNumber, x.PhoneNumberVerified = phone, true
		return x, nil
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrPhoneTaken
	} else if err != nil {
		return store.User{}, err
	}
	if nu.Email != "" && old != phone {
		v.Codes.Notify(nu.Email, "The phone number of your account was changed to "+phone+".", nu.Language)
	}
	return nu, nil
}
