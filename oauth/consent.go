package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

// NeedsConsent tells whether the user must be asked before the request is answered: only
// for a client marked consent required (a third party), when the request says
// prompt=consent (OIDC Core §3.1.2.1: "The Authorization Server SHOULD prompt the End-User
// for consent before returning information to the Client"), or when the user's stored
// consent to the client does not cover every requested scope. A request for a subset of
// what was consented to is answered without asking; a superset asks again.
func (p *Server) NeedsConsent(ctx context.Context, userID string, req *AuthRequest) (bool, error) {
	if !req.Client.ConsentRequired {
		return false, nil
	}
	if req.HasPrompt("consent") {
		return true, nil
	}
	c, err := p.Store.GetConsent(ctx, userID, req.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("read consent: %w", err)
	}
	for _, s := range req.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// GiveConsent remembers that the user let the client have the request's scopes, in
// addition to those consented to before.
func (p *Server) GiveConsent(ctx context.Context, userID string, req *AuthRequest) error {
	scopes := slices.Clone(req.Scopes)
	old, err := p.Store.GetConsent(ctx, userID, req.Client.ID)
	switch {
	case err == nil:
		for _, s := range old.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read consent: %w", err)
	}
	slices.Sort(scopes)
	if err := p.Store.PutConsent(ctx, store.Consent{UserID: userID, ClientID: req.Client.ID, Scopes: scopes, GrantedAt: p.Now()}); err != nil {
		return fmt.Errorf("store consent: %w", err)
	}
	return nil
}
