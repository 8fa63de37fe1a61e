package module

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/account"
)

// AccountConfig sets what signed-in users may change of their own account on the account
// page and the /api/v1/account API (see README, Your account).
type AccountConfig struct {
	// EditableFields are the profile fields users may change themselves, among fname,
	// mname, lname, username, birthday, picture and organization (default: fname mname
	// lname; an empty list: none). Email and phone number are never editable here: they
	// change only through the verification flows. Usernames are not unique: a user who may
	// edit username may choose any (relying parties identify users by sub).
	EditableFields *[]string `json:"editable_fields,omitempty"`
	// AllowDelete lets users delete their own account, after a fresh login and a
	// confirmation: the same complete removal as the admin API's DELETE /gatehouse/users/{id}
	// (default false: the "Delete my account" section is absent and the endpoint answers
	// 404).
	AllowDelete bool `json:"allow_delete,omitempty"`
}

// editable returns the fields users may change (the default when none are configured).
func (c AccountConfig) editable() []string {
	if c.EditableFields == nil {
		return slices.Clone(account.DefaultEditableFields)
	}
	return slices.Clone(*c.EditableFields)
}

func (c AccountConfig) check(v *Validator, path string) {
	if c.EditableFields == nil {
		return
	}
	for i, f := range *c.EditableFields {
		if err := account.ValidateEditableFields([]string{f}); err != nil {
			v.Errorf(index(path+".editable_fields", i), "%v", err)
		}
		if j := slices.Index(*c.EditableFields, f); j < i {
			v.Errorf(index(path+".editable_fields", i), "lists %q again (first at editable_fields[%d])", f, j)
		}
	}
}
