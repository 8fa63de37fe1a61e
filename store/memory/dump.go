package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

var _ store.Dumper = (*Store)(nil)

// Dump implements store.Dumper. It takes a snapshot of every record under the lock, then
// calls fn without holding it (fn may use the store).
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: dump: %w", err)
	}
	var recs []store.Record
	add := func(kind string, v any) { recs = append(recs, store.Record{Kind: kind, Value: v}) }
	for _, id := range slices.Sorted(maps.Keys(s.users)) {
		add(store.KindUser, cloneUser(s.users[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.passwords)) {
		add(store.KindPassword, s.passwords[id])
	}
	for _, id := range slices.Sorted(maps.Keys(s.passkeys)) {
		add(store.KindPasskey, clonePasskey(s.passkeys[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.factors)) {
		add(store.KindSecondFactor, cloneSecondFactor(s.factors[id].rec))
	}
	ids := slices.SortedFunc(maps.Keys(s.identities), func(a, b identityKey) int {
		return cmp.Or(cmp.Compare(a.provider, b.provider), cmp.Compare(a.subject, b.subject))
	})
	for _, k := range ids {
		add(store.KindIdentity, s.identities[k])
	}
	cks := slices.SortedFunc(maps.Keys(s.consents), func(a, b consentKey) int {
		return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.client, b.client))
	})
	for _, k := range cks {
		add(store.KindConsent, cloneConsent(s.consents[k]))
	}
	for _, id := range slices.Sorted(maps.Keys(s.appCreds)) {
		add(store.KindAppCred, cloneAppCredential(s.appCreds[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.groups)) {
		add(store.KindGroup, cloneGroup(s.groups[id].rec))
	}
	for _, k := range slices.Sorted(maps.Keys(s.settings)) {
		add(store.KindSetting, cloneSetting(s.settings[k]))
	}
	for _, id := range slices.Sorted(maps.Keys(s.clients)) {
		add(store.KindClient, cloneClient(s.clients[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.keys)) {
		add(store.KindKey, cloneSigningKey(s.keys[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.sessions)) {
		add(store.KindSession, cloneSession(s.sessions[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.tokens)) {
		t := cloneRefreshToken(s.tokens[id].token)
		t.Revoked = s.familyOf(t.FamilyID).revoked
		if s.tokens[id].rotated && t.RotatedAt.IsZero() {
			t.RotatedAt = store.UsedAt
		}
		add(store.KindRefreshToken, t)
	}
	for _, id := range slices.Sorted(maps.Keys(s.codes)) {
		c := cloneAuthCode(s.codes[id].code)
		if s.codes[id].redeemed && c.RedeemedAt.IsZero() {
			c.RedeemedAt = store.UsedAt
		}
		add(store.KindAuthCode, c)
	}
	revs := slices.SortedFunc(maps.Keys(s.revs), func(a, b revocationKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.subject, b.subject))
	})
	for _, k := range revs {
		add(store.KindRevocation, s.revs[k])
	}
	for _, id := range slices.Sorted(maps.Keys(s.oneTime)) {
		add(store.KindOneTimeCode, cloneOneTimeCode(s.oneTime[id].rec))
	}
	for _, id := range slices.Sorted(maps.Keys(s.counters)) {
		c := s.counters[id]
		add(store.KindCounter, store.Counter{Key: id, Value: c.value, WindowEnd: c.windowEnd})
	}
	for _, id := range slices.Sorted(maps.Keys(s.audit)) {
		add(store.KindAuditEvent, cloneAuditEvent(s.audit[id].rec))
	}
	s.mu.Unlock()
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
