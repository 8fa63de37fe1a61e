package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/journey/device"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Users is the account code the user-data steps reuse (account.Accounts).
type Users interface {
	Create(ctx context.Context, in account.NewUser) (store.User, error)
	UpdateProfile(ctx context.Context, userID string, pp account.ProfilePatch) (store.User, error)
	SetCustomAppData(ctx context.Context, userID, clientID string, data json.RawMessage) (store.User, error)
}

// DefaultLifetime is how long a journey may take from start to end.
const DefaultLifetime = 30 * time.Minute

// maxTransitions ends a journey that loops (branch back and forth) without user input.
const maxTransitions = 200

// Engine runs journeys. Store, Users, Env, Journeys and Now are required.
type Engine struct {
	Journeys map[string]*Journey
	Env      *Env
	Store    store.Store
	Users    Users
	// Audit records each transition (audit.JourneyStep); nil records nothing.
	Audit  audit.Recorder
	Now    func() time.Time
	Logger *slog.Logger
	// Lifetime bounds a journey (default DefaultLifetime).
	Lifetime time.Duration
	// Devices signs and checks the known-device cookie (known_device); nil: every device
	// is unknown and none is remembered.
	Devices *device.Keeper
	// Verify sends and checks the codes of verify_email and verify_phone
	// (*account.Verification); nil: those steps fail.
	Verify Verifier
	// Approver runs the approvals of approve steps (*approval.Approver); nil: those steps
	// fail.
	Approver Approver
	// ContextLifetime bounds a save_context handle (default DefaultContextLifetime).
	ContextLifetime time.Duration
	// Observe, when set, is told of each step's server time and CEL cost (metrics, bench).
	Observe func(stepType string, d time.Duration, celCost uint64)
}

// Journey returns the named journey.
func (e *Engine) Journey(name string) (*Journey, bool) {
	j, ok := e.Journeys[name]
	return j, ok
}

// Start begins the named journey for a browser whose CSRF cookie is binding. It returns the
// journey cookie's secret and the view of the first step that needs the browser (or the
// end, if the journey needs none).
func (e *Engine) Start(ctx context.Context, name, binding string, req Request, origin json.RawMessage, returnTo string, dev Device) (string, View, error) {
	j, ok := e.Journeys[name]
	if !ok {
		return "", View{}, fmt.Errorf("%w: no journey %q", ErrNoJourney, name)
	}
	if !j.AllowsClient(req.ClientID) {
		return "", View{}, fmt.Errorf("%w: journey %q is not open to client %q", ErrNoJourney, name, req.ClientID)
	}
	if binding == "" {
		return "", View{}, errors.New("start journey: no browser binding")
	}
	now := e.Now()
	life := e.Lifetime
	if life <= 0 {
		life = DefaultLifetime
	}
	sec := secret.Token()
	st := &State{Journey: name, Binding: secret.Hash(binding), ClientID: req.ClientID, Step: j.steps[0].cfg.ID,
		StepStartedAt: now, Request: req, Origin: origin, ReturnTo: returnTo, CreatedAt: now, ExpiresAt: now.Add(life),
		Values: map[string]any{}}
	b, err := json.Marshal(st)
	if err != nil {
		return "", View{}, fmt.Errorf("encode journey state: %w", err)
	}
	if err := e.Store.CreateOneTimeCode(ctx, store.OneTimeCode{ID: stateID(sec), Purpose: Purpose,
		Data: map[string]string{"state": string(b)}, CreatedAt: now, ExpiresAt: st.ExpiresAt}); err != nil {
		return "", View{}, fmt.Errorf("store journey: %w", err)
	}
	e.record(ctx, st, "start", "")
	v, err := e.drive(ctx, sec, j, st, nil, dev, nil)
	return sec, v, err
}

// View is what the browser sees after a transition.
type View struct {
	// Journey, Step and Counter identify the current step (a form posts them back).
	Journey, Step string
	Counter       int
	StepType      string
	// Page is the prompt (Kind Prompt).
	Page *Page
	// Kind says whether the journey waits (Prompt), was denied (Deny) or completed.
	Kind OutcomeKind
	// Message is the deny message.
	Message string
	// State is the journey's final state (Complete): user, auth facts, origin.
	State *State
	// ReturnTo is the complete step's return_to.
	ReturnTo string
}

