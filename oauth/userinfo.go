package oauth

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// UserInfo returns the claims of the user an access token was issued to (OIDC Core §5.3).
func (p *Server) UserInfo(ctx context.Context, ac *tokens.AccessClaims) (map[string]any, *Error) {
	scopes := ac.Scopes()
	if !hasString(scopes, "openid") {
		return nil, &Error{Kind: InsufficientScope, Description: "the access token lacks the openid scope"}
	}
	u, err := p.Store.GetUser(ctx, ac.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: InvalidToken, Description: "the user no longer exists"}
	} else if err != nil {
		return nil, p.serverError("userinfo: read user", err)
	}
	if u.Disabled {
		return nil, &Error{Kind: InvalidToken, Description: "the user is disabled"}
	}
	client, err := p.Client(ctx, ac.ClientID)
	if err != nil {
		client = &Client{ID: ac.ClientID}
	}
	var requested map[string]*issue.ClaimSpec
	if ac.UserinfoClaims != "" {
		if cr := issue.DecodeClaimsRequest(ac.UserinfoClaims); cr != nil {
			requested = cr.Userinfo
		}
	}
	claims, err := p.Tokens.Claims(ctx, u, client.forTokens(), scopes, requested)
	if err != nil {
		return nil, p.serverError("userinfo: claims", err)
	}
	return claims, nil
}
