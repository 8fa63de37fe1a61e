package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
)

var webhookSecret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

// TestWebhookDeliversSignedRequests: a receiver written as the documentation says
// (VerifyWebhookSignature over the raw body) accepts the requests; the JSON carries to,
// body, kind and id; a retried message keeps its id (so the receiver can drop duplicates)
// and is signed afresh.
func TestWebhookDeliversSignedRequests(t *testing.T) {
	type received struct {
		payload map[string]string
		sig     string
	}
	var (
		mu   sync.Mutex
		got  []received
		fail = 1 // answer 500 to the first request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(notify.SignatureHeader)
		if err := notify.VerifyWebhookSignature(sig, body, webhookSecret, time.Now(), 0); err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		var p map[string]string
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, received{p, sig})
		if fail > 0 {
			fail--
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL + "/sms", Secret: webhookSecret,
		HTTPOptions: notify.HTTPOptions{Backoff: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "123456 is your code", Kind: "login_code"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2 (a 500, then the retry)", len(got))
	}
	p := got[1].payload
	if p["to"] != "+14155550123" || p["body"] != "123456 is your code" || p["kind"] != "login_code" || len(p["id"]) != 32 {
		t.Errorf("payload = %v", p)
	}
	if got[0].payload["id"] != p["id"] {
		t.Errorf("the retry has another id (%s, %s): the receiver cannot drop the duplicate", got[0].payload["id"], p["id"])
	}
	if !strings.HasPrefix(got[1].sig, "t=") || !strings.Contains(got[1].sig, ",v1=") {
		t.Errorf("signature header %q", got[1].sig)
	}
}

// TestVerifyWebhookSignature: the receiver's check refuses a tampered body, another secret,
// a timestamp outside the tolerance (a replay) and every malformed header, and accepts a
// header with several v1 signatures of which one matches (secret rotation).
func TestVerifyWebhookSignature(t *testing.T) {
	body := []byte(`{"to":"+14155550123","body":"123456 is your code","kind":"login_code","id":"ab"}`)
	now := time.Unix(1_700_000_000, 0)
	good := notify.SignWebhook(body, webhookSecret, now)
	if err := notify.VerifyWebhookSignature(good, body, webhookSecret, now.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	other := notify.SignWebhook(body, []byte("another secret, 32 bytes long!!!"), now)
	_, otherV1, _ := strings.Cut(other, ",")
	if err := notify.VerifyWebhookSignature(good+","+otherV1, body, webhookSecret, now, 0); err != nil {
		t.Errorf("rotation: header with two v1 values refused: %v", err)
	}
	tampered := []byte(strings.Replace(string(body), "123456", "000000", 1))
	tests := []struct {
		name   string
		header string
		body   []byte
		secret []byte
		now    time.Time
		want   error
	}{
		{"tampered body", good, tampered, webhookSecret, now, notify.ErrSignatureMismatch},
		{"wrong secret", good, body, []byte("0123456789abcdef0123456789abcdeX"), now, notify.ErrSignatureMismatch},
		{"signature of another secret", other, body, webhookSecret, now, notify.ErrSignatureMismatch},
		{"old timestamp (replay)", good, body, webhookSecret, now.Add(6 * time.Minute), notify.ErrSignatureExpired},
		{"timestamp in the future", good, body, webhookSecret, now.Add(-6 * time.Minute), notify.ErrSignatureExpired},
		{"timestamp moved", strings.Replace(good, "t=1700000000", "t=1700000100", 1), body, webhookSecret, now, notify.ErrSignatureMismatch},
		{"empty header", "", body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"garbage", "garbage", body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"no v1", "t=1700000000", body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"no t", good[strings.Index(good, "v1="):], body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"t not a number", strings.Replace(good, "t=1700000000", "t=17e8", 1), body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"t twice", "t=1700000000," + good, body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"v1 not hex", "t=1700000000,v1=zz", body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"v1 truncated", good[:len(good)-2], body, webhookSecret, now, notify.ErrSignatureMalformed},
		{"no secret", good, body, nil, now, notify.ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := notify.VerifyWebhookSignature(tt.header, tt.body, tt.secret, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestWebhookConfigValidation: http is refused except on loopback (the code would cross the
// network in clear text), and a secret shorter than 32 bytes is refused.
func TestWebhookConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  notify.WebhookConfig
		want string
	}{
		{"http to a remote host", notify.WebhookConfig{URL: "http://sms.example.com/send", Secret: webhookSecret}, "must use https"},
		{"not a URL", notify.WebhookConfig{URL: "sms.example.com/send", Secret: webhookSecret}, "absolute https URL"},
		{"javascript", notify.WebhookConfig{URL: "javascript:alert(1)", Secret: webhookSecret}, "url"},
		{"user info", notify.WebhookConfig{URL: "https://u:p@sms.example.com/send", Secret: webhookSecret}, "user information"},
		{"short secret", notify.WebhookConfig{URL: "https://sms.example.com/send", Secret: []byte("hunter2")}, "at least 32 bytes"},
		{"missing url", notify.WebhookConfig{Secret: webhookSecret}, "url is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.NewWebhook(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	for _, u := range []string{"http://127.0.0.1:9000/sms", "http://localhost/sms", "http://[::1]:8080/x", "https://sms.example.com/send"} {
		if _, err := notify.NewWebhook(notify.WebhookConfig{URL: u, Secret: webhookSecret}); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

// TestWebhookPermanentFailures: a 4xx reply is permanent and not retried, and the reply body
// (which could echo the request, code included) is not put in the error.
func TestWebhookPermanentFailures(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write(body) // echoes the request
	}))
	defer srv.Close()
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL, Secret: webhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	err = w.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "987654 is your code"})
	if !errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "422") {
		t.Fatalf("err = %v, want a permanent 422", err)
	}
	if strings.Contains(err.Error(), "987654") {
		t.Fatalf("the error carries the code: %v", err)
	}
	if calls != 1 {
		t.Fatalf("%d calls, want 1", calls)
	}
}
