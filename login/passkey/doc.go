// Package passkey is login, sign-up and second factor by passkey (WebAuthn, amr webauthn),
// and the management of a user's passkeys. It is Gatehouse's only importer of go-webauthn
// besides tests.
//
// Every ceremony has the same two steps: a Begin that stores the challenge as a one-time
// record, valid five minutes and answerable once, from the browser holding its secret
// (CR-22), and returns the options for navigator.credentials; and a Finish that verifies the
// browser's answer — bounded in size and parsed by go-webauthn, with Gatehouse's own check
// of a new credential's key (CR-27), user verification required, a credential bound to the
// user its handle names (CR-26), a signature counter that never goes back (CR-25):
//
//   - BeginLogin / FinishLogin: a login (usernameless, or for an email address with
//     decoy credentials for unknown ones, CR-08);
//   - BeginSignup / FinishSignup, or FinishSignupByCode for the sign-up that proves its
//     address first (package account owns sign-up; StoreSignupPasskey is its hook);
//   - BeginRegistration / FinishRegistration: adding a passkey to a session's account,
//     with a fresh login (CR-19), rolled back if the session ended meanwhile;
//   - BeginSecondFactor / FinishSecondFactor: the second factor after a password or code,
//     and the step-up of a session (package mfa keeps the pending login meanwhile).
//
// List, Rename and Delete manage a user's passkeys; the last way into an account cannot be
// deleted. The passkey claims of ID tokens (webauthn, webauthn_username) are built by
// tokens/issue from the stored records.
package passkey
