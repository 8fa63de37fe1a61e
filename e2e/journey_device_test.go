package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

const journeyDeviceClients = `
		client rp-device {
			name "Device RP"
			redirect_uri {{.RP}}/cb
			scopes openid profile email
			default_journey device
		}
		journey device {
			step login authenticate password
			step seen known_device
			step b branch {
				if ` + "`device.known`" + ` goto known
			}
			step first write_user {
				set organization ` + "`\"new device\"`" + `
				next done
			}
			step known write_user {
				set organization ` + "`\"known device\"`" + `
			}
			step done complete
		}`

// TestJourneyKnownDevice (issue 19, known_device: "was this browser seen for this user
// before — a long-lived signed device cookie"), through Caddy: the first sign-in of a browser
// runs the journey's "new device" branch and ends with the device cookie (HttpOnly); a later
// sign-in from that browser (its session gone, the device cookie kept) takes the "known"
// branch; the same cookie in the sign-in of another user, or a forged one, is unknown.
func TestJourneyKnownDevice(t *testing.T) {
	e := Start(t, Config{Gatehouse: journeyDeviceClients})
	ids := map[string]string{}
	for _, email := range []string{"dev1@example.test", "dev2@example.test"} {
		r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": email, "password": Password, "email_verified": true})
		if r.Status != http.StatusCreated {
			t.Fatalf("create user: %s", r)
		}
		ids[email] = r.JSON(t)["id"].(string)
	}
	conf := &oauth2.Config{ClientID: "rp-device", Endpoint: oauth2.Endpoint{AuthURL: e.Issuer + "/authorize"},
		RedirectURL: e.RP + "/cb", Scopes: []string{"openid"}}
	iss, _ := url.Parse(e.Issuer)
	// signIn runs the journey in b as email and returns the organization the journey wrote
	// and the device cookie the end set ("" if none).
	signIn := func(b *Browser, email string) (string, string) {
		t.Helper()
		p := b.Go(http.MethodGet, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil, StopAt(e.RP))
		if p.Status != http.StatusOK || p.URL.Path != "/login" {
			t.Fatalf("expected the hosted login, got %s", p)
		}
		done := e.SubmitLogin(b, p, email, Password, StopAt(e.RP))
		if done.Status != http.StatusFound || done.Location(t).Query().Get("code") == "" {
			t.Fatalf("expected the code at the client, got %s", done)
		}
		var set string
		if h := setCookie(done, "gatehouse_device"); h != "" {
			c, err := http.ParseSetCookie(h)
			if err != nil || !c.HttpOnly || c.MaxAge < 30*24*3600 {
				t.Errorf("device cookie %q: want HttpOnly and long-lived (%v)", h, err)
			}
			if c != nil {
				set = c.Value
			}
		}
		u := e.Admin(http.MethodGet, "/gatehouse/users/"+ids[email], nil)
		body := string(u.Body)
		switch {
		case strings.Contains(body, `"organization":"known device"`):
			return "known device", set
		case strings.Contains(body, `"organization":"new device"`):
			return "new device", set
		}
		t.Fatalf("user after the journey: %s", u)
		return "", ""
	}
	// A browser whose session is gone but which kept the device cookie.
	returning := func(cookie string) *Browser {
		b := NewBrowser(t)
		if cookie != "" {
			b.Jar.SetCookies(iss, []*http.Cookie{{Name: "gatehouse_device", Value: cookie, Path: "/"}})
		}
		return b
	}

	org, cookie := signIn(NewBrowser(t), "dev1@example.test")
	if org != "new device" || cookie == "" {
		t.Fatalf("first sign-in: %q, device cookie %q", org, cookie)
	}
	if org, _ := signIn(returning(cookie), "dev1@example.test"); org != "known device" {
		t.Fatalf("the same browser again: %q, want known device", org)
	}
	if org, _ := signIn(returning(cookie), "dev2@example.test"); org != "new device" {
		t.Fatalf("dev1's device cookie for dev2: %q, want new device", org)
	}
	if org, _ := signIn(returning(cookie[:len(cookie)-3]+"AAA"), "dev1@example.test"); org != "new device" {
		t.Fatalf("a forged device cookie: %q, want new device", org)
	}
}
