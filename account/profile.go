package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ProfilePatch changes the fields of a user that are not nil (an administrator's or an app's
// action through the admin API). Every field is validated; nothing is written if one is
// invalid.
type ProfilePatch struct {
	Email                 *string                 `json:"email"`
	EmailVerified         *bool                   `json:"email_verified"`
	FirstName             *string                 `json:"fname"`
	MiddleName            *string                 `json:"mname"`
	LastName              *string                 `json:"lname"`
	Username              *string                 `json:"username"`
	PhoneNumber           *string                 `json:"phone_number"`
	PhoneNumberVerified   *bool                   `json:"phone_number_verified"`
	SecondaryEmails       *[]store.SecondaryEmail `json:"secondary_emails"`
	SecondaryPhoneNumbers *[]store.SecondaryPhone `json:"secondary_phone_numbers"`
	Birthday              *string                 `json:"birthday"`
	Address               *store.Address          `json:"address"`
	Picture               *string                 `json:"picture"`
	Organization          *string                 `json:"organization"`
	Roles                 *[]string               `json:"roles"`
	RoleValues            *[]string               `json:"role_values"`
	Permissions           *[]string               `json:"permissions"`
	ExternalUserID        *string                 `json:"external_user_id"`
	ExternalAccountID     *string                 `json:"external_account_id"`
	CustomData            json.RawMessage         `json:"custom_data"`
}

// apply validates the patch and applies it to u.
func (pp ProfilePatch) apply(u store.User) (store.User, error) {
	if pp.Email != nil {
		if *pp.Email == "" {
			u.Email, u.EmailVerified = "", false
		} else {
			e, err := input.NormalizeEmail(*pp.Email)
			if err != nil {
				return u, err
			}
			if e != u.Email {
				u.EmailVerified = false // a new address is not verified until said so
			}
			u.Email = e
		}
	}
	if pp.EmailVerified != nil {
		u.EmailVerified = *pp.EmailVerified && u.Email != ""
	}
	for _, f := range []struct {
		name string
		v    *string
		dst  *string
		n    int
	}{{"fname", pp.FirstName, &u.FirstName, 100}, {"mname", pp.MiddleName, &u.MiddleName, 100},
		{"lname", pp.LastName, &u.LastName, 100}, {"organization", pp.Organization, &u.Organization, 200},
		{"external_user_id", pp.ExternalUserID, &u.ExternalUserID, 256},
		{"external_account_id", pp.ExternalAccountID, &u.ExternalAccountID, 256}} {
		if f.v == nil {
			continue
		}
		if err := input.CheckText(f.name, *f.v, f.n); err != nil {
			return u, err
		}
		*f.dst = *f.v
	}
	if pp.Username != nil {
		if *pp.Username != "" && !input.IsUsername(*pp.Username) {
			return u, &input.Error{Field: "username", Message: "use 1-64 letters, digits and . _ @ -"}
		}
		u.Username = *pp.Username
	}
	if pp.PhoneNumber != nil {
		if *pp.PhoneNumber != "" && !input.IsE164(*pp.PhoneNumber) {
			return u, &input.Error{Field: "phone_number", Message: "use the E.164 form, such as +14155550123"}
		}
		if *pp.PhoneNumber != u.PhoneNumber {
			u.PhoneNumberVerified = false
		}
		u.PhoneNumber = *pp.PhoneNumber
	}
	if pp.PhoneNumberVerified != nil {
		u.PhoneNumberVerified = *pp.PhoneNumberVerified && u.PhoneNumber != ""
	}
	if pp.SecondaryEmails != nil {
		list := *pp.SecondaryEmails
		if len(list) > 20 {
			return u, &input.Error{Field: "secondary_emails", Message: "at most 20"}
		}
		for i := range list {
			e, err := input.NormalizeEmail(list[i].Value)
			if err != nil {
				return u, &input.Error{Field: "secondary_emails", Message: err.Error()}
			}
			list[i].Value = e
		}
		u.SecondaryEmails = list
	}
	if pp.SecondaryPhoneNumbers != nil {
		list := *pp.SecondaryPhoneNumbers
		if len(list) > 20 {
			return u, &input.Error{Field: "secondary_phone_numbers", Message: "at most 20"}
		}
		for _, p := range list {
			if !input.IsE164(p.Value) {
				return u, &input.Error{Field: "secondary_phone_numbers", Message: "use the E.164 form, such as +14155550123"}
			}
		}
		u.SecondaryPhoneNumbers = list
	}
	if pp.Birthday != nil {
		if *pp.Birthday != "" {
			if _, err := time.Parse("2006-01-02", *pp.Birthday); err != nil {
				return u, &input.Error{Field: "birthday", Message: "use YYYY-MM-DD"}
			}
		}
		u.Birthday = *pp.Birthday
	}
	if pp.Address != nil {
		a := *pp.Address
		for name, v := range map[string]string{"formatted": a.Formatted, "street_address": a.StreetAddress,
			"locality": a.Locality, "region": a.Region, "postal_code": a.PostalCode, "country": a.Country} {
			// formatted and street_address may hold line breaks (OIDC Core §5.1.1).
			if err := input.CheckText("address."+name, strings.ReplaceAll(v, "\n", " "), 256); err != nil {
				return u, err
			}
		}
		if a == (store.Address{}) {
			u.Address = nil
		} else {
			u.Address = &a
		}
	}
	if pp.Picture != nil {
		if *pp.Picture != "" {
			pu, err := url.Parse(*pp.Picture)
			if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || len(*pp.Picture) > 2048 {
				return u, &input.Error{Field: "picture", Message: "use an http(s) URL of at most 2048 bytes"}
			}
		}
		u.Picture = *pp.Picture
	}
	for _, f := range []struct {
		name string
		v    *[]string
		dst  *[]string
	}{{"roles", pp.Roles, &u.Roles}, {"role_values", pp.RoleValues, &u.RoleValues}, {"permissions", pp.Permissions, &u.Permissions}} {
		if f.v == nil {
			continue
		}
		if err := input.CheckList(f.name, *f.v); err != nil {
			return u, err
		}
		*f.dst = *f.v
	}
	if pp.CustomData != nil {
		if err := input.ValidateCustomData("custom_data", pp.CustomData); err != nil {
			return u, err
		}
		if string(pp.CustomData) == "null" {
			u.CustomData = nil
		} else {
			u.CustomData = pp.CustomData
		}
	}
	return u, nil
}

// UpdateProfile applies a profile patch to a user.
func (a *Accounts) UpdateProfile(ctx context.Context, userID string, pp ProfilePatch) (store.User, error) {
	u, err := a.Update(ctx, userID, func(u store.User) (store.User, error) { return pp.apply(u) })
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrEmailTaken
	}
	return u, err
}

