// Package recoverycode is the last-resort second factor: ten single-use recovery codes,
// made when a user sets up a second factor (or asks for a new set, which replaces the old
// one), shown once, and usable in place of the passkey or authenticator app.
//
// A code is 16 characters of an unambiguous alphabet (about 79 random bits, crypto/rand),
// shown as xxxx-xxxx-xxxx-xxxx; dashes, spaces and case are ignored when one is entered.
// Only the SHA-256 of each code is stored: the codes are random and high-entropy (2^79
// guesses per code offline), so a slow password hash would add nothing but cost, as for
// refresh tokens. A code is used up by removing its hash in a compare-and-swap update, so
// of two concurrent uses exactly one succeeds. Wrong codes count against the account's
// second-factor limit, shared with authenticator codes (login/lockout).
//
// A login by recovery code proves amr "mfa" but not "otp" (nor "webauthn"): the login had a
// second factor, and its kind says it was not the authenticator app.
package recoverycode
