package journey

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Step is one compiled step of a journey. A step type is one file: a Factory registered with
// Register in an init function, building a Step from its StepConfig. The engine (engine.go)
// calls Enter when the journey arrives at the step and Submit with the browser's answer to
// the step's prompt; it checks auth_state, the step counter and the journey's binding
// before either, records the transition, and stores the state.
type Step interface {
	// Enter runs the step on arrival: it either finishes (Next, Deny, Complete) or asks the
	// browser for something (Prompt).
	Enter(ctx context.Context, rc *Run) (Outcome, error)
	// Submit handles the browser's answer to the step's prompt (a form, or the return from
	// the hosted login). It returns Prompt again (with Errors) to re-ask.
	Submit(ctx context.Context, rc *Run, in Input) (Outcome, error)
}

// Traits describe what a step type needs and does, for the static analysis at load and the
// auth_state check at run time.
type Traits struct {
	// TouchesUser: the step reads or writes user data, so it needs auth_state
	// authenticated (an authenticated user) or unauthenticated with external_user_id.
	TouchesUser bool
	// Authenticates: after the step the journey holds an authenticated user.
	Authenticates bool
	// Terminal: the journey ends at this step (no successor).
	Terminal bool
}

// Factory builds a step from its configuration, compiling its expressions with env. It
// returns a user-facing error (without the journey and step names, which the caller adds).
type Factory struct {
	// New builds the step.
	New func(cfg StepConfig, env *Env) (Step, Traits, error)
	// Example is a minimal valid configuration of the type (for the conformance tests).
	Example StepConfig
	// Unavailable, when set, is the reason the type cannot be used yet (a load error).
	Unavailable string
}

var registry = map[string]Factory{}

// Register adds a step type. It is called from init functions only.
func Register(typ string, f Factory) {
	if _, dup := registry[typ]; dup {
		panic("journey: step type registered twice: " + typ)
	}
	registry[typ] = f
}

// Types returns the registered step types that can be used, sorted.
func Types() []string {
	var out []string
	for t, f := range registry {
		if f.Unavailable == "" {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// Run is what a step sees of the journey while it runs.
type Run struct {
	// ID is the journey's state ID (the hash of its cookie secret): what binds a step's
	// ceremonies and codes to this journey.
	ID string
	// State is the journey's state; a step changes it (Values, the user, the auth facts).
	State *State
	// User is the user the step acts on: the authenticated user (auth_state authenticated)
	// or the user named by external_user_id (unauthenticated); nil when the step does not
	// touch user data.
	User *store.User
	// Login is the browser's current login (portal session), when it has one: what an
	// authenticate step checks on return from the hosted login.
	Login *Login
	// Request is the request the journey serves (client, scopes, query, pushed params).
	Request Request
	// Device describes the browser.
	Device Device
	// Now is the current time.
	Now time.Time
	// Engine gives the step the engine's dependencies (users, expressions).
	Engine *Engine
	// Cost is the CEL cost spent by the step's evaluations so far.
	Cost uint64
}

// Login is a portal session's authentication.
type Login struct {
	SessionID string
	UserID    string
	AuthTime  time.Time
	AMR       []string
	ACR       string
}

// Device describes the browser running the journey.
type Device struct {
	// Known is whether this browser was seen for the user before (set by the known_device
	// step, kept in State.DeviceKnown).
	Known     bool
	UserAgent string
	// Cookie is the browser's device cookie (journey/device), "" without one.
	Cookie string
	// ClientIP is the browser's address (the per-IP limits of verification codes).
	ClientIP string
}

// Input is the browser's answer to a prompt.
type Input struct {
	// Form holds the posted fields (nil for a return from the hosted login).
	Form url.Values
}

// OutcomeKind says how a step ended.
type OutcomeKind int

// Outcomes.
const (
	// Next goes on to Goto ("" = the following step, or the step's `next`).
	Next OutcomeKind = iota
	// Prompt waits for the browser.
	Prompt
	// Deny ends the journey with Message.
	Deny
	// Complete ends the journey successfully.
	Complete
)

// Outcome is the result of Enter or Submit.
type Outcome struct {
	Kind OutcomeKind
	Goto string
	// Page describes the prompt (Kind Prompt).
	Page *Page
	// Message is the deny message.
	Message string
	// ReturnTo is the complete step's return_to.
	ReturnTo string
}

// Page is what a prompt shows or where it sends the browser.
type Page struct {
	// Form is set for a form page (identify, collect, verify_email, verify_phone).
	Form []Field
	// Message is a line of text shown above the form (where a code was sent).
	Message string
	// Redirect is a portal page (a path) where the user must do something before answering
	// (register_passkey: the account page's passkey registration); the page links to it.
	Redirect string
	// Errors maps a field name to its problem (a re-prompt), "" for the whole form.
	Errors map[string]string
	// HostedLogin is set when the browser must log in through the hosted login and come
	// back (authenticate); Login lists the methods the step accepts (empty: any enabled
	// method).
	HostedLogin bool
	Login       []string
	// SecondFactor asks the hosted login for a multi-factor login.
	SecondFactor bool
	// LoginHint is the identifier collected so far, if any.
	LoginHint string
	// Approval is set on an approve step: the transaction page.
	Approval *ApprovalPage
}

// Field is one rendered form field.
type Field struct {
	Name, Type, Label string
	Required          bool
	Options           []string
	Value             string
	MaxLength         int
}

// Errors of the engine. A handler maps them to pages.
var (
	// ErrNoJourney: no journey state for this browser (unknown, expired, completed, or
	// another browser's).
	ErrNoJourney = errors.New("this journey does not exist, has ended or belongs to another browser")
	// ErrStale: the answer does not name the journey's current step and counter (a later
	// step's form posted first, a replay, or a double submit).
	ErrStale = errors.New("this page is not the journey's current step")
	// ErrNotAuthenticated: a step that touches user data ran without the auth state it
	// declares.
	ErrNotAuthenticated = errors.New("this step needs an authenticated user")
	// ErrExpression: an expression failed at run time (cost limit, time bound, type).
	ErrExpression = errors.New("an expression of this journey failed")
	// ErrTooManySteps: the journey ran more transitions than allowed (a loop).
	ErrTooManySteps = errors.New("this journey ran too many steps")
)

// userError is a problem the user can fix, shown on the re-prompted page.
type userError struct{ field, msg string }

func (e *userError) Error() string { return fmt.Sprintf("%s: %s", e.field, e.msg) }
