// Package emailcode is login by a 6-digit code sent to the account's email address (amr
// eotp). Begin sends the code — or, for an address without an account, does the same work
// and sends nothing (CR-06) — and returns the flow secret for the browser's cookie; Finish
// checks the code (login/otp: bound to the flow, limited, single use, latest only) and
// returns the account. A code proves control of the address, so the first such login of an
// account whose address was never verified claims it (account.Accounts.Claim).
//
// The portal's verify step accepts a code of either channel: otp.LoginCodes dispatches to
// Complete here or in login/smscode.
package emailcode
