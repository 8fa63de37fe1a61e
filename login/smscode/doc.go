// Package smscode is login by a 6-digit code texted to the account's verified phone number
// (amr sms). Begin sends the code — or, for a number no account has verified, does the same
// work and sends nothing (CR-06) — and returns the flow secret for the browser's cookie;
// Finish checks the code (login/otp) and returns the account, provided the number is still
// its verified one.
//
// The portal's verify step accepts a code of either channel: otp.LoginCodes dispatches to
// Complete here or in login/emailcode.
package smscode
