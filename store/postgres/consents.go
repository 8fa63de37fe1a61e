package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// PutConsent implements store.Consents. The foreign key refuses a missing user
// (ErrNotFound).
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	if c.UserID == "" || c.ClientID == "" {
		return errors.New("postgres: put consent: empty user or client")
	}
	data, err := encode(c)
	if err == nil {
		err = s.retry(ctx, func() error {
			_, err := s.pool.Exec(ctx, `INSERT INTO consents (user_id, client_id, data) VALUES ($1, $2, $3)
				ON CONFLICT (user_id, client_id) DO UPDATE SET data = EXCLUDED.data`, c.UserID, c.ClientID, data)
			return uniqueErr(err)
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: put consent: %w", err)
	}
	return nil
}

// GetConsent implements store.Consents.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var c store.Consent
	err := s.retry(ctx, func() error {
		return getJSON(ctx, s.pool, &c, `SELECT data FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	})
	if err != nil {
		return store.Consent{}, fmt.Errorf("postgres: get consent: %w", err)
	}
	return c, nil
}

// ListUserConsents implements store.Consents.
func (s *Store) ListUserConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	var out []store.Consent
	err := s.retry(ctx, func() (err error) {
		out, err = listJSON[store.Consent](ctx, s.pool, `SELECT data FROM consents WHERE user_id = $1 ORDER BY client_id`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list consents of user %q: %w", userID, err)
	}
	return out, nil
}

// DeleteConsent implements store.Consents.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete consent: %w", err)
	}
	return nil
}

// ListUserGrants implements store.RefreshTokens. The scopes and the time come from the
// family's earliest token.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]store.Grant, error) {
	var out []store.Grant
	err := s.retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT f.id, f.client_id, f.session_id, f.expires_at,
			(SELECT t.data FROM refresh_tokens t WHERE t.family_id = f.id ORDER BY t.data->>'created_at', t.id LIMIT 1)
			FROM refresh_families f
			WHERE f.user_id = $1 AND NOT f.revoked AND (f.expires_at IS NULL OR f.expires_at > $2) ORDER BY f.id`, userID, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g store.Grant
			var exp *time.Time
			var data []byte
			if err := rows.Scan(&g.FamilyID, &g.ClientID, &g.SessionID, &exp, &data); err != nil {
				return err
			}
			if exp != nil {
				g.ExpiresAt = exp.UTC()
			}
			if data != nil {
				var t store.RefreshToken
				if err := decode(data, &t); err != nil {
					return err
				}
				g.Scopes, g.CreatedAt = t.Scopes, t.CreatedAt
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list grants of user %q: %w", userID, err)
	}
	return out, nil
}
