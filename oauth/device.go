package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// The device authorization grant (RFC 8628): a device without a browser (a TV, a CLI) asks
// for a device code and a user code (StartDevice), shows the user code, and polls the token
// endpoint (DeviceGrant); the user enters the user code on the hosted /device page of a
// signed-in browser (LookupDevice) and approves or denies (DecideDevice).
//
// Both codes are one-time codes of the store (store.OneTimeCodes), so that every store
// keeps them without a record kind of its own: the device code's record (purpose
// PurposeDeviceCode, ID the hash of the device code) holds the request and its state; the
// user code's record (PurposeDeviceUser, ID a keyed hash of the normalised user code) points
// at it and is consumed (atomically, exactly one caller wins) when the user decides.

// GrantDeviceCode is the device authorization grant's grant type (RFC 8628 §3.4);
// GrantDeviceCodeShort is the short form a client configuration may use for it.
const (
	GrantDeviceCode      = "urn:ietf:params:oauth:grant-type:device_code"
	GrantDeviceCodeShort = "device_code"
)

// The store purposes of the device flow's one-time codes.
const (
	PurposeDeviceCode = "device_code"
	PurposeDeviceUser = "device_user"
)

// Device flow parameters.
const (
	// DefaultDeviceCodeLifetime is a device code's lifetime unless Server.DeviceCodeLifetime
	// says otherwise (RFC 8628 §3.2 expires_in).
	DefaultDeviceCodeLifetime = 10 * time.Minute
	// DeviceInterval is the minimum polling interval (RFC 8628 §3.2: "If no value is
	// provided, clients MUST use 5 as the default"); slow_down adds DeviceSlowDown to it.
	DeviceInterval = 5 * time.Second
	DeviceSlowDown = 5 * time.Second
	// devicePollJitter is how much sooner than the interval a poll may come: a client polling
	// on a ticker (golang.org/x/oauth2) sends requests exactly one interval apart, and their
	// arrival varies with the network and the server's load.
	devicePollJitter = time.Second
	// UserCodeAlphabet: RFC 8628 §6.1 recommends "base-20 using the characters
	// BCDFGHJKLMNPQRSTVWXZ" — no vowels (no words), no digits, nothing ambiguous.
	UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	// UserCodeLength: 20^8 ≈ 2^34.5 codes, guessed at most deviceIPMaxFailures times per IP
	// per lockout window (RFC 8628 §5.1).
	UserCodeLength = 8
	// Wrong user codes entered per session and per client IP within the lockout window.
	deviceSessionMaxFailures = 5
	deviceIPMaxFailures      = 20
)

// The states of a device authorization.
const (
	deviceStatePending  = "pending"
	deviceStateApproved = "approved"
	deviceStateDenied   = "denied"
)

// DeviceStart is the answer of the device authorization endpoint (RFC 8628 §3.2), but for
// the verification URIs, which the endpoint adds.
type DeviceStart struct {
	DeviceCode string
	// UserCode is formatted for display (XXXX-XXXX).
	UserCode  string
	ExpiresIn int
	Interval  int
}

// DeviceRequest is a pending device authorization as the verification page shows it.
type DeviceRequest struct {
	// UserCode is the normalised code, formatted (XXXX-XXXX).
	UserCode string
	Client   *Client
	Scopes   []string
}

func (p *Server) deviceLifetime() time.Duration {
	if p.DeviceCodeLifetime > 0 {
		return p.DeviceCodeLifetime
	}
	return DefaultDeviceCodeLifetime
}

