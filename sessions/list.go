package sessions

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

// List returns the user's live portal sessions, the most recently seen first, for the
// account page. A session's LastSeenAt moves when the portal reads it (Get), at most once
// per touchEvery: requests through gatehouse_protect never write to the session record.
func (m *Manager) List(ctx context.Context, userID string) ([]store.Session, error) {
	all, err := m.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := m.Now()
	out := all[:0]
	for _, s := range all {
		if now.Before(s.ExpiresAt()) && m.Revocations.Check(s.ID, "", "", 0) == nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b store.Session) int {
		return cmp.Or(b.LastSeenAt.Compare(a.LastSeenAt), b.CreatedAt.Compare(a.CreatedAt))
	})
	return out, nil
}

// EndOwn logs out the user's session sessionID as a logout would (End): the session's
// cookie stops working at once, in every browser and at every gatehouse_protect route
// (its sid is revoked). A session that is not the user's is ErrNoSession.
func (m *Manager) EndOwn(ctx context.Context, userID, sessionID string) error {
	s, err := m.Store.GetSession(ctx, sessionID)
	if err != nil || s.UserID != userID {
		return ErrNoSession
	}
	return m.End(ctx, sessionID)
}

// EndOthers logs out every session of the user but keep, as a logout would (offline
// grants survive, as they do a logout; see End).
func (m *Manager) EndOthers(ctx context.Context, userID, keep string) error {
	return m.endSessionsExcept(ctx, userID, keep)
}
