package oidc

import (
	"context"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// grantCode redeems an authorization code (RFC 6749 §4.1.3: code, redirect_uri; RFC 7636
// §4.5: code_verifier) for the authenticated client.
func (h *Handler) grantCode(ctx context.Context, c *oauth.Client, f url.Values) (*oauth.TokenResponse, *oauth.Error) {
	return h.OAuth.ExchangeCode(ctx, c, oauth.CodeGrant{Code: f.Get("code"), RedirectURI: f.Get("redirect_uri"), Verifier: f.Get("code_verifier")})
}
