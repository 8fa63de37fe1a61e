package otp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Passwordless methods (the Caddyfile's `login` list).
const (
	MethodEmailCode = "email_code"
	MethodMagicLink = "magic_link"
	MethodSMSCode   = "sms_code"
)

// Errors of the code and link methods. Their text is shown to users.
var (
	ErrCodeInvalid     = errors.New("the code is incorrect; check the latest message and try again")
	ErrCodeExpired     = errors.New("this code expired, was used, or a newer one was sent; request a new code")
	ErrCodeAttempts    = errors.New("too many wrong codes; request a new code")
	ErrMethodDisabled  = errors.New("this login method is not enabled on this server")
	ErrPhoneNotAllowed = errors.New("text messages cannot be sent to this number")
)

// SendLimitError means too many codes or links were requested for one address or from one
// client IP; the caller waits RetryAfter.
type SendLimitError struct {
	RetryAfter time.Duration
}

func (e *SendLimitError) Error() string {
	mins := max(int(e.RetryAfter.Round(time.Minute)/time.Minute), 1)
	return fmt.Sprintf("too many codes requested; try again in %d minute(s)", mins)
}

// Limits of the code methods (CR-09, CR-12).
const (
	codeDigits      = 6
	attemptsPerCode = 5
	codeFailures    = 10 // wrong codes per account (or address) per lockout window, across codes
	sendsPerDest    = 5  // codes or links per address per sendDestWindow
	sendDestWindow  = 15 * time.Minute
	sendsPerIP      = 30 // codes or links per client IP per hour
	// MaxCodeTTL and MaxLinkTTL cap the configured lifetimes of codes and magic links.
	MaxCodeTTL = 10 * time.Minute
	MaxLinkTTL = 15 * time.Minute
)

// Purposes of the one-time records: a code is accepted only by a Check for its purpose.
// The channel (ChannelEmail, ChannelSMS) follows the purposes ending in ':'.
const (
	PurposeCodeLogin = "code:login:"
	PurposeVerify    = "code:verify:"
	PurposeRecover   = "code:recover:"
	PurposeSignup    = "code:signup:"
	PurposeLinkLogin = "link:login"
	purposeLatest    = "latest"
	ChannelEmail     = "email"
	ChannelSMS       = "sms"
)

// Codes is the one-time code machinery. Every field but Messenger (nil: nothing can be
// sent), SMSAllowedPrefixes and Logger is required.
type Codes struct {
	Store   store.Store
	Limiter *lockout.Limiter
	// Messenger delivers codes, links and notices.
	Messenger Messenger
	// Methods are the enabled passwordless methods (MethodEmailCode, MethodMagicLink,
	// MethodSMSCode).
	Methods []string
	// On, if set, replaces Methods: it tells whether a passwordless method is turned on
	// now (runtime settings), so that turning one on or off needs no reload.
	On func(method string) bool
	// EmailEnabled and SMSEnabled tell whether Messenger can deliver email / SMS.
	EmailEnabled, SMSEnabled bool
	// SMSAllowedPrefixes limits SMS to numbers starting with one of these (E.164 prefixes);
	// empty allows any number.
	SMSAllowedPrefixes []string
	// CodeLifetime and LinkLifetime are the configured lifetimes of a code and a magic link
	// (capped at MaxCodeTTL and MaxLinkTTL).
	CodeLifetime, LinkLifetime time.Duration
	// IPMaxFailures limits wrong codes per client IP within the limiter's window.
	IPMaxFailures int
	Now           func() time.Time
	Logger        *slog.Logger
}

func (c *Codes) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// MethodEnabled tells whether a passwordless method is enabled and deliverable.
func (c *Codes) MethodEnabled(m string) bool {
	on := slices.Contains(c.Methods, m)
	if c.On != nil {
		on = c.On(m)
	}
	if !on || c.Messenger == nil {
		return false
	}
	if m == MethodSMSCode {
		return c.SMSEnabled
	}
	return c.EmailEnabled
}

// CodeTTL is how long an email or SMS code works; LinkTTL how long a magic link does.
func (c *Codes) CodeTTL() time.Duration { return min(c.CodeLifetime, MaxCodeTTL) }

// LinkTTL is how long a magic link works.
func (c *Codes) LinkTTL() time.Duration { return min(c.LinkLifetime, MaxLinkTTL) }

// CanEmail tells whether verification and recovery can use email.
func (c *Codes) CanEmail() bool { return c.Messenger != nil && c.EmailEnabled }

// CanSMS tells whether verification and recovery can use SMS.
func (c *Codes) CanSMS() bool { return c.Messenger != nil && c.SMSEnabled }

// SMSAllowed tells whether text messages may be sent to phone.
func (c *Codes) SMSAllowed(phone string) bool {
	if len(c.SMSAllowedPrefixes) == 0 {
		return true
	}
	for _, pre := range c.SMSAllowedPrefixes {
		if strings.HasPrefix(phone, pre) {
			return true
		}
	}
	return false
}

// newCode returns a uniformly random code of codeDigits decimal digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails (Go ≥ 1.24)
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// validCode accepts exactly codeDigits ASCII digits: no spaces, no full-width or other
// Unicode digits, no signs (CR-13).
func validCode(c string) bool {
	if len(c) != codeDigits {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// codeHash binds a code to its flow secret: the store holds neither, so a copy of it cannot
// be used to brute-force the 6 digits offline.
func codeHash(flow, code string) string { return secret.Hash(flow + "\x00" + code) }

func latestID(purpose, dest string) string {
	return secret.Hash(purposeLatest + "\x00" + purpose + "\x00" + dest)
}

// MarkLatest records rec as the newest challenge of purpose for dest: older ones stop
// working (CR-10 supersession).
func (c *Codes) MarkLatest(ctx context.Context, purpose, dest string, rec store.OneTimeCode) error {
	id := latestID(purpose, dest)
	set := func(o store.OneTimeCode) (store.OneTimeCode, error) {
		o.Data = map[string]string{"flow": rec.ID}
		o.ExpiresAt = rec.ExpiresAt
		return o, nil
	}
	for range 3 {
		_, err := c.Store.UpdateOneTimeCode(ctx, id, set)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("record latest code: %w", err)
		}
		err = c.Store.CreateOneTimeCode(ctx, store.OneTimeCode{ID: id, Purpose: purposeLatest,
			Data: map[string]string{"flow": rec.ID}, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt})
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("record latest code: %w", err)
		}
	}
	return errors.New("record latest code: concurrent updates")
}

// CreateLatest stores the new challenge rec of purpose for dest and, in the same store
// write, records it as the newest: older ones stop working (CR-10 supersession). With
// limited, the request also counts, in that write, against the send limits of dest and of
// clientIP (CR-12); over a limit nothing else is stored and the error is a
// *SendLimitError. Requests for unknown addresses count too, so the limits reveal nothing.
func (c *Codes) CreateLatest(ctx context.Context, purpose, dest string, rec store.OneTimeCode, limited bool, clientIP string) error {
	latest := store.OneTimeCode{ID: latestID(purpose, dest), Purpose: purposeLatest,
		Data: map[string]string{"flow": rec.ID}, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt}
	var count []store.CounterIncrement
	if limited {
		count = []store.CounterIncrement{
			{Key: "send:dest:" + secret.Hash(dest), Delta: 1, Window: sendDestWindow, Limit: sendsPerDest},
			{Key: "send:ip:" + lockout.IPKey(clientIP), Delta: 1, Window: time.Hour, Limit: sendsPerIP},
		}
	}
	now := c.Now()
	vs, created, err := c.Store.CreateLatestOneTimeCode(ctx, now, rec, latest, count...)
	if err != nil {
		return fmt.Errorf("store code: %w", err)
	}
	if !created {
		var retry time.Duration
		for i, in := range count {
			if in.Limit > 0 && vs[i].Value > in.Limit {
				retry = max(retry, vs[i].WindowEnd.Sub(now))
			}
		}
		if retry <= 0 {
			return fmt.Errorf("store code: not stored, and no limit was reached")
		}
		return &SendLimitError{RetryAfter: retry}
	}
	return nil
}

// IsLatest tells whether rec is still the newest challenge for its purpose and destination.
func (c *Codes) IsLatest(ctx context.Context, rec store.OneTimeCode) (bool, error) {
	l, err := c.Store.GetOneTimeCode(ctx, latestID(rec.Purpose, rec.Data["dest"]))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read latest code: %w", err)
	}
	return l.Data["flow"] == rec.ID, nil
}

