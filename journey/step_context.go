package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ContextPurpose tags the saved user contexts among the one-time codes.
const ContextPurpose = "journey_context"

// DefaultContextLifetime bounds a save_context handle.
const DefaultContextLifetime = 5 * time.Minute

// defaultHandle is where restore_context finds the handle unless configured otherwise.
const defaultHandle = "request.pushed.journey_context"

// saveContext saves the journey's authenticated user context (the seed's "Restore User
// Context"): an opaque, single-use, short-lived handle bound to the journey's client. The
// handler hands it back to the client with the authorization code (journey_context); the
// client may pass it, in a pushed authorization request, to another journey whose
// restore_context step restores the user, amr, acr, auth_time and collected values.
// Stored as a store.OneTimeCode of purpose journey_context whose ID is the handle's hash.
type saveContext struct{}

// restoreContext restores a saved context: once, before expiry, for the same client only;
// then the journey is authenticated as the saved one was. Anything else denies the journey.
type restoreContext struct{ handle *Expr }

func init() {
	Register("save_context", Factory{New: newSaveContext, Example: StepConfig{ID: "save", Type: "save_context"}})
	Register("restore_context", Factory{New: newRestoreContext, Example: StepConfig{ID: "restore", Type: "restore_context"}})
}

func newSaveContext(_ StepConfig, _ *Env) (Step, Traits, error) {
	// With auth_state unauthenticated the step has a user but no authentication, and Enter
	// refuses: a context saved from an external_user_id would become an authentication
	// when restored.
	return saveContext{}, Traits{TouchesUser: true}, nil
}

func newRestoreContext(cfg StepConfig, env *Env) (Step, Traits, error) {
	src := cfg.Handle
	if src == "" {
		src = defaultHandle
	}
	x, err := env.Compile(src, cel.StringType)
	if err != nil {
		return nil, Traits{}, fmt.Errorf("handle: %w", err)
	}
	if !x.ReadsOnlyPushed() {
		return nil, Traits{}, fmt.Errorf("handle %q may read only request.pushed.<name> (the client hands the handle back in a pushed authorization request), never browser input", src)
	}
	return restoreContext{handle: x}, Traits{Authenticates: true}, nil
}

// savedContext is the Data of a journey_context record.
type savedContext struct {
	UserID    string         `json:"user_id"`
	ClientID  string         `json:"client_id"`
	AuthTime  time.Time      `json:"auth_time,omitzero"`
	AMR       []string       `json:"amr,omitempty"`
	ACR       string         `json:"acr,omitempty"`
	SessionID string         `json:"session_id,omitempty"`
	Values    map[string]any `json:"values,omitempty"`
}

func (saveContext) Enter(ctx context.Context, rc *Run) (Outcome, error) {
	st := rc.State
	if rc.User == nil || !st.Authenticated || st.UserID != rc.User.ID {
		return Outcome{}, ErrNotAuthenticated
	}
	if st.ClientID == "" {
		return Outcome{}, errors.New("save_context: a context is bound to a client; this journey was not started by one")
	}
	b, err := json.Marshal(savedContext{UserID: st.UserID, ClientID: st.ClientID, AuthTime: st.AuthTime, AMR: st.AMR,
		ACR: st.ACR, SessionID: st.SessionID, Values: st.Values})
	if err != nil {
		return Outcome{}, fmt.Errorf("save context: %w", err)
	}
	life := rc.Engine.ContextLifetime
	if life <= 0 {
		life = DefaultContextLifetime
	}
	h := secret.Token()
	if err := rc.Engine.Store.CreateOneTimeCode(ctx, store.OneTimeCode{ID: secret.Hash(h), Purpose: ContextPurpose,
		Subject: st.UserID, Data: map[string]string{"context": string(b)}, CreatedAt: rc.Now, ExpiresAt: rc.Now.Add(life)}); err != nil {
		return Outcome{}, fmt.Errorf("save context: %w", err)
	}
	st.ContextHandle = h
	return Outcome{Kind: Next}, nil
}

func (s saveContext) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}

// errNoContext is the deny message of every refused restore (one message: the browser
// learns nothing about why).
const errNoContext = "Your earlier sign-in could not be continued. Start again from the application."

func (s restoreContext) Enter(ctx context.Context, rc *Run) (Outcome, error) {
	v, err := rc.Eval(ctx, s.handle)
	if err != nil {
		return Outcome{}, err
	}
	h, _ := v.(string)
	if h == "" || len(h) > 128 {
		return Outcome{Kind: Deny, Message: errNoContext}, nil
	}
	// Consume first: single use even when what follows refuses it (a handle tried from
	// another client is burnt, not left for a second try).
	c, err := rc.Engine.Store.ConsumeOneTimeCode(ctx, secret.Hash(h))
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{Kind: Deny, Message: errNoContext}, nil
	} else if err != nil {
		return Outcome{}, fmt.Errorf("restore context: %w", err)
	}
	var sc savedContext
	if c.Purpose != ContextPurpose || json.Unmarshal([]byte(c.Data["context"]), &sc) != nil ||
		!rc.Now.Before(c.ExpiresAt) || sc.UserID == "" || !secret.Equal(sc.ClientID, rc.State.ClientID) ||
		rc.State.ClientID == "" || (rc.State.UserID != "" && rc.State.UserID != sc.UserID) {
		return Outcome{Kind: Deny, Message: errNoContext}, nil
	}
	u, err := rc.Engine.Store.GetUser(ctx, sc.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return Outcome{Kind: Deny, Message: errNoContext}, nil
	} else if err != nil {
		return Outcome{}, fmt.Errorf("restore context: %w", err)
	}
	st := rc.State
	st.UserID, st.Authenticated = sc.UserID, true
	st.AuthTime, st.AMR, st.ACR, st.SessionID = sc.AuthTime, sc.AMR, sc.ACR, sc.SessionID
	for k, v := range sc.Values {
		if _, set := st.Values[k]; !set {
			st.Values[k] = v
		}
	}
	return Outcome{Kind: Next}, nil
}

func (s restoreContext) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}
