package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var (
	// e164 is a phone number in E.164 form: +, country code, subscriber number, ≤15 digits.
	e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// alphanumericSender is a Twilio alphanumeric sender ID: up to 11 letters, digits and
	// spaces, with at least one letter.
	alphanumericSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	// twilioSID is an account or messaging service SID (AC…/MG… followed by hex digits on
	// Twilio itself; compatible services use other letters, so only the alphabet is fixed).
	twilioSID = regexp.MustCompile(`^[A-Za-z0-9]{2,64}$`)
)

// TwilioConfig configures the Twilio sender, which also works with services that copy
// Twilio's Messages API.
type TwilioConfig struct {
	// AccountSID and AuthToken authenticate (HTTP Basic). Required.
	AccountSID string
	AuthToken  string
	// From is the sending number (E.164) or an alphanumeric sender ID; MessagingServiceSID
	// sends through a messaging service instead. Exactly one of the two is required.
	From                string
	MessagingServiceSID string
	// BaseURL is the API's origin (default https://api.twilio.com): https, or http on a
	// loopback host (tests, a local relay).
	BaseURL string
	HTTPOptions
}

// Validate reports every problem of the configuration at once, each naming its option.
func (c TwilioConfig) Validate() error {
	var errs []error
	switch {
	case c.AccountSID == "":
		errs = append(errs, &OptionError{Option: "account_sid", Msg: "is required (your Twilio account SID, AC...)"})
	case !twilioSID.MatchString(c.AccountSID):
		errs = append(errs, &OptionError{Option: "account_sid", Msg: "must be letters and digits only (such as AC0123...)"})
	}
	if c.AuthToken == "" {
		errs = append(errs, &OptionError{Option: "auth_token", Msg: "is required (use a placeholder such as {env.TWILIO_AUTH_TOKEN})"})
	}
	switch {
	case c.From == "" && c.MessagingServiceSID == "":
		errs = append(errs, &OptionError{Option: "from", Msg: "or messaging_service_sid is required"})
	case c.From != "" && c.MessagingServiceSID != "":
		errs = append(errs, &OptionError{Option: "from", Msg: "and messaging_service_sid exclude each other: set one"})
	case c.From != "" && !e164.MatchString(c.From) && !(alphanumericSender.MatchString(c.From) && strings.ContainsAny(strings.ToLower(c.From), "abcdefghijklmnopqrstuvwxyz")):
		errs = append(errs, &OptionError{Option: "from", Msg: fmt.Sprintf("%q must be a phone number in E.164 form (+15550100) or an alphanumeric sender ID of at most 11 characters", c.From)})
	case c.MessagingServiceSID != "" && !twilioSID.MatchString(c.MessagingServiceSID):
		errs = append(errs, &OptionError{Option: "messaging_service_sid", Msg: "must be letters and digits only (such as MG0123...)"})
	}
	if c.BaseURL != "" {
		if err := checkEndpoint("base_url", c.BaseURL); err != nil {
			errs = append(errs, err)
		} else if u, _ := url.Parse(c.BaseURL); u.RawQuery != "" {
			errs = append(errs, &OptionError{Option: "base_url", Msg: "must not have a query"})
		}
	}
	errs = append(errs, c.HTTPOptions.validate()...)
	return errors.Join(errs...)
}

// Twilio sends text messages through Twilio's Messages API (POST
// /2010-04-01/Accounts/{sid}/Messages.json). It is safe for concurrent use.
type Twilio struct {
	cfg      TwilioConfig
	endpoint string
}

// NewTwilio checks c and returns the sender.
func NewTwilio(c TwilioConfig) (*Twilio, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.BaseURL == "" {
		c.BaseURL = "https://api.twilio.com"
	}
	c.HTTPOptions = c.HTTPOptions.withDefaults()
	return &Twilio{
		cfg:      c,
		endpoint: strings.TrimSuffix(c.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json",
	}, nil
}

// twilioError is the body of Twilio's error replies.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

// SendSMS sends m. A 4xx reply is permanent and its error carries Twilio's code and message
// (such as 21211 "Invalid 'To' Phone Number"); 429 and 5xx replies are retried, honouring
// Retry-After.
func (t *Twilio) SendSMS(ctx context.Context, m SMS) error {
	if !e164.MatchString(m.To) {
		return fmt.Errorf("%w: twilio: recipient is not a phone number in E.164 form", ErrPermanent)
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if t.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	} else {
		form.Set("From", t.cfg.From)
	}
	encoded := form.Encode()
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(encoded))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}
	return postWithRetry(ctx, t.cfg.HTTPOptions, "twilio", newReq, describeTwilio)
}

func describeTwilio(status int, body []byte) string {
	var e twilioError
	if json.Unmarshal(body, &e) == nil && (e.Code != 0 || e.Message != "") {
		msg := fmt.Sprintf("HTTP %d: error %d: %s", status, e.Code, oneLine(e.Message))
		if e.MoreInfo != "" {
			msg += " (" + oneLine(e.MoreInfo) + ")"
		}
		return msg
	}
	return fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
}

// Interface guards.
var (
	_ SMSSender   = (*Twilio)(nil)
	_ EmailSender = (*SMTP)(nil)
	_ EmailSender = (*Outbox)(nil)
	_ SMSSender   = (*Outbox)(nil)
)
