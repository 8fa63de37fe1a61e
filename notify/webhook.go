package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying a webhook request's signature.
const SignatureHeader = "X-Gatehouse-Signature"

// MinWebhookSecret is the shortest webhook secret accepted, in bytes.
const MinWebhookSecret = 32

// DefaultSignatureTolerance is how far a signature's timestamp may be from the receiver's
// clock when VerifyWebhookSignature is given no tolerance.
const DefaultSignatureTolerance = 5 * time.Minute

// Errors of VerifyWebhookSignature; match them with errors.Is.
var (
	ErrSignatureMalformed = errors.New("webhook signature header is missing or malformed")
	ErrSignatureExpired   = errors.New("webhook signature timestamp is outside the tolerance")
	ErrSignatureMismatch  = errors.New("webhook signature does not match")
)

// WebhookConfig configures the generic SMS webhook.
type WebhookConfig struct {
	// URL receives the POST: https, or http on a loopback host. Required.
	URL string
	// Secret signs each request (HMAC-SHA256); at least MinWebhookSecret bytes. Required.
	Secret []byte
	// Now is the clock of the signature timestamps (nil: time.Now).
	Now func() time.Time
	HTTPOptions
}

// Validate reports every problem of the configuration at once, each naming its option.
func (c WebhookConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, &OptionError{Option: "url", Msg: "is required (the https endpoint that sends the SMS)"})
	} else if err := checkEndpoint("url", c.URL); err != nil {
		errs = append(errs, err)
	}
	if len(c.Secret) == 0 {
		errs = append(errs, &OptionError{Option: "secret", Msg: "is required (generate one with `openssl rand -hex 32` and pass it as a placeholder such as {env.SMS_WEBHOOK_SECRET})"})
	} else if len(c.Secret) < MinWebhookSecret {
		errs = append(errs, &OptionError{Option: "secret", Msg: fmt.Sprintf("must be at least %d bytes, not %d (generate one with `openssl rand -hex 32`)", MinWebhookSecret, len(c.Secret))})
	}
	errs = append(errs, c.HTTPOptions.validate()...)
	return errors.Join(errs...)
}

// Webhook sends text messages by POSTing them, signed, to an endpoint of yours that hands them
// to any SMS provider. The request body is JSON:
//
//	{"to": "+14155550123", "body": "123456 is your code ...", "kind": "login_code", "id": "5f0c..."}
//
// id is random per message and the same on every retry of it, so the receiver can drop
// duplicates. The X-Gatehouse-Signature header is
//
//	t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// (Stripe's scheme): the receiver recomputes the HMAC over the raw body, compares in constant
// time and rejects old timestamps; VerifyWebhookSignature does all of this. Any 2xx reply is
// success; 408, 429 and 5xx are retried (honouring Retry-After); other replies are permanent
// failures. The reply body is not read into errors, so a receiver that echoes the request
// cannot leak the code into Gatehouse's logs.
type Webhook struct {
	cfg WebhookConfig
}

// NewWebhook checks c and returns the sender.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.HTTPOptions = c.HTTPOptions.withDefaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Secret = bytes.Clone(c.Secret)
	return &Webhook{cfg: c}, nil
}

// webhookPayload is the JSON body of a webhook request.
type webhookPayload struct {
	To   string `json:"to"`
	Body string `json:"body"`
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// SendSMS POSTs m to the webhook.
func (w *Webhook) SendSMS(ctx context.Context, m SMS) error {
	if !e164.MatchString(m.To) {
		return fmt.Errorf("%w: webhook: recipient is not a phone number in E.164 form", ErrPermanent)
	}
	body, err := json.Marshal(webhookPayload{To: m.To, Body: m.Body, Kind: m.Kind, ID: randomHex(16)})
	if err != nil {
		return fmt.Errorf("%w: webhook: %v", ErrPermanent, err)
	}
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Gatehouse-Webhook/1")
		// Signed per attempt: a retry after a wait still carries a fresh timestamp.
		req.Header.Set(SignatureHeader, SignWebhook(body, w.cfg.Secret, w.cfg.Now()))
		return req, nil
	}
	return postWithRetry(ctx, w.cfg.HTTPOptions, "sms webhook", newReq, func(status int, _ []byte) string {
		return fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	})
}

// SignWebhook returns the X-Gatehouse-Signature value for body at time t.
func SignWebhook(body, secret []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(ts, body, secret))
}

func webhookMAC(ts string, body, secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhookSignature checks a webhook request for receivers written in Go: header is the
// X-Gatehouse-Signature value, body the raw request body exactly as received (before any JSON
// decoding), secret the shared secret, now the receiver's clock, and tolerance how far the
// signed timestamp may be from now (0: DefaultSignatureTolerance). It returns nil only if one
// of the header's v1 signatures (several are allowed, for secret rotation) is the HMAC of
// "<t>.<body>", compared in constant time, and t is within the tolerance, which bounds
// replays; receivers should also drop repeated ids. Errors wrap ErrSignatureMalformed,
// ErrSignatureExpired or ErrSignatureMismatch.
//
// Receivers in other languages do the same: split the header on "," into key=value pairs,
// take t and every v1, compute hex(HMAC-SHA256(secret, t + "." + body)), compare in constant
// time, and check |now - t| ≤ 5 minutes.
func VerifyWebhookSignature(header string, body []byte, secret []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSignatureMismatch)
	}
	var (
		ts   string
		sigs [][]byte
	)
	if header == "" || len(header) > 4096 {
		return ErrSignatureMalformed
	}
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %q is not key=value", ErrSignatureMalformed, part)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one t", ErrSignatureMalformed)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex SHA-256 HMAC", ErrSignatureMalformed)
			}
			sigs = append(sigs, sig)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts != strconv.FormatInt(unix, 10) {
		return fmt.Errorf("%w: t is not a unix time", ErrSignatureMalformed)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrSignatureMalformed)
	}
	signed := time.Unix(unix, 0)
	if d := now.Sub(signed); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrSignatureExpired, signed.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	want := webhookMAC(ts, body, secret)
	ok := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}

// Interface guard.
var _ SMSSender = (*Webhook)(nil)
