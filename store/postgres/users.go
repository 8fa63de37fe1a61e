package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// verifiedPhone is the user's phone number if verified: only verified numbers are indexed,
// so nobody can claim another person's number by typing it.
func verifiedPhone(u store.User) string {
	if u.PhoneNumberVerified {
		return u.PhoneNumber
	}
	return ""
}

// CreateUser implements store.Users. The unique indexes on email, external_id and phone
// refuse a taken value, also against a concurrent CreateUser.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return errors.New("postgres: create user: empty id")
	}
	data, err := encode(u)
	if err != nil {
		return fmt.Errorf("postgres: create user %q: %w", u.ID, err)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, email, external_id, phone, data, disabled, name)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, nullString(u.Email), nullString(u.ExternalUserID), nullString(verifiedPhone(u)), data,
			u.Disabled, store.NameKey(u))
		if err != nil {
			return uniqueErr(err)
		}
		return addMemberships(ctx, tx, u)
	})
	if err != nil {
		return fmt.Errorf("postgres: create user %q: %w", u.ID, err)
	}
	return nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &u, `SELECT data FROM users WHERE id = $1`, id) })
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail implements store.Users. The email is left out of errors.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := s.userBy(ctx, "email", email)
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: get user by email: %w", err)
	}
	return u, nil
}

// GetUserByPhone implements store.Users. The number is left out of errors.
func (s *Store) GetUserByPhone(ctx context.Context, phone string) (store.User, error) {
	u, err := s.userBy(ctx, "phone", phone)
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: get user by phone: %w", err)
	}
	return u, nil
}

// GetUserByExternalID implements store.Users.
func (s *Store) GetUserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	u, err := s.userBy(ctx, "external_id", externalID)
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: get user by external id %q: %w", externalID, err)
	}
	return u, nil
}

// userBy reads the user whose unique column (a constant) holds value.
func (s *Store) userBy(ctx context.Context, column, value string) (store.User, error) {
	var u store.User
	if value == "" {
		return u, store.ErrNotFound
	}
	err := s.retry(ctx, func() error {
		return getJSON(ctx, s.pool, &u, `SELECT data FROM users WHERE `+column+` = $1`, value)
	})
	return u, err
}

// UpdateUser implements store.Users. A new email, external ID or verified phone number
// taken by another user fails on its unique index, and nothing is written.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) (store.User, error) {
	return updateRecord(s, ctx, "user", id, `SELECT data FROM users WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, old, u store.User) error { return s.writeUser(ctx, tx, id, old, u) })
}

// writeUser stores u, the update of the stored user old (locked by tx), with its
// memberships, and tells other instances of a disable or re-enable.
func (s *Store) writeUser(ctx context.Context, tx pgx.Tx, id string, old, u store.User) error {
	if u.ID != id {
		return errIDChanged
	}
	data, err := encode(u)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE users SET email = $2, external_id = $3, phone = $4, data = $5,
		disabled = $6, name = $7 WHERE id = $1`,
		id, nullString(u.Email), nullString(u.ExternalUserID), nullString(verifiedPhone(u)), data,
		u.Disabled, store.NameKey(u))
	if err != nil {
		return uniqueErr(err)
	}
	if !slices.Equal(old.Groups, u.Groups) || !slices.Equal(old.Roles, u.Roles) {
		// Logins rewrite users all the time; the memberships only when they change.
		if _, err := tx.Exec(ctx, `DELETE FROM user_memberships WHERE user_id = $1`, id); err != nil {
			return err
		}
		if err := addMemberships(ctx, tx, u); err != nil {
			return err
		}
	}
	if old.Disabled == u.Disabled {
		// Logins update users all the time; only a disable (or re-enable) is news
		// for other instances (NOTIFY serialises the commits that send one).
		return nil
	}
	return s.notify(ctx, tx, store.TopicUsers)
}