// Supersede makes every pending challenge of purpose for dest stop working: the "latest"
// pointer moves to a challenge that does not exist, and outlives every code that could be
// pending.
func (c *Codes) Supersede(ctx context.Context, purpose, dest string) error {
	now := c.Now()
	none := store.OneTimeCode{ID: "", CreatedAt: now, ExpiresAt: now.Add(MaxCodeTTL)}
	return c.MarkLatest(ctx, purpose, dest, none)
}

// Request is one code to create and maybe send.
type Request struct {
	// Purpose is one of the Purpose constants, with the channel for those ending in ':'.
	Purpose, Channel, Dest string
	// Subject is the user ID the code is for; "" for an unknown address (nothing is sent,
	// and the code can never succeed, but the flow looks the same).
	Subject string
	// Kind is the message template (MsgLoginCode, ...); Vars its values.
	Kind string
	Vars MessageVars
	// Data is stored with the code and returned by Check.
	Data map[string]string
	// Notice, if set, is the kind of message sent instead of the code when Subject is ""
	// (with Vars, without a code): the address is told, but gets nothing to enter.
	Notice string
}

// Start creates a code challenge and sends it; it returns the flow secret, which goes in
// the browser's cookie: the code is only accepted together with it (CR-11).
func (c *Codes) Start(ctx context.Context, req Request, clientIP string) (string, error) {
	ttl := c.CodeTTL()
	flow, code, err := c.create(ctx, req, ttl, true, clientIP)
	if err != nil {
		return "", err
	}
	kind, v := req.Kind, req.Vars
	switch {
	case req.Subject != "":
		v.Code, v.ExpiresIn = code, ttl
	case req.Notice != "":
		kind = req.Notice
	default:
		return flow, nil
	}
	if req.Channel == ChannelSMS {
		err = c.Messenger.SendSMS(kind, req.Dest, v)
	} else {
		err = c.Messenger.SendEmail(kind, req.Dest, v)
	}
	if err != nil {
		// The answer stays the one an unknown address gets: a failure only for existing
		// accounts would tell which addresses have one (CR-06). The user asks again.
		c.logger().Error("send message", "kind", kind, "channel", req.Channel, "user", req.Subject, "error", err)
	}
	return flow, nil
}

