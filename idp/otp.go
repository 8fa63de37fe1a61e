package idp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Passwordless methods (Config.Methods; Caddyfile `login`).
const (
	MethodEmailCode = "email_code"
	MethodMagicLink = "magic_link"
	MethodSMSCode   = "sms_code"
)

// Authentication method references of the passwordless methods (the seed's amr values).
const (
	AMREmailLink = login.AMREmailLink
	AMREmailCode = login.AMREmailCode
	AMRSMS       = login.AMRSMS
)

// Message kinds: the template each message is built from.
const (
	MsgLoginCode      = "login_code"
	MsgMagicLink      = "magic_link"
	MsgVerifyEmail    = "verify_email"
	MsgVerifyPhone    = "verify_phone"
	MsgRecovery       = "recovery"
	MsgAccountChanged = "account_changed"
	// MsgSignupExisting tells an account's address that someone tried to sign up with it
	// (instead of a code: sign-up does not reveal which addresses have accounts).
	MsgSignupExisting = "signup_existing"
)

// Messenger delivers a message built from the template of kind. It must return at once
// (delivery is asynchronous), so that response time does not reveal whether a message was
// sent.
type Messenger interface {
	SendEmail(kind, to string, v MessageVars) error
	SendSMS(kind, to string, v MessageVars) error
}

// MessageVars are the values a message template receives.
type MessageVars struct {
	// Email is the account's address (or the address being verified).
	Email string
	// Code is the 6-digit code; Link the magic link.
	Code, Link string
	// ExpiresIn is how long the code or link is valid.
	ExpiresIn time.Duration
	// Notice says what changed (account_changed).
	Notice string
	// Language is the user's preferred language (Accept-Language).
	Language string
}

// Errors of the code and link methods. Their text is shown to users.
var (
	ErrCodeInvalid     = errors.New("the code is incorrect; check the latest message and try again")
	ErrCodeExpired     = errors.New("this code expired, was used, or a newer one was sent; request a new code")
	ErrCodeAttempts    = errors.New("too many wrong codes; request a new code")
	ErrLinkExpired     = errors.New("this login link expired or was already used; request a new one")
	ErrMethodDisabled  = errors.New("this login method is not enabled on this server")
	ErrPhoneTaken      = errors.New("this phone number is verified by another account")
	ErrPhoneNotAllowed = errors.New("text messages cannot be sent to this number")
)

// SendLimitError means too many codes or links were requested for one address or from one
// client IP; the caller waits RetryAfter.
type SendLimitError struct {
	RetryAfter time.Duration
}

func (e *SendLimitError) Error() string {
	mins := max(int(e.RetryAfter.Round(time.Minute)/time.Minute), 1)
	return fmt.Sprintf("too many codes requested; try again in %d minute(s)", mins)
}

// ConfirmationRequiredError: a magic link was opened in another browser than the one that
// asked for it (CR-17). Logging in there needs the user's explicit confirmation.
type ConfirmationRequiredError struct {
	Email string
}

func (e *ConfirmationRequiredError) Error() string {
	return "this link was requested from another browser; confirm to log in here"
}

// Limits of the code methods (CR-09, CR-12).
const (
	codeDigits       = 6
	attemptsPerCode  = 5
	codeFailures     = 10 // wrong codes per account (or address) per lockout window, across codes
	sendsPerDest     = 5  // codes or links per address per sendDestWindow
	sendDestWindow   = 15 * time.Minute
	sendsPerIP       = 30 // codes or links per client IP per hour
	maxCodeTTL       = 10 * time.Minute
	maxMagicLinkTTL  = 15 * time.Minute
	purposeCodeLogin = "code:login:"
	purposeVerify    = "code:verify:"
	purposeRecover   = "code:recover:"
	purposeSignup    = "code:signup:"
	purposeLinkLogin = "link:login"
	purposeLatest    = "latest"
	channelEmail     = "email"
	channelSMS       = "sms"
)

