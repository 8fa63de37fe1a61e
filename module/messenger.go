package module

import (
	"github.com/gatehouse-dev/gatehouse/i18n"

	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/settings"
)

// devIssuer tells whether the issuer is a development one (plain http on a loopback host):
// there the outbox is the default sender, so the quickstart works without a mail server.
func devIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// loadSenders loads the configured email and SMS senders. On a development issuer the
// outbox is the default for a channel that an enabled login method uses. A nil sender means
// the channel is unavailable.
func (a *App) loadSenders(ctx caddy.Context) (notify.EmailSender, notify.SMSSender, error) {
	dev := devIssuer(a.Issuer)
	emailDev := dev && (hasString(a.Login, idp.MethodEmailCode) || hasString(a.Login, idp.MethodMagicLink))
	smsDev := dev && hasString(a.Login, idp.MethodSMSCode)
	var email notify.EmailSender
	var sms notify.SMSSender
	switch {
	case a.Email.SenderRaw != nil:
		mod, err := ctx.LoadModule(&a.Email, "SenderRaw")
		if err != nil {
			return nil, nil, fmt.Errorf("loading gatehouse email sender: %w", err)
		}
		email = mod.(notify.EmailSender)
	case emailDev:
		mod, err := ctx.LoadModuleByID("gatehouse.email.outbox", json.RawMessage(`{}`))
		if err != nil {
			return nil, nil, fmt.Errorf("loading the default email outbox: %w", err)
		}
		email = mod.(notify.EmailSender)
	}
	switch {
	case a.SMS.SenderRaw != nil:
		mod, err := ctx.LoadModule(&a.SMS, "SenderRaw")
		if err != nil {
			return nil, nil, fmt.Errorf("loading gatehouse sms sender: %w", err)
		}
		sms = mod.(notify.SMSSender)
	case smsDev:
		mod, err := ctx.LoadModuleByID("gatehouse.sms.outbox", json.RawMessage(`{}`))
		if err != nil {
			return nil, nil, fmt.Errorf("loading the default sms outbox: %w", err)
		}
		sms = mod.(notify.SMSSender)
	}
	return email, sms, nil
}

// messenger renders idp messages with the branded templates and queues them for delivery.
type messenger struct {
	templates *notify.Templates
	queue     *notify.Queue
	brand     notify.MessageData
	// locale is the default language of a message whose recipient's is unknown or not
	// supported (the app's locale option).
	locale string
	// settings, if set, are the runtime settings: their brand and stored templates apply
	// to each message (current, settings.go).
	settings *settings.View
}

var _ idp.Messenger = (*messenger)(nil)

func (m *messenger) data(brand notify.MessageData, v idp.MessageVars) notify.MessageData {
	d := brand
	d.Email, d.Code, d.Link, d.Language = v.Email, v.Code, v.Link, v.Language
	d.Amount, d.Payee = v.Amount, v.Payee
	// The recipient's language picks the message templates (notify: "de-CH" uses de/);
	// without a supported one, the deployment's locale.
	lang := i18n.Choose("", v.Language, m.locale)
	if _, ok := i18n.FromAcceptLanguage(v.Language); !ok {
		d.Language = lang
	}
	d.Notice = i18n.Text(lang, v.Notice)
	if v.ExpiresIn > 0 {
		d.ExpiresIn = humanDuration(lang, v.ExpiresIn)
	}
	return d
}

// SendEmail implements idp.Messenger.
func (m *messenger) SendEmail(kind, to string, v idp.MessageVars) error {
	t, brand := m.current()
	e, err := t.Email(kind, m.data(brand, v))
	if err != nil {
		return fmt.Errorf("render %s email: %w", kind, err)
	}
	e.To, e.Kind = to, kind
	return m.queue.Email(e)
}

// SendSMS implements idp.Messenger.
func (m *messenger) SendSMS(kind, to string, v idp.MessageVars) error {
	t, brand := m.current()
	d := m.data(brand, v)
	d.Phone = to
	s, err := t.SMS(kind, d)
	if err != nil {
		return fmt.Errorf("render %s sms: %w", kind, err)
	}
	s.To, s.Kind = to, kind
	return m.queue.SMS(s)
}

func (m *messenger) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.queue.Close(ctx)
}

// humanDuration writes a validity period for a message in lang ("10 minutes", "1 hour").
func humanDuration(lang string, d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return i18n.T(lang, "%d hours", int(d/time.Hour))
	}
	return i18n.T(lang, "%d minutes", max(int(d.Round(time.Minute)/time.Minute), 1))
}