// DeleteUser implements store.Users: the user, its password credential and linked
// identities (by foreign key), its passkeys and app credentials go in one transaction. Deleting a missing
// user returns ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if _, err = tx.Exec(ctx, `DELETE FROM passkeys WHERE user_id = $1`, id); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `DELETE FROM app_credentials WHERE user_id = $1`, id); err != nil {
			return err
		}
		// The refresh tokens go with their families (ON DELETE CASCADE); the codes hold the
		// user only in their data.
		if _, err = tx.Exec(ctx, `DELETE FROM refresh_families WHERE user_id = $1`, id); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `DELETE FROM auth_codes WHERE data->>'user_id' = $1`, id); err != nil {
			return err
		}
		return s.notify(ctx, tx, store.TopicUsers)
	})
	if err != nil {
		return fmt.Errorf("postgres: delete user %q: %w", id, err)
	}
	return nil
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, opts store.ListOptions) ([]store.User, error) {
	var out []store.User
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.User](ctx, s.pool, `SELECT data FROM users WHERE id > $1 ORDER BY id LIMIT $2`,
			opts.After, listLimit(opts.Limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return out, nil
}

// addMemberships writes the user_memberships rows of u's groups and roles.
func addMemberships(ctx context.Context, tx pgx.Tx, u store.User) error {
	if len(u.Groups) == 0 && len(u.Roles) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO user_memberships (kind, value, user_id)
		SELECT 'g', unnest($2::text[]), $1 UNION SELECT 'r', unnest($3::text[]), $1
		ON CONFLICT DO NOTHING`, u.ID, nonNil(u.Groups), nonNil(u.Roles))
	return err
}

// FindUsers implements store.Users with one keyset-paged query: email and external_id
// use their unique indexes; a group (else a role) drives the query from the primary key
// of user_memberships, read in user ID order from the cursor and joined to users until
// the page is full (another group or role is one more lookup of that key per candidate);
// the disabled flag has its btree, and the name filter the trigram index of migration
// 0070 (LIKE '%...%'; without pg_trgm, a filter on the rows read in ID order).
func (s *Store) FindUsers(ctx context.Context, f store.UserFilter, opts store.ListOptions) ([]store.User, error) {
	args := []any{opts.After, listLimit(opts.Limit)}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var q string
	var conds []string
	member := func(kind, value string) {
		conds = append(conds, fmt.Sprintf(`EXISTS (SELECT 1 FROM user_memberships x WHERE x.kind = '%s' AND x.value = %s AND x.user_id = u.id)`,
			kind, arg(value)))
	}
	switch {
	case f.Group != "":
		q = `SELECT u.data FROM user_memberships m JOIN users u ON u.id = m.user_id
			WHERE m.kind = 'g' AND m.value = ` + arg(f.Group) + ` AND m.user_id > $1`
		if f.Role != "" {
			member("r", f.Role)
		}
	case f.Role != "":
		q = `SELECT u.data FROM user_memberships m JOIN users u ON u.id = m.user_id
			WHERE m.kind = 'r' AND m.value = ` + arg(f.Role) + ` AND m.user_id > $1`
	default:
		q = `SELECT u.data FROM users u WHERE u.id > $1`
	}
	if f.Email != "" {
		conds = append(conds, "u.email = "+arg(f.Email))
	}
	if f.ExternalUserID != "" {
		conds = append(conds, "u.external_id = "+arg(f.ExternalUserID))
	}
	if f.Disabled != nil {
		conds = append(conds, "u.disabled = "+arg(*f.Disabled))
	}
	if f.Name != "" {
		conds = append(conds, "u.name LIKE "+arg("%"+likeEscaper.Replace(strings.ToLower(f.Name))+"%"))
	}
	for _, c := range conds {
		q += " AND " + c
	}
	if f.Group != "" || f.Role != "" {
		q += ` ORDER BY m.user_id LIMIT $2`
	} else {
		q += ` ORDER BY u.id LIMIT $2`
	}
	var out []store.User
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.User](ctx, s.pool, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: find users: %w", err)
	}
	return out, nil
}

// likeEscaper quotes LIKE's wildcards (and its escape character, the backslash).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// nonNil gives PostgreSQL an empty array for a nil slice.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetPassword implements store.Passwords. The foreign key on the user refuses a missing
// user, and makes a concurrent DeleteUser either wait for this write (and delete the
// credential with the user) or make it fail.
func (s *Store) SetPassword(ctx context.Context, c store.PasswordCredential) error {
	data, err := encode(c)
	if err == nil {
		err = s.retry(ctx, func() error {
			_, err := s.pool.Exec(ctx, `INSERT INTO passwords (user_id, data) VALUES ($1, $2)
				ON CONFLICT (user_id) DO UPDATE SET data = excluded.data`, c.UserID, data)
			return uniqueErr(err)
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: set password of user %q: %w", c.UserID, err)
	}
	return nil
}

// GetPassword implements store.Passwords.
func (s *Store) GetPassword(ctx context.Context, userID string) (store.PasswordCredential, error) {
	var c store.PasswordCredential
	err := s.retry(ctx, func() error {
		return getJSON(ctx, s.pool, &c, `SELECT data FROM passwords WHERE user_id = $1`, userID)
	})
	if err != nil {
		return store.PasswordCredential{}, fmt.Errorf("postgres: get password of user %q: %w", userID, err)
	}
	return c, nil
}

// DeletePassword implements store.Passwords.
func (s *Store) DeletePassword(ctx context.Context, userID string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM passwords WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete password of user %q: %w", userID, err)
	}
	return nil
}

// --- passkeys ---

// CreatePasskey implements store.Passkeys. Like Badger, it does not check that the user
// exists; DeleteUser removes the user's passkeys.
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	if p.ID == "" || p.UserID == "" {
		return errors.New("postgres: create passkey: empty id or user")
	}
	data, err := encode(p)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO passkeys (id, user_id, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				p.ID, p.UserID, data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("credential id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create passkey: %w", err)
	}
	return nil
}

// GetPasskey implements store.Passkeys.
func (s *Store) GetPasskey(ctx context.Context, id string) (store.Passkey, error) {
	var p store.Passkey
	err := s.retry(ctx, func() error { return getJSON(ctx, s.pool, &p, `SELECT data FROM passkeys WHERE id = $1`, id) })
	if err != nil {
		return store.Passkey{}, fmt.Errorf("postgres: get passkey: %w", err)
	}
	return p, nil
}

// ListUserPasskeys implements store.Passkeys.
func (s *Store) ListUserPasskeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	var out []store.Passkey
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Passkey](ctx, s.pool, `SELECT data FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list passkeys of user %q: %w", userID, err)
	}
	return out, nil
}

