// Package issue builds and signs the tokens Gatehouse issues: the RFC 9068 access token of
// a grant (or of a client acting for itself), the OpenID Connect ID token with the user
// claims its scopes and claims request release, the back-channel logout token — and the
// user claims the userinfo endpoint returns. It sits beside package tokens, which signs and
// verifies JWTs; the keys are package keys'.
//
// What a grant is — which client, user, session, scopes and audience, and whether it may be
// issued at all — is package oauth's; the refresh tokens it keeps in the store too. An
// Issuer only turns a Grant into signed tokens.
package issue
