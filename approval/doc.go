// Package approval is transaction approval ("transaction signing"): an OIDC client pushes a
// transaction (the seed's approval_data: type, amount, currency, payee, payment method) in a
// pushed authorization request (RFC 9126); the user sees exactly those values on a hosted
// page and approves them with a passkey, or, where allowed, with an email or SMS code; the
// authorization code, and the ID token's approval_data claim, then carry the transaction
// exactly as approved, and amr says how it was approved.
//
// What it owns:
//
//   - Transaction, Parse (the approval_data parameter: a JSON object of strings, known
//     fields only, each bounded; amount a decimal string, currency an ISO 4217 code),
//     Canonical (the one encoding that is shown, hashed and released) and Hash (its SHA-256).
//
//   - Challenge: the WebAuthn challenge of an approval, a fresh server nonce followed by the
//     transaction's hash, so that an assertion answers one transaction only: the ceremony's
//     stored challenge must equal what the browser signed (go-webauthn), and its hash part
//     must be the hash of the transaction being approved (Approver.Finish).
//
//   - Approver, the pieces a hosted page or the journey engine's approve step calls:
//
//     Begin(ctx, tx, user, bind) → *passkey.Ceremony: the options for navigator.credentials.get
//     and the ceremony secret for the browser's cookie. bind ties the ceremony to the flow
//     it approves (the request_uri, or a journey's ID).
//
//     Finish(ctx, tx, user, bind, secret, response) → amr ("webauthn"): verifies the
//     assertion for exactly tx; an assertion made for another transaction, another flow,
//     another user or a used/expired ceremony is refused.
//
//     SendCode(ctx, tx, user, channel, lang, clientIP) → flow secret; CheckCode(ctx, tx,
//     user, bind, flow, code, clientIP) → amr ("eotp" or "sms"): the code path, reusing the
//     one-time codes of package login/otp (rate limits, attempts, single use).
//
// What it delegates: WebAuthn to login/passkey (BeginApproval/FinishApproval, the only
// go-webauthn user), codes to login/otp, the request_uri to package oauth, the pages and
// their routes to handlers/oidc (approve.go).
package approval