// UpdatePasskey implements store.Passkeys.
func (s *Store) UpdatePasskey(ctx context.Context, id string, update func(store.Passkey) (store.Passkey, error)) (store.Passkey, error) {
	return updateRecord(s, ctx, "passkey", id, `SELECT data FROM passkeys WHERE id = $1 FOR UPDATE`, []any{id}, update,
		func(tx pgx.Tx, old, p store.Passkey) error {
			if p.ID != id || p.UserID != old.UserID {
				return errIDChanged
			}
			data, err := encode(p)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE passkeys SET data = $2 WHERE id = $1`, id, data)
			return err
		})
}

// UpdatePasskeyConsuming implements store.Passkeys in one transaction: the code's DELETE
// ... RETURNING first (of concurrent consumers the first commits, the others then find no
// row: ErrNotFound, and roll back without calling update), then the passkey's row lock and
// update.
func (s *Store) UpdatePasskeyConsuming(ctx context.Context, codeID, id string, update func(store.Passkey) (store.Passkey, error)) (store.OneTimeCode, store.Passkey, error) {
	var code store.OneTimeCode
	var out store.Passkey
	var cbErr error
	err := s.tx(ctx, func(tx pgx.Tx) error {
		code = store.OneTimeCode{}
		if err := getJSON(ctx, tx, &code, `DELETE FROM one_time_codes WHERE id = $1 RETURNING data`, codeID); err != nil {
			return fmt.Errorf("one-time code %q: %w", codeID, err)
		}
		var old store.Passkey
		if err := getJSON(ctx, tx, &old, `SELECT data FROM passkeys WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		p, err := update(old)
		if err != nil {
			cbErr = err
			return err
		}
		if p.ID != id || p.UserID != old.UserID {
			return errIDChanged
		}
		data, err := encode(p)
		if err != nil {
			return err
		}
		out = p
		_, err = tx.Exec(ctx, `UPDATE passkeys SET data = $2 WHERE id = $1`, id, data)
		return err
	})
	if cbErr != nil {
		return store.OneTimeCode{}, store.Passkey{}, cbErr
	}
	if err != nil {
		return store.OneTimeCode{}, store.Passkey{}, fmt.Errorf("postgres: update passkey %q: %w", id, err)
	}
	return code, out, nil
}

