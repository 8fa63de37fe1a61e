// Package detach gives store writes that must complete once begun a context of their own:
// the request's values without its cancellation, bounded by Timeout. An attempt counted is
// also settled (login/lockout), a revocation started is finished (sessions, oauth): without
// it, a client closing its connection at the right moment would leave a counter incremented
// for a success, or a replayed grant half revoked.
package detach
