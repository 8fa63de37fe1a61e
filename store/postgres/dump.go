package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

var _ store.Dumper = (*Store)(nil)

// dumpQueries select each kind's records in key order (store.Kinds order); each row is
// the record's json, then the json laid over it (a code's redemption, a token's rotation),
// then for tokens the family's revocation, then the used flag (redeemed, rotated).
var dumpQueries = []struct{ kind, sql string }{
	{store.KindUser, `SELECT data FROM users ORDER BY id`},
	{store.KindPassword, `SELECT data FROM passwords ORDER BY user_id`},
	{store.KindPasskey, `SELECT data FROM passkeys ORDER BY id`},
	{store.KindSecondFactor, `SELECT data FROM second_factors ORDER BY user_id`},
	{store.KindIdentity, `SELECT data FROM identities ORDER BY provider, subject`},
	{store.KindConsent, `SELECT data FROM consents ORDER BY user_id, client_id`},
	{store.KindAppCred, `SELECT data FROM app_credentials ORDER BY id`},
	{store.KindGroup, `SELECT data FROM groups ORDER BY name`},
	{store.KindSetting, `SELECT data FROM settings ORDER BY key`},
	{store.KindClient, `SELECT data FROM clients ORDER BY id`},
	{store.KindKey, `SELECT data FROM signing_keys ORDER BY id`},
	{store.KindSession, `SELECT data FROM sessions ORDER BY id`},
	{store.KindRefreshToken, `SELECT t.data, t.rotation, coalesce(f.revoked, true), t.rotated
		FROM refresh_tokens t LEFT JOIN refresh_families f ON f.id = t.family_id ORDER BY t.id`},
	{store.KindAuthCode, `SELECT data, redemption, redeemed FROM auth_codes ORDER BY id`},
	{store.KindRevocation, `SELECT data FROM revocations ORDER BY kind, subject`},
	{store.KindOneTimeCode, `SELECT data FROM one_time_codes ORDER BY id`},
	{store.KindCounter, `SELECT key, value, window_end FROM counters ORDER BY key`},
	{store.KindAuditEvent, `SELECT data FROM audit_events ORDER BY id`},
}

// Dump implements store.Dumper: one read-only REPEATABLE READ transaction (a consistent
// snapshot) runs a query per kind, and rows are decoded as fn consumes them (pgx streams
// the result).
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: dump: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	for _, q := range dumpQueries {
		if err := dumpKind(ctx, tx, q.kind, q.sql, fn); err != nil {
			return fmt.Errorf("postgres: dump %s: %w", q.kind, err)
		}
	}
	return nil
}

func dumpKind(ctx context.Context, tx pgx.Tx, kind, sql string, fn func(store.Record) error) error {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanRecord(kind, rows)
		if err != nil {
			return err
		}
		if err := fn(store.Record{Kind: kind, Value: v}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanRecord decodes the current row of a dumpQueries query.
func scanRecord(kind string, rows pgx.Rows) (any, error) {
	var data, over []byte
	switch kind {
	case store.KindRefreshToken:
		var revoked, rotated bool
		if err := rows.Scan(&data, &over, &revoked, &rotated); err != nil {
			return nil, err
		}
		var t store.RefreshToken
		if err := decodeOver(data, over, &t); err != nil {
			return nil, err
		}
		t.Revoked = revoked
		if rotated && t.RotatedAt.IsZero() {
			t.RotatedAt = store.UsedAt
		}
		return t, nil
	case store.KindAuthCode:
		var redeemed bool
		if err := rows.Scan(&data, &over, &redeemed); err != nil {
			return nil, err
		}
		var c store.AuthCode
		if err := decodeOver(data, over, &c); err != nil {
			return nil, err
		}
		if redeemed && c.RedeemedAt.IsZero() {
			c.RedeemedAt = store.UsedAt
		}
		return c, nil
	case store.KindCounter:
		var c store.Counter
		var end time.Time
		if err := rows.Scan(&c.Key, &c.Value, &end); err != nil {
			return nil, err
		}
		c.WindowEnd = end.UTC()
		return c, nil
	}
	if err := rows.Scan(&data); err != nil {
		return nil, err
	}
	switch kind {
	case store.KindUser:
		return decodeTo[store.User](data)
	case store.KindPassword:
		return decodeTo[store.PasswordCredential](data)
	case store.KindPasskey:
		return decodeTo[store.Passkey](data)
	case store.KindSecondFactor:
		return decodeTo[store.SecondFactor](data)
	case store.KindAppCred:
		return decodeTo[store.AppCredential](data)
	case store.KindAuditEvent:
		return decodeTo[store.AuditEvent](data)
	case store.KindIdentity:
		return decodeTo[store.Identity](data)
	case store.KindConsent:
		return decodeTo[store.Consent](data)
	case store.KindGroup:
		return decodeTo[store.Group](data)
	case store.KindSetting:
		return decodeTo[store.Setting](data)
	case store.KindClient:
		return decodeTo[store.Client](data)
	case store.KindKey:
		return decodeTo[store.SigningKey](data)
	case store.KindSession:
		return decodeTo[store.Session](data)
	case store.KindRevocation:
		return decodeTo[store.Revocation](data)
	case store.KindOneTimeCode:
		return decodeTo[store.OneTimeCode](data)
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// decodeOver decodes data into v, then the json laid over it, if any.
func decodeOver(data, over []byte, v any) error {
	if err := decode(data, v); err != nil {
		return err
	}
	if over != nil {
		return decode(over, v)
	}
	return nil
}

func decodeTo[T any](data []byte) (any, error) {
	var v T
	err := decode(data, &v)
	return v, err
}
