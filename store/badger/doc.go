// Package badger implements store.Store on an embedded BadgerDB (github.com/dgraph-io/badger/v4).
// It is the only package of Gatehouse that imports badger.
//
// # What it owns
//
// The package owns one badger directory (DefaultDir under Caddy's app data directory by
// default), its tuning, its key layout and its on-disk encoding. Badger takes an exclusive
// flock on the directory: only one process (one Gatehouse/Caddy instance) can open it at a
// time, and Open reports ErrLocked, naming the path, when another process holds it.
//
// # Files
//
// badger.go opens, closes and garbage-collects the database and runs its transactions;
// records.go holds the encoding, key and listing helpers shared by the aggregates; each
// aggregate has the file named after it (users.go, passwords.go, sessions.go, codes.go,
// tokens.go, revocations.go, keys.go, clients.go, counters.go, onetime.go, groups.go,
// passkeys.go, identities.go), as the conformance suite in store/storetest does.
//
// # Key layout
//
// Every aggregate lives under its own key prefix; values are the JSON encoding of the store
// record types (plus a few internal flags), and index entries have empty values:
//
//	u/<id>                    User
//	ue/<email>                -> user ID (unique index, only for a non-empty Email)
//	ux/<external id>          -> user ID (unique index, only for a non-empty ExternalUserID)
//	up/<phone number>         -> user ID (unique index, only for a verified PhoneNumber)
//	ug/<group>/<uid>          index of users by group (FindUsers; see userindex.go)
//	ur/<role>/<uid>           index of users by role
//	ud/<0|1>/<uid>            index of users by the disabled flag
//	un/<uid>                  -> the user's store.NameKey (the name filter's compact scan)
//	meta/ui                   -> the version of the four user indexes above (built at Open)
//	pw/<user id>              PasswordCredential
//	sf/<user id>              SecondFactor (authenticator app, recovery codes)
//	s/<id>                    Session
//	su/<uid>/<sid>            index of a user's sessions
//	c/<id>                    AuthCode (plus the internal "redeemed" flag)
//	rt/<id>                   RefreshToken (plus the internal "rotated" flag)
//	rf/<family id>            refresh-token family (owner, expiry, revoked flag)
//	rfs/<sid>/<family id>     index of the families started in a session
//	rfu/<uid>/<family id>     index of a user's families
//	rv/<kind>/<subject>       Revocation
//	k/<kid>                   SigningKey
//	cl/<id>                   Client
//	n/<key>                   counter (value and window end)
//	o/<id>                    OneTimeCode
//	op/<purpose>/<id>         index of one-time codes by purpose
//	g/<name>                  Group
//	pk/<credential id>        Passkey
//	pku/<user>/<id>           index of passkeys by user
//	id/<provider>/<subject>   Identity (linked upstream account; provider names have no "/")
//	idu/<user>/<provider/subject>  index of identities by user
//	cs/<user>/<client>        Consent (the user's consent to a third-party client)
//	ac/<id>                   AppCredential (app password, personal access token)
//	acu/<user>/<id>           index of app credentials by user
//	ae/<id>                   AuditEvent (the ID starts with the event's time, so keys are in time order)
//	st/<key>                  Setting (runtime settings; written compare-and-set on Version)
//
// In composite keys (su, rfs, rfu, rv, op, pku, idu, cs, acu, ug, ur, ud) every component but the last is written as
// "<length>:<bytes>" so that IDs containing "/" can never make two keys collide or make a
// prefix scan for one user return another user's records.
//
// # Expiry
//
// Records that expire carry a badger TTL taken from their expiry (Session: the earlier of
// its non-zero idle and absolute expiries; AuthCode: PurgeAfter; refresh family:
// FamilyExpiresAt; RefreshToken: its family's expiry, or its own ExpiresAt when the family
// has none; Revocation: ExpiresAt; counter: window end; OneTimeCode and AuditEvent: ExpiresAt, the retention). A zero
// time means no TTL, never "already expired". Index entries get the TTL of the record they
// index. Badger compares TTLs with the wall clock, rounded up to the second; callers still
// check expiry themselves with the time they pass in.
//
// # Transactions and durability
//
// Every read-modify-write runs in one badger transaction with conflict detection and is
// retried a bounded number of times on badger.ErrConflict, after which store.ErrConflict is
// returned (wrapped). Read-modify-writes on one record are also serialised inside the
// process, so hot records (a rate-limit counter) do not burn retries. The update callbacks
// of the Update* methods may therefore run more than once and must not have side effects.
//
// The database is opened with SyncWrites: every write is fsynced before the method
// returns, so code redemption, refresh rotation, revocations, logouts and counter
// increments survive a crash of the process (and of the machine, as far as the disk honours
// fsync).
//
// The revocation list, which every instance polls every few seconds, is mirrored in
// memory: the directory lock makes this Store the only writer, so the mirror is updated
// after each AddRevocation commit and ListRevocations is a filter over a small map.
//
// # Choices where the contract is silent
//
//   - Create* refuse an empty ID; Update* refuse a callback that changes the ID (nothing is
//     written); DeleteUser of a missing user returns ErrNotFound.
//   - DeleteUserSessions and Revoke*Families commit in transactions of at most 500
//     records: each is durable before the next starts, the whole is not atomic.
//     Revoke*Families return every family found, including ones revoked before.
//   - RotateRefreshToken takes an empty next.FamilyID as the old token's family and
//     refuses a different one.
//   - A refresh token whose family record is missing reads as revoked (fail closed).
//   - ListUserSessions is ordered by session ID, ListRevocations by kind then subject.
//
// # Memory
//
// Badger's defaults target large servers (64 MB memtables, 256 MB block cache). Open tunes
// it for a small footprint: 8 MB memtables (at most two), a 16 MB block cache and an 8 MB
// index cache, 2 MB base tables, two compactors, 64 MB value-log files, and a value
// threshold that keeps all ordinary records inside the LSM tree (the value log then holds
// only rare large values). BenchmarkMemory measures the result: opening an empty store
// adds about 1.5 MB of RSS; with 100k users and 100k sessions the process settles around
// 20 MB of live heap (30-55 MB RSS, part of it clean mmapped file pages), with transient
// peaks of 80-100 MB of heap while badger compacts after a bulk import.
//
// Close is safe to call more than once; methods called after it return ErrClosed.
package badger