// Current returns the view of the browser's journey as it stands (a reload).
func (e *Engine) Current(ctx context.Context, sec, binding string) (View, error) {
	st, err := e.load(ctx, sec, binding)
	if err != nil {
		return View{}, err
	}
	j, ok := e.Journeys[st.Journey]
	if !ok {
		return View{}, ErrNoJourney
	}
	c := j.steps[j.index[st.Step]]
	return View{Journey: st.Journey, Step: st.Step, Counter: st.Counter, StepType: c.cfg.Type, Page: st.Page, Kind: Prompt}, nil
}

// Answer handles the browser's answer to step stepID at counter: refused with ErrStale
// unless that is the journey's current step and counter (no skipping ahead, no replay, no
// going back), with ErrNoJourney for another browser or a finished journey.
func (e *Engine) Answer(ctx context.Context, sec, binding, stepID string, counter int, in Input, login *Login, dev Device) (View, error) {
	st, err := e.load(ctx, sec, binding)
	if err != nil {
		return View{}, err
	}
	if st.Step != stepID || st.Counter != counter {
		e.record(ctx, st, "refused", "stale")
		return View{}, ErrStale
	}
	j, ok := e.Journeys[st.Journey]
	if !ok {
		return View{}, ErrNoJourney
	}
	// Claim the state before running anything: the answer uses up the counter, so a
	// concurrent answer to the same step (a double submit, a replay racing the original)
	// is refused, by the counter or by the version that moved.
	st.Counter++
	if err := e.save(ctx, sec, st); err != nil {
		return View{}, err
	}
	return e.drive(ctx, sec, j, st, &in, dev, login)
}

// ParseCounter reads a posted counter.
func ParseCounter(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n < 1<<20
}

// drive runs the current step (Submit with in, or Enter when in is nil) and the following
// steps that need no browser, until a prompt or the end, then stores the state (CAS on
// on the version) or ends the journey.
func (e *Engine) drive(ctx context.Context, sec string, j *Journey, st *State, in *Input, dev Device, login *Login) (View, error) {
	for {
		if st.Counter > maxTransitions {
			e.end(ctx, sec, st, "too_many_steps")
			return View{}, ErrTooManySteps
		}
		i := j.index[st.Step]
		c := j.steps[i]
		rc := &Run{ID: stateID(sec), State: st, Login: login, Request: st.Request, Device: dev, Now: e.Now(), Engine: e}
		if err := e.bindUser(ctx, c, rc); err != nil {
			e.record(ctx, st, "refused", "auth_state")
			e.end(ctx, sec, st, "auth_state")
			return View{}, err
		}
		began := time.Now()
		var out Outcome
		var err error
		if in != nil {
			out, err = c.step.Submit(ctx, rc, *in)
		} else {
			out, err = c.step.Enter(ctx, rc)
		}
		if e.Observe != nil {
			e.Observe(c.cfg.Type, time.Since(began), rc.Cost)
		}
		in = nil
		if err != nil {
			reason := "error"
			if errors.Is(err, ErrExpression) {
				reason = "expression"
			}
			e.record(ctx, st, "failed", reason)
			e.end(ctx, sec, st, reason)
			return View{}, fmt.Errorf("journey %q step %q: %w", st.Journey, st.Step, err)
		}
		switch out.Kind {
		case Prompt:
			st.Page = out.Page
			if err := e.save(ctx, sec, st); err != nil {
				return View{}, err
			}
			return View{Journey: st.Journey, Step: st.Step, Counter: st.Counter, StepType: c.cfg.Type, Page: out.Page, Kind: Prompt}, nil
		case Deny:
			e.record(ctx, st, "denied", "")
			if err := e.finish(ctx, sec, st.Version); err != nil {
				return View{}, err
			}
			return View{Journey: st.Journey, Step: st.Step, Kind: Deny, Message: out.Message, State: st}, nil
		case Complete:
			e.record(ctx, st, "completed", "")
			if err := e.finish(ctx, sec, st.Version); err != nil {
				return View{}, err
			}
			return View{Journey: st.Journey, Step: st.Step, Kind: Complete, State: st, ReturnTo: out.ReturnTo}, nil
		}
		next := c.next
		if out.Goto != "" {
			next = j.index[out.Goto]
		}
		if next < 0 {
			return View{}, fmt.Errorf("journey %q step %q: no next step", st.Journey, st.Step)
		}
		st.Step, st.Counter, st.StepStartedAt, st.Page = j.steps[next].cfg.ID, st.Counter+1, e.Now(), nil
		e.record(ctx, st, "entered", "")
	}
}

