package notify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// twilioRequest is one request as Twilio's API would see it.
type twilioRequest struct {
	Method, Path, ContentType string
	User, Password            string
	HasAuth                   bool
	Form                      url.Values
}

// fakeTwilio records requests in the shape of Twilio's Messages API and answers with the
// replies given, then 201 Created.
type fakeTwilio struct {
	mu       sync.Mutex
	requests []twilioRequest
	replies  []func(w http.ResponseWriter)
	srv      *httptest.Server
}

func newFakeTwilio(t *testing.T, replies ...func(w http.ResponseWriter)) *fakeTwilio {
	f := &fakeTwilio{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		user, pass, ok := r.BasicAuth()
		f.mu.Lock()
		f.requests = append(f.requests, twilioRequest{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			User: user, Password: pass, HasAuth: ok, Form: form})
		var reply func(http.ResponseWriter)
		if len(f.replies) > 0 {
			reply, f.replies = f.replies[0], f.replies[1:]
		}
		f.mu.Unlock()
		if reply != nil {
			reply(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) recorded() []twilioRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioRequest(nil), f.requests...)
}

func newTwilio(t *testing.T, c notify.TwilioConfig) *notify.Twilio {
	t.Helper()
	s, err := notify.NewTwilio(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTwilioRequestShape: the request is what Twilio's Messages API expects: POST to
// /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic with the account SID and auth
// token, a form with To, From (or MessagingServiceSid instead) and Body.
func TestTwilioRequestShape(t *testing.T) {
	f := newFakeTwilio(t)
	s := newTwilio(t, notify.TwilioConfig{AccountSID: "AC0123", AuthToken: "tok3n", From: "+15550100000", BaseURL: f.srv.URL})
	if err := s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "123456 is your code", Kind: "login_code"}); err != nil {
		t.Fatal(err)
	}
	s2 := newTwilio(t, notify.TwilioConfig{AccountSID: "AC0123", AuthToken: "tok3n", MessagingServiceSID: "MG0456", BaseURL: f.srv.URL + "/"})
	if err := s2.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "654321 is your code"}); err != nil {
		t.Fatal(err)
	}
	reqs := f.recorded()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/AC0123/Messages.json" {
			t.Errorf("request %d: %s %s", i, r.Method, r.Path)
		}
		if !r.HasAuth || r.User != "AC0123" || r.Password != "tok3n" {
			t.Errorf("request %d: basic auth %q:%q", i, r.User, r.Password)
		}
		if r.ContentType != "application/x-www-form-urlencoded" {
			t.Errorf("request %d: content type %q", i, r.ContentType)
		}
		if r.Form.Get("To") != "+14155550123" {
			t.Errorf("request %d: To = %q", i, r.Form.Get("To"))
		}
	}
	if f := reqs[0].Form; f.Get("From") != "+15550100000" || f.Get("Body") != "123456 is your code" || f.Has("MessagingServiceSid") {
		t.Errorf("form with from: %v", f)
	}
	if f := reqs[1].Form; f.Get("MessagingServiceSid") != "MG0456" || f.Has("From") || f.Get("Body") != "654321 is your code" {
		t.Errorf("form with messaging service: %v", f)
	}
}

