package adminv1_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/handlers/adminv1"
	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/login/recovery"
	"github.com/gatehouse-dev/gatehouse/store/memory"
)

// flowOf returns the flow secret a recovery link carries.
func flowOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, idptest.Issuer+recovery.CodePath+"?") {
		t.Fatalf("recovery link %q", link)
	}
	return u.Query().Get("flow")
}

// Issue 18: "Users: create (with or without a password; send an invitation or a recovery
// code)". "recovery": "code" answers a one-time account-recovery link and code, exactly
// once; they recover the account once through the recovery flow (login/recovery Finish),
// are never shown again, and are not in the audit event.
func TestCreateUserWithRecoveryCode(t *testing.T) {
	e := newEnv(t)
	w := e.adminCall("POST", "/users", `{"email":"new@example.com","password":"a first password 16+","recovery":"code"}`)
	d := decodeBody[adminv1.UserDetail](t, w, http.StatusCreated)
	rec := d.Recovery
	if rec == nil || rec.Code == "" || rec.URL == "" || rec.Sent || rec.ExpiresAt.IsZero() {
		t.Fatalf("recovery %+v", rec)
	}
	flow := flowOf(t, rec.URL)

	t.Run("never shown again", func(t *testing.T) {
		w := e.adminCall("GET", "/users/"+d.ID, "")
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), rec.Code) || strings.Contains(w.Body.String(), flow) ||
			strings.Contains(w.Body.String(), `"recovery"`) {
			t.Errorf("GET shows the recovery code: %s", w.Body)
		}
	})
	t.Run("not in the audit event", func(t *testing.T) {
		var seen bool
		for _, ev := range e.audit.all() {
			b, _ := json.Marshal(ev)
			if strings.Contains(string(b), rec.Code) || strings.Contains(string(b), flow) {
				t.Errorf("an audit event holds the code or its link: %s", b)
			}
			if ev.Type == audit.AdminWrite && ev.UserID == d.ID && ev.Reason == "user created" {
				seen = ev.Details["recovery"] == "code"
			}
		}
		if !seen {
			t.Error("the creation is not audited with recovery=code")
		}
	})
	t.Run("works once in the recovery flow", func(t *testing.T) {
		res, err := e.P.Recovery.Finish(e.Ctx, flow, rec.Code, "192.0.2.7")
		if err != nil || res.User.ID != d.ID {
			t.Fatalf("recovery: %v (user %q)", err, res.User.ID)
		}
		// Recovery removes the first password; the user sets a new one.
		if has, _ := e.P.Accounts.HasPassword(e.Ctx, d.ID); has {
			t.Error("the password set at creation survived the recovery")
		}
		if err := e.P.Accounts.SetPassword(e.Ctx, d.ID, "the user's own password"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.P.Recovery.Finish(e.Ctx, flow, rec.Code, "192.0.2.7"); err == nil {
			t.Error("the code recovered the account a second time")
		}
	})
}

func TestCreateUserRecoveryRefusals(t *testing.T) {
	e := newEnv(t) // no email sender
	p := problem(t, e.adminCall("POST", "/users", `{"email":"a@example.com","recovery":"sms"}`), http.StatusBadRequest)
	if p.Field != "recovery" {
		t.Errorf("field %q", p.Field)
	}
	p = problem(t, e.adminCall("POST", "/users", `{"email":"a@example.com","recovery":"email"}`), http.StatusBadRequest)
	if p.Field != "recovery" {
		t.Errorf("email without a sender: field %q", p.Field)
	}
	p = problem(t, e.adminCall("POST", "/users", `{"email":"a@example.com","email_verified":false,"recovery":"code"}`), http.StatusBadRequest)
	if p.Field != "recovery" {
		t.Errorf("a handed code for an unverified address: field %q", p.Field)
	}
	// Nothing was half-applied: the user was not created.
	problem(t, e.adminCall("GET", "/users/a@example.com", ""), http.StatusNotFound)
	// Without "recovery", no code.
	d := decodeBody[adminv1.UserDetail](t, e.adminCall("POST", "/users", `{"email":"b@example.com"}`), http.StatusCreated)
	if d.Recovery != nil {
		t.Errorf("recovery without asking: %+v", d.Recovery)
	}
}

// "recovery": "email" sends the link and the code to the user's address (the recovery
// message) and answers neither.
func TestCreateUserWithRecoveryEmail(t *testing.T) {
	m := &idptest.Messenger{}
	e := newEnvOn(t, memory.New(), func(c *idp.Config) { c.Messenger, c.EmailEnabled = m, true })
	w := e.adminCall("POST", "/users", `{"email":"mailed@example.com","recovery":"email"}`)
	d := decodeBody[adminv1.UserDetail](t, w, http.StatusCreated)
	if d.Recovery == nil || !d.Recovery.Sent || d.Recovery.Code != "" || d.Recovery.URL != "" {
		t.Fatalf("recovery %+v", d.Recovery)
	}
	msg := m.Last(t, "mailed@example.com", otp.MsgRecovery)
	if msg.Vars.Code == "" || strings.Contains(w.Body.String(), msg.Vars.Code) {
		t.Fatalf("message %+v, answer %s", msg.Vars, w.Body)
	}
	res, err := e.P.Recovery.Finish(e.Ctx, flowOf(t, msg.Vars.Link), msg.Vars.Code, "192.0.2.8")
	if err != nil || res.User.ID != d.ID {
		t.Fatalf("the mailed code does not recover the account: %v", err)
	}
}
