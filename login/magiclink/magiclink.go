package magiclink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AMR is what a login by magic link proves.
const AMR = login.AMREmailLink

// ErrLinkExpired: the link expired, was used, or a newer one was sent.
var ErrLinkExpired = errors.New("this login link expired or was already used; request a new one")

// ConfirmationRequiredError: a magic link was opened in another browser than the one that
// asked for it (CR-17). Logging in there needs the user's explicit confirmation.
type ConfirmationRequiredError struct {
	Email string
}

func (e *ConfirmationRequiredError) Error() string {
	return "this link was requested from another browser; confirm to log in here"
}

// Method is login by magic link. Every field is required.
type Method struct {
	// Metrics counts the login attempts (nil: not counted).
	Metrics metrics.Recorder
	// Audit records the login attempts (nil: not recorded).
	Audit    audit.Recorder
	Store    store.Store
	Codes    *otp.Codes
	Accounts *account.Accounts
	// Issuer is the portal's URL: links are built from it, never from the request.
	Issuer string
	Now    func() time.Time
}

// Enabled tells whether the method is enabled and email can be sent.
func (m *Method) Enabled() bool { return m.Codes.MethodEnabled(otp.MethodMagicLink) }

// Link is a pending magic link.
type Link struct {
	// Email is the account's address.
	Email string
	// SameBrowser: the link is opened in the browser that asked for it.
	SameBrowser bool
	ReturnTo    string
}

// Begin emails a login link to email if it belongs to an account, and returns the nonce for
// the requesting browser's cookie: the link logs in there without a question, elsewhere
// only after an explicit confirmation (CR-17). returnTo (a portal path) is where the login
// continues.
func (m *Method) Begin(ctx context.Context, email, returnTo, lang, clientIP string) (string, error) {
	if !m.Enabled() {
		// Turned off (or no sender): nothing is sent, and the attempt is on the record.
		login.Audit(ctx, m.Audit, "magic_link", "", login.Result{}, otp.ErrMethodDisabled, otp.ErrMethodDisabled)
		return "", otp.ErrMethodDisabled
	}
	email, err := input.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	nonce := secret.Token()
	u, found, err := m.Accounts.FindByEmail(ctx, email)
	if err != nil {
		return "", err
	}
	// An address without an account gets a link record too, with no subject (it can never
	// log in, and its token is sent nowhere): the same store writes, so the answer takes the
	// same time (CR-07).
	token, now := secret.Token(), m.Now()
	ttl := m.Codes.LinkTTL()
	rec := store.OneTimeCode{ID: secret.Hash(token), Purpose: otp.PurposeLinkLogin,
		Data:      map[string]string{"browser": secret.Hash(nonce), "dest": email, "return_to": returnTo},
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if found {
		rec.Subject = u.ID
	}
	// Counted against the send limits of the address and the client IP in the same store
	// write (CR-12); over a limit nothing is stored or sent.
	if err := m.Codes.CreateLatest(ctx, otp.PurposeLinkLogin, email, rec, true, clientIP); err != nil {
		var limited *otp.SendLimitError
		if errors.As(err, &limited) {
			return "", err
		}
		return "", fmt.Errorf("magic link: %w", err)
	}
	if !found {
		return nonce, nil
	}
	// The token travels in the fragment: browsers never send it to a server, so it cannot
	// reach access logs or a Referer header (CR-15).
	link := m.Issuer + "/login/magic#" + token
	// A failure is logged only: the answer stays that of an unknown address (CR-07).
	m.Codes.SendEmail(otp.MsgMagicLink, email, u.ID, otp.MessageVars{Email: email, Link: link, ExpiresIn: ttl, Language: lang})
	return nonce, nil
}

// Lookup reads a magic link without using it (the interstitial page; mail scanners that
// fetch links get only this). nonce is the browser's cookie, if any.
func (m *Method) Lookup(ctx context.Context, token, nonce string) (Link, error) {
	l, _, err := m.lookup(ctx, token, nonce)
	return l, err
}

func (m *Method) lookup(ctx context.Context, token, nonce string) (Link, store.OneTimeCode, error) {
	if token == "" || len(token) > 128 {
		return Link{}, store.OneTimeCode{}, ErrLinkExpired
	}
	rec, err := m.Store.GetOneTimeCode(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return Link{}, store.OneTimeCode{}, ErrLinkExpired
	} else if err != nil {
		return Link{}, store.OneTimeCode{}, fmt.Errorf("read magic link: %w", err)
	}
	if rec.Purpose != otp.PurposeLinkLogin || rec.Subject == "" || !m.Now().Before(rec.ExpiresAt) {
		return Link{}, store.OneTimeCode{}, ErrLinkExpired
	}
	if latest, err := m.Codes.IsLatest(ctx, rec); err != nil {
		return Link{}, store.OneTimeCode{}, err
	} else if !latest {
		return Link{}, store.OneTimeCode{}, ErrLinkExpired
	}
	same := nonce != "" && len(nonce) <= 128 && secret.Equal(secret.Hash(nonce), rec.Data["browser"])
	return Link{Email: rec.Data["dest"], SameBrowser: same, ReturnTo: rec.Data["return_to"]}, rec, nil
}

// Finish logs in with a magic link: once, before it expires, in the browser that asked for
// it, or elsewhere when confirmed is set (the user saw which account and agreed). The
// result's ReturnTo is where the login continues. A link opened elsewhere without
// confirmation is a *ConfirmationRequiredError.
func (m *Method) Finish(ctx context.Context, token, nonce string, confirmed bool) (login.Result, error) {
	res, err := m.finish(ctx, token, nonce, confirmed)
	var confirm *ConfirmationRequiredError
	if errors.As(err, &confirm) {
		return res, err // not an attempt yet: the browser confirms first
	}
	login.Audit(ctx, m.Audit, "magic_link", "", res, err, ErrLinkExpired, account.ErrUserDisabled, otp.ErrMethodDisabled)
	return login.Count(m.Metrics, "magic_link", res, err, ErrLinkExpired, otp.ErrMethodDisabled)
}

func (m *Method) finish(ctx context.Context, token, nonce string, confirmed bool) (login.Result, error) {
	if !m.Enabled() {
		// Turned off since the link was sent: it no longer logs in (and is left unused, so
		// that it works again if the method is turned back on before it expires).
		return login.Result{}, otp.ErrMethodDisabled
	}
	ml, rec, err := m.lookup(ctx, token, nonce)
	if err != nil {
		return login.Result{}, err
	}
	if !ml.SameBrowser && !confirmed {
		return login.Result{}, &ConfirmationRequiredError{Email: ml.Email}
	}
	if _, err := m.Store.ConsumeOneTimeCode(ctx, rec.ID); errors.Is(err, store.ErrNotFound) {
		return login.Result{}, ErrLinkExpired
	} else if err != nil {
		return login.Result{}, fmt.Errorf("use magic link: %w", err)
	}
	u, err := m.Accounts.LoginUser(ctx, rec.Subject)
	if errors.Is(err, otp.ErrCodeExpired) {
		return login.Result{}, ErrLinkExpired
	} else if err != nil {
		return login.Result{}, err
	}
	if u.Email != ml.Email {
		return login.Result{}, ErrLinkExpired // sent to an address the account no longer has
	}
	u, err = m.Accounts.Claim(ctx, u, ml.Email)
	if err != nil {
		return login.Result{}, err
	}
	return login.Result{User: u, AMR: []string{AMR}, ReturnTo: ml.ReturnTo}, nil
}
