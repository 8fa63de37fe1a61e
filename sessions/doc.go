// Package sessions keeps the portal's login sessions and the rules about them, written once:
//
//   - a session starts after a login (Manager.Start: the secret for the browser's cookie,
//     the hash in the store, the acr the login's amr meets), is read back with its user on
//     every request (Get: expired, revoked and disabled fail alike, the idle expiry pushed
//     back at most once a minute), and ends by logout, by revocation of its user, or by a
//     sign-out everywhere;
//   - every revocation is written both to the store and to the in-memory
//     tokens.RevocationList, so that locally verified access tokens stop working at once
//     on this instance and within the sync interval on the others (Revoke, RevokeGrant);
//   - the fresh-login rule: sensitive changes need a login from the last FreshLogin (CR-19;
//     Fresh), and a way into an account added by a session that ended meanwhile is undone
//     (KeepIfLive).
//
// Second factors and step-up (whether a login needs one, the pending login waiting for it)
// are package mfa's; the session cookie's encoding is package session's; back-channel
// logout notifications are sent by package oauth through the LogoutNotifier.
package sessions
