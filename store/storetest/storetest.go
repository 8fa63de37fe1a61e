// Package storetest is the conformance suite every store.Store implementation must pass.
//
// An implementation's tests call RunTests and RunConcurrencyTests with a constructor that
// returns a new, empty store and registers its Close with t.Cleanup (the suite never closes
// the stores it is given).
//
// RunTests checks every aggregate of the contract, that records are copies (no caller can
// change stored state through a slice or map), and, for a store that implements
// store.GarbageCollector, what GarbageCollect removes and keeps, and, for a store that implements
// store.Dumper, that store.Copy into it and back loses nothing. RunConcurrencyTests checks
// the exactly-once guarantees (code redemption, refresh rotation, one-time codes, unique
// emails and credential IDs) and that neither counters nor Update* lose a write.
//
// All times are fixed, far in the future and passed explicitly: an implementation may purge
// records by the wall clock once their expiry has passed, and the suite never sleeps.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// base is the "now" of the suite. It lies far in the future so that wall-clock TTLs never
// purge the records under test.
var base = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns base + d.
func at(d time.Duration) time.Time { return base.Add(d) }

// errBoom is returned by update callbacks that must abort the update.
var errBoom = errors.New("boom")

// RunTests runs the functional conformance tests.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("Passwords", func(t *testing.T) { testPasswords(t, newStore) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore) })
	t.Run("AuthCodes", func(t *testing.T) { testAuthCodes(t, newStore) })
	t.Run("RefreshTokens", func(t *testing.T) { testRefreshTokens(t, newStore) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, newStore) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, newStore) })
	t.Run("Clients", func(t *testing.T) { testClients(t, newStore) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, newStore) })
	t.Run("OneTimeCodes", func(t *testing.T) { testOneTimeCodes(t, newStore) })
	t.Run("CombinedWrites", func(t *testing.T) { testCombinedWrites(t, newStore) })
	t.Run("Groups", func(t *testing.T) { testGroups(t, newStore) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, newStore) })
	t.Run("UserProfile", func(t *testing.T) { testUserProfile(t, newStore) })
	t.Run("FindUsers", func(t *testing.T) { testFindUsers(t, newStore) })
	t.Run("Passkeys", func(t *testing.T) { testPasskeys(t, newStore) })
	t.Run("AppCredentials", func(t *testing.T) { testAppCredentials(t, newStore) })
	t.Run("AuditEvents", func(t *testing.T) { testAuditEvents(t, newStore) })
	t.Run("Identities", func(t *testing.T) { testIdentities(t, newStore) })
	t.Run("Consents", func(t *testing.T) { testConsents(t, newStore) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, newStore) })
	t.Run("DeleteUserGrants", func(t *testing.T) { testDeleteUserGrants(t, newStore) })
	t.Run("SecondFactors", func(t *testing.T) { testSecondFactors(t, newStore) })
	t.Run("Copies", func(t *testing.T) { testCopies(t, newStore) })
	t.Run("GarbageCollect", func(t *testing.T) { testGarbageCollect(t, newStore) })
	t.Run("Dump", func(t *testing.T) { testDump(t, newStore) })
}
