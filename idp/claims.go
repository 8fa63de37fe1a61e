package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/store"
)

// MaxCustomData is the largest custom_data / custom_app_data / group data payload (bytes).
const MaxCustomData = input.MaxCustomData

// maxClaimsRequest bounds the claims request parameter (RB-05).
const maxClaimsRequest = 8 * 1024

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

// ParseClaimsRequest validates the claims parameter: a JSON object of at most 8 KB, nested at
// most 5 deep, whose id_token and userinfo members map claim names to null or to an object
// with essential (boolean), value, values (array) and fields (array of strings). Anything
// else is an *Error invalid_request.
func ParseClaimsRequest(raw string) (*ClaimsRequest, *Error) {
	bad := func(format string, args ...any) (*ClaimsRequest, *Error) {
		return nil, oauthErr(ErrCodeInvalidRequest, 400, "claims: "+format, args...)
	}
	if len(raw) > maxClaimsRequest {
		return bad("larger than %d bytes", maxClaimsRequest)
	}
	if d := input.JSONDepth(raw); d < 0 || d > 5 {
		return bad("not a JSON object, or nested too deep")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil || top == nil {
		return bad("not a JSON object")
	}
	req := &ClaimsRequest{}
	for member, target := range map[string]*map[string]*ClaimSpec{"id_token": &req.IDToken, "userinfo": &req.Userinfo} {
		v, ok := top[member]
		if !ok || string(v) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return bad("%s must be an object", member)
		}
		if len(m) > 64 {
			return bad("%s requests more than 64 claims", member)
		}
		out := make(map[string]*ClaimSpec, len(m))
		for name, spec := range m {
			if name == "" || len(name) > 128 {
				return bad("invalid claim name")
			}
			if string(spec) == "null" {
				out[name] = nil
				continue
			}
			cs := new(ClaimSpec)
			dec := json.NewDecoder(strings.NewReader(string(spec)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(cs); err != nil {
				return bad("%s.%s: use null or an object with essential, value, values, fields", member, sanitize(name))
			}
			if len(cs.Fields) > 100 {
				return bad("%s.%s: at most 100 fields", member, sanitize(name))
			}
			out[name] = cs
		}
		*target = out
	}
	return req, nil
}

// encode returns the normalised JSON of the request ("" when empty).
func (r *ClaimsRequest) encode() string {
	if r == nil || (len(r.IDToken) == 0 && len(r.Userinfo) == 0) {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func decodeClaimsRequest(s string) *ClaimsRequest {
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

// claimSet builds the user claims released for scopes and the requested claims (a claims
// request member), for client.
func (p *Provider) claimSet(ctx context.Context, u store.User, c *Client, scopes []string, requested map[string]*ClaimSpec) (map[string]any, error) {
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
		v, ok, err := p.claimValue(ctx, name, u, c, requested[name])
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
func (p *Provider) claimValue(ctx context.Context, name string, u store.User, c *Client, spec *ClaimSpec) (any, bool, error) {
	str := func(v string) (any, bool, error) { return v, v != "", nil }
	list := func(v []string) (any, bool, error) { return v, len(v) > 0, nil }
	switch name {
	case "name":
		return str(displayName(u))
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
		if _, err := p.Store.GetPassword(ctx, u.ID); errors.Is(err, store.ErrNotFound) {
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
		return list(u.RoleValues)
	case "permissions":
		return list(u.Permissions)
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
			rec, err := p.Store.GetGroup(ctx, g)
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

// ValidateCustomData checks a custom data payload before it is stored (input.ValidateCustomData).
func ValidateCustomData(field string, raw json.RawMessage) error {
	return input.ValidateCustomData(field, raw)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
