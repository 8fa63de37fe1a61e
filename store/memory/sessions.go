package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	if se.ID == "" {
		return errors.New("memory: create session: empty id")
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: create session %q: %w", se.ID, err)
	}
	defer s.mu.Unlock()
	if _, ok := s.sessions[se.ID]; ok {
		return fmt.Errorf("memory: create session %q: %w", se.ID, taken("id"))
	}
	put(s, s.sessions, se.ID, cloneSession(se))
	return nil
}

// StartSession implements store.Sessions: the user's update and the session are written
// under one lock.
func (s *Store) StartSession(ctx context.Context, se store.Session, update func(store.User) (store.User, error)) (store.User, error) {
	if se.ID == "" {
		return store.User{}, errors.New("memory: start session: empty id")
	}
	return updateRecord(s, ctx, "user", se.UserID, s.users, cloneUser, update, func(old, u store.User) error {
		if _, ok := s.sessions[se.ID]; ok {
			return fmt.Errorf("session: %w", taken("id"))
		}
		if err := s.writeUser(se.UserID, old, u); err != nil {
			return err
		}
		put(s, s.sessions, se.ID, cloneSession(se))
		return nil
	})
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	if err := s.lock(ctx); err != nil {
		return store.Session{}, fmt.Errorf("memory: get session %q: %w", id, err)
	}
	defer s.mu.Unlock()
	it, ok := s.sessions[id]
	if !ok {
		return store.Session{}, fmt.Errorf("memory: get session %q: %w", id, store.ErrNotFound)
	}
	return cloneSession(it.rec), nil
}

// UpdateSession implements store.Sessions. The UserID may change (the session moves to the
// other user's list); the ID may not.
func (s *Store) UpdateSession(ctx context.Context, id string, update func(store.Session) (store.Session, error)) (store.Session, error) {
	return updateRecord(s, ctx, "session", id, s.sessions, cloneSession, update, func(_, se store.Session) error {
		if se.ID != id {
			return errIDChanged
		}
		put(s, s.sessions, id, se)
		return nil
	})
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("memory: delete session %q: %w", id, err)
	}
	defer s.mu.Unlock()
	delete(s.sessions, id)
	return nil
}

// ListUserSessions implements store.Sessions. Sessions are ordered by ID.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: list sessions of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var out []store.Session
	for _, it := range s.sessions {
		if it.rec.UserID == userID {
			out = append(out, cloneSession(it.rec))
		}
	}
	return sortedBy(out, func(se store.Session) string { return se.ID }), nil
}

// DeleteUserSessions implements store.Sessions, atomically. The IDs are ordered.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) ([]string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("memory: delete sessions of user %q: %w", userID, err)
	}
	defer s.mu.Unlock()
	var ids []string
	for id, it := range s.sessions {
		if it.rec.UserID == userID {
			ids = append(ids, id)
			delete(s.sessions, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
