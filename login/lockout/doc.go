// Package lockout limits failed credential attempts: per account and per client IP for
// passwords and one-time codes, per OAuth client and client IP for client secrets. A
// Limiter reserves an attempt in memory before the credential is checked, so that parallel
// guesses cannot exceed the limits (CR-03, CR-09); only a failure is written to the store,
// durably, before the caller answers, so an honest attempt costs no write at all. Over a
// limit the caller gets a *LockedError, which says nothing about whether the account exists.
//
// The counters themselves (store.Counters) and the keys' meaning belong to the callers:
// login/password, login/otp and oauth name their counters; IPKey turns a client IP into the
// key every per-IP limit of Gatehouse uses.
package lockout
