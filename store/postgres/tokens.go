package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// staleAttempts bounds the re-runs of a single-use operation whose outcome could not be
// explained by the row it then read (the row appeared between the two statements).
const staleAttempts = 5

// --- authorization codes ---

// redemption is what RedeemAuthCode writes next to the code as created: read back, it is
// laid over the record.
type redemption struct {
	RedeemedAt time.Time `json:"redeemed_at"`
	GrantID    string    `json:"grant_id"`
}

// codeExpiry is the purge time of a code: PurgeAfter (never before ExpiresAt); none if
// zero.
func codeExpiry(c store.AuthCode) time.Time {
	if c.PurgeAfter.IsZero() {
		return time.Time{}
	}
	return latest(c.PurgeAfter, c.ExpiresAt)
}

// CreateAuthCode implements store.AuthCodes. A code created with a RedeemedAt counts as
// redeemed.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if c.ID == "" {
		return errors.New("postgres: create auth code: empty id")
	}
	data, err := encode(c)
	if err == nil {
		err = s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, `INSERT INTO auth_codes (id, redeemed, purge_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO NOTHING`, c.ID, !c.RedeemedAt.IsZero(), nullTime(codeExpiry(c)), data)
			if err == nil && tag.RowsAffected() == 0 {
				err = fmt.Errorf("id taken: %w", store.ErrAlreadyExists)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create auth code %q: %w", c.ID, err)
	}
	return nil
}

// RedeemAuthCode implements store.AuthCodes with one conditional UPDATE: of concurrent
// redemptions (from any number of instances) the first takes the row lock and commits;
// PostgreSQL then re-checks "NOT redeemed" for each waiting one on the committed row, which
// no longer matches, so exactly one statement changes the row.
func (s *Store) RedeemAuthCode(ctx context.Context, id, grantID string, now time.Time) (store.AuthCode, error) {
	red, err := encode(redemption{RedeemedAt: now, GrantID: grantID})
	if err != nil {
		return store.AuthCode{}, fmt.Errorf("postgres: redeem auth code %q: %w", id, err)
	}
	var out store.AuthCode
	err = s.retry(ctx, func() error {
		for range staleAttempts {
			var data []byte
			err := s.pool.QueryRow(ctx, `UPDATE auth_codes SET redeemed = true, redemption = $2
				WHERE id = $1 AND NOT redeemed RETURNING data`, id, red).Scan(&data)
			if err == nil {
				out = store.AuthCode{}
				if err := decode(data, &out); err != nil {
					return err
				}
				out.RedeemedAt, out.GrantID = now, grantID
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// Not changed: unknown, or redeemed before. Read which.
			var redeemed bool
			var redData []byte
			err = s.pool.QueryRow(ctx, `SELECT redeemed, redemption, data FROM auth_codes WHERE id = $1`, id).Scan(&redeemed, &redData, &data)
			if err != nil {
				return notFound(err)
			}
			if redeemed {
				out = store.AuthCode{}
				if err := decode(data, &out); err != nil {
					return err
				}
				if redData != nil {
					if err := decode(redData, &out); err != nil {
						return err
					}
				}
				return store.ErrAlreadyUsed
			}
		}
		return errors.New("the code changed under every attempt")
	})
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		return out, fmt.Errorf("postgres: redeem auth code %q: %w", id, err)
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("postgres: redeem auth code %q: %w", id, err)
	}
	return out, nil
}

// --- refresh tokens ---

// rotation is what RotateRefreshToken writes next to the old token as created.
type rotation struct {
	RotatedAt time.Time `json:"rotated_at"`
}

