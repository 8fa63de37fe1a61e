// Package input checks and normalises what users and administrators type — email
// addresses, phone numbers, names, group names, free text, custom data — and defines Error,
// the user-facing validation error naming the field, which every account operation and
// login step returns for bad input (the handlers answer it 400 invalid_input).
//
// It is the leaf of the identity core: it imports no other Gatehouse package, so that the
// one-time code machinery (login/otp), the accounts (package account) and the OAuth domain
// (package oauth) can all use it.
package input
