package module

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// senderModule is an email or SMS sender module as the validator sees it.
type senderModule interface {
	// placeholders returns the options resolved at provisioning, by name.
	placeholders() map[string]*string
	// check records the problems of the options, placeholders resolved.
	check(v *Validator, path string)
}

var (
	emailSenders = map[string]func() senderModule{
		"smtp":   func() senderModule { return new(SMTPEmail) },
		"outbox": func() senderModule { return new(OutboxEmail) },
	}
	smsSenders = map[string]func() senderModule{
		"twilio":  func() senderModule { return new(TwilioSMS) },
		"webhook": func() senderModule { return new(WebhookSMS) },
		"outbox":  func() senderModule { return new(OutboxSMS) },
	}
	// secretOptions are the sender options that hold a secret.
	secretOptions = []string{"password", "auth_token", "secret"}
	smsPrefixRe   = regexp.MustCompile(`^\+[1-9][0-9]{0,5}$`)
)

// validateModule checks a provisioned sender module on its own (Caddy's Validate), its
// problems named by the module ID.
func validateModule(m senderModule, id string) error {
	v := NewValidator()
	m.check(v, id)
	return v.Err()
}

func (e EmailConfig) check(v *Validator, path, issuer string) {
	if e.SenderRaw == nil {
		return
	}
	name, ok := v.checkSender(path+".sender", e.SenderRaw, emailSenders)
	if ok && name == "outbox" && issuer != "" && !devIssuer(issuer) {
		v.Warnf(path+".sender", "is the outbox, which writes messages to a file and the log and never delivers them: use smtp in production")
	}
}

func (s SMSConfig) check(v *Validator, path, issuer string) {
	for i, pre := range s.AllowedPrefixes {
		if !smsPrefixRe.MatchString(pre) {
			v.Errorf(index(path+".allowed_prefixes", i), "must be + and 1 to 6 digits of an E.164 prefix (+1, +44, +4930), got %q", pre)
		}
	}
	if s.SenderRaw == nil {
		return
	}
	name, ok := v.checkSender(path+".sender", s.SenderRaw, smsSenders)
	if ok && name == "outbox" && issuer != "" && !devIssuer(issuer) {
		v.Warnf(path+".sender", "is the outbox, which writes messages to a file and the log and never delivers them: use twilio or webhook in production")
	}
}

// checkSender loads a sender module's JSON ({"sender": "<name>", options...}) as Caddy
// would, resolves its placeholders and records its problems under path.
func (v *Validator) checkSender(path string, raw json.RawMessage, kinds map[string]func() senderModule) (string, bool) {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		v.Errorf(path, "must be a JSON object naming its sender (%s), got %s", strings.Join(names, ", "), raw)
		return "", false
	}
	var name string
	_ = json.Unmarshal(fields["sender"], &name)
	newMod, ok := kinds[name]
	if !ok {
		v.Errorf(path+".sender", "must be one of %s, got %q", strings.Join(names, ", "), name)
		return name, false
	}
	delete(fields, "sender")
	rest, _ := json.Marshal(fields)
	mod := newMod()
	if err := caddy.StrictUnmarshalJSON(rest, mod); err != nil {
		v.Errorf(path, "must hold the options of the %s sender only, got %v", name, err)
		return name, false
	}
	opts := mod.placeholders()
	optNames := make([]string, 0, len(opts))
	for n := range opts {
		optNames = append(optNames, n)
	}
	slices.Sort(optNames)
	resolved := true
	for _, n := range optNames {
		p := opts[n]
		if *p != "" && !isPlaceholder(*p) && slices.Contains(secretOptions, n) {
			v.Warnf(path+"."+n, "is written in the configuration, which Caddy's config API and autosave.json show: "+
				"give it as {env.NAME} or {file.path}")
		}
		val, ok := v.resolveStrict(path+"."+n, *p)
		resolved = resolved && ok
		*p = val
	}
	if resolved {
		mod.check(v, path)
	}
	return name, true
}

// optionErrors records the errors of a domain package's configuration check (notify's
// OptionError names the option) under path.
func (v *Validator) optionErrors(path string, err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var oe *notify.OptionError
		if errors.As(e, &oe) {
			// notify's messages read as a sentence after the option's name.
			v.Errorf(path+"."+oe.Option, "%s", oe.Error())
		} else {
			v.Errorf(path, "%v", e)
		}
	}
}

func (s *SMTPEmail) check(v *Validator, path string) {
	if s.CAFile != "" && s.roots == nil {
		if _, err := loadRoots(s.CAFile); err != nil {
			v.Errorf(path+".ca_file", "must be a PEM file of CA certificates, got %q: %v", s.CAFile, err)
		}
	}
	v.optionErrors(path, s.config().Validate())
}

func (t *TwilioSMS) check(v *Validator, path string) { v.optionErrors(path, t.config().Validate()) }

func (w *WebhookSMS) check(v *Validator, path string) { v.optionErrors(path, w.config().Validate()) }

func (o *OutboxEmail) placeholders() map[string]*string { return map[string]*string{"path": &o.Path} }

func (o *OutboxEmail) check(*Validator, string) {}

func (o *OutboxSMS) placeholders() map[string]*string { return map[string]*string{"path": &o.Path} }

func (o *OutboxSMS) check(*Validator, string) {}

// loadRoots reads a PEM file of CA certificates.
func loadRoots(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate found")
	}
	return roots, nil
}

func (b BrandingConfig) check(v *Validator, path string) {
	if b.LogoURL != "" {
		// Sent as written (mail clients load it from the recipient's machine).
		if err := checkHTTPSURL(b.LogoURL); err != nil {
			v.Errorf(path+".logo_url", "%v, got %q", err, b.LogoURL)
		}
	}
	if b.Color != "" && !notify.ValidColor(b.Color) {
		v.Errorf(path+".color", "must be a hex colour such as #0a84ff (it goes into inline CSS), got %q", b.Color)
	}
	if b.Templates == "" {
		return
	}
	dir, ok := v.resolve(path+".templates", b.Templates)
	if !ok {
		return
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		v.Errorf(path+".templates", "must be an existing directory, got %q", dir)
	} else if _, err := notify.LoadTemplates(dir); err != nil {
		v.Errorf(path+".templates", "must hold templates that parse, got %v", err)
	}
}
