package social_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// TestSocialRFC9207MissingIssRejectedWhenAdvertised (AS-28, mix-up): RFC 9207 §2.4 —
// "Clients MUST reject authorization responses without the iss parameter from authorization
// servers that do support the parameter according to the client's configuration." The
// provider's discovery document advertises authorization_response_iss_parameter_supported:
// an answer without iss is refused before its code goes anywhere (no token request), and so
// is an error answer without iss (§2.4: an error must not be assumed to come from the
// intended server). With iss, the same kind of answer logs in.
func TestSocialRFC9207MissingIssRejectedWhenAdvertised(t *testing.T) {
	op := newFakeOP(t)
	e, logs := socialEnv(t, op, 5*time.Second)

	_, err := socialLogin(e, op, "192.0.2.20", "no-iss", "")
	if !errors.Is(err, upstream.ErrRejected) || errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("answer without iss from a provider advertising RFC 9207: %v, want ErrSocialRejected", err)
	}
	if n := op.count("POST /token"); n != 0 {
		t.Errorf("%d token requests for an answer without iss, want none", n)
	}
	if !strings.Contains(logs.String(), "RFC 9207") || !strings.Contains(logs.String(), `"event":"social_login_refused"`) {
		t.Errorf("the refusal was not logged as a refused login:\n%s", logs)
	}

	start, err := e.P.Social.Begin(e.Ctx, "", "up", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Social.Finish(e.Ctx, "up", social.Callback{State: start.State, CookieState: start.State, Code: "", Error: "access_denied", Iss: ""}, store.Session{}); !errors.Is(err, upstream.ErrRejected) {
		t.Errorf("error answer without iss: %v, want ErrSocialRejected (not taken as the provider's)", err)
	}

	if res, err := socialLogin(e, op, "192.0.2.20", "with-iss", "-"); err != nil || res.User.Email != "with-iss@upstream.test" {
		t.Errorf("answer with the provider's iss: %+v, %v; want a login", res, err)
	}
}

// TestSocialRFC9207MissingIssAcceptedWhenNotAdvertised: RFC 9207 §2.4 makes iss mandatory
// only from servers that advertise it; a provider whose discovery document does not is
// answered without iss, and that answer logs in. A present iss is still compared (§2.4:
// "If the value does not match the expected issuer identifier, clients MUST reject").
func TestSocialRFC9207MissingIssAcceptedWhenNotAdvertised(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) { op.issParam = false })
	e, _ := socialEnv(t, op, 5*time.Second)

	if res, err := socialLogin(e, op, "192.0.2.21", "plain", ""); err != nil || !res.NewUser {
		t.Fatalf("answer without iss from a provider not advertising RFC 9207: %+v, %v; want a login", res, err)
	}
	if _, err := socialLogin(e, op, "192.0.2.21", "plain", "https://other.example"); !errors.Is(err, upstream.ErrRejected) {
		t.Errorf("answer naming another issuer: %v, want ErrSocialRejected", err)
	}
}

