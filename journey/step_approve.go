package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Approver runs transaction approvals (*approval.Approver): the passkey ceremony whose
// challenge carries the transaction's hash, and the code path.
type Approver interface {
	Begin(ctx context.Context, tx approval.Transaction, u store.User, bind string) (*passkey.Ceremony, error)
	Finish(ctx context.Context, tx approval.Transaction, u store.User, bind, secret string, response []byte) (string, error)
	Channel(u store.User) (channel, dest string)
	SendCode(ctx context.Context, tx approval.Transaction, u store.User, bind, lang, clientIP string) (string, error)
	CheckCode(ctx context.Context, tx approval.Transaction, u store.User, bind, flow, code, clientIP string) (string, error)
}

var _ Approver = (*approval.Approver)(nil)

// ApproveTimeout is how long the user has, from arriving at an approve step, to approve the
// transaction; after it the answer ends the journey with access_denied.
const ApproveTimeout = 5 * time.Minute

// Decisions an approve step's answer names (Input.Form "decision").
const (
	DecisionPasskey  = "passkey"   // with "credential" (the assertion) and "ceremony" (the cookie's secret)
	DecisionSendCode = "send_code" // send a code (allowed by the step or the client)
	DecisionCode     = "code"      // with "code"
	DecisionDecline  = "decline"
)

// approve shows the transaction of the journey's pushed authorization request
// (Request.Transaction, the request's approval_data) and has the step's user approve exactly
// it: with a passkey through the Approver (the challenge is bound to the transaction's hash
// and the ceremony to this journey and step), or, when the step (allow_otp) or the client
// (approval { allow otp }) allows it, with a code. Approving records State.ApprovedBy (the
// amr value of the method); the authorization code issued at complete then carries the
// transaction and adds that method to amr. Declining, or answering after ApproveTimeout,
// denies the journey (access_denied to the client).
type approve struct{ allowOTP bool }

func init() {
	Register("approve", Factory{New: func(cfg StepConfig, _ *Env) (Step, Traits, error) {
		return approve{allowOTP: cfg.AllowOTP}, Traits{TouchesUser: true}, nil
	}, Example: StepConfig{ID: "approve", Type: "approve"}})
}

// ApprovalPage is what an approve step's page shows.
type ApprovalPage struct {
	// Transaction is the transaction, exactly as it will be released in approval_data.
	Transaction approval.Transaction
	// Email is the user's address (who is asked); ClientID the application asking.
	Email, ClientID string
	// CanCode: a code may approve; CodeSentTo: one was sent there, the page asks for it.
	CanCode    bool
	CodeSentTo string
}

// approvalBind ties the ceremonies and codes of an approve step to the journey (its state
// ID, reached only by this browser's journey cookie) and the step.
func approvalBind(journeyID, step string) string {
	return secret.Hash("journey-approval\x00" + journeyID + "\x00" + step)
}

func (s approve) otpAllowed(rc *Run) bool { return s.allowOTP || rc.Request.ApprovalOTP }

// transaction reads the journey's transaction: only the approval_data of a pushed request
// (oauth.Authorize accepts approval_data only there).
func transaction(rc *Run) (approval.Transaction, bool) {
	if len(rc.Request.Transaction) == 0 {
		return approval.Transaction{}, false
	}
	tx, err := approval.FromCanonical(rc.Request.Transaction)
	return tx, err == nil
}

func (s approve) page(rc *Run, tx approval.Transaction, sentTo, errMsg string) *Page {
	a := &ApprovalPage{Transaction: tx, Email: rc.User.Email, ClientID: rc.Request.ClientID, CodeSentTo: sentTo}
	if ap := rc.Engine.Approver; ap != nil && s.otpAllowed(rc) {
		ch, _ := ap.Channel(*rc.User)
		a.CanCode = ch != ""
	}
	p := &Page{Approval: a}
	if errMsg != "" {
		p.Errors = map[string]string{"": errMsg}
	}
	return p
}

// noTransaction denies a journey whose request carries no transaction to approve.
const noTransaction = "This application asked for an approval but sent no transaction to approve."

func (s approve) Enter(_ context.Context, rc *Run) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	if rc.Engine.Approver == nil {
		return Outcome{}, errors.New("approve: transaction approval is not configured")
	}
	tx, ok := transaction(rc)
	if !ok {
		return Outcome{Kind: Deny, Message: noTransaction}, nil
	}
	return Outcome{Kind: Prompt, Page: s.page(rc, tx, "", "")}, nil
}