// bindUser enforces the step's auth_state: a step that touches user data gets the
// authenticated user, or the user named by its external_user_id; without either it does
// not run (ErrNotAuthenticated).
func (e *Engine) bindUser(ctx context.Context, c compiled, rc *Run) error {
	if !c.traits.TouchesUser {
		return nil
	}
	st := rc.State
	var id string
	switch {
	case c.external != nil:
		v, _, err := e.Env.Eval(ctx, c.external, rc.vars(nil))
		if err != nil {
			return err
		}
		ext, _ := v.(string)
		if ext == "" {
			return fmt.Errorf("%w: external_user_id is empty", ErrNotAuthenticated)
		}
		u, err := e.Store.GetUserByExternalID(ctx, ext)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: no user with this external_user_id", ErrNotAuthenticated)
		} else if err != nil {
			return fmt.Errorf("find user by external_user_id: %w", err)
		}
		if u.Disabled {
			return fmt.Errorf("%w: the account is disabled", ErrNotAuthenticated)
		}
		rc.User = &u
		return nil
	case st.Authenticated && st.UserID != "":
		id = st.UserID
	default:
		return ErrNotAuthenticated
	}
	u, err := e.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotAuthenticated
	} else if err != nil {
		return fmt.Errorf("load user: %w", err)
	}
	if u.Disabled {
		return fmt.Errorf("%w: the account is disabled", ErrNotAuthenticated)
	}
	rc.User = &u
	return nil
}

// finish deletes the journey (single use: a completed or denied journey cannot be answered
// again), unless another answer changed it meanwhile.
func (e *Engine) finish(ctx context.Context, sec string, version int) error {
	if _, err := e.Store.UpdateOneTimeCode(ctx, stateID(sec), func(c store.OneTimeCode) (store.OneTimeCode, error) {
		var cur State
		if json.Unmarshal([]byte(c.Data["state"]), &cur) != nil || cur.Version != version || cur.Step == "" {
			return c, ErrStale
		}
		return c, nil
	}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoJourney
		}
		return err
	}
	if _, err := e.Store.ConsumeOneTimeCode(ctx, stateID(sec)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrStale // a concurrent answer finished it first
		}
		return fmt.Errorf("end journey: %w", err)
	}
	return nil
}

// end removes a journey that failed.
func (e *Engine) end(ctx context.Context, sec string, st *State, reason string) {
	if _, err := e.Store.ConsumeOneTimeCode(ctx, stateID(sec)); err != nil && !errors.Is(err, store.ErrNotFound) {
		e.logger().Warn("end journey", "journey", st.Journey, "reason", reason, "error", err)
	}
}

func (e *Engine) record(ctx context.Context, st *State, what, reason string) {
	if e.Audit == nil {
		return
	}
	e.Audit.Record(ctx, audit.Event{Time: e.Now(), Type: audit.JourneyStep, Actor: st.UserID, UserID: st.UserID,
		ClientID: st.ClientID, Reason: reason, Details: map[string]string{"journey": st.Journey, "step": st.Step,
			"counter": strconv.Itoa(st.Counter), "transition": what}})
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// matchesIdentifier reports whether user id has the identifier the journey collected
// (identify): the email, verified phone number or username.
func (e *Engine) matchesIdentifier(ctx context.Context, rc *Run, id string) (bool, error) {
	u, err := e.Store.GetUser(ctx, id)
	if err != nil {
		return false, fmt.Errorf("load user: %w", err)
	}
	v := rc.State.Values
	if s, ok := v["email"].(string); ok && s != "" {
		return u.Email == s, nil
	}
	if s, ok := v["phone"].(string); ok && s != "" {
		return u.PhoneNumber == s, nil
	}
	if s, ok := v["username"].(string); ok && s != "" {
		return u.Username == s, nil
	}
	return true, nil
}