// CreateRefreshToken implements store.RefreshTokens. One pipelined round trip, in one
// implicit transaction: the family is created unless it exists, then the token is inserted
// only if its family is not revoked. A taken token ID fails the insert, which rolls back
// the family it may have created.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if t.ID == "" || t.FamilyID == "" {
		return errors.New("postgres: create refresh token: empty id or family id")
	}
	t.Revoked = false
	data, err := encode(t)
	if err == nil {
		err = s.retry(ctx, func() error {
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO refresh_families (id, client_id, user_id, session_id, expires_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO NOTHING`, t.FamilyID, t.ClientID, t.UserID, t.SessionID, nullTime(t.FamilyExpiresAt))
			b.Queue(`INSERT INTO refresh_tokens (id, family_id, rotated, expires_at, data)
				SELECT $1, f.id, $3, coalesce(f.expires_at, $4), $5 FROM refresh_families f WHERE f.id = $2 AND NOT f.revoked`,
				t.ID, t.FamilyID, !t.RotatedAt.IsZero(), nullTime(t.ExpiresAt), data)
			br := s.pool.SendBatch(ctx, b)
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			tag, err := br.Exec()
			if err != nil {
				return uniqueErr(err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("family %q: %w", t.FamilyID, store.ErrRevoked)
			}
			return br.Close()
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: create refresh token %q: %w", t.ID, err)
	}
	return nil
}

// tokenRow reads a token with its rotation laid over it and its family's revocation (a
// missing family reads as revoked, failing closed).
func tokenRow(ctx context.Context, q db, id string) (t store.RefreshToken, rotated bool, err error) {
	var data, rotData []byte
	err = q.QueryRow(ctx, `SELECT t.data, t.rotated, t.rotation, coalesce(f.revoked, true)
		FROM refresh_tokens t LEFT JOIN refresh_families f ON f.id = t.family_id WHERE t.id = $1`, id).
		Scan(&data, &rotated, &rotData, &t.Revoked)
	if err != nil {
		return t, false, notFound(err)
	}
	revoked := t.Revoked
	if err := decode(data, &t); err != nil {
		return t, false, err
	}
	if rotData != nil {
		if err := decode(rotData, &t); err != nil {
			return t, false, err
		}
	}
	t.Revoked = revoked
	return t, rotated, nil
}

// GetRefreshToken implements store.RefreshTokens.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := s.retry(ctx, func() (err error) {
		t, _, err = tokenRow(ctx, s.pool, id)
		return err
	})
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("postgres: get refresh token %q: %w", id, err)
	}
	return t, nil
}

// rotateSQL marks the old token rotated, if it is not and its family is live, and inserts
// the successor, in one statement: the conditional UPDATE makes concurrent rotations of one
// token queue on its row lock, and after the first commits the others' conditions no
// longer match (see RedeemAuthCode), so they insert nothing. A taken successor ID fails
// the insert and with it the whole statement.
const rotateSQL = `WITH old AS (
	UPDATE refresh_tokens t SET rotated = true, rotation = $2
	FROM refresh_families f
	WHERE t.id = $1 AND NOT t.rotated AND t.family_id = $3 AND f.id = t.family_id AND NOT f.revoked
	RETURNING t.data, f.expires_at
), ins AS (
	INSERT INTO refresh_tokens (id, family_id, rotated, expires_at, data)
	SELECT $4, $3, $5, coalesce(old.expires_at, $6), $7 FROM old
	RETURNING id
)
SELECT old.data, (SELECT count(*) FROM ins) FROM old`

// RotateRefreshToken implements store.RefreshTokens. An empty next.FamilyID is taken to
// mean the old token's family; a different one is refused.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	if next.ID == "" {
		return store.RefreshToken{}, fmt.Errorf("postgres: rotate refresh token %q: empty successor id", oldID)
	}
	next.Revoked = false
	rot, err := encode(rotation{RotatedAt: now})
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("postgres: rotate refresh token %q: %w", oldID, err)
	}
	var old store.RefreshToken
	err = s.retry(ctx, func() error {
		if next.FamilyID == "" {
			t, _, err := tokenRow(ctx, s.pool, oldID)
			if err != nil {
				return err
			}
			next.FamilyID = t.FamilyID
		}
		data, err := encode(next)
		if err != nil {
			return err
		}
		for range staleAttempts {
			var oldData []byte
			var n int
			err := s.pool.QueryRow(ctx, rotateSQL, oldID, rot, next.FamilyID, next.ID, !next.RotatedAt.IsZero(),
				nullTime(next.ExpiresAt), data).Scan(&oldData, &n)
			if err == nil {
				old = store.RefreshToken{}
				return decode(oldData, &old)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return uniqueErr(err)
			}
			// Nothing changed: read why, in Badger's order of checks.
			t, rotated, err := tokenRow(ctx, s.pool, oldID)
			if err != nil {
				return err
			}
			old = t
			switch {
			case t.Revoked:
				return fmt.Errorf("family %q: %w", t.FamilyID, store.ErrRevoked)
			case rotated:
				return store.ErrAlreadyUsed
			case t.FamilyID != next.FamilyID:
				return fmt.Errorf("successor is in family %q, not %q", next.FamilyID, t.FamilyID)
			}
		}
		return errors.New("the token changed under every attempt")
	})
	switch {
	case errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrAlreadyUsed):
		return old, fmt.Errorf("postgres: rotate refresh token %q: %w", oldID, err)
	case err != nil:
		return store.RefreshToken{}, fmt.Errorf("postgres: rotate refresh token %q: %w", oldID, err)
	}
	return old, nil
}

// RevokeFamily implements store.RefreshTokens.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	err := s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE refresh_families SET revoked = true WHERE id = $1`, familyID)
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke family %q: %w", familyID, err)
	}
	return nil
}

// RevokeSessionFamilies implements store.RefreshTokens. It returns the IDs of every
// family started in the session, including families revoked before.
func (s *Store) RevokeSessionFamilies(ctx context.Context, sessionID string) ([]string, error) {
	ids, err := s.revokeFamiliesOf(ctx, "session_id", sessionID)
	if err != nil {
		return ids, fmt.Errorf("postgres: revoke families of session %q: %w", sessionID, err)
	}
	return ids, nil
}

// RevokeUserFamilies implements store.RefreshTokens. It returns the IDs of every family
// of the user, including families revoked before.
func (s *Store) RevokeUserFamilies(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.revokeFamiliesOf(ctx, "user_id", userID)
	if err != nil {
		return ids, fmt.Errorf("postgres: revoke families of user %q: %w", userID, err)
	}
	return ids, nil
}

// revokeFamiliesOf revokes the families whose column (a constant) is value, batchSize per
// statement in ID order, and returns their IDs in order. Families without a session or
// user are not indexed by it (as in Badger).
func (s *Store) revokeFamiliesOf(ctx context.Context, column, value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	var out []string
	after := ""
	for {
		var batch []string
		err := s.retry(ctx, func() error {
			rows, err := s.pool.Query(ctx, `UPDATE refresh_families SET revoked = true WHERE id IN (
				SELECT id FROM refresh_families WHERE `+column+` = $1 AND `+column+` <> '' AND id > $2 ORDER BY id LIMIT $3)
				RETURNING id`, value, after, batchSize)
			if err != nil {
				return err
			}
			batch, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			return out, err
		}
		if len(batch) == 0 {
			return out, nil
		}
		slices.Sort(batch)
		out = append(out, batch...)
		after = batch[len(batch)-1]
	}
}
