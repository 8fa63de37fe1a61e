package badger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

var _ store.Dumper = (*Store)(nil)

// Dump implements store.Dumper: one read-only transaction (a consistent snapshot) scans
// each record prefix in turn, decoding records one by one as fn consumes them.
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	err := s.view(ctx, func(txn *badger.Txn) error {
		steps := []struct {
			kind, prefix string
			decode       func(suffix, val []byte) (any, error)
		}{
			{store.KindUser, pUser, decodeAs[store.User]},
			{store.KindPassword, pPassword, decodeAs[store.PasswordCredential]},
			{store.KindPasskey, pPasskey, decodeAs[store.Passkey]},
			{store.KindSecondFactor, pFactor, decodeAs[store.SecondFactor]},
			{store.KindIdentity, pIdentity, decodeAs[store.Identity]},
			{store.KindConsent, pConsent, decodeAs[store.Consent]},
			{store.KindAppCred, pAppCred, decodeAs[store.AppCredential]},
			{store.KindGroup, pGroup, decodeAs[store.Group]},
			{store.KindSetting, pSetting, decodeAs[store.Setting]},
			{store.KindClient, pClient, decodeAs[store.Client]},
			{store.KindKey, pKey, decodeAs[store.SigningKey]},
			{store.KindSession, pSession, decodeAs[store.Session]},
			{store.KindRefreshToken, pToken, func(_, val []byte) (any, error) {
				var rec tokenRecord
				if err := json.Unmarshal(val, &rec); err != nil {
					return nil, err
				}
				f, err := getFamily(txn, rec.FamilyID)
				rec.Revoked = f.Revoked
				if rec.Rotated && rec.RotatedAt.IsZero() {
					rec.RotatedAt = store.UsedAt
				}
				return rec.RefreshToken, err
			}},
			{store.KindAuthCode, pCode, func(_, val []byte) (any, error) {
				var rec codeRecord
				err := json.Unmarshal(val, &rec)
				if rec.Redeemed && rec.RedeemedAt.IsZero() {
					rec.RedeemedAt = store.UsedAt
				}
				return rec.AuthCode, err
			}},
			{store.KindRevocation, pRevocation, decodeAs[store.Revocation]},
			{store.KindOneTimeCode, pOneTime, decodeAs[store.OneTimeCode]},
			{store.KindCounter, pCounter, func(suffix, val []byte) (any, error) {
				var c counter
				err := json.Unmarshal(val, &c)
				return store.Counter{Key: string(suffix), Value: c.Value, WindowEnd: c.WindowEnd}, err
			}},
			{store.KindAuditEvent, pAudit, decodeAs[store.AuditEvent]},
		}
		for _, st := range steps {
			err := scan(txn, []byte(st.prefix), "", func(suffix []byte, item *badger.Item) (bool, error) {
				if err := ctx.Err(); err != nil {
					return false, err
				}
				val, err := item.ValueCopy(nil)
				if err != nil {
					return false, err
				}
				v, err := st.decode(suffix, val)
				if err != nil {
					return false, fmt.Errorf("decode %q: %w", st.prefix+string(suffix), err)
				}
				return true, fn(store.Record{Kind: st.kind, Value: v})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badger: dump: %w", err)
	}
	return nil
}

// decodeAs decodes a record stored as the JSON of T.
func decodeAs[T any](_, val []byte) (any, error) {
	var v T
	err := json.Unmarshal(val, &v)
	return v, err
}