// NormalizeUserCode reads a user code as a user typed it: RFC 8628 §6.1, "the characters
// should be case insensitive" and the server "should ignore" the dash (and spaces). It
// returns the code's UserCodeLength letters of UserCodeAlphabet, or false.
func NormalizeUserCode(in string) (string, bool) {
	if len(in) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch {
		case r == '-' || r == ' ':
		case r < 0x80 && strings.IndexByte(UserCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != UserCodeLength {
		return "", false
	}
	return b.String(), true
}

// FormatUserCode shows a normalised user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

func newUserCode() (string, error) {
	out := make([]byte, 0, UserCodeLength)
	buf := make([]byte, 16)
	for len(out) < UserCodeLength {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("user code: %w", err)
		}
		for _, c := range buf {
			// 240 = 12 × 20: rejecting the rest keeps the letters uniform.
			if c < 240 && len(out) < UserCodeLength {
				out = append(out, UserCodeAlphabet[c%20])
			}
		}
	}
	return string(out), nil
}

// userCodeID is the store ID of a normalised user code: a keyed hash, since the code's
// entropy is too low for a plain hash to hide it from whoever reads the store.
func (p *Server) userCodeID(code string) string {
	if len(p.DeviceKey) == 0 {
		return secret.Hash("device-user:" + code)
	}
	m := hmac.New(sha256.New, p.DeviceKey)
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// StartDevice answers a device authorization request of the authenticated client
// (RFC 8628 §3.1, §3.2).
func (p *Server) StartDevice(ctx context.Context, c *Client, scopes []string) (*DeviceStart, *Error) {
	if !c.AllowsGrant(GrantDeviceCode) {
		return nil, errorf(UnauthorizedClient, "this client may not use the device authorization grant (add %s to its grant_types)", GrantDeviceCode)
	}
	if len(scopes) > 64 {
		return nil, errorf(InvalidScope, "too many scopes")
	}
	for _, s := range scopes {
		if !c.AllowsScope(s) {
			return nil, errorf(InvalidScope, "scope %q is not allowed for this client", sanitize(s))
		}
	}
	scopes = dedupe(scopes)
	now := p.Now()
	life := p.deviceLifetime()
	expires := now.Add(life)
	deviceCode := secret.Token()
	deviceID := secret.Hash(deviceCode)
	// The records outlive the codes by their lifetime, so that a late poll is answered
	// expired_token rather than invalid_grant.
	purge := expires.Add(life)
	scope := strings.Join(scopes, " ")
	var userCode string
	for try := 0; ; try++ {
		code, err := newUserCode()
		if err != nil {
			return nil, p.serverError("device: user code", err)
		}
		err = p.Store.CreateOneTimeCode(ctx, store.OneTimeCode{ID: p.userCodeID(code), Purpose: PurposeDeviceUser,
			Subject: deviceID, Data: map[string]string{"client": c.ID, "scope": scope},
			CreatedAt: now, ExpiresAt: expires})
		if err == nil {
			userCode = code
			break
		}
		if !errors.Is(err, store.ErrAlreadyExists) || try == 4 {
			return nil, p.serverError("device: store user code", err)
		}
	}
	err := p.Store.CreateOneTimeCode(ctx, store.OneTimeCode{ID: deviceID, Purpose: PurposeDeviceCode, Subject: c.ID,
		Data: map[string]string{"scope": scope, "state": deviceStatePending,
			"interval": strconv.Itoa(int(DeviceInterval / time.Second)), "expires": strconv.FormatInt(expires.UnixNano(), 10)},
		CreatedAt: now, ExpiresAt: purge})
	if err != nil {
		return nil, p.serverError("device: store device code", err)
	}
	return &DeviceStart{DeviceCode: deviceCode, UserCode: FormatUserCode(userCode),
		ExpiresIn: int(life / time.Second), Interval: int(DeviceInterval / time.Second)}, nil
}

// errBadUserCode is the answer to a user code that is malformed, unknown, expired or used:
// the page cannot tell them apart, and neither can a guesser.
var errBadUserCode = &Error{Kind: InvalidGrant, Description: "this code is not valid or has expired; check it on the device and try again"}

// LookupDevice finds the pending device authorization of a user code typed on the
// verification page by the session's user (RFC 8628 §3.3). Wrong codes are counted per
// session and per client IP: guessing user codes is the attack (RFC 8628 §5.1).
func (p *Server) LookupDevice(ctx context.Context, userCode, sessionID, clientIP string) (*DeviceRequest, *Error) {
	req, _, oerr := p.lookupDevice(ctx, userCode, sessionID, clientIP)
	return req, oerr
}

func (p *Server) lookupDevice(ctx context.Context, userCode, sessionID, clientIP string) (*DeviceRequest, string, *Error) {
	release, err := p.Limiter.Attempt(ctx, []string{"device:session:" + sessionID, "device:ip:" + lockout.IPKey(clientIP)},
		[]int{deviceSessionMaxFailures, deviceIPMaxFailures})
	var locked *lockout.LockedError
	if errors.As(err, &locked) {
		return nil, "", &Error{Kind: InvalidGrant, Description: locked.Error()}
	} else if err != nil {
		return nil, "", p.serverError("device: count attempt", err)
	}
	ok := false
	defer func() { release(ok) }()
	code, valid := NormalizeUserCode(userCode)
	if !valid {
		return nil, "", errBadUserCode
	}
	id := p.userCodeID(code)
	rec, err := p.Store.GetOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", errBadUserCode
	} else if err != nil {
		return nil, "", p.serverError("device: read user code", err)
	}
	if rec.Purpose != PurposeDeviceUser || !p.Now().Before(rec.ExpiresAt) {
		return nil, "", errBadUserCode
	}
	c, err := p.Client(ctx, rec.Data["client"])
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", errBadUserCode
	} else if err != nil {
		return nil, "", p.serverError("device: load client", err)
	}
	ok = true
	return &DeviceRequest{UserCode: FormatUserCode(code), Client: c, Scopes: strings.Fields(rec.Data["scope"])}, id, nil
}