// create stores a new challenge of req living ttl, the newest for its purpose and
// destination (counted against the send limits if limited, see CreateLatest), and returns
// its flow secret and code (only their hash is stored).
func (c *Codes) create(ctx context.Context, req Request, ttl time.Duration, limited bool, clientIP string) (flow, code string, err error) {
	flow, code, now := secret.Token(), newCode(), c.Now()
	data := map[string]string{"code": codeHash(flow, code), "dest": req.Dest}
	for k, v := range req.Data {
		data[k] = v
	}
	rec := store.OneTimeCode{ID: secret.Hash(flow), Purpose: req.Purpose, Subject: req.Subject, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := c.CreateLatest(ctx, req.Purpose, req.Dest, rec, limited, clientIP); err != nil {
		return "", "", err
	}
	return flow, code, nil
}

// Issue creates a challenge living ttl for a known subject on someone else's behalf (an
// administrator's), without sending or throttling anything: the caller hands the flow
// secret and the code over. Check accepts it like any other: hashed at rest, bound to its
// flow, attempt-limited, single use, superseded by a newer one.
func (c *Codes) Issue(ctx context.Context, req Request, ttl time.Duration) (flow, code string, err error) {
	if req.Subject == "" || req.Dest == "" {
		return "", "", errors.New("issue code: no subject or destination")
	}
	return c.create(ctx, req, ttl, false, "")
}

// Destination returns where the code of the flow started with flow secret was sent (an
// email address or phone number), for a flow of a purpose starting with purposePrefix that
// has not expired or been used; ErrCodeExpired otherwise. It changes nothing and counts no
// attempt: the flow secret is itself the credential (its holder typed the destination, or
// got it from an administrator). A flow for an address without an account answers the same
// way as one for an account (CR-06).
func (c *Codes) Destination(ctx context.Context, purposePrefix, flow string) (string, error) {
	if flow == "" || len(flow) > 128 {
		return "", ErrCodeExpired
	}
	rec, err := c.Store.GetOneTimeCode(ctx, secret.Hash(flow))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrCodeExpired
	} else if err != nil {
		return "", fmt.Errorf("read code: %w", err)
	}
	if !strings.HasPrefix(rec.Purpose, purposePrefix) || !c.Now().Before(rec.ExpiresAt) || rec.Data["dest"] == "" {
		return "", ErrCodeExpired
	}
	return rec.Data["dest"], nil
}

