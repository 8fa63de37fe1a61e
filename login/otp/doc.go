// Package otp is the one-time code machinery shared by the code and link methods (login/
// emailcode, login/smscode, login/magiclink, login/recovery), by address verification and
// by the sign-up that proves its address first (package account):
//
//   - Codes.Start creates a 6-digit code bound to a flow secret (the browser's cookie: the
//     code works only with it, CR-11), stores only a hash of both, marks it the latest for
//     its purpose and destination (older ones stop working, CR-10) and hands the message to
//     the Messenger — or, for an address without an account, sends nothing (or a notice)
//     while doing the same store work, so that the answer reveals nothing (CR-06, CR-07);
//   - Codes.Check accepts a code once, before it expires, for the latest challenge only,
//     with wrong codes limited per code, per account and per client IP (CR-09);
//   - Codes.CreateLatest (behind Start and magic links) counts each code or link requested
//     against the limits per address and per client IP in the write that stores it, and
//     stores nothing else over a limit (CR-12);
//   - the channels: which methods are enabled, whether email and SMS can be sent, the
//     numbers SMS may go to, and the notices of security-relevant changes (Notify).
//
// What a code proves, and what happens after it checked out, is each method's (a
// Completer); LoginCodes finishes a login code of either channel for the portal's one
// "enter your code" step, handing the record to login/emailcode or login/smscode.
package otp
