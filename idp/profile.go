package idp

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ProfilePatch changes the fields of a user that are not nil (account.ProfilePatch).
type ProfilePatch = account.ProfilePatch

// UpdateProfile applies a profile patch to a user.
func (p *Provider) UpdateProfile(ctx context.Context, userID string, pp ProfilePatch) (store.User, error) {
	return p.Accounts.UpdateProfile(ctx, userID, pp)
}

// SetCustomAppData stores the custom_app_data of one client for a user (null removes it).
func (p *Provider) SetCustomAppData(ctx context.Context, userID, clientID string, data json.RawMessage) (store.User, error) {
	return p.Accounts.SetCustomAppData(ctx, userID, clientID, data)
}

// SetGroupData stores a group's custom data (claim custom_group_data).
func (p *Provider) SetGroupData(ctx context.Context, name string, data json.RawMessage) (store.Group, error) {
	return p.Accounts.SetGroupData(ctx, name, data)
}
