package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Record kinds, in the order Dumper.Dump reports them: every record refers only to records
// of kinds before its own (a password to its user, a refresh token to its session), so that
// a copy that writes records in this order never writes a reference to a missing record.
const (
	KindUser         = "user"
	KindPassword     = "password"
	KindPasskey      = "passkey"
	KindSecondFactor = "second_factor"
	KindIdentity     = "identity"
	KindConsent      = "consent"
	KindAppCred      = "app_credential"
	KindGroup        = "group"
	KindSetting      = "setting"
	KindClient       = "client"
	KindKey          = "key"
	KindSession      = "session"
	KindRefreshToken = "refresh_token"
	KindAuthCode     = "auth_code"
	KindRevocation   = "revocation"
	KindOneTimeCode  = "one_time_code"
	KindCounter      = "counter"
	KindAuditEvent   = "audit_event"
)

// Kinds lists the record kinds in dump order.
var Kinds = []string{KindUser, KindPassword, KindPasskey, KindSecondFactor, KindIdentity, KindConsent, KindAppCred, KindGroup, KindSetting, KindClient, KindKey,
	KindSession, KindRefreshToken, KindAuthCode, KindRevocation, KindOneTimeCode, KindCounter, KindAuditEvent}

// Counter is a fixed-window counter as Dumper reports it.
type Counter struct {
	Key       string    `json:"key"`
	Value     int64     `json:"value"`
	WindowEnd time.Time `json:"window_end"`
}

// Record is one stored record of any kind. Value holds, by Kind: User, PasswordCredential,
// Passkey, SecondFactor, Identity, Consent, AppCredential, Group, Setting, Client, SigningKey, Session, RefreshToken (with Revoked set
// when its family was revoked, and RotatedAt when it was rotated), AuthCode (with
// RedeemedAt and GrantID once redeemed), Revocation, OneTimeCode, Counter, AuditEvent.
type Record struct {
	Kind  string
	Value any
}

// UsedAt is the RedeemedAt or RotatedAt a Dumper reports for a code or token marked used
// without a time (the contract lets a caller pass a zero now), so that a copy keeps it used.
var UsedAt = time.Unix(1, 0).UTC()

// Dumper is implemented by stores that can enumerate every record they hold (store/memory,
// store/badger, store/postgres), for `gatehouse store copy` and `gatehouse store export`.
//
// Dump calls fn with every record, kind by kind in the order of Kinds, within a kind in
// key order, from one consistent snapshot where the store has them (Badger, PostgreSQL).
// It streams: records are read as fn consumes them, never all at once (store/memory
// excepted). Dump stops at fn's first error and returns it. It never writes; records are
// copies that fn may keep. Records whose expiry has passed but that are not yet purged may
// be reported; the caller filters by time.
type Dumper interface {
	Dump(ctx context.Context, fn func(Record) error) error
}

// Live tells whether the record is still in force at now: sessions, refresh tokens,
// authorization codes, revocations, one-time codes, counters and audit events past their expiry (as
// GarbageCollector defines it) are not; the other kinds always are.
func Live(r Record, now time.Time) bool {
	before := func(t time.Time) bool { return !t.IsZero() && !t.After(now) }
	switch v := r.Value.(type) {
	case Session:
		return !before(v.IdleExpiresAt) && !before(v.AbsoluteExpiresAt)
	case RefreshToken:
		if !v.FamilyExpiresAt.IsZero() {
			return !before(v.FamilyExpiresAt)
		}
		return !before(v.ExpiresAt)
	case AuthCode:
		end := v.PurgeAfter
		if end.IsZero() {
			return true
		}
		if v.ExpiresAt.After(end) {
			end = v.ExpiresAt
		}
		return !before(end)
	case Revocation:
		return !before(v.ExpiresAt)
	case OneTimeCode:
		return !before(v.ExpiresAt)
	case Counter:
		return v.WindowEnd.After(now)
	case AuditEvent:
		return !before(v.ExpiresAt)
	}
	return true
}

// CopyStats counts the records a Copy wrote, by kind, and those it skipped as expired.
type CopyStats struct {
	Written map[string]int
	Expired int
}

// copyWorkers is how many records Copy writes at once. Records of one kind never depend on
// each other, so they are written concurrently (each write of a durable store waits for its
// commit to reach the disk; concurrent commits share that wait), and a kind starts only once
// the kind before it is written.
const copyWorkers = 8

