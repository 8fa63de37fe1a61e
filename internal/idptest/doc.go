// Package idptest builds a whole identity provider for the unit tests of the identity core
// (account, sessions, mfa, login/*, oauth, tokens/issue): an idp.Provider composed as
// module/app.go composes it, on an in-memory Badger store with a settable clock, three
// OAuth clients and one user, plus a messenger that records what would have been sent.
//
// A test reaches the pieces through Env.P (Env.P.Accounts, Env.P.Password, Env.P.OAuth …)
// and the raw store through Env.Store; Env.Swap puts a wrapper in front of the store every
// piece uses (to inject faults or races).
package idptest
