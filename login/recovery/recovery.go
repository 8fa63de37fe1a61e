package recovery

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Method is account recovery. Every field but Audit is required.
type Method struct {
	Store    store.Store
	Codes    *otp.Codes
	Accounts *account.Accounts
	Sessions *sessions.Manager
	// Audit records each recovery, and each failed attempt (nil: not recorded).
	Audit audit.Recorder
}

// Enabled tells whether recovery can send anything (email or SMS).
func (m *Method) Enabled() bool { return m.Codes.CanEmail() || m.Codes.CanSMS() }

// Begin sends a recovery code to an account's email address or verified phone number
// (identifier holds either). The answer is the same whether the account exists (CR-06).
func (m *Method) Begin(ctx context.Context, identifier, lang, clientIP string) (string, error) {
	identifier = strings.TrimSpace(identifier)
	if strings.ContainsRune(identifier, '@') || !strings.ContainsFunc(identifier, unicode.IsDigit) {
		if !m.Codes.CanEmail() {
			return "", otp.ErrMethodDisabled
		}
		email, err := input.NormalizeEmail(identifier)
		if err != nil {
			return "", err
		}
		u, found, err := m.Accounts.FindByEmail(ctx, email)
		if err != nil {
			return "", err
		}
		req := otp.Request{Purpose: otp.PurposeRecover + otp.ChannelEmail, Channel: otp.ChannelEmail, Dest: email,
			Kind: otp.MsgRecovery, Vars: otp.MessageVars{Email: email, Language: lang}}
		if found {
			req.Subject = u.ID
		}
		return m.Codes.Start(ctx, req, clientIP)
	}
	if !m.Codes.CanSMS() {
		return "", &input.Error{Field: "identifier", Message: "enter the email address of your account"}
	}
	phone, err := input.NormalizePhone(identifier)
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
	req := otp.Request{Purpose: otp.PurposeRecover + otp.ChannelSMS, Channel: otp.ChannelSMS, Dest: phone,
		Kind: otp.MsgRecovery, Vars: otp.MessageVars{Email: u.Email, Language: lang}}
	if found {
		req.Subject = u.ID
	}
	return m.Codes.Start(ctx, req, clientIP)
}

// Finish checks a recovery code, then ends every session of the account, revokes all its
// refresh tokens and the access tokens of its sessions (CR-31) and removes its password (it
// may be what leaked) before the caller starts a new session, in which the user sets a new
// password or adds a passkey. It returns the account and the amr of the proof (eotp or
// sms).
func (m *Method) Finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	res, err := m.finish(ctx, flow, code, clientIP)
	e := audit.Event{Type: audit.Recovered, Actor: res.User.ID, UserID: res.User.ID, Method: strings.Join(res.AMR, " ")}
	if err != nil {
		e.Type, e.Reason = audit.LoginFailed, login.FailureReason(err, otp.ErrCodeInvalid, otp.ErrCodeExpired, otp.ErrCodeAttempts, account.ErrUserDisabled)
		e.Method = "recovery"
	}
	audit.Or(m.Audit).Record(ctx, e)
	return res, err
}

func (m *Method) finish(ctx context.Context, flow, code, clientIP string) (login.Result, error) {
	rec, err := m.Codes.Check(ctx, otp.PurposeRecover, flow, code, clientIP)
	if err != nil {
		return login.Result{}, err
	}
	u, err := m.Accounts.LoginUser(ctx, rec.Subject)
	if err != nil {
		return login.Result{}, err
	}
	amr := []string{login.AMREmailCode}
	if rec.Purpose == otp.PurposeRecover+otp.ChannelSMS {
		if u.PhoneNumber != rec.Data["dest"] || !u.PhoneNumberVerified {
			return login.Result{}, otp.ErrCodeExpired
		}
		amr = []string{login.AMRSMS}
	} else {
		if u.Email != rec.Data["dest"] {
			return login.Result{}, otp.ErrCodeExpired // sent to an address the account no longer has
		}
		if u, err = m.Accounts.Claim(ctx, u, rec.Data["dest"]); err != nil {
			return login.Result{}, err
		}
	}
	// A recovery code asked for on the other channel before this one was used must not
	// reopen the account after it.
	if err := m.Accounts.RevokeRecoveryCodes(ctx, u); err != nil {
		return login.Result{}, err
	}
	if err := m.Sessions.SignOutEverywhere(ctx, u.ID, ""); err != nil {
		return login.Result{}, err
	}
	// The old password may be what was stolen or forgotten: it stops working now, not only
	// once a new one is set.
	if err := m.Store.DeletePassword(ctx, u.ID); err != nil {
		return login.Result{}, fmt.Errorf("delete password: %w", err)
	}
	if u.Email != "" {
		m.Codes.Notify(u.Email, "Your account was recovered: every device was signed out. If this wasn't you, recover your account again and contact your administrator.", u.Language)
	}
	return login.Result{User: u, AMR: amr}, nil
}
