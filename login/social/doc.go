// Package social is login through an upstream identity provider — "Log in with Google,
// Microsoft, GitLab, Apple, GitHub" or any OpenID provider (amr social) — and the linking
// of upstream identities to accounts.
//
// Begin stores the login's state (bound to the browser's cookie: login CSRF), a nonce and a
// PKCE verifier for up to 10 minutes, counted against the client IP's limit of unfinished
// logins (Limits), and returns where to send the browser. Finish takes the callback: the
// state once, the RFC 9207 iss, then the upstream's answer redeemed and verified; a known
// identity logs in, a new one is onboarded (when the provider allows it) or must be linked
// from the account it belongs to (an existing verified address is never joined by itself:
// pre-account takeover). A provider trusted for email_verified (TrustEmailVerified) proves
// the address as a login code would: it verifies a linked account's matching address and
// claims an account whose matching address nobody proved (address.go). BeginLink / Finish link an identity to a signed-in account (a
// fresh login, CR-19); Unlink removes one unless it is the last way in.
//
// The exchange with the provider — discovery, tokens, ID token verification, userinfo,
// GitHub's API, the classification of failures — is package upstream's; accounts are
// package account's; refused answers are logged here as event social_login_refused.
package social
