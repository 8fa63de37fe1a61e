// Package recovery is account recovery by a code sent to the account's email address or
// verified phone number (amr eotp or sms, per channel). Begin sends the code — the answer
// is the same whether the account exists (CR-06) — and Finish checks it, then ends every
// session of the account, revokes its refresh tokens and the access tokens of its sessions
// (CR-31), makes pending recovery codes of the other channel stop working, and removes the
// password (it may be what leaked), before the caller starts the new session in which the
// user sets a new password or adds a passkey.
//
// Code machinery: login/otp; the account, its claim and its recovery codes: package
// account; sessions and revocations: package sessions.
package recovery