// TestTwilioRetriesRateLimit: a 429 with Retry-After is waited out and retried; the second
// attempt succeeds.
func TestTwilioRetriesRateLimit(t *testing.T) {
	f := newFakeTwilio(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"code":20429,"message":"Too Many Requests","status":429}`)
	})
	s := newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: f.srv.URL,
		HTTPOptions: notify.HTTPOptions{Backoff: 10 * time.Millisecond}})
	start := time.Now()
	if err := s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "x"}); err != nil {
		t.Fatalf("err = %v, want success after the retry", err)
	}
	if n := len(f.recorded()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %s: Retry-After: 1 was not honoured", d)
	}
}

// TestTwilioPermanentError: a 400 is not retried and its error carries Twilio's code and
// message, so the operator can look it up.
func TestTwilioPermanentError(t *testing.T) {
	f := newFakeTwilio(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
	})
	s := newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: f.srv.URL})
	err := s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "x"})
	if !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	for _, want := range []string{"400", "21211", "Invalid 'To' Phone Number"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if n := len(f.recorded()); n != 1 {
		t.Fatalf("%d requests, want 1 (a 4xx is not retried)", n)
	}
}

// TestTwilioServerErrors: 5xx replies are retried up to the attempt limit and the final error
// is transient; a Retry-After beyond the bound ends the attempts at once; an oversized reply
// is cut at the size limit; a redirect is not followed (the Basic credentials would go along).
func TestTwilioServerErrors(t *testing.T) {
	fail := func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }
	f := newFakeTwilio(t, fail, fail, fail, fail)
	s := newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: f.srv.URL,
		HTTPOptions: notify.HTTPOptions{Backoff: 10 * time.Millisecond}})
	err := s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "x"})
	if err == nil || errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v, want a transient 503 error", err)
	}
	if n := len(f.recorded()); n != 3 {
		t.Fatalf("%d requests, want 3 attempts", n)
	}

	long := newFakeTwilio(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	s = newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: long.srv.URL})
	start := time.Now()
	if err := s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "x"}); err == nil || !strings.Contains(err.Error(), "retry after") {
		t.Fatalf("err = %v, want the too-long Retry-After named", err)
	}
	if time.Since(start) > time.Second || len(long.recorded()) != 1 {
		t.Fatalf("waited %s and sent %d requests for a Retry-After of an hour", time.Since(start), len(long.recorded()))
	}

	huge := newFakeTwilio(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":1,"message":"`+strings.Repeat("A", 4<<20)+`"}`)
	})
	s = newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: huge.srv.URL})
	err = s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "x"})
	if !errors.Is(err, notify.ErrPermanent) || len(err.Error()) > 1000 {
		t.Fatalf("oversized reply: error of %d bytes (want the reply cut and not echoed)", len(err.Error()))
	}

	other := newFakeTwilio(t)
	redirect := newFakeTwilio(t, func(w http.ResponseWriter) {
		w.Header().Set("Location", other.srv.URL+"/2010-04-01/Accounts/AC1/Messages.json")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	s = newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: redirect.srv.URL})
	if err := s.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "x"}); !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("redirect: err = %v, want permanent", err)
	}
	if n := len(other.recorded()); n != 0 {
		t.Fatalf("the redirect was followed (%d requests reached its target)", n)
	}
}

// TestTwilioConfigValidation: every mistake is refused with the option named.
func TestTwilioConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  notify.TwilioConfig
		want string
	}{
		{"missing account_sid", notify.TwilioConfig{AuthToken: "t", From: "+15550100000"}, "account_sid is required"},
		{"account_sid with a slash", notify.TwilioConfig{AccountSID: "AC1/../x", AuthToken: "t", From: "+15550100000"}, "account_sid"},
		{"missing auth_token", notify.TwilioConfig{AccountSID: "AC1", From: "+15550100000"}, "auth_token is required"},
		{"neither from nor service", notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t"}, "from or messaging_service_sid is required"},
		{"both from and service", notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", MessagingServiceSID: "MG1"}, "exclude each other"},
		{"bad from", notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "555-0100"}, "E.164"},
		{"http base_url", notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000", BaseURL: "http://api.example.com"}, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.NewTwilio(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "Acme"}); err != nil {
		t.Errorf("alphanumeric sender ID refused: %v", err)
	}
	s := newTwilio(t, notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15550100000"})
	if err := s.SendSMS(context.Background(), notify.SMS{To: "0155 555", Body: "x"}); !errors.Is(err, notify.ErrPermanent) {
		t.Errorf("a recipient that is not E.164: err = %v, want permanent (and no request)", err)
	}
}