// PatchIf is UpdateProfile for the Administration API: the patch, and groups when not
// nil, are applied in one compare-and-swap of the stored user, and only when pre (nil: no
// check) accepts the user as stored, so that a precondition (If-Match) is checked against
// exactly the record that is changed. pre's error is returned as is.
func (a *Accounts) PatchIf(ctx context.Context, userID string, pp ProfilePatch, groups *[]string, pre func(store.User) error) (store.User, error) {
	if groups != nil {
		if err := input.ValidateGroups(*groups); err != nil {
			return store.User{}, err
		}
	}
	u, err := a.Update(ctx, userID, func(u store.User) (store.User, error) {
		if pre != nil {
			if err := pre(u); err != nil {
				return u, err
			}
		}
		u, err := pp.apply(u)
		if err == nil && groups != nil {
			u.Groups = *groups
		}
		return u, err
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrEmailTaken
	}
	return u, err
}

// SetCustomAppData stores the custom_app_data of one client for a user (null removes it).
func (a *Accounts) SetCustomAppData(ctx context.Context, userID, clientID string, data json.RawMessage) (store.User, error) {
	if a.ClientExists == nil || a.ClientExists(ctx, clientID) != nil {
		return store.User{}, &input.Error{Field: "client", Message: fmt.Sprintf("no client %q", input.Sanitize(clientID))}
	}
	if err := input.ValidateCustomData("custom_app_data", data); err != nil {
		return store.User{}, err
	}
	return a.Update(ctx, userID, func(u store.User) (store.User, error) {
		if len(data) == 0 || string(data) == "null" {
			delete(u.CustomAppData, clientID)
			return u, nil
		}
		if u.CustomAppData == nil {
			u.CustomAppData = map[string]json.RawMessage{}
		}
		u.CustomAppData[clientID] = data
		return u, nil
	})
}

// SetGroupData stores a group's custom data (claim custom_group_data).
func (a *Accounts) SetGroupData(ctx context.Context, name string, data json.RawMessage) (store.Group, error) {
	return a.SetGroupDataIf(ctx, name, data, nil)
}

// SetGroupDataIf stores a group's custom data when pre (nil: no check) accepts the stored
// record (exists false: the group has no data yet), in one compare-and-swap
// (store.Groups.UpdateGroup): an If-Match check holds across instances sharing the store.
// An error of pre is returned as it is.
func (a *Accounts) SetGroupDataIf(ctx context.Context, name string, data json.RawMessage, pre func(old store.Group, exists bool) error) (store.Group, error) {
	if err := input.ValidateGroups([]string{name}); err != nil {
		return store.Group{}, err
	}
	if err := input.ValidateCustomData("custom_data", data); err != nil {
		return store.Group{}, err
	}
	g := store.Group{Name: name, CustomData: data, UpdatedAt: a.Now()}
	if string(data) == "null" {
		g.CustomData = nil
	}
	return a.Store.UpdateGroup(ctx, name, func(old store.Group, exists bool) (*store.Group, error) {
		if pre != nil {
			if err := pre(old, exists); err != nil {
				return nil, err
			}
		}
		return &g, nil
	})
}

// DeleteGroupIf removes a group's data when pre accepts the stored record, in one
// compare-and-swap (see SetGroupDataIf).
func (a *Accounts) DeleteGroupIf(ctx context.Context, name string, pre func(old store.Group, exists bool) error) error {
	_, err := a.Store.UpdateGroup(ctx, name, func(old store.Group, exists bool) (*store.Group, error) {
		if pre != nil {
			if err := pre(old, exists); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	return err
}

// GetGroup returns a group's data (store.ErrNotFound: it has none).
func (a *Accounts) GetGroup(ctx context.Context, name string) (store.Group, error) {
	if err := input.ValidateGroups([]string{name}); err != nil {
		return store.Group{}, store.ErrNotFound
	}
	return a.Store.GetGroup(ctx, name)
}

// ListGroups pages through the groups that have data, ordered by name.
func (a *Accounts) ListGroups(ctx context.Context, after string, limit int) ([]store.Group, error) {
	return a.Store.ListGroups(ctx, store.ListOptions{After: after, Limit: limit})
}

// DeleteGroup removes a group's data.
func (a *Accounts) DeleteGroup(ctx context.Context, name string) error {
	return a.Store.DeleteGroup(ctx, name)
}