// TestSocialForgedAnswersAreRefusalsNotOutages (AS-27, AS-28; issue 12): a forged, altered
// or refused answer is a refused login (the portal answers 400-class), logged as the
// security event social_login_refused at warn level without the code, state or any token —
// not an outage. Only a provider that fails (5xx, keys unavailable) is an outage.
func TestSocialForgedAnswersAreRefusalsNotOutages(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		fault  func(op *fakeOP)
		code   string // "" for the code the provider gave; "altered" for a changed one
		errArg string // the callback's error parameter
		iss    string
		want   string // "rejected", "provider_error", "denied", "outage"
	}{
		{what: "iss of another provider (mix-up)", iss: "https://evil.example", want: "rejected"},
		{what: "altered code: the token endpoint answers invalid_grant", code: "altered", iss: "-", want: "rejected"},
		{what: "ID token signed with a key the provider does not publish", fault: func(op *fakeOP) { op.forgeKey = other }, iss: "-", want: "rejected"},
		{what: "error=server_error from the provider", errArg: "server_error", iss: "-", want: "provider_error"},
		{what: "error=access_denied from the provider", errArg: "access_denied", iss: "-", want: "denied"},
		{what: "token endpoint failing with 502", fault: func(op *fakeOP) { op.tokenStatus = http.StatusBadGateway }, iss: "-", want: "outage"},
		{what: "keys unavailable", fault: func(op *fakeOP) { op.jwksDown = true }, iss: "-", want: "outage"},
	} {
		t.Run(c.what, func(t *testing.T) {
			op := newFakeOP(t)
			e, logs := socialEnv(t, op, 5*time.Second)
			if c.fault != nil {
				op.set(c.fault)
			}
			start, err := e.P.Social.Begin(e.Ctx, "198.51.100.7", "up", "")
			if err != nil {
				t.Fatal(err)
			}
			code := op.authorize(start.URL, "mallory")
			sent := code
			if c.code == "altered" {
				sent = code[:len(code)-1] + "X"
			}
			if c.errArg != "" {
				sent = ""
			}
			iss := c.iss
			if iss == "-" {
				iss = op.srv.URL
			}
			_, err = e.P.Social.Finish(e.Ctx, "up", social.Callback{State: start.State, CookieState: start.State, Code: sent, Error: c.errArg, Iss: iss}, store.Session{})
			var down *upstream.UnavailableError
			var perr *upstream.ProviderError
			switch c.want {
			case "rejected":
				if !errors.Is(err, upstream.ErrRejected) || errors.As(err, &down) {
					t.Fatalf("got %v, want ErrSocialRejected", err)
				}
			case "provider_error":
				if !errors.As(err, &perr) || perr.Code != c.errArg || !errors.Is(err, upstream.ErrRejected) {
					t.Fatalf("got %v, want *SocialProviderError %s", err, c.errArg)
				}
			case "denied":
				if !errors.Is(err, social.ErrDenied) {
					t.Fatalf("got %v, want ErrSocialDenied", err)
				}
			case "outage":
				if !errors.As(err, &down) || !down.Callback || errors.Is(err, upstream.ErrRejected) {
					t.Fatalf("got %v, want *SocialUnavailableError at the callback", err)
				}
			}
			log := logs.String()
			if c.want != "outage" && (!strings.Contains(log, `"level":"WARN","msg":"social login refused"`) ||
				!strings.Contains(log, `"event":"social_login_refused"`) || !strings.Contains(log, `"client_ip":"198.51.100.7"`)) {
				t.Errorf("no warn-level social_login_refused event with the client IP:\n%s", log)
			}
			if c.want == "outage" && (strings.Contains(log, "social_login_refused") || !strings.Contains(log, "social_provider_unavailable")) {
				t.Errorf("an outage logged as a refused login, or not logged:\n%s", log)
			}
			for _, s := range []string{code, sent, start.State, "s3cret-upstream", "at-mallory"} {
				if s != "" && strings.Contains(log, s) {
					t.Errorf("the log holds a code, state, secret or token (%q):\n%s", s, log)
				}
			}
		})
	}
}

// TestSocialStateCannotConsumeOtherRecords: a callback whose state is the secret of another
// one-time record (here an email-code flow, whose record is keyed by the secret's hash) is
// refused and leaves that record alone.
func TestSocialStateCannotConsumeOtherRecords(t *testing.T) {
	e, m := idptest.NewWithMessenger(t, func(c *idp.Config) {
		c.SocialProviders = []*social.Provider{{Name: "corp", Kind: social.KindOIDC, Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s"}}
	})
	flow, code := e.LoginCode(m, idptest.Alice, "192.0.2.1")
	if _, err := e.P.Social.Finish(e.Ctx, "corp", social.Callback{State: flow, CookieState: flow, Code: "x", Error: "", Iss: ""}, store.Session{}); !errors.Is(err, social.ErrState) {
		t.Fatalf("callback with a code flow's secret as state: %v, want ErrSocialState", err)
	}
	if _, err := e.P.CodeLogin.Finish(e.Ctx, flow, code, "192.0.2.1"); err != nil {
		t.Errorf("the code flow after the forged callback: %v", err)
	}
}
