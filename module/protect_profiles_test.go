package module

import (
	"strings"
	"testing"
)

// TestHeaderProfileSpecs: a profile injects its documented headers instead of the defaults,
// `headers` entries add to or replace its names, and every name it injects or leaves unset
// is in the strip list (PX-01).
func TestHeaderProfileSpecs(t *testing.T) {
	want := map[string]map[string]string{
		"grafana": {"X-Webauth-User": "{gatehouse.user.id}", "X-Webauth-Email": "{gatehouse.user.email}",
			"X-Webauth-Name": "{gatehouse.user.name}", "X-Webauth-Groups": "{gatehouse.user.groups}"},
		"gitea": {"X-Webauth-User": "{gatehouse.user.id}", "X-Webauth-Email": "{gatehouse.user.email}",
			"X-Webauth-Fullname": "{gatehouse.user.name}"},
		"paperless": {"Remote-User": "{gatehouse.user.id}"},
		"authelia": {"Remote-User": "{gatehouse.user.id}", "Remote-Groups": "{gatehouse.user.groups}",
			"Remote-Email": "{gatehouse.user.email}", "Remote-Name": "{gatehouse.user.name}"},
		"oauth2-proxy": {"X-Auth-Request-User": "{gatehouse.user.id}", "X-Auth-Request-Email": "{gatehouse.user.email}",
			"X-Auth-Request-Groups": "{gatehouse.user.groups}", "X-Forwarded-User": "{gatehouse.user.id}",
			"X-Forwarded-Email": "{gatehouse.user.email}", "X-Forwarded-Groups": "{gatehouse.user.groups}"},
	}
	want["forgejo"] = want["gitea"]
	if got := strings.Join(HeaderProfileNames(), ","); got != "authelia,forgejo,gitea,grafana,oauth2-proxy,paperless" {
		t.Fatalf("profiles %s", got)
	}
	for profile, headers := range want {
		p := &Protect{HeaderProfile: profile}
		specs, err := p.headerSpecs()
		if err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
		got := map[string]string{}
		for _, s := range specs {
			got[s.Name] = s.Template
		}
		if len(got) != len(headers) {
			t.Errorf("%s: headers %v, want %v", profile, got, headers)
		}
		for n, tmpl := range headers {
			if got[n] != tmpl {
				t.Errorf("%s: %s = %q, want %q", profile, n, got[n], tmpl)
			}
		}
		strip := HeaderProfileStrip(profile)
		for n := range headers {
			if !containsFold(strip, n) {
				t.Errorf("%s: %s is injected but not in the strip list %v", profile, n, strip)
			}
		}
	}
	for profile, extra := range map[string]string{"grafana": "X-Webauth-Role",
		"oauth2-proxy": "X-Forwarded-Preferred-Username"} {
		if !containsFold(HeaderProfileStrip(profile), extra) {
			t.Errorf("%s: %s (read by the app, never set) is not stripped", profile, extra)
		}
	}

	// header lines add to a profile, and an empty one removes a name.
	p := &Protect{HeaderProfile: "gitea", Headers: map[string]string{"X-Org": "{gatehouse.token.client_id}", "X-Webauth-Fullname": ""}}
	specs, err := p.headerSpecs()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "X-Org,X-Webauth-Email,X-Webauth-User" {
		t.Errorf("gitea + header lines: %s", got)
	}
}

// TestHeaderProfileLoadErrors: an unknown profile fails at load listing the known ones; apps
// with no documented header mechanism are refused with what to do instead.
func TestHeaderProfileLoadErrors(t *testing.T) {
	for name, wants := range map[string][]string{
		"grafanna":       {`header_profile`, `unknown header profile "grafanna"`, "authelia, forgejo, gitea, grafana, oauth2-proxy, paperless"},
		"jellyfin":       {"no profile jellyfin", "OpenID Connect client"},
		"home-assistant": {"no profile home-assistant", "custom component"},
		"nextcloud":      {"no profile nextcloud", "user_oidc"},
	} {
		p := &Protect{HeaderProfile: name}
		err := p.Validate()
		if err == nil {
			t.Errorf("%s: loads", name)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", name, err, w)
			}
		}
		if _, err := p.headerSpecs(); err == nil {
			t.Errorf("%s: headerSpecs accepts it", name)
		}
	}
	if err := (&Protect{HeaderProfile: "authelia"}).Validate(); err != nil {
		t.Errorf("authelia: %v", err)
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