func (s approve) Submit(ctx context.Context, rc *Run, in Input) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	ap := rc.Engine.Approver
	if ap == nil {
		return Outcome{}, errors.New("approve: transaction approval is not configured")
	}
	tx, ok := transaction(rc)
	if !ok {
		return Outcome{Kind: Deny, Message: noTransaction}, nil
	}
	decision := in.Form.Get("decision")
	if decision == DecisionDecline {
		return Outcome{Kind: Deny, Message: "The user declined the transaction."}, nil
	}
	if !rc.Now.Before(rc.State.StepStartedAt.Add(ApproveTimeout)) {
		return Outcome{Kind: Deny, Message: "The transaction was not approved in time."}, nil
	}
	bind := approvalBind(rc.ID, rc.State.Step)
	sentTo := func() string {
		if rc.State.Private[rc.State.Step] == "" {
			return ""
		}
		_, dest := ap.Channel(*rc.User)
		return dest
	}
	reprompt := func(msg string) (Outcome, error) {
		return Outcome{Kind: Prompt, Page: s.page(rc, tx, sentTo(), msg)}, nil
	}
	var amr string
	var err error
	switch decision {
	case DecisionPasskey:
		amr, err = ap.Finish(ctx, tx, *rc.User, bind, in.Form.Get("ceremony"), []byte(in.Form.Get("credential")))
	case DecisionSendCode:
		if !s.otpAllowed(rc) {
			return reprompt(approval.ErrOTPNotAllowed.Error())
		}
		flow, err := ap.SendCode(ctx, tx, *rc.User, bind, rc.User.Language, rc.Device.ClientIP)
		if err != nil {
			if msg, ok := approvalUserError(err); ok {
				return reprompt(msg)
			}
			return Outcome{}, fmt.Errorf("send approval code: %w", err)
		}
		if rc.State.Private == nil {
			rc.State.Private = map[string]string{}
		}
		rc.State.Private[rc.State.Step] = flow
		return reprompt("")
	case DecisionCode:
		if !s.otpAllowed(rc) {
			return reprompt(approval.ErrOTPNotAllowed.Error())
		}
		amr, err = ap.CheckCode(ctx, tx, *rc.User, bind, rc.State.Private[rc.State.Step], strings.TrimSpace(in.Form.Get("code")), rc.Device.ClientIP)
	default:
		return reprompt(i18n.N("Choose Approve or Decline."))
	}
	if err != nil {
		if msg, ok := approvalUserError(err); ok {
			return reprompt(msg)
		}
		return Outcome{}, fmt.Errorf("approve: %w", err)
	}
	delete(rc.State.Private, rc.State.Step)
	rc.State.ApprovedBy = amr
	rc.State.ApprovedTransaction = json.RawMessage(tx.Canonical())
	return Outcome{Kind: Next}, nil
}

// approvalUserError is the message shown for a failed approval the user can retry.
func approvalUserError(err error) (string, bool) {
	var limit *otp.SendLimitError
	var locked *lockout.LockedError
	var bad *input.Error
	switch {
	case errors.Is(err, passkey.ErrPasskeyFailed), errors.Is(err, passkey.ErrCeremonyExpired),
		errors.Is(err, passkey.ErrPasskeyMalformed), errors.Is(err, passkey.ErrNoPasskey),
		errors.Is(err, passkey.ErrClonedAuthenticator), errors.Is(err, passkey.ErrPasskeysDisabled),
		errors.Is(err, approval.ErrNoChannel), errors.Is(err, approval.ErrOTPNotAllowed),
		errors.Is(err, otp.ErrCodeInvalid), errors.Is(err, otp.ErrCodeExpired), errors.Is(err, otp.ErrCodeAttempts):
		return err.Error(), true
	case errors.As(err, &limit), errors.As(err, &locked):
		return err.Error(), true
	case errors.As(err, &bad):
		// A mistyped code ("12345", a space inside): the page asks again; ending the
		// journey would throw away the payment for a typo.
		return err.Error(), true
	}
	return "", false
}

// BeginApproval starts the passkey ceremony of the approve step stepID at counter for the
// browser's journey (cookie secret sec, CSRF cookie binding): the options for
// navigator.credentials.get and the ceremony's secret (the browser's cookie), bound to the
// journey, the step, the user and the transaction. It does not change the journey.
func (e *Engine) BeginApproval(ctx context.Context, sec, binding, stepID string, counter int) (*passkey.Ceremony, error) {
	st, err := e.load(ctx, sec, binding)
	if err != nil {
		return nil, err
	}
	if st.Step != stepID || st.Counter != counter {
		return nil, ErrStale
	}
	j, ok := e.Journeys[st.Journey]
	if !ok {
		return nil, ErrNoJourney
	}
	c := j.steps[j.index[st.Step]]
	if c.cfg.Type != "approve" || e.Approver == nil {
		return nil, ErrStale
	}
	rc := &Run{ID: stateID(sec), State: st, Request: st.Request, Now: e.Now(), Engine: e}
	if err := e.bindUser(ctx, c, rc); err != nil {
		return nil, err
	}
	tx, ok := transaction(rc)
	if !ok {
		return nil, ErrStale
	}
	return e.Approver.Begin(ctx, tx, *rc.User, approvalBind(rc.ID, st.Step))
}