// MethodEnabled tells whether a passwordless method is enabled and deliverable.
func (p *Provider) MethodEnabled(m string) bool {
	if !hasString(p.Methods, m) || p.Messenger == nil {
		return false
	}
	if m == MethodSMSCode {
		return p.SMSEnabled
	}
	return p.EmailEnabled
}

// OTPTTL is how long an email or SMS code works; LinkTTL how long a magic link does.
func (p *Provider) OTPTTL() time.Duration  { return min(p.CodeTTL, maxCodeTTL) }
func (p *Provider) LinkTTL() time.Duration { return min(p.MagicLinkTTL, maxMagicLinkTTL) }

// CanEmail and CanSMS tell whether verification and recovery can use the channel.
func (p *Provider) CanEmail() bool { return p.Messenger != nil && p.EmailEnabled }
func (p *Provider) CanSMS() bool   { return p.Messenger != nil && p.SMSEnabled }

// NormalizePhone returns the E.164 form of a phone number.
func NormalizePhone(s string) (string, error) { return input.NormalizePhone(s) }

func (p *Provider) smsAllowed(phone string) bool {
	if len(p.SMSAllowedPrefixes) == 0 {
		return true
	}
	for _, pre := range p.SMSAllowedPrefixes {
		if strings.HasPrefix(phone, pre) {
			return true
		}
	}
	return false
}

// newCode returns a uniformly random code of codeDigits decimal digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails (Go ≥ 1.24)
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// validCode accepts exactly codeDigits ASCII digits: no spaces, no full-width or other
// Unicode digits, no signs (CR-13).
func validCode(c string) bool {
	if len(c) != codeDigits {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// codeHash binds a code to its flow secret: the store holds neither, so a copy of it cannot
// be used to brute-force the 6 digits offline.
func codeHash(flow, code string) string { return secret.Hash(flow + "\x00" + code) }

func latestID(purpose, dest string) string {
	return secret.Hash(purposeLatest + "\x00" + purpose + "\x00" + dest)
}

// throttleSend counts a code or link requested for dest from clientIP (CR-12). Requests for
// unknown addresses count too, so the limits reveal nothing.
func (p *Provider) throttleSend(ctx context.Context, dest, clientIP string) error {
	now := p.Now()
	for _, c := range []struct {
		key    string
		limit  int64
		window time.Duration
	}{
		{"send:dest:" + secret.Hash(dest), sendsPerDest, sendDestWindow},
		{"send:ip:" + ipKey(clientIP), sendsPerIP, time.Hour},
	} {
		n, reset, err := p.Store.IncrementCounter(ctx, c.key, 1, c.window, now)
		if err != nil {
			return fmt.Errorf("count send: %w", err)
		}
		if n > c.limit {
			return &SendLimitError{RetryAfter: reset.Sub(now)}
		}
	}
	return nil
}

// markLatest records rec as the newest challenge of purpose for dest: older ones stop
// working (CR-10 supersession).
func (p *Provider) markLatest(ctx context.Context, purpose, dest string, rec store.OneTimeCode) error {
	id := latestID(purpose, dest)
	set := func(c store.OneTimeCode) (store.OneTimeCode, error) {
		c.Data = map[string]string{"flow": rec.ID}
		c.ExpiresAt = rec.ExpiresAt
		return c, nil
	}
	for range 3 {
		_, err := p.Store.UpdateOneTimeCode(ctx, id, set)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("record latest code: %w", err)
		}
		err = p.Store.CreateOneTimeCode(ctx, store.OneTimeCode{ID: id, Purpose: purposeLatest,
			Data: map[string]string{"flow": rec.ID}, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt})
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("record latest code: %w", err)
		}
	}
	return errors.New("record latest code: concurrent updates")
}

// isLatest tells whether rec is still the newest challenge for its purpose and destination.
func (p *Provider) isLatest(ctx context.Context, rec store.OneTimeCode) (bool, error) {
	l, err := p.Store.GetOneTimeCode(ctx, latestID(rec.Purpose, rec.Data["dest"]))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read latest code: %w", err)
	}
	return l.Data["flow"] == rec.ID, nil
}

