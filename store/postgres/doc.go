// Package postgres implements store.Store on PostgreSQL (12 or later) through
// github.com/jackc/pgx/v5. It is the only package of Gatehouse that imports pgx. Several
// Gatehouse instances can share one database: every guarantee below holds across processes.
//
// # What it owns
//
// A connection pool (pgxpool) to one database and the tables of one schema: their
// definitions, as versioned migrations embedded in the binary (migrations/NNNN_name.sql),
// and the encoding of the records in them. Open applies the pending migrations before it
// returns, under a session advisory lock keyed by database and schema, so that instances
// starting together migrate once (the others wait, then find nothing to do); the applied
// versions and the checksums of their SQL are kept in schema_migrations, and a migration
// edited after it was applied is refused. Pending and Migrate serve `gatehouse store
// migrate [--dry-run]`. Migrations only add, so an older binary keeps working on a newer
// schema during a rolling upgrade; an applied migration is never edited (its checksum would
// no longer match), a change is a new file with the next number.
//
// # Tables
//
// Each record is kept whole in a json column, data, in the JSON encoding of the store
// record types that store/badger writes as its values (json rather than jsonb, so that a
// tenant's custom_data and a passkey's credential come back byte for byte); typed columns
// repeat what is looked up, kept unique, ordered or purged by:
//
//	users             id | email, external_id, phone (verified only) — UNIQUE, NULL when empty | data
//	                  | disabled, name (store.NameKey; pg_trgm index when available) — FindUsers
//	user_memberships  (kind 'g'/'r', value, user_id (FK users ON DELETE CASCADE)) — the user's groups and roles, for FindUsers
//	passwords         user_id (FK users ON DELETE CASCADE) | data
//	second_factors    user_id (FK users ON DELETE CASCADE) | data
//	sessions          id | user_id, expires_at | data
//	auth_codes        id | redeemed, redemption | purge_at | data
//	refresh_families  id | client_id, user_id, session_id, expires_at, revoked   (no data: internal)
//	refresh_tokens    id | family_id (FK families ON DELETE CASCADE), rotated, rotation | expires_at | data
//	revocations       (kind, subject) | at, expires_at | data
//	signing_keys      id | data
//	clients           id | data
//	counters          key | value, window_end                                     (no data)
//	one_time_codes    id | purpose, expires_at | data
//	groups            name | data
//	passkeys          id | user_id | data
//	app_credentials   id | user_id | data                                     (0040)
//	settings          key | version | data                                     (0060)
//	identities        (provider, subject) | user_id (FK users ON DELETE CASCADE) | data
//	consents          (user_id (FK users ON DELETE CASCADE), client_id) | data
//	audit_events      id (time-ordered) | type, actor, user_id, expires_at | data  (0050)
//
// Identifier columns use the "C" collation: listings are ordered byte-wise, as in Badger.
// An authorization code's redemption and a refresh token's rotation are written as a small
// JSON document (redemption, rotation) next to the record as created and laid over it when
// it is read, so that the single-use write is one conditional UPDATE that need not read
// the record first.
//
// # Exactly once
//
// Transactions run at READ COMMITTED; the one-time operations rely on row locks, on
// PostgreSQL re-checking a conditional UPDATE or DELETE against the row version that the
// transaction it waited for committed, and on unique indexes:
//
//   - RedeemAuthCode is `UPDATE auth_codes SET redeemed = true ... WHERE id = $1 AND NOT
//     redeemed RETURNING data`. Concurrent redemptions queue on the row lock; once the
//     first commits, the condition no longer holds for the others, which change nothing
//     and then read the stored record (with the first redemption's grant) to return it
//     with ErrAlreadyUsed.
//   - RotateRefreshToken is one statement: a conditional UPDATE marking the old token
//     rotated (only if it is not, and its family exists and is not revoked), and an INSERT
//     of the successor fed by the UPDATE's result. A losing rotation inserts nothing; a
//     taken successor ID fails the INSERT and with it the whole statement.
//   - ConsumeOneTimeCode is `DELETE ... RETURNING data`: one delete finds the row, the
//     others find it gone (ErrNotFound).
//   - IncrementCounter is one upsert (INSERT ... ON CONFLICT DO UPDATE), which takes the
//     row lock: increments queue and none is lost, so the values returned to concurrent
//     callers are distinct and consecutive.
//   - Creates insert with ON CONFLICT DO NOTHING or against unique indexes (two sign-ups
//     with one email: the second INSERT waits for the first to commit, then fails).
//   - Update* lock the row (SELECT ... FOR UPDATE) in a transaction, apply the callback
//     and write: concurrent updates of one record apply one after the other. The callbacks
//     may run more than once (a retried transaction) and must not have side effects.
//   - CreateRefreshToken pipelines the creation of the family (unless it exists) and an
//     INSERT of the token conditioned on the family not being revoked, in one implicit
//     transaction (one round trip).
//
// Serialization failures and deadlocks (SQLSTATE 40001, 40P01) are retried a bounded
// number of times with jittered back-off, after which store.ErrConflict is returned
// (wrapped).
//
// # Durability
//
// A method returns after PostgreSQL committed its writes, which with synchronous_commit on
// (the default; Open refuses a DSN that turns it off) means after the commit's WAL was
// flushed to disk, and, with synchronous replication, received by the standbys the server
// is configured to wait for. Concurrent commits share WAL flushes (group commit), which is
// why parallel writers are much faster per operation than one.
//
// # Expiry
//
// Records carry the purge times of their Badger TTLs in an indexed column (session: the
// earlier non-zero of its idle and absolute expiries; authorization code: PurgeAfter,
// never before ExpiresAt; refresh family: FamilyExpiresAt; refresh token: its family's
// expiry, else its own ExpiresAt; revocation: ExpiresAt; counter: window end; one-time
// code and audit event: ExpiresAt); NULL means none. Expired rows are readable until purged — callers
// check expiry themselves — and GarbageCollect (run every few minutes by RunPurge)
// deletes them in batches of 500 rows, each its own short transaction, skipping rows that
// are locked.
//
// Timestamp columns hold microseconds (PostgreSQL's resolution); the records in data keep
// nanoseconds. ListRevocations filters exactly on the records. A counter's window end is
// returned, and compared with now, to the microsecond.
//
// # Choices where the contract is silent (as in Badger)
//
//   - Create* refuse an empty ID; Update* refuse a callback that changes the ID (nothing is
//     written); DeleteUser of a missing user returns ErrNotFound.
//   - DeleteUserSessions and Revoke*Families change at most 500 rows per statement: each
//     batch is durable before the next starts, the whole is not atomic. Revoke*Families
//     return every family found, including ones revoked before.
//   - RotateRefreshToken takes an empty next.FamilyID as the old token's family and refuses
//     a different one.
//   - A refresh token whose family record is missing reads as revoked (fail closed).
//   - ListUserSessions is ordered by session ID, ListRevocations by kind then subject.
//   - CreatePasskey does not check that the user exists (DeleteUser removes the passkeys);
//     SetPassword and CreateIdentity do, through their foreign keys, which also keep a
//     concurrent DeleteUser from leaving a credential behind.
//
// # Connections
//
// Open sets, unless the DSN does: statement_timeout 10 s (a stuck query fails a request
// instead of holding a connection), idle_in_transaction_session_timeout 1 min,
// application_name gatehouse, and at most 10 pooled connections. TLS is the DSN's:
// sslmode=verify-full with sslrootcert for a server across a network. Behind a
// transaction-pooling proxy (PgBouncer), add default_query_exec_mode=exec or
// simple_protocol to the DSN: every statement is written for both. Schema selects a schema
// of its own (created if missing), as the tests do to run in parallel.
//
// # Several instances: change notifications and locks
//
// Store implements store.Notifier with LISTEN/NOTIFY (notify.go): AddRevocation (when it
// changes the list), UpdateUser (when it disables or enables), DeleteUser, CreateKey,
// UpdateKey, DeleteKey, PutSetting and DeleteSetting run pg_notify in their own transaction, so that other instances
// hear of the change exactly when it commits, on a channel named after the schema
// ("gatehouse:<schema>"). Listen
// holds one connection outside the pool (application_name gatehouse-listener), checks it
// after 30 s without a notification, and reconnects with exponential back-off (0.1 s to
// 10 s) when it drops, reporting store.TopicAll on every (re)connection. Behind a
// transaction-pooling proxy LISTEN does not work: point the DSN at the server (or a
// session-pooling port) or rely on the callers' polling. Store implements store.Locker with
// session advisory locks (pg_try_advisory_lock) held on a pooled connection until released.
//
// Close is safe to call more than once; methods called after it return ErrClosed.
package postgres
