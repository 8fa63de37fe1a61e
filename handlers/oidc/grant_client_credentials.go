package oidc

import (
	"context"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// grantClientCredentials issues a token to the authenticated client acting for itself
// (RFC 6749 §4.4.2: scope; RFC 8707 §2: resource, repeatable).
func (h *Handler) grantClientCredentials(ctx context.Context, c *oauth.Client, f url.Values) (*oauth.TokenResponse, *oauth.Error) {
	return h.OAuth.ClientCredentialsGrant(ctx, c, oauth.ClientCredentialsRequest{Scopes: strings.Fields(f.Get("scope")), Resources: f["resource"]})
}
