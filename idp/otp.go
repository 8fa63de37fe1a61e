package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/secret"
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
	ErrLinkExpired     = errors.New("this login link expired or was already used; request a new one")
	ErrMethodDisabled  = otp.ErrMethodDisabled
	ErrPhoneTaken      = account.ErrPhoneTaken
	ErrPhoneNotAllowed = otp.ErrPhoneNotAllowed
)

// SendLimitError means too many codes or links were requested (otp.SendLimitError).
type SendLimitError = otp.SendLimitError

// ConfirmationRequiredError: a magic link was opened in another browser than the one that
// asked for it (CR-17). Logging in there needs the user's explicit confirmation.
type ConfirmationRequiredError struct {
	Email string
}

func (e *ConfirmationRequiredError) Error() string {
	return "this link was requested from another browser; confirm to log in here"
}

const (
	purposeCodeLogin = otp.PurposeCodeLogin
	purposeRecover   = otp.PurposeRecover
	purposeLinkLogin = otp.PurposeLinkLogin
	channelEmail     = otp.ChannelEmail
	channelSMS       = otp.ChannelSMS
)

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

// StartEmailCodeLogin sends a login code to email if it belongs to an account. The answer is
// the same for unknown addresses (CR-06): a flow secret whose code never works.
func (p *Provider) StartEmailCodeLogin(ctx context.Context, email, lang, clientIP string) (string, error) {
	if !p.MethodEnabled(MethodEmailCode) {
		return "", ErrMethodDisabled
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	u, found, err := p.Accounts.FindByEmail(ctx, email)
	if err != nil {
		return "", err
	}
	req := otp.Request{Purpose: purposeCodeLogin + channelEmail, Channel: channelEmail, Dest: email,
		Kind: MsgLoginCode, Vars: otp.MessageVars{Email: email, Language: lang}}
	if found {
		req.Subject = u.ID
	}
	return p.Codes.Start(ctx, req, clientIP)
}

// StartSMSCodeLogin sends a login code to phone if an account has verified it.
func (p *Provider) StartSMSCodeLogin(ctx context.Context, phone, lang, clientIP string) (string, error) {
	if !p.MethodEnabled(MethodSMSCode) {
		return "", ErrMethodDisabled
	}
	phone, err := NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	if !p.Codes.SMSAllowed(phone) {
		return "", ErrPhoneNotAllowed
	}
	u, found, err := p.Accounts.FindByPhone(ctx, phone)
	if err != nil {
		return "", err
	}
	req := otp.Request{Purpose: purposeCodeLogin + channelSMS, Channel: channelSMS, Dest: phone,
		Kind: MsgLoginCode, Vars: otp.MessageVars{Email: u.Email, Language: lang}}
	if found {
		req.Subject = u.ID
	}
	return p.Codes.Start(ctx, req, clientIP)
}

// FinishCodeLogin checks a login code (email or SMS) and returns the account and its amr.
func (p *Provider) FinishCodeLogin(ctx context.Context, flow, code, clientIP string) (store.User, []string, error) {
	rec, err := p.Codes.Check(ctx, purposeCodeLogin, flow, code, clientIP)
	if err != nil {
		return store.User{}, nil, err
	}
	u, err := p.loginUser(ctx, rec.Subject)
	if err != nil {
		return store.User{}, nil, err
	}
	if rec.Purpose == purposeCodeLogin+channelSMS {
		if u.PhoneNumber != rec.Data["dest"] || !u.PhoneNumberVerified {
			return store.User{}, nil, ErrCodeExpired // the number moved to another account
		}
		return u, []string{AMRSMS}, nil
	}
	if u.Email != rec.Data["dest"] {
		return store.User{}, nil, ErrCodeExpired // sent to an address the account no longer has
	}
	u, err = p.Accounts.Claim(ctx, u, rec.Data["dest"])
	if err != nil {
		return store.User{}, nil, err
	}
	return u, []string{AMREmailCode}, nil
}

// StartMagicLink emails a login link to email if it belongs to an account, and returns the
// nonce for the requesting browser's cookie: the link logs in there without a question,
// elsewhere only after an explicit confirmation (CR-17). The link is built from the
// configured issuer, never from the request. returnTo (a portal path) is where the login
// continues.
func (p *Provider) StartMagicLink(ctx context.Context, email, returnTo, lang, clientIP string) (string, error) {
	if !p.MethodEnabled(MethodMagicLink) {
		return "", ErrMethodDisabled
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	if err := p.Codes.Throttle(ctx, email, clientIP); err != nil {
		return "", err
	}
	nonce := secret.Token()
	u, found, err := p.Accounts.FindByEmail(ctx, email)
	if err != nil {
		return "", err
	}
	// An address without an account gets a link record too, with no subject (it can never
	// log in, and its token is sent nowhere): the same store writes, so the answer takes the
	// same time (CR-07).
	token, now := secret.Token(), p.Now()
	ttl := p.LinkTTL()
	rec := store.OneTimeCode{ID: secret.Hash(token), Purpose: purposeLinkLogin,
		Data:      map[string]string{"browser": secret.Hash(nonce), "dest": email, "return_to": returnTo},
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if found {
		rec.Subject = u.ID
	}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store magic link: %w", err)
	}
	if err := p.Codes.MarkLatest(ctx, purposeLinkLogin, email, rec); err != nil {
		return "", err
	}
	if !found {
		return nonce, nil
	}
	// The token travels in the fragment: browsers never send it to a server, so it cannot
	// reach access logs or a Referer header (CR-15).
	link := p.Issuer + "/login/magic#" + token
	// A failure is logged only: the answer stays that of an unknown address (CR-07).
	p.Codes.SendEmail(MsgMagicLink, email, u.ID, otp.MessageVars{Email: email, Link: link, ExpiresIn: ttl, Language: lang})
	return nonce, nil
}

// MagicLink is a pending magic link.
type MagicLink struct {
	// Email is the account's address.
	Email string
	// SameBrowser: the link is opened in the browser that asked for it.
	SameBrowser bool
	ReturnTo    string
}

// LookupMagicLink reads a magic link without using it (the interstitial page; mail scanners
// that fetch links get only this).
func (p *Provider) LookupMagicLink(ctx context.Context, token, nonce string) (MagicLink, store.OneTimeCode, error) {
	if token == "" || len(token) > 128 {
		return MagicLink{}, store.OneTimeCode{}, ErrLinkExpired
	}
	rec, err := p.Store.GetOneTimeCode(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return MagicLink{}, store.OneTimeCode{}, ErrLinkExpired
	} else if err != nil {
		return MagicLink{}, store.OneTimeCode{}, fmt.Errorf("read magic link: %w", err)
	}
	if rec.Purpose != purposeLinkLogin || rec.Subject == "" || !p.Now().Before(rec.ExpiresAt) {
		return MagicLink{}, store.OneTimeCode{}, ErrLinkExpired
	}
	if latest, err := p.Codes.IsLatest(ctx, rec); err != nil {
		return MagicLink{}, store.OneTimeCode{}, err
	} else if !latest {
		return MagicLink{}, store.OneTimeCode{}, ErrLinkExpired
	}
	same := nonce != "" && len(nonce) <= 128 && secret.Equal(secret.Hash(nonce), rec.Data["browser"])
	return MagicLink{Email: rec.Data["dest"], SameBrowser: same, ReturnTo: rec.Data["return_to"]}, rec, nil
}

// RedeemMagicLink logs in with a magic link: once, before it expires, in the browser that
// asked for it, or elsewhere when confirmed is set (the user saw which account and agreed).
func (p *Provider) RedeemMagicLink(ctx context.Context, token, nonce string, confirmed bool) (store.User, MagicLink, error) {
	ml, rec, err := p.LookupMagicLink(ctx, token, nonce)
	if err != nil {
		return store.User{}, ml, err
	}
	if !ml.SameBrowser && !confirmed {
		return store.User{}, ml, &ConfirmationRequiredError{Email: ml.Email}
	}
	if _, err := p.Store.ConsumeOneTimeCode(ctx, rec.ID); errors.Is(err, store.ErrNotFound) {
		return store.User{}, ml, ErrLinkExpired
	} else if err != nil {
		return store.User{}, ml, fmt.Errorf("use magic link: %w", err)
	}
	u, err := p.loginUser(ctx, rec.Subject)
	if errors.Is(err, ErrCodeExpired) {
		return store.User{}, ml, ErrLinkExpired
	} else if err != nil {
		return store.User{}, ml, err
	}
	if u.Email != ml.Email {
		return store.User{}, ml, ErrLinkExpired // sent to an address the account no longer has
	}
	u, err = p.Accounts.Claim(ctx, u, ml.Email)
	if err != nil {
		return store.User{}, ml, err
	}
	return u, ml, nil
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

// StartRecovery sends a recovery code to an account's email address or verified phone number
// (identifier holds either). The answer is the same whether the account exists (CR-06).
func (p *Provider) StartRecovery(ctx context.Context, identifier, lang, clientIP string) (string, error) {
	identifier = strings.TrimSpace(identifier)
	if strings.ContainsRune(identifier, '@') || !strings.ContainsFunc(identifier, unicode.IsDigit) {
		if !p.CanEmail() {
			return "", ErrMethodDisabled
		}
		email, err := NormalizeEmail(identifier)
		if err != nil {
			return "", err
		}
		u, found, err := p.Accounts.FindByEmail(ctx, email)
		if err != nil {
			return "", err
		}
		req := otp.Request{Purpose: purposeRecover + channelEmail, Channel: channelEmail, Dest: email,
			Kind: MsgRecovery, Vars: otp.MessageVars{Email: email, Language: lang}}
		if found {
			req.Subject = u.ID
		}
		return p.Codes.Start(ctx, req, clientIP)
	}
	if !p.CanSMS() {
		return "", &InputError{Field: "identifier", Message: "enter the email address of your account"}
	}
	phone, err := NormalizePhone(identifier)
	if err != nil {
		return "", err
	}
	if !p.Codes.SMSAllowed(phone) {
		return "", ErrPhoneNotAllowed
	}
	u, found, err := p.Accounts.FindByPhone(ctx, phone)
	if err != nil {
		return "", err
	}
	req := otp.Request{Purpose: purposeRecover + channelSMS, Channel: channelSMS, Dest: phone,
		Kind: MsgRecovery, Vars: otp.MessageVars{Email: u.Email, Language: lang}}
	if found {
		req.Subject = u.ID
	}
	return p.Codes.Start(ctx, req, clientIP)
}

// FinishRecovery checks a recovery code, then ends every session of the account, revokes
// all its refresh tokens and the access tokens of its sessions (CR-31) and removes its
// password (it may be what leaked) before the caller starts a new session, in which
// the user sets a new password or adds a passkey. It returns the account and the amr of the
// proof.
func (p *Provider) FinishRecovery(ctx context.Context, flow, code, clientIP string) (store.User, []string, error) {
	rec, err := p.Codes.Check(ctx, purposeRecover, flow, code, clientIP)
	if err != nil {
		return store.User{}, nil, err
	}
	u, err := p.loginUser(ctx, rec.Subject)
	if err != nil {
		return store.User{}, nil, err
	}
	amr := []string{AMREmailCode}
	if rec.Purpose == purposeRecover+channelSMS {
		if u.PhoneNumber != rec.Data["dest"] || !u.PhoneNumberVerified {
			return store.User{}, nil, ErrCodeExpired
		}
		amr = []string{AMRSMS}
	} else {
		if u.Email != rec.Data["dest"] {
			return store.User{}, nil, ErrCodeExpired // sent to an address the account no longer has
		}
		if u, err = p.Accounts.Claim(ctx, u, rec.Data["dest"]); err != nil {
			return store.User{}, nil, err
		}
	}
	// A recovery code asked for on the other channel before this one was used must not
	// reopen the account after it.
	if err := p.Accounts.RevokeRecoveryCodes(ctx, u); err != nil {
		return store.User{}, nil, err
	}
	if err := p.signOutEverywhere(ctx, u.ID, ""); err != nil {
		return store.User{}, nil, err
	}
	// The old password may be what was stolen or forgotten: it stops working now, not only
	// once a new one is set.
	if err := p.Store.DeletePassword(ctx, u.ID); err != nil {
		return store.User{}, nil, fmt.Errorf("delete password: %w", err)
	}
	if u.Email != "" {
		p.Codes.Notify(u.Email, "Your account was recovered: every device was signed out. If this wasn't you, recover your account again and contact your administrator.", u.Language)
	}
	return u, amr, nil
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
