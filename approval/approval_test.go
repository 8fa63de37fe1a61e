package approval_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/internal/softauthn"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/passkey"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

const payment = `{"type":"payment","amount":"125.50","currency":"EUR","payee":"ACME GmbH","payment_method":"card 4242"}`

// The approval_data parameter: a JSON object of the known string members, each bounded;
// anything else is refused with a message naming approval_data.
func TestParse(t *testing.T) {
	tx, err := approval.Parse(payment)
	if err != nil {
		t.Fatal(err)
	}
	want := approval.Transaction{Type: "payment", Amount: "125.50", Currency: "EUR", Payee: "ACME GmbH", PaymentMethod: "card 4242"}
	if tx != want {
		t.Fatalf("parsed %+v, want %+v", tx, want)
	}
	if got := string(tx.Canonical()); got != payment {
		t.Errorf("canonical %s, want %s", got, payment)
	}
	// Member order and whitespace do not change the canonical encoding or the hash.
	tx2, err := approval.Parse(` { "payee":"ACME GmbH", "currency":"EUR","amount":"125.50","type":"payment","payment_method":"card 4242" } `)
	if err != nil || tx2.Hash() != tx.Hash() {
		t.Errorf("reordered: %v, same hash %v", err, tx2.Hash() == tx.Hash())
	}
	for name, raw := range map[string]string{
		"empty":                ``,
		"array":                `[]`,
		"number amount":        `{"type":"payment","amount":125.5,"currency":"EUR","payee":"x"}`,
		"amount with exponent": `{"type":"payment","amount":"1e3","currency":"EUR","payee":"x"}`,
		"negative amount":      `{"type":"payment","amount":"-1","currency":"EUR","payee":"x"}`,
		"leading zero":         `{"type":"payment","amount":"01","currency":"EUR","payee":"x"}`,
		"7 decimals":           `{"type":"payment","amount":"1.1234567","currency":"EUR","payee":"x"}`,
		"lower-case currency":  `{"type":"payment","amount":"1","currency":"eur","payee":"x"}`,
		"4-letter currency":    `{"type":"payment","amount":"1","currency":"EURO","payee":"x"}`,
		"unknown member":       `{"type":"payment","amount":"1","currency":"EUR","payee":"x","iban":"DE00"}`,
		"case-folded member":   `{"type":"payment","AMOUNT":"1","currency":"EUR","payee":"x"}`,
		"repeated member":      `{"type":"payment","amount":"1","amount":"1000","currency":"EUR","payee":"x"}`,
		"missing payee":        `{"type":"payment","amount":"1","currency":"EUR"}`,
		"long payee":           `{"type":"payment","amount":"1","currency":"EUR","payee":"` + strings.Repeat("p", 141) + `"}`,
		"control in payee":     `{"type":"payment","amount":"1","currency":"EUR","payee":"a\u0007b"}`,
		"bidi in payee":        `{"type":"payment","amount":"1","currency":"EUR","payee":"a\u202eb"}`,
		"trailing data":        payment + `{}`,
		"too large":            `{"type":"payment","amount":"1","currency":"EUR","payee":"` + strings.Repeat("p", 3000) + `"}`,
	} {
		if _, err := approval.Parse(raw); err == nil || !errors.Is(err, approval.ErrInvalid) || !strings.HasPrefix(err.Error(), "approval_data") {
			t.Errorf("%s: %v, want an approval_data error", name, err)
		}
	}
}

// approvalEnv is a provider with a user holding a passkey on a software authenticator, and
// email codes.
type approvalEnv struct {
	*idptest.Env
	auth *softauthn.Authenticator
	msgs *idptest.Messenger
	a    *approval.Approver
}

