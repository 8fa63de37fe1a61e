package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/login"
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
	// ApprovedBy is the amr value of the method with which the user approved the request's
	// transaction (AuthRequest.ApprovalData) in an approve step; "" when none did.
	ApprovedBy string
}

// ErrSecondFactorRequired is IssueJourneyCode's answer for a journey whose login (its
// authenticate steps, or a restored context) was single-factor while the runtime settings
// require a second factor after one of its methods (StepUpRequired).
var ErrSecondFactorRequired = errors.New("a second factor is now required after this login method, and the journey's login had none")

// IssueJourneyCode creates an authorization code for a request answered by a journey
// instead of the built-in login. A request carrying a transaction gets a code only when the
// journey approved it (res.ApprovedBy, else ErrApprovalPending): the code then carries the
// transaction (the ID token's approval_data) and amr adds the approving method. A
// single-factor login that the settings now require to be stepped up gets no code
// (ErrSecondFactorRequired), as at /authorize.
func (p *Server) IssueJourneyCode(ctx context.Context, req *AuthRequest, res JourneyResult) (string, error) {
	if res.UserID == "" {
		return "", fmt.Errorf("journey code: no user")
	}
	if p.stepUpRequired(res.AMR) {
		return "", ErrSecondFactorRequired
	}
	if len(req.ApprovalData) > 0 && res.ApprovedBy == "" {
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
		rec.AMR = login.AddAMR(res.AMR, res.ApprovedBy)
		rec.ACR = req.ACRFor(login.ACR(rec.AMR))
	}
	if req.CodeChallenge != "" {
		rec.CodeChallenge, rec.CodeChallengeMethod = req.CodeChallenge, "S256"
	}
	if err := p.Store.CreateAuthCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store authorization code: %w", err)
	}
	return code, nil
}