// codeRequest is one code to create and maybe send.
type codeRequest struct {
	purpose, channel, dest string
	// subject is the user ID the code is for; "" for an unknown address (nothing is sent,
	// and the code can never succeed, but the flow looks the same).
	subject string
	kind    string
	vars    MessageVars
	data    map[string]string
	// notice, if set, is the kind of message sent instead of the code when subject is ""
	// (with vars, without a code): the address is told, but gets nothing to enter.
	notice string
}

// startCode creates a code challenge and sends it; it returns the flow secret, which goes in
// the browser's cookie: the code is only accepted together with it (CR-11).
func (p *Provider) startCode(ctx context.Context, req codeRequest, clientIP string) (string, error) {
	if err := p.throttleSend(ctx, req.dest, clientIP); err != nil {
		return "", err
	}
	flow, code, now := secret.Token(), newCode(), p.Now()
	data := map[string]string{"code": codeHash(flow, code), "dest": req.dest}
	for k, v := range req.data {
		data[k] = v
	}
	ttl := p.OTPTTL()
	rec := store.OneTimeCode{ID: secret.Hash(flow), Purpose: req.purpose, Subject: req.subject, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	if err := p.markLatest(ctx, req.purpose, req.dest, rec); err != nil {
		return "", err
	}
	kind, v := req.kind, req.vars
	switch {
	case req.subject != "":
		v.Code, v.ExpiresIn = code, ttl
	case req.notice != "":
		kind = req.notice
	default:
		return flow, nil
	}
	var err error
	if req.channel == channelSMS {
		err = p.Messenger.SendSMS(kind, req.dest, v)
	} else {
		err = p.Messenger.SendEmail(kind, req.dest, v)
	}
	if err != nil {
		// The answer stays the one an unknown address gets: a failure only for existing
		// accounts would tell which addresses have one (CR-06). The user asks again.
		p.Logger.Error("send message", "kind", kind, "channel", req.channel, "user", req.subject, "error", err)
	}
	return flow, nil
}

// checkCode verifies code for the flow started with flow secret, whose purpose must start
// with purposePrefix. Wrong codes are limited per code (5, then the code is gone), per
// account across codes and per client IP, reserved before the comparison so parallel
// guesses cannot exceed the limits (CR-09). A right code is consumed exactly once.
func (p *Provider) checkCode(ctx context.Context, purposePrefix, flow, code, clientIP string) (store.OneTimeCode, error) {
	if !validCode(code) {
		return store.OneTimeCode{}, &InputError{Field: "code", Message: "enter the 6-digit code from the message"}
	}
	if flow == "" || len(flow) > 128 {
		return store.OneTimeCode{}, ErrCodeExpired
	}
	id := secret.Hash(flow)
	rec, err := p.Store.GetOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrCodeExpired
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("read code: %w", err)
	}
	if !strings.HasPrefix(rec.Purpose, purposePrefix) || !p.Now().Before(rec.ExpiresAt) {
		return store.OneTimeCode{}, ErrCodeExpired
	}
	account := rec.Subject
	if account == "" || strings.HasPrefix(rec.Purpose, purposeSignup) {
		// A sign-up's subject is the ID of an account that does not exist yet, a new one
		// each time: its failures are counted per address, as those of a sign-up for an
		// address that has an account are, so that the limit cannot tell them apart.
		account = "dest:" + secret.Hash(rec.Data["dest"])
	}
	release, err := p.attempt(ctx, []string{"code:account:" + account, "code:ip:" + ipKey(clientIP)},
		[]int{codeFailures, p.IPMaxFailures})
	if err != nil {
		return store.OneTimeCode{}, err
	}
	ok := false
	defer func() { release(ok) }()
	rec, err = p.Store.UpdateOneTimeCode(ctx, id, func(c store.OneTimeCode) (store.OneTimeCode, error) {
		c.Attempts++
		return c, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrCodeExpired
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("count code attempt: %w", err)
	}
	if rec.Attempts > attemptsPerCode {
		_, _ = p.Store.ConsumeOneTimeCode(ctx, id)
		return store.OneTimeCode{}, ErrCodeAttempts
	}
	if !secret.Equal(codeHash(flow, code), rec.Data["code"]) || rec.Subject == "" {
		if rec.Attempts == attemptsPerCode {
			_, _ = p.Store.ConsumeOneTimeCode(ctx, id)
			return store.OneTimeCode{}, ErrCodeAttempts
		}
		return store.OneTimeCode{}, ErrCodeInvalid
	}
	latest, err := p.isLatest(ctx, rec)
	if err != nil {
		return store.OneTimeCode{}, err
	}
	if !latest {
		_, _ = p.Store.ConsumeOneTimeCode(ctx, id)
		return store.OneTimeCode{}, ErrCodeExpired
	}
	rec, err = p.Store.ConsumeOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrCodeExpired // a parallel request used it
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("use code: %w", err)
	}
	ok = true // release resets the account's failures and gives the IP's attempt back
	return rec, nil
}

