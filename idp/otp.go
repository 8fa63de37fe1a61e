package idp

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Passwordless methods (Config.Methods; Caddyfile `login`).
const (
	MethodEmailCode = otp.MethodEmailCode
	MethodMagicLink = otp.MethodMagicLink
	MethodSMSCode   = otp.MethodSMSCode
)

// Authentication method references of the passwordless methods (the seed's amr values).
const (
	AMREmailLink = login.AMREmailLink
	AMREmailCode = login.AMREmailCode
	AMRSMS       = login.AMRSMS
)

// Message kinds: the template each message is built from.
const (
	MsgLoginCode      = otp.MsgLoginCode
	MsgMagicLink      = otp.MsgMagicLink
	MsgVerifyEmail    = otp.MsgVerifyEmail
	MsgVerifyPhone    = otp.MsgVerifyPhone
	MsgRecovery       = otp.MsgRecovery
	MsgAccountChanged = otp.MsgAccountChanged
	MsgSignupExisting = otp.MsgSignupExisting
)

// Messenger delivers codes, links and notices (otp.Messenger).
type Messenger = otp.Messenger

// MessageVars are the values a message template receives (otp.MessageVars).
type MessageVars = otp.MessageVars

// Errors of the code and link methods. Their text is shown to users.
var (
	ErrCodeInvalid     = otp.ErrCodeInvalid
	ErrCodeExpired     = otp.ErrCodeExpired
	ErrCodeAttempts    = otp.ErrCodeAttempts
	ErrLinkExpired     = magiclink.ErrLinkExpired
	ErrMethodDisabled  = otp.ErrMethodDisabled
	ErrPhoneTaken      = account.ErrPhoneTaken
	ErrPhoneNotAllowed = otp.ErrPhoneNotAllowed
)

// SendLimitError means too many codes or links were requested (otp.SendLimitError).
type SendLimitError = otp.SendLimitError

// ConfirmationRequiredError: a magic link was opened in another browser than the one that
// asked for it (CR-17).
type ConfirmationRequiredError = magiclink.ConfirmationRequiredError

// MethodEnabled tells whether a passwordless method is enabled and deliverable.
func (p *Provider) MethodEnabled(m string) bool { return p.Codes.MethodEnabled(m) }

// OTPTTL is how long an email or SMS code works; LinkTTL how long a magic link does.
func (p *Provider) OTPTTL() time.Duration  { return p.Codes.CodeTTL() }
func (p *Provider) LinkTTL() time.Duration { return p.Codes.LinkTTL() }

// CanEmail and CanSMS tell whether verification and recovery can use the channel.
func (p *Provider) CanEmail() bool { return p.Codes.CanEmail() }
func (p *Provider) CanSMS() bool   { return p.Codes.CanSMS() }

// NormalizePhone returns the E.164 form of a phone number.
func NormalizePhone(s string) (string, error) { return input.NormalizePhone(s) }

func (p *Provider) loginUser(ctx context.Context, id string) (store.User, error) {
	return p.Accounts.LoginUser(ctx, id)
}

// StartEmailCodeLogin sends a login code to email (emailcode.Method.Begin).
func (p *Provider) StartEmailCodeLogin(ctx context.Context, email, lang, clientIP string) (string, error) {
	return p.EmailCode.Begin(ctx, email, lang, clientIP)
}

// StartSMSCodeLogin sends a login code to phone (smscode.Method.Begin).
func (p *Provider) StartSMSCodeLogin(ctx context.Context, phone, lang, clientIP string) (string, error) {
	return p.SMSCode.Begin(ctx, phone, lang, clientIP)
}

// FinishCodeLogin checks a login code (email or SMS) and returns the account and its amr.
func (p *Provider) FinishCodeLogin(ctx context.Context, flow, code, clientIP string) (store.User, []string, error) {
	r, err := p.CodeLogin.Finish(ctx, flow, code, clientIP)
	return r.User, r.AMR, err
}

// StartMagicLink emails a login link (magiclink.Method.Begin).
func (p *Provider) StartMagicLink(ctx context.Context, email, returnTo, lang, clientIP string) (string, error) {
	return p.MagicLink.Begin(ctx, email, returnTo, lang, clientIP)
}

// MagicLink is a pending magic link.
type MagicLink = magiclink.Link

// RedeemMagicLink logs in with a magic link (magiclink.Method.Finish).
func (p *Provider) RedeemMagicLink(ctx context.Context, token, nonce string, confirmed bool) (store.User, MagicLink, error) {
	r, err := p.MagicLink.Finish(ctx, token, nonce, confirmed)
	return r.User, MagicLink{ReturnTo: r.ReturnTo}, err
}

// verified is the session the verification delegations pass: the handlers check the
// fresh-login rule themselves until they call account.Verification directly.
func (p *Provider) verified() store.Session { return store.Session{AuthTime: p.Now()} }

// StartEmailVerification sends a code proving control of email to the signed-in user u.
func (p *Provider) StartEmailVerification(ctx context.Context, u store.User, email, lang, clientIP string) (string, error) {
	return p.Verification.StartEmail(ctx, p.verified(), u, email, lang, clientIP)
}

// FinishEmailVerification checks the code and sets the verified address.
func (p *Provider) FinishEmailVerification(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error) {
	return p.Verification.FinishEmail(ctx, u, flow, code, clientIP)
}

// StartPhoneVerification texts a code proving control of phone to the signed-in user u.
func (p *Provider) StartPhoneVerification(ctx context.Context, u store.User, phone, lang, clientIP string) (string, error) {
	return p.Verification.StartPhone(ctx, p.verified(), u, phone, lang, clientIP)
}

// FinishPhoneVerification checks the code and sets the user's verified phone number.
func (p *Provider) FinishPhoneVerification(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error) {
	return p.Verification.FinishPhone(ctx, u, flow, code, clientIP)
}

// StartRecovery sends a recovery code (recovery.Method.Begin).
func (p *Provider) StartRecovery(ctx context.Context, identifier, lang, clientIP string) (string, error) {
	return p.Recovery.Begin(ctx, identifier, lang, clientIP)
}

// FinishRecovery checks a recovery code (recovery.Method.Finish).
func (p *Provider) FinishRecovery(ctx context.Context, flow, code, clientIP string) (store.User, []string, error) {
	r, err := p.Recovery.Finish(ctx, flow, code, clientIP)
	return r.User, r.AMR, err
}

// ChangePassword sets the password of the session's user (account.Accounts.ChangePassword).
func (p *Provider) ChangePassword(ctx context.Context, s store.Session, pw string) error {
	return p.Accounts.ChangePassword(ctx, s, pw)
}

func (p *Provider) keepIfSessionLive(ctx context.Context, sessionID string, undo func() error) error {
	return p.Sessions.KeepIfLive(ctx, sessionID, undo)
}

func (p *Provider) signOutEverywhere(ctx context.Context, userID, keep string) error {
	return p.Sessions.SignOutEverywhere(ctx, userID, keep)
}