func newApprovalEnv(t testing.TB) *approvalEnv {
	msgs := &idptest.Messenger{}
	e := idptest.New(t, func(c *idp.Config) { c.Messenger, c.EmailEnabled = msgs, true })
	s := e.Session(sessions.Meta{})
	c, err := e.P.Passkey.BeginRegistration(e.Ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(c.Options)
	auth := softauthn.New(idptest.Issuer)
	resp, _, err := auth.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Passkey.FinishRegistration(e.Ctx, s, c.Secret, "laptop", resp); err != nil {
		t.Fatal(err)
	}
	if e.User, err = e.Store.GetUser(e.Ctx, e.User.ID); err != nil { // with its WebAuthn user handle now
		t.Fatal(err)
	}
	return &approvalEnv{Env: e, auth: auth, msgs: msgs, a: e.P.Approval}
}

func (e *approvalEnv) sign(c *passkey.Ceremony) []byte {
	e.T.Helper()
	opts, _ := json.Marshal(c.Options)
	resp, err := e.auth.Get(opts)
	if err != nil {
		e.T.Fatal(err)
	}
	return resp
}

func mustParse(t testing.TB, raw string) approval.Transaction {
	t.Helper()
	tx, err := approval.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// Issue 19: "the WebAuthn challenge is bound to a hash of the transaction, so an approval
// cannot be replayed for a different amount". The challenge is the nonce followed by the
// transaction's SHA-256; an assertion for transaction B never approves transaction A, with
// A's ceremony or with B's.
func TestPasskeyApprovalBoundToTransaction(t *testing.T) {
	e := newApprovalEnv(t)
	a := mustParse(t, payment)
	b := mustParse(t, strings.Replace(payment, "125.50", "9125.50", 1))
	const bind = "flow-1"

	ca, err := e.a.Begin(e.Ctx, a, e.User, bind)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(ca.Options)
	h := a.Hash()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(opts, &o)
	ch, _ := base64.RawURLEncoding.DecodeString(o.PublicKey.Challenge)
	if len(ch) != 48 || !bytes.Equal(ch[16:], h[:]) {
		t.Errorf("challenge %x: want 16 bytes of nonce and the transaction's hash %x", ch, h)
	}
	cb, err := e.a.Begin(e.Ctx, b, e.User, bind)
	if err != nil {
		t.Fatal(err)
	}
	signedB := e.sign(cb)
	// B's assertion against A's ceremony: the challenge signed is not A's.
	if _, err := e.a.Finish(e.Ctx, a, e.User, bind, ca.Secret, signedB); !errors.Is(err, passkey.ErrPasskeyFailed) {
		t.Errorf("assertion for B with A's ceremony: %v, want ErrPasskeyFailed", err)
	}
	// B's own ceremony presented as approving A: the ceremony's hash is B's.
	if _, err := e.a.Finish(e.Ctx, a, e.User, bind, cb.Secret, signedB); !errors.Is(err, passkey.ErrPasskeyFailed) {
		t.Errorf("B's ceremony and assertion presented for A: %v, want ErrPasskeyFailed", err)
	}
	// A genuine approval of A, once; another flow's binding or a replay fails.
	ca, _ = e.a.Begin(e.Ctx, a, e.User, bind)
	signedA := e.sign(ca)
	if _, err := e.a.Finish(e.Ctx, a, e.User, "flow-2", ca.Secret, signedA); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("another flow's binding: %v, want ErrCeremonyExpired", err)
	}
	ca, _ = e.a.Begin(e.Ctx, a, e.User, bind)
	signedA = e.sign(ca)
	amr, err := e.a.Finish(e.Ctx, a, e.User, bind, ca.Secret, signedA)
	if err != nil || amr != "webauthn" {
		t.Fatalf("approval of A: %q, %v", amr, err)
	}
	if _, err := e.a.Finish(e.Ctx, a, e.User, bind, ca.Secret, signedA); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("replayed approval: %v, want ErrCeremonyExpired", err)
	}
}

// The code path: the code approves the transaction it was sent for, for the flow and user
// it was sent to; amr eotp.
func TestCodeApproval(t *testing.T) {
	e := newApprovalEnv(t)
	a := mustParse(t, payment)
	b := mustParse(t, strings.Replace(payment, "ACME GmbH", "Mallory Ltd", 1))
	flow, err := e.a.SendCode(e.Ctx, a, e.User, "flow-1", "en", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	msg := e.msgs.Last(t, e.User.Email, otp.MsgApprovalCode)
	// The message names what the code approves.
	if msg.Vars.Amount != "125.50 EUR" || msg.Vars.Payee != "ACME GmbH" {
		t.Errorf("approval message names %q to %q", msg.Vars.Amount, msg.Vars.Payee)
	}
	code := msg.Vars.Code
	if _, err := e.a.CheckCode(e.Ctx, b, e.User, "flow-1", flow, code, "192.0.2.1"); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("code for A used for B: %v, want ErrCodeExpired", err)
	}
	flow, _ = e.a.SendCode(e.Ctx, a, e.User, "flow-1", "en", "192.0.2.1")
	code = e.msgs.Last(t, e.User.Email, otp.MsgApprovalCode).Vars.Code
	amr, err := e.a.CheckCode(e.Ctx, a, e.User, "flow-1", flow, code, "192.0.2.1")
	if err != nil || amr != "eotp" {
		t.Fatalf("code approval: %q, %v", amr, err)
	}
	if _, err := e.a.CheckCode(e.Ctx, a, e.User, "flow-1", flow, code, "192.0.2.1"); !errors.Is(err, otp.ErrCodeExpired) {
		t.Errorf("replayed code: %v, want ErrCodeExpired", err)
	}
	var none store.User
	if ch, _ := e.a.Channel(none); ch != "" {
		t.Errorf("a user without a verified address gets channel %q", ch)
	}
}
