// Package settings is Gatehouse's runtime configuration: login preferences, branding,
// social providers and roles that an administrator changes without a reload, kept in the
// store (store.Settings) and read through one View.
//
// # Precedence
//
// What the Caddyfile (the JSON configuration) sets wins, always, and is read-only: a field
// the Caddyfile sets is shown with its Caddyfile value, marked FromCaddyfile, and a write
// to it is refused naming the field. Every other field is the stored value if one is
// stored, else the built-in default. A stored value never silently overrides a Caddyfile
// one; a social provider or role stored under the name of a Caddyfile one is refused.
//
// # Reading
//
// View holds an immutable Snapshot of the effective settings behind an atomic pointer:
// requests read the snapshot and never the store. The snapshot is rebuilt at once after a
// write through this instance's Service, when the store reports store.TopicSettings
// (store/postgres: another instance wrote), and by polling every few seconds as a
// fallback.
//
// # Writing
//
// Service is the Go API the Administration API calls: Get returns the effective document,
// which fields come from the Caddyfile and the version (the ETag); Update applies a patch
// compare-and-set on that version (store.ErrVersionMismatch on a concurrent change) and
// answers bad input with a *FieldError naming the field. Provider client secrets are
// write-only (sealed at rest, never returned). Every write records an audit.AdminWrite
// event.
//
// The package knows no HTTP.
package settings