// DecideDevice records the approval (or denial) by the user of the portal session sessionID
// of the device authorization of userCode. The user code is consumed first: of any number of
// concurrent decisions, on any number of instances sharing the store, exactly one takes
// effect; a code is never accepted twice.
func (p *Server) DecideDevice(ctx context.Context, userCode, sessionID string, approve bool, clientIP string) (*DeviceRequest, *Error) {
	req, id, oerr := p.lookupDevice(ctx, userCode, sessionID, clientIP)
	if oerr != nil {
		return nil, oerr
	}
	s, err := p.Store.GetSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Now().Before(p.Sessions.ExpiresAt(s))) {
		return nil, errorf(InvalidGrant, "your session ended; log in again")
	} else if err != nil {
		return nil, p.serverError("device: read session", err)
	}
	rec, err := p.Store.ConsumeOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadUserCode
	} else if err != nil {
		return nil, p.serverError("device: consume user code", err)
	}
	if approve && !hasString(s.Clients, req.Client.ID) {
		// The session remembers its clients, for back-channel logout (as IssueCode does).
		if _, err := p.Store.UpdateSession(ctx, s.ID, func(s store.Session) (store.Session, error) {
			if !hasString(s.Clients, req.Client.ID) && len(s.Clients) < 64 {
				s.Clients = append(s.Clients, req.Client.ID)
			}
			return s, nil
		}); err != nil {
			return nil, p.serverError("device: update session", err)
		}
	}
	_, err = p.Store.UpdateOneTimeCode(ctx, rec.Subject, func(d store.OneTimeCode) (store.OneTimeCode, error) {
		if d.Purpose != PurposeDeviceCode || d.Data["state"] != deviceStatePending {
			return d, store.ErrNotFound
		}
		if !approve {
			d.Data["state"] = deviceStateDenied
			return d, nil
		}
		d.Data["state"] = deviceStateApproved
		d.Data["uid"], d.Data["sid"], d.Data["acr"], d.Data["passkey"] = s.UserID, s.ID, s.ACR, s.Passkey
		d.Data["auth_time"] = strconv.FormatInt(s.AuthTime.Unix(), 10)
		d.Data["amr"] = strings.Join(s.AMR, " ")
		return d, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadUserCode
	} else if err != nil {
		return nil, p.serverError("device: record decision", err)
	}
	return req, nil
}

// Sentinels of DeviceGrant's update of the device code's record.
var (
	errDeviceUnknown = errors.New("device code unknown")
	errDeviceClient  = errors.New("device code of another client")
	errDeviceExpired = errors.New("device code expired")
)

// DeviceGrant answers a poll of the token endpoint with a device code (RFC 8628 §3.4,
// §3.5): authorization_pending until the user decides, slow_down (and an interval 5 s
// longer) for a poll sooner than the interval after the previous one, access_denied,
// expired_token, and on approval the tokens of the session the user approved in, as the
// code flow issues them. The device code is single use.
func (p *Server) DeviceGrant(ctx context.Context, c *Client, deviceCode string) (*TokenResponse, *Error) {
	return p.counted(ctx, GrantDeviceCodeShort)(p.deviceGrant(ctx, c, deviceCode))
}

