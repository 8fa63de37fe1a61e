package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Purpose tags the journey states among the one-time codes.
const Purpose = "journey"

// State is a journey in progress, kept on the server (a store.OneTimeCode of purpose
// "journey" whose ID is the hash of the browser's journey cookie secret; Data["state"]
// holds this as JSON).
type State struct {
	Journey string `json:"journey"`
	// Binding is the hash of the browser's CSRF cookie: another browser with a copy of the
	// journey cookie alone cannot continue.
	Binding string `json:"binding"`
	// ClientID is the OIDC client the journey answers ("" for a self-service one).
	ClientID string `json:"client_id,omitempty"`
	// Step is the current step's ID and Counter the number of transitions so far: every
	// answer must name both.
	Step    string `json:"step"`
	Counter int    `json:"counter"`
	// Version changes with every write of the state: an answer claims the state (version
	// +1) before any step runs, so that of two concurrent answers to one step only one runs
	// its steps (and their writes to the user).
	Version int `json:"version"`
	// StepStartedAt is when the journey arrived at the current step (an authenticate step
	// accepts only a login made after it).
	StepStartedAt time.Time `json:"step_started_at"`
	// UserID is the journey's user once identified by authentication or creation.
	UserID string `json:"user_id,omitempty"`
	// Authenticated: the journey holds an authentication of UserID.
	Authenticated bool `json:"authenticated,omitempty"`
	// AuthTime, AMR, ACR and SessionID come from authenticate steps only.
	AuthTime  time.Time `json:"auth_time,omitzero"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	// ApprovedBy is the amr value of the method that approved the journey's transaction
	// (approve), ApprovedTransaction the transaction approved (canonical JSON).
	ApprovedBy          string          `json:"approved_by,omitempty"`
	ApprovedTransaction json.RawMessage `json:"approved_transaction,omitempty"`
	// NewUser is set by create_user.
	NewUser bool `json:"new_user,omitempty"`
	// Values are the collected values (CEL `journey`).
	Values map[string]any `json:"values,omitempty"`
	// DeviceKnown is known_device's answer (CEL device.known for the steps after it);
	// RememberDevice asks the handler to remember the browser for UserID when the journey
	// completes after an authentication.
	DeviceKnown    bool `json:"device_known,omitempty"`
	RememberDevice bool `json:"remember_device,omitempty"`
	// ContextHandle is the handle save_context made, handed back to the client at complete
	// (journey_context in the authorization response).
	ContextHandle string `json:"context_handle,omitempty"`
	// Private is the steps' own server-side data, never shown to expressions (the flow
	// secret of a verification code), by step ID.
	Private map[string]string `json:"private,omitempty"`
	// Request is the request the journey serves.
	Request Request `json:"request"`
	// Origin is what the handler needs to finish (the authorization request), opaque here.
	Origin json.RawMessage `json:"origin,omitempty"`
	// ReturnTo is where a self-service journey returns.
	ReturnTo string `json:"return_to,omitempty"`
	// Page is the current step's prompt, re-shown on reload.
	Page *Page `json:"page,omitempty"`
	// CreatedAt and ExpiresAt bound the journey.
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Request is the request a journey serves (CEL `request`).
type Request struct {
	ClientID  string            `json:"client_id,omitempty"`
	Scopes    []string          `json:"scopes,omitempty"`
	ACRValues []string          `json:"acr_values,omitempty"`
	Query     map[string]string `json:"query,omitempty"`
	Pushed    map[string]string `json:"pushed,omitempty"`
	// Transaction is the approval_data of a pushed authorization request (canonical JSON,
	// package approval): what an approve step shows and has approved. Not in CEL.
	Transaction json.RawMessage `json:"transaction,omitempty"`
	// ApprovalOTP: the client allows approving its transactions with a code.
	ApprovalOTP bool `json:"approval_otp,omitempty"`
}

func stateID(sec string) string { return secret.Hash(sec) }

// save writes st under the cookie secret sec if the stored state still has st's version
// (compare-and-swap), with the next version.
func (e *Engine) save(ctx context.Context, sec string, st *State) error {
	prev := st.Version
	st.Version++
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode journey state: %w", err)
	}
	if len(b) > maxStateBytes {
		return fmt.Errorf("journey state is larger than %d bytes", maxStateBytes)
	}
	_, err = e.Store.UpdateOneTimeCode(ctx, stateID(sec), func(c store.OneTimeCode) (store.OneTimeCode, error) {
		var cur State
		if c.Purpose != Purpose || json.Unmarshal([]byte(c.Data["state"]), &cur) != nil {
			return c, ErrNoJourney
		}
		if cur.Version != prev || cur.Step == "" {
			return c, ErrStale
		}
		c.Data = map[string]string{"state": string(b)}
		c.Subject = st.UserID
		return c, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoJourney
	}
	return err
}

// maxStateBytes caps a journey's stored state (collected values included).
const maxStateBytes = 256 << 10

// load returns the state for the cookie secret sec, checking the browser binding and
// expiry.
func (e *Engine) load(ctx context.Context, sec, binding string) (*State, error) {
	if sec == "" || len(sec) > 128 {
		return nil, ErrNoJourney
	}
	c, err := e.Store.GetOneTimeCode(ctx, stateID(sec))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoJourney
	} else if err != nil {
		return nil, fmt.Errorf("load journey: %w", err)
	}
	var st State
	if c.Purpose != Purpose || json.Unmarshal([]byte(c.Data["state"]), &st) != nil {
		return nil, ErrNoJourney
	}
	if binding == "" || !e.Now().Before(c.ExpiresAt) || !secret.Equal(st.Binding, secret.Hash(binding)) || st.Step == "" {
		return nil, ErrNoJourney
	}
	if st.Values == nil {
		st.Values = map[string]any{}
	}
	return &st, nil
}
