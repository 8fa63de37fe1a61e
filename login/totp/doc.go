// Package totp is the authenticator app as a second factor (TOTP, RFC 6238): enrolment
// (a new shared secret shown once as a QR code and a grouped base32 key, active only after
// a first valid code), verification and removal.
//
// Codes are the authenticator apps' defaults: HMAC-SHA-1, 30-second steps from the Unix
// epoch, 6 digits (RFC 6238 §4, RFC 4226 §5.3). A code of the previous, current or next
// step is accepted (RFC 6238 §5.2, one step of clock drift either way), each at most once:
// the last accepted step is stored with the secret and a code of that step or an earlier
// one is refused, through a compare-and-swap update, so two instances cannot both accept
// the same code (§5.2: "the verifier MUST NOT accept the second attempt of the same OTP").
// Wrong and replayed codes count against the account's second-factor limit
// (login/lockout, shared by every instance through the store's counters), which it shares
// with recovery codes (login/recoverycode).
//
// The server must read the secret back to compute codes, so it cannot be hashed: it is
// sealed with AES-256-GCM under a key derived from the key ring's shared secret (label
// "totp-secret-v1", the pattern of the protect session cookie), with the user ID as
// additional data, so a copy of the database alone yields no usable secret and a sealed
// secret moved to another user does not open.
package totp
