// Package login is the shape every login method shares, and the vocabulary of what a login
// proves. Each method lives in its own package below this one — password, emailcode,
// smscode, magiclink, recovery, passkey, social — and exposes the same small shape: a step
// that begins the login where it needs one (send a code, start a ceremony, go to the
// provider), a step that finishes it and returns a Result, and what a login with it proves
// (its amr values, OpenID Connect Core §2 and RFC 8176). Hosted pages, the JSON API and a
// journey engine compose these steps; none of them re-implements a method.
//
// Shared machinery sits beside the methods: login/lockout limits failed attempts (accounts,
// client IPs, OAuth clients), login/otp is the one-time code machinery of the email, SMS,
// magic-link and recovery methods and of address verification. What happens after a first
// factor — a second factor, a session — is package mfa's and package sessions'.
package login
