package journey

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Verifier sends and checks the codes proving control of an address (*account.Verification:
// the same codes, attempt limits, send limits and latest-code rule as the account page).
type Verifier interface {
	StartEmail(ctx context.Context, s store.Session, u store.User, email, lang, clientIP string) (string, error)
	FinishEmail(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error)
	StartPhone(ctx context.Context, s store.Session, u store.User, phone, lang, clientIP string) (string, error)
	FinishPhone(ctx context.Context, u store.User, flow, code, clientIP string) (store.User, error)
}

var _ Verifier = (*account.Verification)(nil)

// verifyAddress (verify_email, verify_phone) sends a code to the user's email address or
// phone number and asks for it; a correct code sets email_verified / phone_number_verified.
// An address already verified passes at once; a user without one is denied (collect and
// write_user it first). The code's flow secret stays in the journey's server-side state
// (State.Private), which only this browser's journey cookie reaches — the binding the
// account page gets from its flow cookie (CR-11).
type verifyAddress struct{ phone bool }

func init() {
	Register("verify_email", Factory{New: func(StepConfig, *Env) (Step, Traits, error) {
		return verifyAddress{}, Traits{TouchesUser: true}, nil
	}, Example: StepConfig{ID: "mail", Type: "verify_email"}})
	Register("verify_phone", Factory{New: func(StepConfig, *Env) (Step, Traits, error) {
		return verifyAddress{phone: true}, Traits{TouchesUser: true}, nil
	}, Example: StepConfig{ID: "phone", Type: "verify_phone"}})
}

func (s verifyAddress) address(u *store.User) (string, bool) {
	if s.phone {
		return u.PhoneNumber, u.PhoneNumberVerified
	}
	return u.Email, u.EmailVerified
}

func (s verifyAddress) page(errMsg string) *Page {
	msg := i18n.N("We sent a code to your email address. Enter it to continue.")
	if s.phone {
		msg = i18n.N("We sent a code to your phone. Enter it to continue.")
	}
	p := &Page{Message: msg, Form: []Field{{Name: "code", Type: "text", Label: "Code", MaxLength: 16}}}
	if errMsg != "" {
		p.Errors = map[string]string{"code": errMsg}
	}
	return p
}

func (s verifyAddress) Enter(ctx context.Context, rc *Run) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	addr, verified := s.address(rc.User)
	if verified {
		return Outcome{Kind: Next}, nil
	}
	if addr == "" {
		msg := "Your account has no email address to verify."
		if s.phone {
			msg = "Your account has no phone number to verify."
		}
		return Outcome{Kind: Deny, Message: msg}, nil
	}
	return s.send(ctx, rc, addr)
}

func (s verifyAddress) send(ctx context.Context, rc *Run, addr string) (Outcome, error) {
	v := rc.Engine.Verify
	if v == nil {
		return Outcome{}, errors.New("verify: no code sender is configured")
	}
	// The address is the account's own: no fresh login is needed, so no session is passed.
	var flow string
	var err error
	if s.phone {
		flow, err = v.StartPhone(ctx, store.Session{}, *rc.User, addr, rc.User.Language, rc.Device.ClientIP)
	} else {
		flow, err = v.StartEmail(ctx, store.Session{}, *rc.User, "", rc.User.Language, rc.Device.ClientIP)
	}
	var limit *otp.SendLimitError
	switch {
	case errors.As(err, &limit):
		p := s.page("")
		p.Message = ""
		p.Errors = map[string]string{"": i18n.N("Too many codes were sent. Wait a few minutes, then select Continue.")}
		return Outcome{Kind: Prompt, Page: p}, nil
	case err != nil:
		return Outcome{}, fmt.Errorf("send verification code: %w", err)
	}
	if rc.State.Private == nil {
		rc.State.Private = map[string]string{}
	}
	rc.State.Private[rc.State.Step] = flow
	return Outcome{Kind: Prompt, Page: s.page("")}, nil
}

func (s verifyAddress) Submit(ctx context.Context, rc *Run, in Input) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	flow := rc.State.Private[rc.State.Step]
	if flow == "" {
		// No code is pending (the send limit, or a spent code): send one now.
		return s.Enter(ctx, rc)
	}
	if in.Form.Get("resend") != "" {
		addr, _ := s.address(rc.User)
		return s.send(ctx, rc, addr)
	}
	code := strings.TrimSpace(in.Form.Get("code"))
	if code == "" {
		return Outcome{Kind: Prompt, Page: s.page(i18n.N("Enter the code we sent you."))}, nil
	}
	var err error
	if s.phone {
		_, err = rc.Engine.Verify.FinishPhone(ctx, *rc.User, flow, code, rc.Device.ClientIP)
	} else {
		_, err = rc.Engine.Verify.FinishEmail(ctx, *rc.User, flow, code, rc.Device.ClientIP)
	}
	switch {
	case errors.Is(err, otp.ErrCodeInvalid):
		return Outcome{Kind: Prompt, Page: s.page(i18n.N("The code is incorrect. Check the latest message and try again."))}, nil
	case errors.Is(err, otp.ErrCodeExpired), errors.Is(err, otp.ErrCodeAttempts):
		// The code is spent (expired, superseded or too many wrong tries): the next answer
		// (Continue) sends a new one.
		delete(rc.State.Private, rc.State.Step)
		return Outcome{Kind: Prompt, Page: s.page(i18n.N("This code can no longer be used. Select Continue to get a new code."))}, nil
	case errors.Is(err, account.ErrEmailTaken), errors.Is(err, account.ErrPhoneTaken):
		return Outcome{Kind: Deny, Message: "This address belongs to another account."}, nil
	case err != nil:
		return Outcome{}, fmt.Errorf("check verification code: %w", err)
	}
	delete(rc.State.Private, rc.State.Step)
	return Outcome{Kind: Next}, nil
}
