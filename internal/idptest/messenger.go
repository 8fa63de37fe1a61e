package idptest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/login/otp"
)

// Message is a message the Messenger captured.
type Message struct {
	SMS      bool
	Kind, To string
	Vars     otp.MessageVars
}

// Messenger captures messages in memory (an otp.Messenger).
type Messenger struct {
	mu   sync.Mutex
	msgs []Message
}

// SendEmail records an email.
func (m *Messenger) SendEmail(kind, to string, v otp.MessageVars) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, Message{Kind: kind, To: to, Vars: v})
	return nil
}

// SendSMS records a text message.
func (m *Messenger) SendSMS(kind, to string, v otp.MessageVars) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, Message{SMS: true, Kind: kind, To: to, Vars: v})
	return nil
}

// Last returns the last message to to of kind (fatal if none).
func (m *Messenger) Last(t testing.TB, to, kind string) Message {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].To == to && m.msgs[i].Kind == kind {
			return m.msgs[i]
		}
	}
	t.Fatalf("no %s message to %s", kind, to)
	return Message{}
}

// Count returns how many messages went to to.
func (m *Messenger) Count(to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.msgs {
		if x.To == to {
			n++
		}
	}
	return n
}

// NewWithMessenger is New with every passwordless method on, open sign-up, and a capturing
// messenger for email and SMS.
func NewWithMessenger(t testing.TB, mod ...func(*idp.Config)) (*Env, *Messenger) {
	t.Helper()
	m := &Messenger{}
	e := New(t, append([]func(*idp.Config){func(c *idp.Config) {
		c.Methods = []string{otp.MethodEmailCode, otp.MethodMagicLink, otp.MethodSMSCode}
		c.Messenger, c.EmailEnabled, c.SMSEnabled = m, true, true
		c.SignupMode = idp.SignupOpen
	}}, mod...)...)
	return e, m
}

// LoginCode starts an email code login for email from ip and returns the flow secret and the
// code sent (code "" when nothing was sent).
func (e *Env) LoginCode(m *Messenger, email, ip string) (flow, code string) {
	e.T.Helper()
	before := m.Count(email)
	flow, err := e.P.EmailCode.Begin(e.Ctx, email, "en", ip)
	if err != nil {
		e.T.Fatalf("emailcode.Begin: %v", err)
	}
	if m.Count(email) > before {
		code = m.Last(e.T, email, otp.MsgLoginCode).Vars.Code
	}
	return flow, code
}

// WrongCode returns a 6-digit code, different from code, that varies with i.
func WrongCode(code string, i int) string {
	w := fmt.Sprintf("%06d", (i*7919+13)%1_000_000)
	if w == code {
		w = fmt.Sprintf("%06d", (i*7919+14)%1_000_000)
	}
	return w
}

// Messages returns a copy of every message captured so far.
func (m *Messenger) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.msgs...)
}
