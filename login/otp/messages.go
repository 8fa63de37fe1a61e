package otp

import "time"

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
	// MsgApprovalCode carries a code that approves one transaction (package approval),
	// naming its amount and payee, so that the user approves what they read.
	MsgApprovalCode = "approval_code"
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
	// Amount ("125.50 EUR") and Payee are the transaction an approval code approves.
	Amount, Payee string
}

// Notify tells an address about a security-relevant change, when email can be sent.
func (c *Codes) Notify(email, notice, lang string) {
	if !c.CanEmail() {
		return
	}
	if err := c.Messenger.SendEmail(MsgAccountChanged, email, MessageVars{Email: email, Notice: notice, Language: lang}); err != nil {
		c.logger().Warn("send account notice", "error", err)
	}
}

// SendEmail hands a message to the Messenger; a failure is logged, never returned: the
// answer must stay the one an address without an account gets (CR-06, CR-07).
func (c *Codes) SendEmail(kind, to, userID string, v MessageVars) {
	if err := c.Messenger.SendEmail(kind, to, v); err != nil {
		c.logger().Error("send message", "kind", kind, "channel", ChannelEmail, "user", userID, "error", err)
	}
}
