package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/recoverycode"
	"github.com/gatehouse-dev/gatehouse/store"
)

// SelfEditableFields are the profile fields an operator may let users change themselves
// (option account.editable_fields). Email and phone number are never among them: they
// change only through the verification flows, which prove the new address; organization
// neither: relying parties read it as tenant membership, which only an administrator sets.
var SelfEditableFields = []string{"fname", "mname", "lname", "username", "birthday", "picture"}

// DefaultEditableFields are the fields users may change when the operator says nothing.
var DefaultEditableFields = []string{"fname", "mname", "lname"}

// verifiedFields change only through a verification flow, never through a profile edit.
var verifiedFields = []string{"email", "email_verified", "phone_number", "phone_number_verified"}

// ValidateEditableFields checks an operator's list of self-editable fields.
func ValidateEditableFields(fields []string) error {
	for _, f := range fields {
		if slices.Contains(verifiedFields, f) {
			return fmt.Errorf("%q cannot be edited by users: addresses and phone numbers change only through verification", f)
		}
		if !slices.Contains(SelfEditableFields, f) {
			return fmt.Errorf("unknown field %q (fields: %s)", f, strings.Join(SelfEditableFields, ", "))
		}
	}
	return nil
}

// UpdateOwnProfile applies the user's own profile changes: fields maps a field name to its
// new value (a JSON string). Only the allowed fields may be changed; a field that is not
// allowed, unknown, or not a string is refused with a message naming it, and nothing is
// written. The values are checked with the same rules as the admin API's (ProfilePatch).
func (a *Accounts) UpdateOwnProfile(ctx context.Context, userID string, fields map[string]json.RawMessage, allowed []string) (store.User, error) {
	if len(fields) == 0 {
		return store.User{}, &input.Error{Field: "", Message: "send at least one field to change"}
	}
	var pp ProfilePatch
	for _, name := range slices.Sorted(maps.Keys(fields)) { // the first bad field, always the same
		raw := fields[name]
		switch {
		case slices.Contains(verifiedFields, name):
			return store.User{}, &input.Error{Field: name, Message: fmt.Sprintf("%s changes only through verification: use the verify form on the account page", name)}
		case !slices.Contains(SelfEditableFields, name):
			return store.User{}, &input.Error{Field: name, Message: fmt.Sprintf("unknown field %q", input.Sanitize(name))}
		case !slices.Contains(allowed, name):
			return store.User{}, &input.Error{Field: name, Message: fmt.Sprintf("%s cannot be changed here; ask an administrator", name)}
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return store.User{}, &input.Error{Field: name, Message: fmt.Sprintf("%s must be a string", name)}
		}
		switch name {
		case "fname":
			pp.FirstName = &v
		case "mname":
			pp.MiddleName = &v
		case "lname":
			pp.LastName = &v
		case "username":
			pp.Username = &v
		case "birthday":
			pp.Birthday = &v
		case "picture":
			pp.Picture = &v
		}
	}
	return a.UpdateProfile(ctx, userID, pp)
}

// Delete removes a user completely: every session ends (the clients that took part are
// told by back-channel logout), every refresh token (offline ones too) and access token
// issued until now is revoked, and the user goes from the store with its password,
// passkeys, linked identities, second factors, consents and app credentials. It is the
// administrator's delete and the user's own.
func (a *Accounts) Delete(ctx context.Context, userID string) error {
	u, err := a.Store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUserNotFound
	} else if err != nil {
		return fmt.Errorf("read user: %w", err)
	}
	if err := a.Sessions.RevokeUser(ctx, userID); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if err := a.Store.DeleteUser(ctx, userID); errors.Is(err, store.ErrNotFound) {
		return ErrUserNotFound
	} else if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	// The account's attempt counters go too: a new account at the same address starts
	// clean, and nothing keyed by the old account stays behind.
	keys := []string{recoverycode.LimitKey(userID)}
	if u.Email != "" {
		keys = append(keys, lockout.AccountKey(u.Email))
	}
	for _, k := range keys {
		if err := a.Store.ResetCounter(ctx, k); err != nil {
			a.logger().Warn("delete user: reset counter", "error", err)
		}
	}
	a.logger().Info("user deleted", "user", userID)
	return nil
}
