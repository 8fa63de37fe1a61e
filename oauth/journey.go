package oauth

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// JourneyResult is what a completed journey established (package journey): the user, and
// only what actually happened — AuthTime, AMR and ACR from its authenticate steps (zero
// when none ran), SessionID the portal session of that login, NewUser from create_user.
type JourneyResult struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	NewUser   bool
	// Approved is the canonical transaction (package approval) an approve step of the
	// journey had the user approve; nil when none did.
	Approved []byte
}

// IssueJourneyCode creates an authorization code for a request answered by a journey
// instead of the built-in login.
func (p *Server) IssueJourneyCode(ctx context.Context, req *AuthRequest, res JourneyResult) (string, error) {
	if res.UserID == "" {
		return "", fmt.Errorf("journey code: no user")
	}
	// approval_data goes into a token only as the user approved it: a journey that did not
	// approve exactly this transaction (no approve step, or another transaction) gets no
	// code for it, or a login alone would yield "approved" payments.
	if len(req.ApprovalData) > 0 && string(res.Approved) != string(req.ApprovalData) {
		return "", ErrApprovalPending
	}
	if res.SessionID != "" {
		// The session remembers the client, for back-channel logout.
		if _, err := p.Store.UpdateSession(ctx, res.SessionID, func(s store.Session) (store.Session, error) {
			if !hasString(s.Clients, req.Client.ID) && len(s.Clients) < 64 {
				s.Clients = append(s.Clients, req.Client.ID)
			}
			return s, nil
		}); err != nil {
			return "", fmt.Errorf("update session: %w", err)
		}
	}
	code := secret.Token()
	now := p.Now()
	acr := res.ACR
	if acr != "" {
		acr = req.ACRFor(acr)
	}
	rec := store.AuthCode{ID: secret.Hash(code), ClientID: req.Client.ID, RedirectURI: req.RedirectURI,
		UserID: res.UserID, SessionID: res.SessionID, Scopes: req.Scopes, Nonce: req.Nonce, Audience: req.Resources,
		Claims: req.Claims.Encode(), AuthTime: res.AuthTime, AMR: res.AMR, ACR: acr, NewUser: res.NewUser,
		CreatedAt: now, ExpiresAt: now.Add(p.CodeLifetime),
		PurgeAfter: now.Add(p.CodeLifetime + max(p.AccessTokenLifetime, p.Verifier.MaxLifetime))}
	if len(req.ApprovalData) > 0 {
		rec.ApprovalData = string(req.ApprovalData)
	}
	if req.CodeChallenge != "" {
		rec.CodeChallenge, rec.CodeChallengeMethod = req.CodeChallenge, "S256"
	}
	if err := p.Store.CreateAuthCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store authorization code: %w", err)
	}
	return code, nil
}
