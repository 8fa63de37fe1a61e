package memory

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The clone functions return deep copies of records: every slice, map and pointer is
// copied (nil stays nil, empty stays empty), so that the copy shares no memory with the
// original. Records without such fields (PasswordCredential, Revocation, Identity) are
// copied by assignment. TestClonesShareNothing checks every field of every record type.

func cloneUser(u store.User) store.User {
	u.Groups = slices.Clone(u.Groups)
	u.SecondaryEmails = slices.Clone(u.SecondaryEmails)
	u.SecondaryPhoneNumbers = slices.Clone(u.SecondaryPhoneNumbers)
	if u.Address != nil {
		a := *u.Address
		u.Address = &a
	}
	u.Roles = slices.Clone(u.Roles)
	u.RoleValues = slices.Clone(u.RoleValues)
	u.Permissions = slices.Clone(u.Permissions)
	u.CustomData = slices.Clone(u.CustomData)
	if u.CustomAppData != nil {
		m := make(map[string]json.RawMessage, len(u.CustomAppData))
		for k, v := range u.CustomAppData {
			m[k] = slices.Clone(v)
		}
		u.CustomAppData = m
	}
	return u
}

func cloneSession(se store.Session) store.Session {
	se.AMR = slices.Clone(se.AMR)
	se.Clients = slices.Clone(se.Clients)
	return se
}

func cloneAuthCode(c store.AuthCode) store.AuthCode {
	c.Scopes = slices.Clone(c.Scopes)
	c.Audience = slices.Clone(c.Audience)
	c.AMR = slices.Clone(c.AMR)
	return c
}

func cloneRefreshToken(t store.RefreshToken) store.RefreshToken {
	t.Scopes = slices.Clone(t.Scopes)
	t.Audience = slices.Clone(t.Audience)
	t.AMR = slices.Clone(t.AMR)
	return t
}

func cloneSigningKey(k store.SigningKey) store.SigningKey {
	k.PrivateKey = slices.Clone(k.PrivateKey)
	return k
}

func cloneClient(c store.Client) store.Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	c.Metadata = maps.Clone(c.Metadata)
	return c
}

func cloneOneTimeCode(c store.OneTimeCode) store.OneTimeCode {
	c.Data = maps.Clone(c.Data)
	return c
}

func cloneGroup(g store.Group) store.Group {
	g.CustomData = slices.Clone(g.CustomData)
	return g
}

func clonePasskey(p store.Passkey) store.Passkey {
	p.Credential = slices.Clone(p.Credential)
	return p
}

func cloneAppCredential(c store.AppCredential) store.AppCredential {
	c.Scopes = slices.Clone(c.Scopes)
	c.Sites = slices.Clone(c.Sites)
	return c
}