// loginUser returns the account a code or link was for, refusing disabled accounts.
func (p *Provider) loginUser(ctx context.Context, id string) (store.User, error) {
	u, err := p.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrCodeExpired
	} else if err != nil {
		return store.User{}, fmt.Errorf("read user: %w", err)
	}
	if u.Disabled {
		return store.User{}, ErrUserDisabled
	}
	return u, nil
}

// claimAccount records that a login code or link proved control of email. When that makes
// the account's address verified for the first time, the account is claimed: whoever typed
// the address at signup may not have owned it (an attacker pre-registering a victim's address
// and waiting for the victim to log in by email, "account pre-hijacking"), so every way in
// set up before the proof stops working — the password, passkeys, linked upstream
// identities, a verified phone number, all sessions and every refresh token — and the
// address is told. The owner sets a new password or passkey from the session that follows.
// Nothing changes when the address was already verified.
func (p *Provider) claimAccount(ctx context.Context, u store.User, email string) (store.User, error) {
	if u.EmailVerified || u.Email != email {
		return u, nil
	}
	// Sessions end first, then the ways in go: a credential that a session adds meanwhile is
	// either removed below or, written after its session ended, rolled back by
	// keepIfSessionLive. If this fails half way, the address stays unverified and the next
	// login by code or link does it all again.
	if err := p.signOutEverywhere(ctx, u.ID, ""); err != nil {
		return store.User{}, fmt.Errorf("claim account: %w", err)
	}
	removed := false
	if _, err := p.Store.GetPassword(ctx, u.ID); err == nil {
		removed = true
		if err := p.Store.DeletePassword(ctx, u.ID); err != nil {
			return store.User{}, fmt.Errorf("claim account: delete password: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("claim account: read password: %w", err)
	}
	pks, err := p.Store.ListUserPasskeys(ctx, u.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("claim account: list passkeys: %w", err)
	}
	for _, pk := range pks {
		removed = true
		if err := p.Store.DeletePasskey(ctx, pk.ID); err != nil {
			return store.User{}, fmt.Errorf("claim account: delete passkey: %w", err)
		}
	}
	ids, err := p.Store.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("claim account: list identities: %w", err)
	}
	for _, id := range ids {
		removed = true
		if err := p.Store.DeleteIdentity(ctx, id.Provider, id.Subject); err != nil {
			return store.User{}, fmt.Errorf("claim account: unlink identity: %w", err)
		}
	}
	if u.PhoneNumberVerified {
		removed = true
	}
	nu, err := p.updateUser(ctx, u.ID, func(x store.User) (store.User, error) {
		if x.Email == email {
			x.EmailVerified, x.PhoneNumberVerified = true, false
		}
		return x, nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("claim account: %w", err)
	}
	if removed {
		p.Logger.Info("account claimed by its email address: earlier sign-in methods removed", "user", u.ID)
		p.notifyChange(email, "Your email address was confirmed for the first time. Sign-in methods set up before that "+
			"(password, passkeys, linked accounts, phone number) were removed and every device was signed out, "+
			"in case someone else created the account with your address. Set a new password or passkey on your account page.", nu.Language)
	}
	return nu, nil
}

// lookupEmail returns the enabled account of email, or ok=false.
func (p *Provider) lookupEmail(ctx context.Context, email string) (store.User, bool, error) {
	u, err := p.Store.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	} else if err != nil {
		return store.User{}, false, fmt.Errorf("read user: %w", err)
	}
	return u, !u.Disabled, nil
}

func (p *Provider) lookupPhone(ctx context.Context, phone string) (store.User, bool, error) {
	u, err := p.Store.GetUserByPhone(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	} else if err != nil {
		return store.User{}, false, fmt.Errorf("read user: %w", err)
	}
	return u, !u.Disabled, nil
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
	u, found, err := p.lookupEmail(ctx, email)
	if err != nil {
		return "", err
	}
	req := codeRequest{purpose: purposeCodeLogin + channelEmail, channel: channelEmail, dest: email,
		kind: MsgLoginCode, vars: MessageVars{Email: email, Language: lang}}
	if found {
		req.subject = u.ID
	}
	return p.startCode(ctx, req, clientIP)
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
	if !p.smsAllowed(phone) {
		return "", ErrPhoneNotAllowed
	}
	u, found, err := p.lookupPhone(ctx, phone)
	if err != nil {
		return "", err
	}
	req := codeRequest{purpose: purposeCodeLogin + channelSMS, channel: channelSMS, dest: phone,
		kind: MsgLoginCode, vars: MessageVars{Email: u.Email, Language: lang}}
	if found {
		req.subject = u.ID
	}
	return p.startCode(ctx, req, clientIP)
}

// FinishCodeLogin checks a login code (email or SMS) and returns the account and its amr.
func (p *Provider) FinishCodeLogin(ctx context.Context, flow, code, clientIP string) (store.User, []string, error) {
	rec, err := p.checkCode(ctx, purposeCodeLogin, flow, code, clientIP)
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
	u, err = p.claimAccount(ctx, u, rec.Data["dest"])
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
	if err := p.throttleSend(ctx, email, clientIP); err != nil {
		return "", err
	}
	nonce := secret.Token()
	u, found, err := p.lookupEmail(ctx, email)
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
	if err := p.markLatest(ctx, purposeLinkLogin, email, rec); err != nil {
		return "", err
	}
	if !found {
		return nonce, nil
	}
	// The token travels in the fragment: browsers never send it to a server, so it cannot
	// reach access logs or a Referer header (CR-15).
	link := p.Issuer + "/login/magic#" + token
	if err := p.Messenger.SendEmail(MsgMagicLink, email, MessageVars{Email: email, Link: link, ExpiresIn: ttl, Language: lang}); err != nil {
		// Same answer as for an unknown address (CR-07); see startCode.
		p.Logger.Error("send message", "kind", MsgMagicLink, "channel", channelEmail, "user", u.ID, "error", err)
	}
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
	if latest, err := p.isLatest(ctx, rec); err != nil {
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
	u, err = p.claimAccount(ctx, u, ml.Email)
	if err != nil {
		return store.User{}, ml, err
	}
	return u, ml, nil
}

// StartEmailVerification sends a code proving control of email (the account's address, or a
// new one it changes to) to the signed-in user u.
func (p *Provider) StartEmailVerification(ctx context.Context, u store.User, email, lang, clientIP string) (string, error) {
	if !p.CanEmail() {
		return "", ErrMethodDisabled
	}
	if email == "" {
		email = u.Email
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	// An address of another account gets its code too: refusing here would tell anyone
	// signed in which addresses have accounts. Only who reads the code learns, at Finish,
	// that the address is taken.
	return p.startCode(ctx, codeRequest{purpose: purposeVerify + channelEmail, channel: channelEmail, dest: email,
		subject: u.ID, kind: MsgVerifyEmail, vars: MessageVars{Email: email, Language: lang}}, clientIP)
}

// FinishEmailVerification checks the code and sets the verified address. The code must have
// been sent to this user (CR-11). The previous address, if any, is told of the change.
func (p *Provider) FinishEmailVerification(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error) {
	rec, err := p.checkCode(ctx, purposeVerify+channelEmail, flow, code, clientIP)
	if err != nil {
		return store.User{}, err
	}
	if rec.Subject != u.ID {
		return store.User{}, ErrCodeExpired
	}
	email, old := rec.Data["dest"], u.Email
	nu, err := p.updateUser(ctx, u.ID, func(x store.User) (store.User, error) {
		x.Email, x.EmailVerified = email, true
		return x, nil
	})
	if errors.Is(err, ErrEmailTaken) || errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrEmailTaken
	} else if err != nil {
		return store.User{}, err
	}
	if old != "" && old != email {
		p.notifyChange(old, "The email address of your account was changed to "+email+".", nu.Language)
	}
	return nu, nil
}

// StartPhoneVerification texts a code proving control of phone to the signed-in user u.
func (p *Provider) StartPhoneVerification(ctx context.Context, u store.User, phone, lang, clientIP string) (string, error) {
	if !p.CanSMS() {
		return "", ErrMethodDisabled
	}
	phone, err := NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	if !p.smsAllowed(phone) {
		return "", ErrPhoneNotAllowed
	}
	// As for email: a number verified by another account is refused only at Finish.
	return p.startCode(ctx, codeRequest{purpose: purposeVerify + channelSMS, channel: channelSMS, dest: phone,
		subject: u.ID, kind: MsgVerifyPhone, vars: MessageVars{Email: u.Email, Language: lang}}, clientIP)
}

// FinishPhoneVerification checks the code and sets the user's verified phone number.
func (p *Provider) FinishPhoneVerification(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error) {
	rec, err := p.checkCode(ctx, purposeVerify+channelSMS, flow, code, clientIP)
	if err != nil {
		return store.User{}, err
	}
	if rec.Subject != u.ID {
		return store.User{}, ErrCodeExpired
	}
	phone, old := rec.Data["dest"], u.PhoneNumber
	nu, err := p.updateUser(ctx, u.ID, func(x store.User) (store.User, error) {
		x.PhoneNumber, x.PhoneNumberVerified = phone, true
		return x, nil
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrPhoneTaken
	} else if err != nil {
		return store.User{}, err
	}
	if nu.Email != "" && old != phone {
		p.notifyChange(nu.Email, "The phone number of your account was changed to "+phone+".", nu.Language)
	}
	return nu, nil
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
		u, found, err := p.lookupEmail(ctx, email)
		if err != nil {
			return "", err
		}
		req := codeRequest{purpose: purposeRecover + channelEmail, channel: channelEmail, dest: email,
			kind: MsgRecovery, vars: MessageVars{Email: email, Language: lang}}
		if found {
			req.subject = u.ID
		}
		return p.startCode(ctx, req, clientIP)
	}
	if !p.CanSMS() {
		return "", &InputError{Field: "identifier", Message: "enter the email address of your account"}
	}
	phone, err := NormalizePhone(identifier)
	if err != nil {
		return "", err
	}
	if !p.smsAllowed(phone) {
		return "", ErrPhoneNotAllowed
	}
	u, found, err := p.lookupPhone(ctx, phone)
	if err != nil {
		return "", err
	}
	req := codeRequest{purpose: purposeRecover + channelSMS, channel: channelSMS, dest: phone,
		kind: MsgRecovery, vars: MessageVars{Email: u.Email, Language: lang}}
	if found {
		req.subject = u.ID
	}
	return p.startCode(ctx, req, clientIP)
}

// FinishRecovery checks a recovery code, then ends every session of the account, revokes
// all its refresh tokens and the access tokens of its sessions (CR-31) and removes its
// password (it may be what leaked) before the caller starts a new session, in which
// the user sets a new password or adds a passkey. It returns the account and the amr of the
// proof.
func (p *Provider) FinishRecovery(ctx context.Context, flow, code, clientIP string) (store.User, []string, error) {
	rec, err := p.checkCode(ctx, purposeRecover, flow, code, clientIP)
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
		if u, err = p.claimAccount(ctx, u, rec.Data["dest"]); err != nil {
			return store.User{}, nil, err
		}
	}
	// A recovery code asked for on the other channel before this one was used must not
	// reopen the account after it.
	if err := p.revokeRecoveryCodes(ctx, u); err != nil {
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
		p.notifyChange(u.Email, "Your account was recovered: every device was signed out. If this wasn't you, recover your account again and contact your administrator.", u.Language)
	}
	return u, amr, nil
}

// ChangePassword sets (or, for a passkey-only account, adds) the password of the session's
// user and ends the user's other sessions. It needs a login from the last 10 minutes
// (CR-19): a recovery session is fresh.
func (p *Provider) ChangePassword(ctx context.Context, s store.Session, pw string) error {
	if !p.fresh(s) {
		return ErrReauthenticate
	}
	if err := password.Check(pw); err != nil {
		return &InputError{Field: "password", Message: err.Error()}
	}
	u, err := p.GetUser(ctx, s.UserID)
	if err != nil {
		return err
	}
	hash, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := p.Store.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: hash, UpdatedAt: p.Now()}); err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	// Undone by deleting, not by restoring the previous hash: in the race that matters the
	// previous password is the one a claim just removed. A session that ended for another
	// reason meanwhile leaves the account without a password; recovery sets one.
	if err := p.keepIfSessionLive(ctx, s.ID, func() error { return p.Store.DeletePassword(ctx, u.ID) }); err != nil {
		return err
	}
	// A recovery code asked for before the change no longer works (CR-31).
	if err := p.revokeRecoveryCodes(ctx, u); err != nil {
		return err
	}
	// Every other session ends with its tokens, and every refresh token of the user is
	// revoked (offline ones outlive their session); this browser session stays.
	if err := p.signOutEverywhere(ctx, u.ID, s.ID); err != nil {
		return err
	}
	if u.Email != "" {
		p.notifyChange(u.Email, "The password of your account was changed, and every other device was signed out.", u.Language)
	}
	return nil
}

