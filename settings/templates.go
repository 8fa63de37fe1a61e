package settings

import (
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/notify"
)

var (
	emailKinds = notify.EmailKinds
	smsKinds   = notify.SMSKinds
)

// checkUpstreamURL is checkHTTPSURL for a URL Gatehouse calls (a provider's issuer or
// endpoints), as the Caddyfile's social block checks it: plain http is accepted on a
// loopback host (development, tests).
func checkUpstreamURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme == "http" && u.Host != "" && isLoopback(u.Hostname()) {
		if u.User != nil || u.Fragment != "" {
			return "must be a URL without user information or fragment"
		}
		return ""
	}
	if msg := checkHTTPSURL(s); msg != "" {
		return msg + " (plain http only on a loopback host)"
	}
	return ""
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

func validColor(c string) bool { return hexColor.MatchString(c) }

// checkHTTPSURL returns what is wrong with an https URL ("" if nothing).
func checkHTTPSURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return "must be an absolute https URL"
	case u.Scheme != "https":
		return "must be an https URL, got scheme " + u.Scheme
	case u.User != nil:
		return "must not contain credentials"
	case u.Fragment != "":
		return "must not have a fragment"
	}
	return ""
}

// compileTemplates parses the message templates with the stored overrides, with the same
// engine and checks as the Caddyfile's templates directory (notify.LoadTemplatesWith): a
// template that does not parse, or drops the code or link, is a FieldError naming its
// field. It returns nil templates when nothing is stored (the messenger keeps its own).
func compileTemplates(dir string, stored map[string]string) (*notify.Templates, *FieldError) {
	if len(stored) == 0 {
		return nil, nil
	}
	var over []notify.Override
	for _, name := range slices.Sorted(maps.Keys(stored)) {
		over = append(over, notify.Override{File: notify.DefaultLanguage + "/" + TemplateNames[name],
			Name: FieldTemplates + "." + name, Content: stored[name]})
	}
	t, err := notify.LoadTemplatesWith(dir, over)
	if err == nil {
		return t, nil
	}
	msg := err.Error()
	// Name the first stored template the error is about (the longest name first: one
	// field's name may begin another's).
	names := slices.Sorted(maps.Keys(stored))
	slices.SortStableFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, name := range names {
		f := FieldTemplates + "." + name
		for _, line := range strings.Split(msg, "\n") {
			if strings.Contains(line, f+":") {
				line = strings.TrimPrefix(line, "template "+f+": ")
				return nil, fieldErr(f, "does not work: %s", line).coded(CodeTemplate)
			}
		}
	}
	// The layout or footer broke another file: name the first stored template.
	return nil, fieldErr(FieldTemplates+"."+slices.Sorted(maps.Keys(stored))[0], "breaks the message templates: %s", msg).coded(CodeTemplate)
}
