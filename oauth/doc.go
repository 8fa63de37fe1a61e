// Package oauth is the OAuth 2.0 / OpenID Connect domain of the provider: clients and their
// authentication (with failed attempts limited, CR-04), authorization requests and codes
// (PKCE, exact redirect URIs, acr), the grants — authorization code, refresh token with
// rotation and reuse detection, client credentials — token revocation and introspection,
// userinfo, back-channel logout notifications, and pushed authorization requests (RFC 9126,
// par.go: Push, OpenPushed, ClosePushed; a request carrying an approved transaction gets its
// code from IssueApprovalCode only). Its operations return typed errors
// (*Error: a Kind, a description for the client and, for internal failures, the wrapped
// cause); the OAuth error codes and HTTP statuses they become are handlers/oidc's
// (errors.go). The only HTTP here is the outbound back-channel logout client.
//
// It delegates the signing of tokens and the user claims to tokens/issue, revocations and
// sessions to package sessions, and the limiter to login/lockout. Request parsing for the
// endpoints and the HTTP side are handlers/oidc's; the in-process client of
// gatehouse_protect uses ExchangeCode and RefreshGrant directly.
package oauth
