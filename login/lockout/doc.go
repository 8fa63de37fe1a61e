// Package lockout limits failed credential attempts: per account and per client IP for
// passwords and one-time codes, per OAuth client and client IP for client secrets. A
// Limiter reserves an attempt in memory before the credential is checked, so that parallel
// guesses cannot exceed the limits (CR-03, CR-09); only a failure is written to the store,
// durably, before the caller answers, so an honest attempt costs no write at all. Over a
// limit the caller gets a *LockedError, which says nothing about whether the account exists.
// On a store shared by several instances (Limiter.Shared: PostgreSQL) passwords and codes
// reserve the attempt in the store instead — the counter is raised before the check — so
// that a burst spread over the instances is bounded by the limit, not by the limit times
// the number of instances.
//
// The counters themselves (store.Counters) and the keys' meaning belong to the callers:
// login/password, login/otp and oauth name their counters; IPKey turns a client IP into the
// key every per-IP limit of Gatehouse uses.
package lockout
