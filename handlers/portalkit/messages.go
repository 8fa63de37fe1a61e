package portalkit

import (
	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/magiclink"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	pwlogin "github.com/gatehouse-dev/gatehouse/login/password"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/login/totp"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// ErrorMessages are the sentences the pages and the JSON API show for the identity core's
// errors (Capitalize(err.Error())+"."), marked for the catalogs: Page, Fail and the API
// errors translate them where they are shown. TestErrorMessagesMatch keeps them in step
// with the errors' texts.
var ErrorMessages = map[error]string{
	pwlogin.ErrInvalidCredentials:    i18n.N("The email or password is incorrect."),
	account.ErrUserDisabled:          i18n.N("This account is disabled."),
	account.ErrEmailTaken:            i18n.N("An account with this email already exists; log in instead."),
	account.ErrSignupClosed:          i18n.N("Sign-up is closed; ask an administrator for an account."),
	account.ErrInviteRequired:        i18n.N("Sign-up is by invitation only; use the link from your invitation."),
	account.ErrInviteInvalid:         i18n.N("This invitation is invalid, expired or already used."),
	otp.ErrCodeInvalid:               i18n.N("The code is incorrect; check the latest message and try again."),
	otp.ErrCodeExpired:               i18n.N("This code expired, was used, or a newer one was sent; request a new code."),
	otp.ErrCodeAttempts:              i18n.N("Too many wrong codes; request a new code."),
	magiclink.ErrLinkExpired:         i18n.N("This login link expired or was already used; request a new one."),
	otp.ErrMethodDisabled:            i18n.N("This login method is not enabled on this server."),
	account.ErrPhoneTaken:            i18n.N("This phone number is verified by another account."),
	otp.ErrPhoneNotAllowed:           i18n.N("Text messages cannot be sent to this number."),
	sessions.ErrReauthenticate:       i18n.N("Log in again to change your passkeys (sensitive changes need a login from the last 10 minutes)."),
	passkey.ErrPasskeyFailed:         i18n.N("The passkey could not be verified; try again."),
	passkey.ErrClonedAuthenticator:   i18n.N("This passkey's signature counter went backwards, which happens when a passkey was copied; it was refused."),
	passkey.ErrPasskeyMalformed:      i18n.N("The passkey response is malformed or its key is not supported."),
	passkey.ErrCeremonyExpired:       i18n.N("This passkey request expired or was already used; start again."),
	passkey.ErrPasskeysDisabled:      i18n.N("Passkeys are not available on this server; log in with your password."),
	passkey.ErrLastCredential:        i18n.N("This is your only way to log in: add another passkey or a password first."),
	passkey.ErrNoPasskey:             i18n.N("This account has no passkey."),
	social.ErrUnknown:                i18n.N("This login provider is not configured."),
	social.ErrState:                  i18n.N("This login attempt expired or was started in another browser; start again."),
	social.ErrDenied:                 i18n.N("The login was cancelled at the provider; start again if you want to log in."),
	social.ErrNoAccount:              i18n.N("There is no account for this identity, and accounts are not created automatically; ask an administrator."),
	social.ErrNotAllowed:             i18n.N("This identity is not allowed to log in here (its email domain or groups are not on the list)."),
	social.ErrNoEmail:                i18n.N("The provider did not confirm an email address for this identity; verify one there and try again."),
	social.ErrLinkedOther:            i18n.N("This identity is already linked to another account."),
	totp.ErrInvalidCode:              i18n.N("That code is wrong or expired: enter the 6-digit code your authenticator app shows now."),
	totp.ErrCodeUsed:                 i18n.N("That code was already used: wait for the next code in your authenticator app."),
	totp.ErrNotEnrolled:              i18n.N("No authenticator app is set up for this account."),
	totp.ErrAlreadyEnrolled:          i18n.N("An authenticator app is already set up: remove it first to set up another."),
	totp.ErrEnrolmentExpired:         i18n.N("The setup expired: start again and scan the new QR code."),
	recoverycode.ErrInvalidCode:      i18n.N("That recovery code is wrong or already used: each code works once."),
	recoverycode.ErrNoSecondFactor:   i18n.N("Set up a passkey or an authenticator app first; recovery codes stand in for them."),
	appcred.ErrReauthenticate:        i18n.N("Log in again to create an app password or access token (it needs a login from the last 10 minutes)."),
	appcred.ErrSecondFactorRequired:  i18n.N("Confirm your login with a second factor first (at /login/mfa, or set one up on your account page): app passwords and access tokens now need it."),
	settings.ErrSecondFactorRequired: i18n.N("This way of logging in needs a second factor, and this account has none; log in with a passkey, or ask an administrator."),
	social.ErrLastMethod:             i18n.N("This is your only way to log in: add a password or a passkey before unlinking it."),
}

// inputMessages are the form-field messages of account/input that the sign-up, login and
// account forms show as they are.
var inputMessages = []string{
	i18n.N("enter your email address"),
	i18n.N("enter a valid email address"),
	i18n.N("enter a valid email address such as name@example.com"),
	i18n.N("enter the number with digits only, starting with + and the country code (+14155550100)"),
	i18n.N("enter the number in international form, starting with + and the country code (+14155550100)"),
	i18n.N("use at most 100 characters, no control characters"),
}
