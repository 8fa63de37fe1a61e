package oidc

import (
	"context"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// grantRefresh exchanges a refresh token (RFC 6749 §6: refresh_token, scope) for the
// authenticated client.
func (h *Handler) grantRefresh(ctx context.Context, c *oauth.Client, f url.Values) (*oauth.TokenResponse, *oauth.Error) {
	return h.OAuth.RefreshGrant(ctx, c, f.Get("refresh_token"), f.Get("scope"))
}