// revokeRecoveryCodes makes the pending recovery codes of u's address and phone number stop
// working (CR-31): the "latest" pointer of each moves to a challenge that does not exist, so
// a code asked for before a password change or before another recovery finished is refused
// as superseded. The pointer outlives every code that could be pending.
func (p *Provider) revokeRecoveryCodes(ctx context.Context, u store.User) error {
	now := p.Now()
	none := store.OneTimeCode{ID: "", CreatedAt: now, ExpiresAt: now.Add(maxCodeTTL)}
	for _, c := range []struct{ purpose, dest string }{
		{purposeRecover + channelEmail, u.Email}, {purposeRecover + channelSMS, u.PhoneNumber}} {
		if c.dest == "" {
			continue
		}
		if err := p.markLatest(ctx, c.purpose, c.dest, none); err != nil {
			return fmt.Errorf("revoke recovery codes: %w", err)
		}
	}
	return nil
}

// notifyChange tells an address about a security-relevant change, when email can be sent.
func (p *Provider) notifyChange(email, notice, lang string) {
	if !p.CanEmail() {
		return
	}
	if err := p.Messenger.SendEmail(MsgAccountChanged, email, MessageVars{Email: email, Notice: notice, Language: lang}); err != nil {
		p.Logger.Warn("send account notice", "error", err)
	}
}

func (p *Provider) keepIfSessionLive(ctx context.Context, sessionID string, undo func() error) error {
	return p.Sessions.KeepIfLive(ctx, sessionID, undo)
}

func (p *Provider) signOutEverywhere(ctx context.Context, userID, keep string) error {
	return p.Sessions.SignOutEverywhere(ctx, userID, keep)
}
