package caddyfile

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseEmail parses the `email` option of the gatehouse block: one sender, in a block or on
// the option's line.
//
//	email {
//		smtp <host>[:<port>] {
//			username <user>
//			password <password>          # a placeholder: {env.SMTP_PASSWORD}
//			from "<Name> <address>"
//			tls starttls|implicit|none   # default starttls; none only on a loopback host
//			ca_file <pem file>
//			timeout <duration>           # default 10s
//		}
//		# or
//		outbox [<path>]                  # development: file + log, the code shown in the log
//	}
//	email smtp <host>[:<port>] { ... }   # the same on one line
//	email outbox [<path>]
func parseEmail(d *caddyfile.Dispenser, app *module.App) error {
	if app.Email.SenderRaw != nil {
		return d.Err("gatehouse: email is set twice (give one sender: smtp or outbox)")
	}
	return parseSenders(d, "email", func(name string) error {
		if app.Email.SenderRaw != nil {
			return d.Errf("gatehouse: email: %s is a second sender; give one sender (smtp or outbox)", name)
		}
		var (
			mod any
			err error
		)
		switch name {
		case "smtp":
			mod, err = parseSMTP(d)
		case "outbox":
			mod, err = parseOutbox(d, "email", &module.OutboxEmail{})
		default:
			return d.Errf("gatehouse: email: unknown sender %q (senders: smtp, outbox)", name)
		}
		if err != nil {
			return err
		}
		app.Email.SenderRaw = caddyconfig.JSONModuleObject(mod, "sender", name, nil)
		return nil
	})
}

// parseSMS parses the `sms` option of the gatehouse block: one sender.
//
//	sms {
//		twilio {
//			account_sid <AC...>
//			auth_token <token>             # a placeholder: {env.TWILIO_AUTH_TOKEN}
//			from <+E.164 number or sender ID>
//			messaging_service_sid <MG...>  # instead of from
//			base_url <url>                 # default https://api.twilio.com
//			timeout <duration>
//		}
//		# or
//		webhook <https url> {
//			secret <at least 32 bytes>     # a placeholder: {env.SMS_WEBHOOK_SECRET}
//			timeout <duration>
//		}
//		# or
//		outbox [<path>]
//	}
//	sms twilio { ... }                   # the same on one line
//	sms webhook <url> { ... }
//	sms outbox [<path>]
func parseSMS(d *caddyfile.Dispenser, app *module.App) error {
	if app.SMS.SenderRaw != nil {
		return d.Err("gatehouse: sms is set twice (give one sender: twilio, webhook or outbox)")
	}
	return parseSenders(d, "sms", func(name string) error {
		if name == "allowed_prefixes" {
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("gatehouse: sms allowed_prefixes: list E.164 prefixes such as +1 +44")
			}
			app.SMS.AllowedPrefixes = append(app.SMS.AllowedPrefixes, args...)
			return nil
		}
		if app.SMS.SenderRaw != nil {
			return d.Errf("gatehouse: sms: %s is a second sender; give one sender (twilio, webhook or outbox)", name)
		}
		var (
			mod any
			err error
		)
		switch name {
		case "twilio":
			mod, err = parseTwilio(d)
		case "webhook":
			mod, err = parseWebhook(d)
		case "outbox":
			mod, err = parseOutbox(d, "sms", &module.OutboxSMS{})
		default:
			return d.Errf("gatehouse: sms: unknown sender %q (senders: twilio, webhook, outbox; option: allowed_prefixes)", name)
		}
		if err != nil {
			return err
		}
		app.SMS.SenderRaw = caddyconfig.JSONModuleObject(mod, "sender", name, nil)
		return nil
	})
}

// parseSenders calls sender for the sender named on the option's line, or for each one in
// the option's block, with the dispenser on the sender's name.
func parseSenders(d *caddyfile.Dispenser, opt string, sender func(name string) error) error {
	if d.NextArg() {
		return sender(d.Val())
	}
	line := d.Line()
	found := false
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		found = true
		if err := sender(d.Val()); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("gatehouse: %s: give a sender (%s), at %s:%d", opt, map[string]string{
			"email": "smtp <host> { ... } or outbox", "sms": "twilio { ... }, webhook <url> { ... } or outbox"}[opt], d.File(), line)
	}
	return nil
}

