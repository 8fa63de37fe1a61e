package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

const journeyExternalClients = `
		client backend {
			name "Back office"
			secret backend-secret-0123456789abcdef
			redirect_uri {{.RP}}/cb
			scopes openid profile
		}
		journey trusted {
			clients backend
			step note collect {
				field note {
					max_length 40
				}
			}
			step w write_user {
				auth_state unauthenticated {
					external_user_id request.pushed.x
				}
				set organization journey.note
			}
			step bye deny "Saved."
		}`

// TestJourneyExternalUserIDFromBrowserIgnored — issue 19, attacks: "changing
// external_user_id from the browser". A step with auth_state unauthenticated {
// external_user_id request.pushed.x } acts on the user the confidential client pushed (RFC
// 9126), never on one the browser names: the browser adds x=<another user> to /authorize
// (request.query.x) and posts x and external_user_id form fields, and the journey still
// writes the pushed user only. Without a pushed x the step does not run at all. (The load
// refusing request.query.x as the source: journey/compile_test.go TestCompileRefuses,
// caddyfile/journey_test.go.)
func TestJourneyExternalUserIDFromBrowserIgnored(t *testing.T) {
	e := Start(t, Config{Gatehouse: journeyExternalClients})
	ids := map[string]string{}
	for _, u := range []struct{ email, ext string }{{"alice@example.test", "ext-alice"}, {"bob@example.test", "ext-bob"}} {
		r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": u.email, "password": Password, "external_user_id": u.ext})
		if r.Status != http.StatusCreated {
			t.Fatalf("create %s: %s", u.email, r)
		}
		ids[u.ext] = r.JSON(t)["id"].(string)
	}
	push := func(extra url.Values) string {
		t.Helper()
		form := url.Values{"response_type": {"code"}, "client_id": {"backend"}, "redirect_uri": {e.RP + "/cb"},
			"scope": {"openid"}, "state": {"st"}, "journey": {"trusted"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			form[k] = v
		}
		req, _ := http.NewRequest(http.MethodPost, e.Issuer+"/par", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("backend", "backend-secret-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			RequestURI string `json:"request_uri"`
		}
		if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("push: status %d", resp.StatusCode)
		}
		return out.RequestURI
	}
	organization := func(ext string) string {
		t.Helper()
		r := e.Admin(http.MethodGet, "/gatehouse/users/"+ids[ext], nil)
		org, _ := r.JSON(t)["organization"].(string)
		return org
	}

	// The client pushed x=ext-alice; the browser names bob in the query and in the form.
	b := NewBrowser(t)
	ru := push(url.Values{"x": {"ext-alice"}})
	p := b.Go(http.MethodGet, e.Issuer+"/authorize?"+url.Values{"client_id": {"backend"}, "request_uri": {ru},
		"x": {"ext-bob"}, "external_user_id": {"ext-bob"}}.Encode(), nil, StopAt(e.RP))
	if p.Status != http.StatusOK || !strings.Contains(string(p.Body), `data-step="note"`) {
		t.Fatalf("expected the collect page, got %s", p)
	}
	done := b.Go(http.MethodPost, e.Issuer+"/journey", journeyForm(t, p, url.Values{"note": {"Written"},
		"x": {"ext-bob"}, "external_user_id": {"ext-bob"}}), StopAt(e.RP))
	if done.Status != http.StatusFound || done.Location(t).Query().Get("error") != "access_denied" {
		t.Fatalf("expected the deny step's answer to the client, got %s", done)
	}
	if got := organization("ext-alice"); got != "Written" {
		t.Errorf("the pushed user's organization = %q, want Written", got)
	}
	if got := organization("ext-bob"); got != "" {
		t.Errorf("the user the browser named was written: organization %q", got)
	}

	// Nothing pushed: the browser's x does not stand in for it; the step does not run.
	b2 := NewBrowser(t)
	ru = push(nil)
	p = b2.Go(http.MethodGet, e.Issuer+"/authorize?"+url.Values{"client_id": {"backend"}, "request_uri": {ru},
		"x": {"ext-bob"}}.Encode(), nil, StopAt(e.RP))
	if p.Status != http.StatusOK || !strings.Contains(string(p.Body), `data-step="note"`) {
		t.Fatalf("expected the collect page, got %s", p)
	}
	r := b2.Go(http.MethodPost, e.Issuer+"/journey", journeyForm(t, p, url.Values{"note": {"Hijacked"}, "x": {"ext-bob"}}), StopAt(e.RP))
	if r.Status == http.StatusFound && r.Location(t).Query().Get("code") != "" {
		t.Fatalf("a journey without the pushed identifier issued a code: %s", r)
	}
	if got := organization("ext-bob"); got != "" {
		t.Errorf("without a pushed x the browser's user was written: organization %q", got)
	}
}
