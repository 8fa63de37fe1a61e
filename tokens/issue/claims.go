package issue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ClaimSpec is one requested claim of a claims request (OIDC Core §5.5.1), with the seed's
// fields member selecting a subset of custom_data / custom_app_data.
type ClaimSpec struct {
	Essential bool              `json:"essential,omitempty"`
	Value     json.RawMessage   `json:"value,omitempty"`
	Values    []json.RawMessage `json:"values,omitempty"`
	Fields    []string          `json:"fields,omitempty"`
}

// ClaimsRequest is a validated claims request parameter.
type ClaimsRequest struct {
	IDToken  map[string]*ClaimSpec `json:"id_token,omitempty"`
	Userinfo map[string]*ClaimSpec `json:"userinfo,omitempty"`
}

// Encode returns the normalised JSON of the request ("" when empty): the form kept in
// authorization codes and refresh tokens.
func (r *ClaimsRequest) Encode() string {
	if r == nil || (len(r.IDToken) == 0 && len(r.Userinfo) == 0) {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// DecodeClaimsRequest reads back what Encode made (nil for "" or a broken value).
func DecodeClaimsRequest(s string) *ClaimsRequest {
	if s == "" {
		return nil
	}
	r := new(ClaimsRequest)
	if json.Unmarshal([]byte(s), r) != nil {
		return nil
	}
	return r
}

// scopeClaims are the claims each standard scope releases (OIDC Core §5.4), with the seed's
// names alongside the standard ones.
var scopeClaims = map[string][]string{
	"profile": {"name", "given_name", "family_name", "middle_name", "fname", "mname", "lname", "preferred_username",
		"username", "picture", "birthdate", "birthday", "locale", "language", "updated_at"},
	"email":   {"email", "email_verified"},
	"phone":   {"phone_number", "phone_number_verified"},
	"address": {"address"},
}

// SupportedClaims lists every claim Gatehouse can release (for discovery).
var SupportedClaims = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "sid",
	"tid", "new_user", "groups", "organization", "name", "given_name", "family_name", "middle_name", "fname", "mname",
	"lname", "preferred_username", "username", "picture", "birthdate", "birthday", "locale", "language", "updated_at",
	"email", "email_verified", "phone_number", "phone_number_verified", "address", "secondary_emails",
	"secondary_phone_numbers", "roles", "role_values", "permissions", "created_at", "last_auth", "external_account_id",
	"external_user_id", "app_name", "custom_data", "custom_app_data", "custom_group_data"}

// Claims builds the user claims released for scopes and the requested claims (a claims
// request member), for client c: the ID token's and userinfo's.
func (i *Issuer) Claims(ctx context.Context, u store.User, c Client, scopes []string, requested map[string]*ClaimSpec) (map[string]any, error) {
	out := map[string]any{"sub": u.ID, "groups": nonNil(u.Groups)}
	if u.Organization != "" {
		out["organization"] = u.Organization
	}
	var names []string
	for _, s := range scopes {
		names = append(names, scopeClaims[s]...)
	}
	for name := range requested {
		names = append(names, name)
	}
	for _, name := range names {
		if _, done := out[name]; done {
			continue
		}
		v, ok, err := i.claimValue(ctx, name, u, c, requested[name])
		if err != nil {
			return nil, err
		}
		if ok {
			out[name] = v
		}
	}
	return out, nil
}

// claimValue returns one claim of the user; ok is false when the user has no value for it.
func (i *Issuer) claimValue(ctx context.Context, name string, u store.User, c Client, spec *ClaimSpec) (any, bool, error) {
	str := func(v string) (any, bool, error) { return v, v != "", nil }
	list := func(v []string) (any, bool, error) { return v, len(v) > 0, nil }
	switch name {
	case "name":
		return str(account.DisplayName(u))
	case "given_name", "fname":
		return str(u.FirstName)
	case "middle_name", "mname":
		return str(u.MiddleName)
	case "family_name", "lname":
		return str(u.LastName)
	case "preferred_username", "username":
		if u.Username == "" {
			return nil, false, nil
		}
		// The seed: defined only if a password was set for the user.
		if _, err := i.Store.GetPassword(ctx, u.ID); errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		} else if err != nil {
			return nil, false, fmt.Errorf("read password: %w", err)
		}
		return u.Username, true, nil
	case "picture":
		return str(u.Picture)
	case "birthdate", "birthday":
		return str(u.Birthday)
	case "locale", "language":
		return str(u.Language)
	case "updated_at":
		return u.UpdatedAt.Unix(), !u.UpdatedAt.IsZero(), nil
	case "email":
		return str(u.Email)
	case "email_verified":
		return u.EmailVerified, u.Email != "", nil
	case "phone_number":
		return str(u.PhoneNumber)
	case "phone_number_verified":
		return u.PhoneNumberVerified, u.PhoneNumber != "", nil
	case "address":
		return u.Address, u.Address != nil, nil
	case "secondary_emails":
		return u.SecondaryEmails, len(u.SecondaryEmails) > 0, nil
	case "secondary_phone_numbers":
		return u.SecondaryPhoneNumbers, len(u.SecondaryPhoneNumbers) > 0, nil
	case "roles":
		return list(u.Roles)
	case "role_values":
		return list(i.expand(u).RoleValues)
	case "permissions":
		return list(i.expand(u).Permissions)
	case "created_at":
		return u.CreatedAt.Unix(), !u.CreatedAt.IsZero(), nil
	case "last_auth":
		return u.LastAuthAt.Unix(), !u.LastAuthAt.IsZero(), nil
	case "external_account_id":
		return str(u.ExternalAccountID)
	case "external_user_id":
		return str(u.ExternalUserID)
	case "app_name":
		return str(c.Name)
	case "organization":
		return str(u.Organization)
	case "groups":
		return nonNil(u.Groups), true, nil
	case "custom_data":
		return subset(u.CustomData, spec)
	case "custom_app_data":
		return subset(u.CustomAppData[c.ID], spec)
	case "custom_group_data":
		data := map[string]any{}
		for _, g := range u.Groups {
			rec, err := i.Store.GetGroup(ctx, g)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, false, fmt.Errorf("read group: %w", err)
			}
			if v, ok, _ := subset(rec.CustomData, spec); ok {
				data[g] = v
			}
		}
		return data, len(data) > 0, nil
	}
	return nil, false, nil
}

// subset returns a custom-data object, or only the fields listed in spec.Fields.
func subset(raw json.RawMessage, spec *ClaimSpec) (any, bool, error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	if spec == nil || len(spec.Fields) == 0 {
		return raw, true, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, false, nil
	}
	out := map[string]json.RawMessage{}
	for _, f := range spec.Fields {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out, len(out) > 0, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