// Copy writes every live record of src into dst (which should be empty) through dst's
// Store methods, preserving IDs, hashes and times, and returns what it wrote. Refresh
// tokens keep their rotation and their family's revocation, authorization codes their
// redemption, counters their value and window. Records stream from src to dst: at most a
// few dozen are held at once. It stops at the first error, naming the record.
func Copy(ctx context.Context, src Dumper, dst Store, now time.Time) (CopyStats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stats := CopyStats{Written: make(map[string]int)}
	revoked := make(map[string]bool)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		jobs chan Record
		kind string
	)
	startKind := func(k string) {
		kind, jobs = k, make(chan Record, 4*copyWorkers)
		for range copyWorkers {
			wg.Add(1)
			go func(jobs <-chan Record) {
				defer wg.Done()
				for r := range jobs {
					if ctx.Err() != nil {
						continue
					}
					if err := Write(ctx, dst, r, now); err != nil {
						cancel(fmt.Errorf("copy %s %q: %w", r.Kind, RecordID(r), err))
						continue
					}
					mu.Lock()
					stats.Written[r.Kind]++
					mu.Unlock()
				}
			}(jobs)
		}
	}
	endKind := func() error {
		if jobs != nil {
			close(jobs)
			wg.Wait()
			jobs = nil
		}
		if err := context.Cause(ctx); err != nil {
			return err
		}
		return nil
	}
	err := src.Dump(ctx, func(r Record) error {
		if !Live(r, now) {
			stats.Expired++
			return nil
		}
		if r.Kind != kind || jobs == nil {
			if err := endKind(); err != nil {
				return err
			}
			startKind(r.Kind)
		}
		if t, ok := r.Value.(RefreshToken); ok && t.Revoked {
			revoked[t.FamilyID] = true
		}
		select {
		case jobs <- r:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	if endErr := endKind(); err == nil {
		err = endErr
	} else if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.Canceled) {
		err = cause
	}
	if err != nil {
		return stats, err
	}
	// Families are revoked once all their tokens exist: a revoked family takes no new token.
	for id := range revoked {
		if err := dst.RevokeFamily(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return stats, fmt.Errorf("copy: revoke refresh-token family %q: %w", id, err)
		}
	}
	return stats, nil
}

// Write stores one record in dst through its Store methods. A refresh token is written
// unrevoked (Copy revokes its family after writing all its tokens); a counter restarts
// with its value and window end, measured from now.
func Write(ctx context.Context, dst Store, r Record, now time.Time) error {
	switch v := r.Value.(type) {
	case User:
		return dst.CreateUser(ctx, v)
	case PasswordCredential:
		return dst.SetPassword(ctx, v)
	case Passkey:
		return dst.CreatePasskey(ctx, v)
	case SecondFactor:
		return dst.CreateSecondFactor(ctx, v)
	case Identity:
		return dst.CreateIdentity(ctx, v)
	case Consent:
		return dst.PutConsent(ctx, v)
	case AppCredential:
		return dst.CreateAppCredential(ctx, v)
	case Group:
		return dst.PutGroup(ctx, v)
	case Setting:
		// A copy starts the document's versions again at 1 (ETags read before the copy
		// no longer match, which is safe: the writer reads again).
		_, err := dst.PutSetting(ctx, v, 0)
		return err
	case Client:
		return dst.CreateClient(ctx, v)
	case SigningKey:
		return dst.CreateKey(ctx, v)
	case Session:
		return dst.CreateSession(ctx, v)
	case RefreshToken:
		v.Revoked = false
		return dst.CreateRefreshToken(ctx, v)
	case AuthCode:
		return dst.CreateAuthCode(ctx, v)
	case Revocation:
		return dst.AddRevocation(ctx, v)
	case OneTimeCode:
		return dst.CreateOneTimeCode(ctx, v)
	case Counter:
		if !v.WindowEnd.After(now) {
			return nil
		}
		_, _, err := dst.IncrementCounter(ctx, v.Key, v.Value, v.WindowEnd.Sub(now), now)
		return err
	case AuditEvent:
		return dst.AppendAuditEvents(ctx, v)
	}
	return fmt.Errorf("unknown record %T", r.Value)
}

// RecordID names a record in messages: its ID, never a secret (stored IDs of sessions,
// tokens and codes are hashes).
func RecordID(r Record) string {
	switch v := r.Value.(type) {
	case User:
		return v.ID
	case PasswordCredential:
		return v.UserID
	case Passkey:
		return v.ID
	case SecondFactor:
		return v.UserID
	case Identity:
		return v.Provider + "/" + v.Subject
	case Consent:
		return v.UserID + "/" + v.ClientID
	case AppCredential:
		return v.ID
	case Group:
		return v.Name
	case Setting:
		return v.Key
	case Client:
		return v.ID
	case SigningKey:
		return v.ID
	case Session:
		return v.ID
	case RefreshToken:
		return v.ID
	case AuthCode:
		return v.ID
	case Revocation:
		return v.Kind + "/" + v.Subject
	case OneTimeCode:
		return v.ID
	case Counter:
		return v.Key
	case AuditEvent:
		return v.ID
	}
	return ""
}

// Empty tells whether the store holds no user, client, signing key, group or setting:
// what `gatehouse store copy` requires of its destination.
func Empty(ctx context.Context, s Store) (bool, error) {
	users, err := s.ListUsers(ctx, ListOptions{Limit: 1})
	if err != nil || len(users) > 0 {
		return false, err
	}
	clients, err := s.ListClients(ctx, ListOptions{Limit: 1})
	if err != nil || len(clients) > 0 {
		return false, err
	}
	keys, err := s.ListKeys(ctx)
	if err != nil || len(keys) > 0 {
		return false, err
	}
	groups, err := s.ListGroups(ctx, ListOptions{Limit: 1})
	if err != nil || len(groups) > 0 {
		return false, err
	}
	settings, err := s.ListSettings(ctx, ListOptions{Limit: 1})
	if err != nil || len(settings) > 0 {
		return false, err
	}
	return true, nil
}
