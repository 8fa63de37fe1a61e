// Package password is login by email address and password (amr pwd). Its one step, Login,
// checks the pair under the failed-attempt limits of login/lockout (per account and per
// client IP, CR-03); an unknown address costs the same time as a wrong password and gets
// the same error. A hash made with older parameters is upgraded at the next successful
// login.
//
// Setting and changing passwords are account operations (package account); hashing is
// package password at the repository's root (argon2id), imported here as pwhash. A user
// with a passkey must complete a password login with it (package mfa).
package password