// Check verifies code for the flow started with flow secret, whose purpose must start with
// purposePrefix. Wrong codes are limited per code (5, then the code is gone), per account
// across codes and per client IP, reserved before the comparison so parallel guesses cannot
// exceed the limits (CR-09). A right code is consumed exactly once; the record is returned.
func (c *Codes) Check(ctx context.Context, purposePrefix, flow, code, clientIP string) (store.OneTimeCode, error) {
	if !validCode(code) {
		return store.OneTimeCode{}, &input.Error{Field: "code", Message: "enter the 6-digit code from the message"}
	}
	if flow == "" || len(flow) > 128 {
		return store.OneTimeCode{}, ErrCodeExpired
	}
	id := secret.Hash(flow)
	rec, err := c.Store.GetOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrCodeExpired
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("read code: %w", err)
	}
	if !strings.HasPrefix(rec.Purpose, purposePrefix) || !c.Now().Before(rec.ExpiresAt) {
		return store.OneTimeCode{}, ErrCodeExpired
	}
	key := "code:account:" + rec.Subject
	switch {
	case strings.HasPrefix(rec.Purpose, PurposeSignup):
		// A sign-up's subject is the ID of an account that does not exist yet, a new one
		// each time: its failures are counted per address, as those of a sign-up for an
		// address that has an account are, so that the limit cannot tell them apart — and
		// apart from login codes, whose counter for an address without an account would
		// otherwise reveal which addresses have one (CR-06).
		key = "code:signup:dest:" + secret.Hash(rec.Data["dest"])
	case rec.Subject == "":
		key = "code:account:dest:" + secret.Hash(rec.Data["dest"])
	}
	release, err := c.Limiter.Attempt(ctx, []string{key, "code:ip:" + lockout.IPKey(clientIP)},
		[]int{codeFailures, c.IPMaxFailures})
	if err != nil {
		return store.OneTimeCode{}, err
	}
	ok := false
	defer func() { release(ok) }()
	// Whether a newer code superseded this one (CR-10) is read first: the attempt is then
	// counted and the code, if right, consumed in one store write.
	latest, err := c.IsLatest(ctx, rec)
	if err != nil {
		return store.OneTimeCode{}, err
	}
	match := secret.Equal(codeHash(flow, code), rec.Data["code"]) && rec.Subject != ""
	var verdict error
	rec, _, err = c.Store.UseOneTimeCode(ctx, id, func(o store.OneTimeCode) bool {
		switch {
		case o.Attempts > attemptsPerCode:
			verdict = ErrCodeAttempts
		case !match && o.Attempts == attemptsPerCode:
			verdict = ErrCodeAttempts // the last attempt was wrong: the code is gone
		case !match:
			verdict = ErrCodeInvalid
			return false
		case !latest:
			verdict = ErrCodeExpired
		default:
			verdict = nil
		}
		return true
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, ErrCodeExpired // expired, or a parallel request used it
	} else if err != nil {
		return store.OneTimeCode{}, fmt.Errorf("use code: %w", err)
	}
	if verdict != nil {
		return store.OneTimeCode{}, verdict
	}
	ok = true // release resets the account's failures and gives the IP's attempt back
	return rec, nil
}
