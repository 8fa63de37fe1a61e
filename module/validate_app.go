package module

import (
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/i18n"
	"github.com/gatehouse-dev/gatehouse/idp"
)

// Check records every problem of the app's configuration in v, under path (gatehouse).
func (a *App) Check(v *Validator, path string) {
	issuer := a.checkIssuer(v, path+".issuer")
	checkStorage(v, path+".storage", a.StorageRaw)
	v.oneOf(path+".signup", a.Signup, idp.SignupOpen, idp.SignupClosed, idp.SignupInvite)
	v.oneOf(path+".locale", a.Locale, i18n.Languages...)
	a.checkLogin(v, path, issuer)
	if a.AdminMaxAge < 0 {
		v.Errorf(path+".admin_max_age", "must be a positive duration such as 15m, got %s", time.Duration(a.AdminMaxAge))
	}
	if strings.TrimSpace(a.AdminGroup) != a.AdminGroup {
		v.Errorf(path+".admin_group", "must be a group name without surrounding spaces, got %q", a.AdminGroup)
	}
	for i, c := range a.Clients {
		p := elem(path+".clients", i, c.ID)
		if j := slices.IndexFunc(a.Clients, func(o ClientConfig) bool { return o.ID == c.ID }); j < i {
			p = index(path+".clients", i)
			v.Errorf(p, "must have an ID of its own (client IDs are unique), got %q again (first at clients[%d])", c.ID, j)
		}
		c.check(v, p)
	}
	a.Registration.check(v, path+".registration")
	v.duration(path+".par.lifetime", a.PAR.Lifetime, 5*time.Second, 10*time.Minute, " (RFC 9126 §2.2: a short-lived request_uri)")
	a.Approval.check(v, path+".approval")
	a.Tokens.check(v, path+".tokens")
	a.Sessions.check(v, path+".sessions")
	a.Lockout.check(v, path+".lockout")
	a.Branding.check(v, path+".branding")
	a.Keys.check(v, path+".keys")
	a.checkPasskeys(v, path+".passkeys", issuer)
	for i, sc := range a.Social {
		p := elem(path+".social", i, sc.Name)
		if j := slices.IndexFunc(a.Social, func(o SocialConfig) bool { return o.Name == sc.Name }); j < i {
			p = index(path+".social", i)
			v.Errorf(p, "must have a name of its own (provider names are unique), got %q again (first at social[%d])", sc.Name, j)
		}
		sc.check(v, p, a.Signup)
	}
	a.SocialLimits.check(v, path+".social_limits")
	a.Email.check(v, path+".email", issuer)
	a.SMS.check(v, path+".sms", issuer)
	a.Account.check(v, path+".account")
	a.Audit.check(v, path+".audit")
	a.checkJourneys(v, path)
}

// checkStorage checks that the storage names a gatehouse.storage module and holds only its
// options (Caddy loads it the same way when the app is provisioned).
func checkStorage(v *Validator, path string, raw json.RawMessage) {
	if raw == nil {
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		v.Errorf(path, "must be a JSON object naming its module, got %s", raw)
		return
	}
	var name string
	_ = json.Unmarshal(fields["module"], &name)
	var names []string
	for _, m := range caddy.GetModules("gatehouse.storage") {
		names = append(names, m.ID.Name())
	}
	info, err := caddy.GetModule("gatehouse.storage." + name)
	if name == "" || err != nil {
		v.Errorf(path+".module", "must be one of %s, got %q", strings.Join(names, ", "), name)
		return
	}
	delete(fields, "module")
	rest, _ := json.Marshal(fields)
	if err := caddy.StrictUnmarshalJSON(rest, info.New()); err != nil {
		v.Errorf(path, "must hold the options of the %s storage only, got %v", name, err)
	}
}

// checkIssuer checks the issuer and returns it resolved ("" when unusable).
func (a *App) checkIssuer(v *Validator, path string) string {
	if a.Issuer == "" {
		v.Errorf(path, "is required: the portal's URL, such as https://login.example.com")
		return ""
	}
	iss, ok := v.resolve(path, strings.TrimSpace(a.Issuer))
	if !ok {
		return ""
	}
	if err := ValidateIssuer(iss); err != nil {
		v.Errorf(path, "%v, got %q", err, iss)
		return ""
	}
	if devIssuer(iss) {
		v.Warnf(path, "plain http on a loopback host is for development only (cookies without Secure, "+
			"the outbox as default sender), got %q", iss)
	}
	return iss
}

// emailSender tells whether email can be sent: a configured sender, or the outbox that a
// development issuer gets by default with an email login method.
func (a *App) emailSender(issuer string) bool {
	return a.Email.SenderRaw != nil ||
		(devIssuer(issuer) && (hasString(a.Login, idp.MethodEmailCode) || hasString(a.Login, idp.MethodMagicLink)))
}

