package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// headerProfileSites protects App with one header profile per path prefix.
const headerProfileSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_sanitize
	handle /grafana/* {
		gatehouse_protect {
			client app
			headers grafana
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /gitea/* {
		gatehouse_protect {
			client app
			headers gitea
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /forgejo/* {
		gatehouse_protect {
			client app
			headers forgejo
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /paperless/* {
		gatehouse_protect {
			client app
			headers paperless
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /oauth2-proxy/* {
		gatehouse_protect {
			client app
			headers oauth2-proxy
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle /authelia/* {
		gatehouse_protect {
			client app
			headers authelia
		}
		reverse_proxy {{.UpstreamAddr}}
	}
	handle {
		reverse_proxy {{.UpstreamAddr}}
	}
}
`

// profileSpoofs returns forged copies of names in several spellings (as sent, lower case,
// upper case, '_' for '-'), each value containing SPOOF.
func profileSpoofs(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n+": SPOOF", strings.ToLower(n)+": SPOOF-lower", strings.ToUpper(n)+": SPOOF-upper",
			strings.ReplaceAll(n, "-", "_")+": SPOOF-underscore")
	}
	return out
}

// TestHeaderProfiles: `headers <profile>` injects exactly the headers each app documents for
// authentication by a reverse proxy (Grafana auth.proxy, Gitea/Forgejo reverse proxy
// authentication, paperless-ngx remote user, oauth2-proxy --set-xauthrequest and
// --pass-user-headers, Authelia trusted header SSO) instead of the defaults. PX-01, PX-02,
// PX-03: client-sent copies of every header a profile injects or the app reads, in any
// spelling, never reach the upstream, also on a route with another profile and on the
// unprotected route; email only when verified, an absent claim leaves the header absent.
func TestHeaderProfiles(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: headerProfileSites})
	daveID := e.CreateUser("dave@example.test", "staff")
	erinID := e.CreateUser("erin@example.test")
	dave := NewBrowser(t)
	e.PortalLogin(dave, "dave@example.test", Password)
	daveAT := e.AccessToken(dave, "openid email profile")
	erin := NewBrowser(t)
	e.PortalLogin(erin, "erin@example.test", Password)
	erinAT := e.AccessToken(erin, "openid") // no email, no name, no groups

	all := profileSpoofs("X-WEBAUTH-USER", "X-WEBAUTH-EMAIL", "X-WEBAUTH-NAME", "X-WEBAUTH-GROUPS", "X-WEBAUTH-ROLE",
		"X-WEBAUTH-FULLNAME", "Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups",
		"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Preferred-Username",
		"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username")

	type hdr struct{ name, dave, erin string }
	cases := []struct {
		profile string
		want    []hdr
		absent  []string
	}{
		{"grafana", []hdr{{"X-Webauth-User", daveID, erinID}, {"X-Webauth-Email", "dave@example.test", ""},
			{"X-Webauth-Name", "Ada Lovelace", ""}, {"X-Webauth-Groups", "staff", ""}}, []string{"X-Webauth-Role"}},
		{"gitea", []hdr{{"X-Webauth-User", daveID, erinID}, {"X-Webauth-Email", "dave@example.test", ""},
			{"X-Webauth-Fullname", "Ada Lovelace", ""}}, []string{"X-Webauth-Name", "X-Webauth-Groups"}},
		{"forgejo", []hdr{{"X-Webauth-User", daveID, erinID}, {"X-Webauth-Email", "dave@example.test", ""},
			{"X-Webauth-Fullname", "Ada Lovelace", ""}}, nil},
		{"paperless", []hdr{{"Remote-User", daveID, erinID}}, []string{"Remote-Email", "Remote-Groups"}},
		{"oauth2-proxy", []hdr{{"X-Auth-Request-User", daveID, erinID}, {"X-Auth-Request-Email", "dave@example.test", ""},
			{"X-Auth-Request-Groups", "staff", ""}, {"X-Forwarded-User", daveID, erinID},
			{"X-Forwarded-Email", "dave@example.test", ""}, {"X-Forwarded-Groups", "staff", ""}},
			[]string{"X-Auth-Request-Preferred-Username", "X-Forwarded-Preferred-Username"}},
		{"authelia", []hdr{{"Remote-User", daveID, erinID}, {"Remote-Groups", "staff", ""},
			{"Remote-Email", "dave@example.test", ""}, {"Remote-Name", "Ada Lovelace", ""}}, nil},
	}
	for _, c := range cases {
		t.Run(c.profile, func(t *testing.T) {
			e := e.T(t)
			for _, who := range []struct {
				name, at string
				dave     bool
			}{{"dave", daveAT, true}, {"erin", erinAT, false}} {
				r := RawRequest(t, e.AppAddr(), spoofRequest(e, "/"+c.profile+"/x", append(all, "Authorization: Bearer "+who.at)...))
				if r.Status != http.StatusOK {
					t.Fatalf("%s: %s", who.name, r)
				}
				rec := e.Upstream.Last(t)
				checkNoSpoof(t, rec, who.at)
				for _, h := range c.want {
					v := h.erin
					if who.dave {
						v = h.dave
					}
					if v == "" {
						wantHeader(t, rec, h.name)
					} else {
						wantHeader(t, rec, h.name, v)
					}
				}
				for _, n := range append(c.absent, "X-User-Id", "X-User-Email") {
					wantHeader(t, rec, n) // the profile replaces the defaults
				}
			}
		})
	}

	t.Run("unprotected route", func(t *testing.T) {
		e := e.T(t)
		r := RawRequest(t, e.AppAddr(), spoofRequest(e, "/public", all...))
		if r.Status != http.StatusOK {
			t.Fatalf("unprotected route: %s", r)
		}
		checkNoSpoof(t, e.Upstream.Last(t), "")
	})

	t.Run("denied", func(t *testing.T) {
		e := e.T(t)
		before := e.Upstream.Count()
		r := RawRequest(t, e.AppAddr(), spoofRequest(e, "/grafana/x", all...))
		if r.Status != http.StatusUnauthorized {
			t.Errorf("no credential: %s", r)
		}
		if n := e.Upstream.Count(); n != before {
			t.Errorf("a denied request reached the upstream")
		}
	})
}
