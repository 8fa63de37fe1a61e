package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testRevocations: the revocation list returns the entries since a time that still matter
// and keeps the later times of a repeated entry.
func testRevocations(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("revocation list holds the entries since a time that still matter", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		entries := []store.Revocation{
			{Kind: store.RevokeSession, Subject: "s-old", At: at(-2 * time.Hour), ExpiresAt: at(2 * time.Hour)},
			{Kind: store.RevokeSession, Subject: "s-since", At: at(-time.Hour), ExpiresAt: at(2 * time.Hour)},
			{Kind: store.RevokeGrant, Subject: "f1", At: at(-30 * time.Minute), ExpiresAt: at(time.Hour)},
			{Kind: store.RevokeUser, Subject: "u1", At: at(-10 * time.Minute), ExpiresAt: base},                       // ends at now
			{Kind: store.RevokeUser, Subject: "u2", At: at(-10 * time.Minute), ExpiresAt: at(-time.Minute)},           // ended
			{Kind: store.RevokeUser, Subject: "s-since", At: at(-5 * time.Minute), ExpiresAt: at(10 * time.Minute)},   // same subject, other kind
			{Kind: store.RevokeGrant, Subject: "f2/x", At: at(-5 * time.Minute), ExpiresAt: at(10*time.Minute + 1e6)}, // sub-second expiry
		}
		for _, r := range entries {
			ok(t, s.AddRevocation(ctx, r), "add "+r.Kind+" "+r.Subject)
		}
		got, err := s.ListRevocations(ctx, at(-time.Hour), base)
		ok(t, err, "list")
		want := []store.Revocation{entries[1], entries[2], entries[5], entries[6]}
		sortRevocations(got)
		sortRevocations(want)
		same(t, got, want, "listed entries")

		got, err = s.ListRevocations(ctx, time.Time{}, at(-3*time.Hour))
		ok(t, err, "list everything")
		if len(got) != len(entries) {
			t.Fatalf("list everything: got %d entries, want %d", len(got), len(entries))
		}
		got, err = s.ListRevocations(ctx, base, base)
		ok(t, err, "list since now")
		if len(got) != 0 {
			t.Fatalf("list since now: %+v", got)
		}
	})

	t.Run("adding a revocation again keeps the later times", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		r := store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: base, ExpiresAt: at(time.Hour)}
		ok(t, s.AddRevocation(ctx, r), "add")
		ok(t, s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: at(-time.Hour), ExpiresAt: at(30 * time.Minute)}), "add earlier")
		got, err := s.ListRevocations(ctx, time.Time{}, base)
		ok(t, err, "list")
		same(t, got, []store.Revocation{r}, "after adding an earlier entry")

		later := store.Revocation{Kind: store.RevokeUser, Subject: "u1", At: at(10 * time.Minute), ExpiresAt: at(2 * time.Hour)}
		ok(t, s.AddRevocation(ctx, later), "add later")
		got, err = s.ListRevocations(ctx, time.Time{}, base)
		ok(t, err, "list")
		same(t, got, []store.Revocation{later}, "after adding a later entry")
		got, err = s.ListRevocations(ctx, at(5*time.Minute), at(90*time.Minute))
		ok(t, err, "list since the first At, after the first expiry")
		same(t, got, []store.Revocation{later}, "later entry")
	})
}

// sortRevocations orders entries by kind, then subject.
func sortRevocations(rs []store.Revocation) {
	slices.SortFunc(rs, func(a, b store.Revocation) int {
		return strings.Compare(a.Kind+"\x00"+a.Subject, b.Kind+"\x00"+b.Subject)
	})
}
