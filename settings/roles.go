package settings

import (
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Role is a named set of permissions. Users get roles (store.User.Roles, claim roles); a
// user's permissions (claim permissions) are those of its roles plus those set on the user
// directly (store.User.Permissions), and its role_values those of its roles (Value, else
// the name) plus those set directly.
type Role struct {
	Name string `json:"name"`
	// Value is the role's human-readable name (claim role_values; default: Name).
	Value       string   `json:"value,omitempty"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions"`
}

// roleInput is what PutRole accepts.
type roleInput struct {
	Value       string   `json:"value"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
}

var (
	roleNameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	permissionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/*-]{0,127}$`)
)

// maxPermissions bounds a role's permission list.
const maxPermissions = 200

func checkRole(r Role, path string) *FieldError {
	if !roleNameRe.MatchString(r.Name) {
		return fieldErr(path+".name", "must be 1 to 64 letters, digits and . _ : - starting with a letter or digit, got %q", r.Name)
	}
	if len(r.Value) > 128 || strings.ContainsAny(r.Value, "\r\n") {
		return fieldErr(path+".value", "must be at most 128 characters on one line")
	}
	if len(r.Description) > 512 {
		return fieldErr(path+".description", "must be at most 512 characters")
	}
	if len(r.Permissions) > maxPermissions {
		return fieldErr(path+".permissions", "must have at most %d permissions", maxPermissions)
	}
	for i, p := range r.Permissions {
		if !permissionRe.MatchString(p) {
			return fieldErr(index(path+".permissions", i), "must be 1 to 128 letters, digits and . _ : / * - (such as docs:write), got %q", p)
		}
		if slices.Contains(r.Permissions[:i], p) {
			return fieldErr(index(path+".permissions", i), "repeats %q", p)
		}
	}
	return nil
}

// ExpandUser returns u with the permissions and role values of its roles added to those
// set on it directly (each listed once, direct ones first, then by role in the user's
// order). A role that does not exist adds nothing. The claims roles, role_values and
// permissions are built from the result.
func ExpandUser(u store.User, roles map[string]Role) store.User {
	if len(u.Roles) == 0 || len(roles) == 0 {
		return u
	}
	perms, values := slices.Clone(u.Permissions), slices.Clone(u.RoleValues)
	for _, name := range u.Roles {
		r, ok := roles[name]
		if !ok {
			continue
		}
		v := r.Value
		if v == "" {
			v = r.Name
		}
		if !slices.Contains(values, v) {
			values = append(values, v)
		}
		for _, p := range r.Permissions {
			if !slices.Contains(perms, p) {
				perms = append(perms, p)
			}
		}
	}
	u.Permissions, u.RoleValues = perms, values
	return u
}
