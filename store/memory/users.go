package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// verifiedPhone is the user's phone number if verified: only verified numbers are indexed
// (and unique), so nobody can claim another person's number by typing it.
func verifiedPhone(u store.User) string {
	if u.PhoneNumberVerified {
		return u.PhoneNumber
	}
	return ""
}

// uniqueIndex is one of the users' unique fields: its index, its value and its name.
type uniqueIndex struct {
	m     map[string]string
	value func(store.User) string
	field string
}

// uniques lists the users' unique fields.
func (s *Store) uniques() []uniqueIndex {
	return []uniqueIndex{
		{s.byEmail, func(u store.User) string { return u.Email }, "email"},
		{s.byPhone, verifiedPhone, "phone number"},
		{s.byExternal, func(u store.User) string { return u.ExternalUserID }, "external user id"},
	}
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return errors.New("memory: create user: empty id")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create user %q: %w", u.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return fmt.Errorf("memory: create user %q: %w", u.ID, taken("id"))
	}
	for _, x := range s.uniques() {
		if v := x.value(u); v != "" {
			if _, ok := x.m[v]; ok {
				return fmt.Errorf("memory: create user %q: %w", u.ID, taken(x.field))
			}
		}
	}
	for _, x := range s.uniques() {
		if v := x.value(u); v != "" {
			x.m[v] = u.ID
		}
	}
	put(s, s.users, u.ID, cloneUser(u))
	return nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, fmt.Errorf("memory: get user %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("memory: get user %q: %w", id, store.ErrNotFound)
	}
	return cloneUser(it.rec), nil
}

// GetUserByEmail implements store.Users. The email is left out of errors.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := s.userByIndex(ctx, s.byEmail, email)
	if err != nil {
		return store.User{}, fmt.Errorf("memory: get user by email: %w", err)
	}
	return u, nil
}

// GetUserByPhone implements store.Users. The number is left out of errors.
func (s *Store) GetUserByPhone(ctx context.Context, phone string) (store.User, error) {
	u, err := s.userByIndex(ctx, s.byPhone, phone)
	if err != nil {
		return store.User{}, fmt.Errorf("memory: get user by phone: %w", err)
	}
	return u, nil
}

// GetUserByExternalID implements store.Users.
func (s *Store) GetUserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	u, err := s.userByIndex(ctx, s.byExternal, externalID)
	if err != nil {
		return store.User{}, fmt.Errorf("memory: get user by external id %q: %w", externalID, err)
	}
	return u, nil
}

// userByIndex returns the user whose unique field indexed in m is value.
func (s *Store) userByIndex(ctx context.Context, m map[string]string, value string) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	it, ok := s.users[m[value]]
	if value == "" || !ok {
		return store.User{}, store.ErrNotFound
	}
	return cloneUser(it.rec), nil
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	return updateRecord(s, ctx, "user", id, s.users, cloneUser, update, func(old, u store.User) error {
		return s.writeUser(id, old, u)
	})
}

// writeUser stores u, the update of the stored user old, with its unique index entries
// moved; a refusal changes nothing. The caller holds the lock.
func (s *Store) writeUser(id string, old, u store.User) error {
	if u.ID != id {
		return errIDChanged
	}
	// Check every unique field before moving any index entry, so that a refusal
	// changes nothing.
	for _, x := range s.uniques() {
		if v := x.value(u); v != "" && v != x.value(old) {
			if owner, ok := x.m[v]; ok && owner != id {
				return taken(x.field)
			}
		}
	}
	for _, x := range s.uniques() {
		ov, nv := x.value(old), x.value(u)
		if ov == nv {
			continue
		}
		if ov != "" && x.m[ov] == id {
			delete(x.m, ov)
		}
		if nv != "" {
			x.m[nv] = id
		}
	}
	put(s, s.users, id, u)
	return nil
}

// DeleteUser implements store.Users: the user goes with its unique index entries, its
// password, its passkeys, its linked identities, its second factors, its consents and its app credentials. Deleting a missing user returns
// ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete user %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.users[id]
	if !ok {
		return fmt.Errorf("memory: delete user %q: %w", id, store.ErrNotFound)
	}
	for _, x := range s.uniques() {
		if v := x.value(it.rec); v != "" && x.m[v] == id {
			delete(x.m, v)
		}
	}
	delete(s.passwords, id)
	delete(s.factors, id)
	for pid, p := range s.passkeys {
		if p.rec.UserID == id {
			delete(s.passkeys, pid)
		}
	}
	for k, ident := range s.identities {
		if ident.UserID == id {
			delete(s.identities, k)
		}
	}
	for k := range s.consents {
		if k.user == id {
			delete(s.consents, k)
		}
	}
	for cid, c := range s.appCreds {
		if c.rec.UserID == id {
			delete(s.appCreds, cid)
		}
	}
	for tid, t := range s.tokens {
		if t.token.UserID == id {
			delete(s.tokens, tid)
		}
	}
	for fid, f := range s.families {
		if f.userID == id {
			delete(s.families, fid)
		}
	}
	for cid, c := range s.codes {
		if c.code.UserID == id {
			delete(s.codes, cid)
		}
	}
	delete(s.users, id)
	return nil
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, opts store.ListOptions) ([]store.User, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list users: %w", err)
	}
	defer s.mu.Unlock()
	return page(s.users, opts, nil, cloneUser), nil
}

// FindUsers implements store.Users: the simplest correct way for a store in memory, the
// listing with the filter as its predicate.
func (s *Store) FindUsers(ctx context.Context, f store.UserFilter, opts store.ListOptions) ([]store.User, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: find users: %w", err)
	}
	defer s.mu.Unlock()
	return page(s.users, opts, f.Match, cloneUser), nil
}