func (a *App) checkLogin(v *Validator, path, issuer string) {
	for i, m := range a.Login {
		p := index(path+".login", i)
		switch {
		case !slices.Contains(loginMethods, m):
			v.Errorf(p, "must be one of %s, got %q", strings.Join(loginMethods, ", "), m)
		case slices.Index(a.Login, m) < i:
			v.Warnf(p, "is listed twice: %s", m)
		}
	}
	if len(a.Login) > 0 && !hasString(a.Login, "password") {
		v.Errorf(path+".login", "must include password (passkey-only servers are not available yet), got %v", a.Login)
	}
	if issuer != "" && !devIssuer(issuer) {
		for i, m := range a.Login {
			switch {
			case (m == idp.MethodEmailCode || m == idp.MethodMagicLink) && a.Email.SenderRaw == nil:
				v.Errorf(index(path+".login", i), "%s sends email: must have an email sender (email.sender smtp), got none", m)
			case m == idp.MethodSMSCode && a.SMS.SenderRaw == nil:
				v.Errorf(index(path+".login", i), "%s sends text messages: must have an SMS sender (sms.sender twilio or webhook), got none", m)
			}
		}
	}
	if issuer == "" {
		return
	}
	if (a.Signup == idp.SignupOpen || a.Signup == idp.SignupInvite) && !a.emailSender(issuer) {
		if a.SignupRevealsExisting {
			v.Warnf(path+".signup", "%s sign-up without an email sender creates accounts whose addresses nobody verified", a.Signup)
		} else {
			v.Warnf(path+".signup", "%s sign-up without an email sender creates accounts whose addresses nobody verified, and "+
				"tells whether an address has an account (there is no code to send first): configure email.sender", a.Signup)
		}
	}
	switch {
	case a.SignupRevealsExisting && (a.Signup == "" || a.Signup == idp.SignupClosed):
		v.Warnf(path+".signup_reveals_existing", "has no effect while signup is closed")
	case a.SignupRevealsExisting:
		v.Warnf(path+".signup_reveals_existing", "is set: sign-up answers 409 email_taken for a registered address, so anyone "+
			"can find out which addresses have an account (user enumeration)")
	}
}

// checkPasskeys checks the WebAuthn relying party against the issuer: the RP ID must be the
// issuer's host or a parent domain of it, and every origin must sit under the RP ID.
func (a *App) checkPasskeys(v *Validator, path, issuer string) {
	c := a.Passkeys
	off := len(a.Login) > 0 && !hasString(a.Login, "passkey")
	if off && (c.RPID != "" || c.RPName != "" || len(c.Origins) > 0) {
		v.Warnf(path, "is ignored: login does not include passkey")
	}
	if issuer == "" {
		return // reported with the issuer
	}
	iu, _ := url.Parse(issuer)
	host := strings.ToLower(iu.Hostname())
	if c.RPID == "" && net.ParseIP(host) != nil && !off {
		v.Warnf(path, "are off: the issuer's host %s is an IP address and WebAuthn needs a domain name; "+
			"use a host name (localhost works)", host)
	}
	rpID := strings.ToLower(c.RPID)
	if c.RPID != "" {
		if net.ParseIP(c.RPID) != nil || strings.ContainsAny(c.RPID, ":/?#@ ") || strings.Trim(c.RPID, ".") != c.RPID {
			v.Errorf(path+".rp_id", "must be a bare domain name such as example.com (no scheme, port or path), got %q", c.RPID)
			return
		}
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			v.Errorf(path+".rp_id", "must be the issuer's host %q or a parent domain of it, got %q", iu.Hostname(), c.RPID)
			return
		}
	} else {
		rpID = host
	}
	if len(c.RPName) > 64 {
		v.Warnf(path+".rp_name", "is %d bytes long: authenticators may cut it after 64", len(c.RPName))
	}
	for i, o := range c.Origins {
		p := index(path+".origins", i)
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			v.Errorf(p, "must be an origin such as https://login.example.com (no path), got %q", o)
			continue
		}
		h := strings.ToLower(u.Hostname())
		if u.Scheme != "https" && !(u.Scheme == "http" && h == "localhost") {
			v.Errorf(p, "must use https (browsers allow http only on localhost), got %q", o)
			continue
		}
		if h != rpID && !strings.HasSuffix(h, "."+rpID) {
			v.Errorf(p, "must be under the rp_id %q, or browsers refuse it, got %q", rpID, o)
		}
	}
}

// check checks the ways to approve a transaction besides passkeys.
func (c ApprovalConfig) check(v *Validator, path string) {
	for i, w := range c.Allow {
		v.oneOf(index(path+".allow", i), w, "otp")
	}
}
