// Package upstream is Gatehouse's client of upstream identity providers: the outbound half
// of social login. A Client, configured with one provider's settings, an http.Client, a
// clock and a logger, builds the authorization request (state, nonce and PKCE S256 chosen by
// the caller), checks the callback's iss parameter (RFC 9207), redeems the code and verifies
// what the provider asserts — an OpenID Connect ID token (with userinfo where the token
// leaves something out) or GitHub's REST user API — and returns it as an Identity.
//
// It owns: discovery (single flight, back-off while a provider is down), the token exchange
// and the choice of client authentication, ID token verification (keys fetched and probed,
// nonce, azp, multi-tenant issuers), the Sign in with Apple client secret, the limits on
// what an upstream may make Gatehouse fetch (https only, bounded bodies, same-host
// redirects), and the classification of failures into refused answers and outages
// (errors.go).
//
// It needs no identity-provider object and no store: what a login through a provider means
// for Gatehouse's accounts — state records, limits per client IP, linking, onboarding,
// groups — is package login/social's.
package upstream
