package module

import (
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// describeEmailSender says, for the start-up log line, where emails (login codes, magic
// links, verification) go. It names a server or file, never a credential.
func describeEmailSender(s notify.EmailSender) string {
	switch s := s.(type) {
	case nil:
		return "nowhere (no email sender configured; email login methods are off)"
	case *SMTPEmail:
		port := s.Port
		if port == 0 {
			port = map[string]int{"implicit": 465, "none": 25}[s.TLS]
			if port == 0 {
				port = 587
			}
		}
		return "the SMTP server " + net.JoinHostPort(s.Host, strconv.Itoa(port))
	case *OutboxEmail:
		return "this log and " + s.Path + " (development outbox: no email sender configured)"
	default:
		return "the " + string(caddy.GetModuleID(s)) + " sender"
	}
}

// describeSMSSender is describeEmailSender for text messages ("" when there is no sender).
func describeSMSSender(s notify.SMSSender) string {
	switch s := s.(type) {
	case nil:
		return ""
	case *TwilioSMS:
		return "Twilio"
	case *WebhookSMS:
		if u, err := url.Parse(s.URL); err == nil {
			return "the webhook at " + u.Scheme + "://" + u.Host
		}
		return "a webhook"
	case *OutboxSMS:
		return "this log and " + s.Path + " (development outbox: no SMS sender configured)"
	default:
		return "the " + string(caddy.GetModuleID(s)) + " sender"
	}
}

// protectedSites lists the addresses of the sites of the HTTP app with a gatehouse_protect
// handler (Caddyfile shape: one route per site, chosen by host), such as
// http://localhost:8080.
func protectedSites(app *caddyhttp.App) []string {
	if app == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, srv := range app.Servers {
		scheme, defPort := "http", 80
		if len(srv.TLSConnPolicies) > 0 {
			scheme, defPort = "https", 443
		}
		port := ""
		for _, l := range srv.Listen {
			if na, err := caddy.ParseNetworkAddress(l); err == nil && !na.IsUnixNetwork() {
				if int(na.StartPort) != defPort {
					port = ":" + strconv.Itoa(int(na.StartPort))
				}
				break
			}
		}
		for _, rt := range srv.Routes {
			if !hasProtect(srv, caddyhttp.RouteList{rt}, map[string]bool{}) {
				continue
			}
			hosts := hostsOf(rt)
			if len(hosts) == 0 {
				hosts = []string{"*"}
			}
			for _, h := range hosts {
				addr := scheme + "://" + h + port
				if !seen[addr] {
					seen[addr] = true
					out = append(out, addr)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// hasProtect reports whether routes (or a named route they invoke) hold a gatehouse_protect
// handler.
func hasProtect(srv *caddyhttp.Server, routes caddyhttp.RouteList, seen map[string]bool) bool {
	for _, rt := range routes {
		for _, h := range rt.Handlers {
			switch h := h.(type) {
			case *Protect:
				return true
			case *caddyhttp.Subroute:
				if hasProtect(srv, h.Routes, seen) {
					return true
				}
			case *caddyhttp.Invoke:
				if named := srv.NamedRoutes[h.Name]; named != nil && !seen[h.Name] {
					seen[h.Name] = true
					if hasProtect(srv, caddyhttp.RouteList{*named}, seen) {
						return true
					}
				}
			}
		}
	}
	return false
}

// logStart logs the one line that tells a first-time user where everything is: the login
// portal, the protected apps, and where login codes and emails go.
func (a *App) logStart(httpApp *caddyhttp.App) {
	sites := protectedSites(httpApp)
	msg := "Gatehouse is running: login portal " + a.Issuer
	if len(sites) > 0 {
		msg += "; protected apps " + strings.Join(sites, ", ")
	}
	email := a.emailWhere
	if email == "" {
		email = describeEmailSender(nil)
	}
	msg += "; login codes and emails go to " + email
	fields := []zap.Field{zap.String("portal", a.Issuer), zap.Strings("apps", sites), zap.String("email", email)}
	if a.smsWhere != "" {
		msg += "; text messages go to " + a.smsWhere
		fields = append(fields, zap.String("sms", a.smsWhere))
	}
	a.logger.Info(msg, fields...)
}
