// Package mfa holds the second-factor and step-up rules of a login, written once:
//
//   - NeedsSecondFactor: once a user has a passkey or an authenticator app, a first factor
//     that is not a passkey (a password, an email or SMS code, a magic link, a social
//     login) no longer logs them in alone; Factors says which second factors they have;
//   - the pending login: between the first factor and the second no session exists
//     (CR-18); StartPending records the first factor and its amr for the browser's MFA
//     cookie, PendingUser reads it back for the second-factor page, CompletePending
//     consumes it once the passkey checked out;
//   - CanAddPasskey: whether the step-up page may offer to add a passkey right there;
//   - StepUpRequired: whether a single-factor session or token must be stepped up because
//     the runtime settings now require a second factor after one of its methods (Required).
//
// The second factor itself is a passkey ceremony (login/passkey BeginSecondFactor /
// FinishSecondFactor), an authenticator code (login/totp) or a recovery code
// (login/recoverycode); the fresh-login rule is package sessions'; what a session meets
// (acr from amr) is package login's.
package mfa
