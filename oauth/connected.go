package oauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// ConnectedApp is a client that holds live grants of a user (refresh-token families not
// revoked) or a stored consent: what the account page's "Connected apps" lists.
type ConnectedApp struct {
	ClientID string
	// Name is the client's name (its ID when the client is no longer configured).
	Name string
	// Scopes are the scopes of its grants and its consent, sorted.
	Scopes []string
	// GrantedAt is the earliest of its grants' and consent's times.
	GrantedAt time.Time
	// Grants counts its live refresh-token families; Offline tells whether one of them
	// was granted offline_access (it outlives logout, not a disconnect).
	Grants  int
	Offline bool
	// Consented tells whether the user consented to it on the consent page.
	Consented bool
}

// ConnectedApps lists the clients with live grants or a consent of the user, by name.
func (p *Server) ConnectedApps(ctx context.Context, userID string) ([]ConnectedApp, error) {
	grants, err := p.Store.ListUserGrants(ctx, userID, p.Now())
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	consents, err := p.Store.ListUserConsents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	apps := map[string]*ConnectedApp{}
	app := func(id string, at time.Time, scopes []string) *ConnectedApp {
		a, ok := apps[id]
		if !ok {
			a = &ConnectedApp{ClientID: id, Name: id, GrantedAt: at}
			if c, err := p.Client(ctx, id); err == nil {
				a.Name = c.Name
			}
			apps[id] = a
		}
		if !at.IsZero() && (a.GrantedAt.IsZero() || at.Before(a.GrantedAt)) {
			a.GrantedAt = at
		}
		for _, s := range scopes {
			if !slices.Contains(a.Scopes, s) {
				a.Scopes = append(a.Scopes, s)
			}
		}
		return a
	}
	for _, g := range grants {
		a := app(g.ClientID, g.CreatedAt, g.Scopes)
		a.Grants++
		a.Offline = a.Offline || slices.Contains(g.Scopes, "offline_access")
	}
	for _, c := range consents {
		app(c.ClientID, c.GrantedAt, c.Scopes).Consented = true
	}
	out := make([]ConnectedApp, 0, len(apps))
	for _, a := range apps {
		slices.Sort(a.Scopes)
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b ConnectedApp) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ClientID, b.ClientID))
	})
	return out, nil
}

// ErrNotConnected means the user has no live grant and no consent for the client.
var ErrNotConnected = errors.New("this app is not connected to your account")

// Disconnect ends everything the user gave the client: every refresh-token family of the
// user and client is revoked with the access tokens issued in it (offline grants too), the
// consent is deleted (the consent page asks again), and the client, if it registered a
// back-channel logout URI, receives a logout token for each of the user's sessions it took
// part in, so that it ends its own session for the user.
func (p *Server) Disconnect(ctx context.Context, userID, clientID string) error {
	grants, err := p.Store.ListUserGrants(ctx, userID, p.Now())
	if err != nil {
		return fmt.Errorf("list grants: %w", err)
	}
	found := false
	sids := map[string]bool{}
	for _, g := range grants {
		if g.ClientID != clientID {
			continue
		}
		found = true
		if err := p.Sessions.RevokeGrant(ctx, g.FamilyID); err != nil {
			return fmt.Errorf("revoke grant: %w", err)
		}
		if g.SessionID != "" {
			sids[g.SessionID] = true
		}
	}
	if _, err := p.Store.GetConsent(ctx, userID, clientID); err == nil {
		found = true
		if err := p.Store.DeleteConsent(ctx, userID, clientID); err != nil {
			return fmt.Errorf("delete consent: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read consent: %w", err)
	}
	if !found {
		return ErrNotConnected
	}
	sessions, err := p.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	var ended []store.Session
	for _, s := range sessions {
		if sids[s.ID] || slices.Contains(s.Clients, clientID) {
			ended = append(ended, s)
		}
	}
	p.notifyClientLogout(clientID, ended)
	return nil
}

// notifyClientLogout sends client clientID a logout token for each session, in the
// background (as NotifyLogout does for a session's every client).
func (p *Server) notifyClientLogout(clientID string, ss []store.Session) {
	if len(ss) == 0 {
		return
	}
	c, err := p.Client(context.Background(), clientID)
	if err != nil || c.BackchannelLogoutURI == "" {
		return
	}
	for _, s := range ss {
		tok, err := p.Tokens.LogoutToken(c.forTokens(), s, p.Now())
		if err != nil {
			p.logger().Error("back-channel logout: sign", "client", c.ID, "error", err)
			continue
		}
		go p.deliverLogout(c, tok)
	}
}
