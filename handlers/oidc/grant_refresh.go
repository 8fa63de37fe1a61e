package oidc

import (
	"context"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// grantRefresh exchanges a refresh token (RFC 6749 §6: refresh_token, scope) for the
// authenticated client. Without a scope parameter (or an empty one) the granted scopes
// stay; a scope of only spaces asks for none (RFC 6749 §3.3: a space-delimited list).
func (h *Handler) grantRefresh(ctx context.Context, c *oauth.Client, f url.Values) (*oauth.TokenResponse, *oauth.Error) {
	in := oauth.RefreshRequest{Token: f.Get("refresh_token")}
	if s := f.Get("scope"); s != "" {
		in.Scopes = strings.Fields(s)
	}
	return h.OAuth.RefreshGrant(ctx, c, in)
}