func (p *Server) deviceGrant(ctx context.Context, c *Client, deviceCode string) (*TokenResponse, *Error) {
	if !c.AllowsGrant(GrantDeviceCode) {
		return nil, errorf(UnauthorizedClient, "this client may not use the device authorization grant")
	}
	if deviceCode == "" || len(deviceCode) > 128 {
		return nil, errorf(InvalidRequest, "device_code is missing or malformed")
	}
	id := secret.Hash(deviceCode)
	now := p.Now()
	var slow bool
	rec, err := p.Store.UpdateOneTimeCode(ctx, id, func(d store.OneTimeCode) (store.OneTimeCode, error) {
		slow = false
		switch {
		case d.Purpose != PurposeDeviceCode:
			return d, errDeviceUnknown
		case d.Subject != c.ID:
			return d, errDeviceClient
		}
		exp, _ := strconv.ParseInt(d.Data["expires"], 10, 64)
		if !now.Before(time.Unix(0, exp)) {
			return d, errDeviceExpired
		}
		interval, _ := strconv.Atoi(d.Data["interval"])
		if last, err := strconv.ParseInt(d.Data["poll"], 10, 64); err == nil && now.Sub(time.Unix(0, last)) < time.Duration(interval)*time.Second-devicePollJitter {
			slow = true
			d.Data["interval"] = strconv.Itoa(interval + int(DeviceSlowDown/time.Second))
		}
		d.Data["poll"] = strconv.FormatInt(now.UnixNano(), 10)
		return d, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errDeviceUnknown):
		return nil, errorf(InvalidGrant, "the device code is invalid, expired or already used")
	case errors.Is(err, errDeviceClient):
		return nil, errorf(InvalidGrant, "the device code was issued to another client")
	case errors.Is(err, errDeviceExpired):
		return nil, errorf(ExpiredToken, "the device code expired; start again")
	case err != nil:
		return nil, p.serverError("device: read device code", err)
	}
	switch rec.Data["state"] {
	case deviceStateDenied:
		return nil, errorf(AccessDenied, "the user denied the request")
	case deviceStateApproved:
		return p.redeemDevice(ctx, c, id, now)
	}
	if slow {
		return nil, errorf(SlowDown, "polling too fast; wait %s s between requests", rec.Data["interval"])
	}
	return nil, errorf(AuthorizationPending, "the user has not approved the request yet")
}

// redeemDevice consumes an approved device code and issues its tokens.
func (p *Server) redeemDevice(ctx context.Context, c *Client, id string, now time.Time) (*TokenResponse, *Error) {
	invalid := func(format string, args ...any) *Error { return errorf(InvalidGrant, format, args...) }
	rec, err := p.Store.ConsumeOneTimeCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("the device code was already used")
	} else if err != nil {
		return nil, p.serverError("device: consume device code", err)
	}
	d := rec.Data
	u, err := p.Store.GetUser(ctx, d["uid"])
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("the user no longer exists")
	} else if err != nil {
		return nil, p.serverError("device: read user", err)
	}
	if u.Disabled {
		return nil, invalid("the user is disabled")
	}
	if err := p.Revocations.Check(d["sid"], "", u.ID, rec.CreatedAt.Unix()); err != nil {
		return nil, invalid("the session was logged out")
	}
	s, err := p.Store.GetSession(ctx, d["sid"])
	if errors.Is(err, store.ErrNotFound) || (err == nil && !now.Before(p.Sessions.ExpiresAt(s))) {
		return nil, invalid("the session that approved the request was logged out")
	} else if err != nil {
		return nil, p.serverError("device: read session", err)
	}
	// A device approved by a single-factor session just before the settings required a
	// second factor after its method gets no tokens (the device code is spent).
	if p.stepUpRequired(strings.Fields(d["amr"])) {
		return nil, invalid(errStepUp)
	}
	authTime, _ := strconv.ParseInt(d["auth_time"], 10, 64)
	g := grant{Grant: issue.Grant{ID: secret.New(16), User: u, SessionID: s.ID, Scopes: strings.Fields(d["scope"]),
		AuthTime: time.Unix(authTime, 0), AMR: strings.Fields(d["amr"]), ACR: d["acr"], Passkey: d["passkey"]}, client: c}
	resp, err := p.issue(ctx, g, now, true)
	if err != nil {
		return nil, p.serverError("device: issue", err)
	}
	return resp, nil
}