// DeletePasskey implements store.Passkeys. Deleting a missing passkey is not an error.
func (s *Store) DeletePasskey(ctx context.Context, id string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM passkeys WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete passkey: %w", err)
	}
	return nil
}

// --- linked identities ---

// CreateIdentity implements store.Identities. The foreign key refuses a missing user
// (ErrNotFound).
func (s *Store) CreateIdentity(ctx context.Context, id store.Identity) error {
	if id.Provider == "" || id.Subject == "" || id.UserID == "" || strings.Contains(id.Provider, "/") {
		return errors.New("postgres: create identity: empty provider, subject or user, or / in provider")
	}
	data, err := encode(id)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO identities (provider, subject, user_id, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (provider, subject) DO NOTHING`, id.Provider, id.Subject, id.UserID, data)
			if err != nil {
				return uniqueErr(err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("identity taken: %w", store.ErrAlreadyExists)
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create identity: %w", err)
	}
	return nil
}

// GetIdentity implements store.Identities.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (store.Identity, error) {
	var id store.Identity
	err := s.retry(ctx, func() error {
		return getJSON(ctx, s.pool, &id, `SELECT data FROM identities WHERE provider = $1 AND subject = $2`, provider, subject)
	})
	if err != nil {
		return store.Identity{}, fmt.Errorf("postgres: get identity: %w", err)
	}
	return id, nil
}

// ListUserIdentities implements store.Identities, ordered like Badger's index: by
// "provider/subject".
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	var out []store.Identity
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Identity](ctx, s.pool,
			`SELECT data FROM identities WHERE user_id = $1 ORDER BY provider, subject`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list identities of user %q: %w", userID, err)
	}
	return out, nil
}

// TouchIdentity implements store.Identities.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject, email string, at time.Time) error {
	iid := provider + "/" + subject
	_, err := updateRecord(s, ctx, "identity", iid, `SELECT data FROM identities WHERE provider = $1 AND subject = $2 FOR UPDATE`,
		[]any{provider, subject}, func(id store.Identity) (store.Identity, error) {
			id.LastUsedAt = at
			if email != "" {
				id.Email = email
			}
			return id, nil
		}, func(tx pgx.Tx, _, id store.Identity) error {
			data, err := encode(id)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE identities SET data = $3 WHERE provider = $1 AND subject = $2`, provider, subject, data)
			return err
		})
	return err
}

// DeleteIdentity implements store.Identities.
func (s *Store) DeleteIdentity(ctx context.Context, provider, subject string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM identities WHERE provider = $1 AND subject = $2`, provider, subject)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete identity: %w", err)
	}
	return nil
}
