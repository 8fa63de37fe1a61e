package smscode

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AMR is what a login by SMS code proves.
const AMR = login.AMRSMS

// Purpose is the purpose of its codes (otp.Request.Purpose).
const Purpose = otp.PurposeCodeLogin + otp.ChannelSMS

// Method is login by SMS code. Both fields are required.
type Method struct {
	// Metrics counts the login attempts (nil: not counted).
	Metrics metrics.Recorder
	// Audit records the login attempts (nil: not recorded).
	Audit    audit.Recorder
	Codes    *otp.Codes
	Accounts *account.Accounts
}

// Enabled tells whether the method is enabled and text messages can be sent.
func (m *Method) Enabled() bool { return m.Codes.MethodEnabled(otp.MethodSMSCode) }

// Begin sends a login code to phone if an account has verified it.
func (m *Method) Begin(ctx context.Context, phone, lang, clientIP string) (string, error) {
	if !m.Enabled() {
		// Turned off (or no sender): nothing is sent, and the attempt is on the record.
		login.Audit(ctx, m.Audit, "sms_otp", "", login.Result{}, otp.ErrMethodDisabled, otp.ErrMethodDisabled)
		return "", otp.ErrMethodDisabled
	}
	phone, err := input.NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	if !m.Codes.SMSAllowed(phone) {
		return "", otp.ErrPhoneNotAllowed
	}
	u, found, err := m.Accounts.FindByPhone(ctx, phone)
	if err != nil {
		return "", err
	}
	req := otp.Request{Purpose: Purpose, Channel: otp.ChannelSMS, Dest: phone,
		Kind: otp.MsgLoginCode, Vars: otp.MessageVars{Email: u.Email, Language: lang}}
	if found {
		req.Subject = u.ID
	}
	return m.Codes.Start(ctx, req, clientIP)
}

// Finish checks a code sent by SMS (in the browser holding flow) and returns the account.
func (m *Method) Finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	res, err := m.finish(ctx, flow, code, clientIP)
	login.Audit(ctx, m.Audit, "sms_otp", "", res, err, otp.ErrCodeInvalid, otp.ErrCodeExpired, otp.ErrCodeAttempts, account.ErrUserDisabled, otp.ErrMethodDisabled)
	return login.Count(m.Metrics, "sms_otp", res, err, otp.ErrCodeInvalid, otp.ErrCodeExpired, otp.ErrCodeAttempts, otp.ErrMethodDisabled)
}

func (m *Method) finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	if !m.Enabled() {
		return login.Result{}, otp.ErrMethodDisabled // before the code is looked at
	}
	rec, err := m.Codes.Check(ctx, Purpose, flow, code, clientIP)
	if err != nil {
		return login.Result{}, err
	}
	return m.Complete(ctx, rec)
}

// Complete ends a login whose SMS code checked out (rec is its record): the number must
// still be the account's verified one.
func (m *Method) Complete(ctx context.Context, rec store.OneTimeCode) (login.Result, error) {
	if !m.Enabled() {
		// Turned off since the code was sent: the code no longer logs in.
		return login.Result{}, otp.ErrMethodDisabled
	}
	u, err := m.Accounts.LoginUser(ctx, rec.Subject)
	if err != nil {
		return login.Result{}, err
	}
	if u.PhoneNumber != rec.Data["dest"] || !u.PhoneNumberVerified {
		return login.Result{}, otp.ErrCodeExpired // the number moved to another account
	}
	return login.Result{User: u, AMR: []string{AMR}}, nil
}