func parseSMTP(d *caddyfile.Dispenser) (*module.SMTPEmail, error) {
	const p = "email smtp "
	s := new(module.SMTPEmail)
	args := d.RemainingArgs()
	if len(args) != 1 {
		return nil, d.Errf("gatehouse: email smtp: expected `smtp <host>[:<port>] { ... }`")
	}
	s.Host = args[0]
	if h, port, err := net.SplitHostPort(args[0]); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil {
			return nil, d.Errf("gatehouse: email smtp %q: the port must be a number", args[0])
		}
		s.Host, s.Port = h, n
	} else if strings.Count(args[0], ":") == 1 {
		return nil, d.Errf("gatehouse: email smtp %q: %v", args[0], err)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "username":
			s.Username, err = oneArg(d)
		case "password":
			s.Password, err = oneArg(d)
		case "from":
			s.From, err = oneArg(d)
		case "tls":
			s.TLS, err = oneArg(d)
		case "ca_file":
			s.CAFile, err = oneArg(d)
		case "timeout":
			s.Timeout, err = durationArg(d, p)
		default:
			return nil, d.Errf("gatehouse: email smtp: unknown option %q (options: username, password, from, tls, ca_file, timeout)", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseOutbox parses `outbox [<path>]` into mod (*module.OutboxEmail or *module.OutboxSMS).
func parseOutbox(d *caddyfile.Dispenser, channel string, mod any) (any, error) {
	args := d.RemainingArgs()
	if len(args) > 1 {
		return nil, d.Errf("gatehouse: %s outbox: expected `outbox [<path>]`", channel)
	}
	if d.NextBlock(d.Nesting()) {
		return nil, d.Errf("gatehouse: %s outbox takes no options (only a path)", channel)
	}
	if len(args) == 1 {
		switch m := mod.(type) {
		case *module.OutboxEmail:
			m.Path = args[0]
		case *module.OutboxSMS:
			m.Path = args[0]
		}
	}
	return mod, nil
}

func parseTwilio(d *caddyfile.Dispenser) (*module.TwilioSMS, error) {
	const p = "sms twilio "
	t := new(module.TwilioSMS)
	if d.NextArg() {
		return nil, d.Errf("gatehouse: sms twilio takes a block, not %q", d.Val())
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "account_sid":
			t.AccountSID, err = oneArg(d)
		case "auth_token":
			t.AuthToken, err = oneArg(d)
		case "from":
			t.From, err = oneArg(d)
		case "messaging_service_sid":
			t.MessagingServiceSID, err = oneArg(d)
		case "base_url":
			t.BaseURL, err = oneArg(d)
		case "timeout":
			t.Timeout, err = durationArg(d, p)
		default:
			return nil, d.Errf("gatehouse: sms twilio: unknown option %q (options: account_sid, auth_token, from, messaging_service_sid, base_url, timeout)", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

func parseWebhook(d *caddyfile.Dispenser) (*module.WebhookSMS, error) {
	const p = "sms webhook "
	w := new(module.WebhookSMS)
	args := d.RemainingArgs()
	if len(args) != 1 {
		return nil, d.Errf("gatehouse: sms webhook: expected `webhook <https url> { secret ... }`")
	}
	w.URL = args[0]
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); opt {
		case "secret":
			w.Secret, err = oneArg(d)
		case "timeout":
			w.Timeout, err = durationArg(d, p)
		default:
			return nil, d.Errf("gatehouse: sms webhook: unknown option %q (options: secret, timeout)", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// parseBranding parses the `branding` option of the gatehouse block:
//
//	branding {
//		product_name <name>        # also a top-level option
//		logo_url <https url>
//		color <hex>                # "#0a84ff" (quoted: # starts a comment) or 0a84ff
//		templates <directory>      # overrides of the email and SMS templates
//	}
func parseBranding(d *caddyfile.Dispenser, b *module.BrandingConfig) error {
	if d.NextArg() {
		return d.Errf("gatehouse: branding takes a block, not %q", d.Val())
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch opt {
		case "product_name", "logo_url", "color", "templates":
		default:
			return d.Errf("gatehouse: branding: unknown option %q (options: product_name, logo_url, color, templates)", opt)
		}
		v, err := oneArg(d)
		if err != nil {
			if opt == "color" {
				return d.Errf(`gatehouse: branding color takes exactly one value (quote it, since # starts a comment: color "#0a84ff"; or leave out the #: color 0a84ff)`)
			}
			return err
		}
		switch opt {
		case "product_name":
			b.ProductName = v
		case "logo_url":
			b.LogoURL = v
		case "color":
			// The # may be left out (it starts a comment unless quoted).
			if !strings.HasPrefix(v, "#") {
				v = "#" + v
			}
			b.Color = strings.ToLower(v)
		case "templates":
			b.Templates = v
		}
	}
	return nil
}
