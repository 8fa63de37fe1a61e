package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const journeyClients = `
		client rp-journey {
			name "Journey RP"
			redirect_uri {{.RP}}/cb
			scopes openid profile email
		}
		journey profile {
			step who identify email
			step login authenticate password
			step more collect {
				field company {
					label "Company"
					required
					max_length 100
				}
				field plan select {
					options free pro
				}
			}
			step save write_user {
				set organization journey.company
				set custom_data ` + "`" + `{"plan": journey.plan, "via": "journey"}` + "`" + `
			}
			step done complete
		}
		journey closed {
			step no deny "Not today."
		}`

var (
	journeyStepRe    = regexp.MustCompile(`name="step" value="([^"]*)"`)
	journeyCounterRe = regexp.MustCompile(`name="counter" value="([^"]*)"`)
)

// journeyForm returns the hidden fields of a journey page plus fields.
func journeyForm(t *testing.T, p *Resp, fields url.Values) url.Values {
	t.Helper()
	f := url.Values{"csrf_token": {FormField(t, p, csrfRe)}, "step": {FormField(t, p, journeyStepRe)},
		"counter": {FormField(t, p, journeyCounterRe)}}
	for k, v := range fields {
		f[k] = v
	}
	return f
}

// TestJourneyProfilingOIDC (issue 19): a real OIDC client (x/oauth2 + go-oidc) asks for the
// journey identify -> authenticate(password) -> collect -> write_user -> complete with
// journey=profile; the browser answers each hosted page, logs in through the existing hosted
// login, and the client gets a code whose ID token verifies and says what happened: amr pwd
// and auth_time from the authenticate step, new_user false. The user's profile holds the
// collected values. Replaying the last form, or posting it from another browser, is refused.
func TestJourneyProfilingOIDC(t *testing.T) {
	e := Start(t, Config{Gatehouse: journeyClients})
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "jo@example.test", "password": Password, "email_verified": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	userID := r.JSON(t)["id"].(string)
	ctx := oidc.ClientContext(Ctx(t), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{ClientID: "rp-journey", Endpoint: provider.Endpoint(), RedirectURL: e.RP + "/cb",
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	verifier, nonce := oauth2.GenerateVerifier(), "n-"+oauth2.GenerateVerifier()[:10]
	b := NewBrowser(t)

	p := b.Go(http.MethodGet, conf.AuthCodeURL("st", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("journey", "profile")), nil, StopAt(e.RP))
	if p.Status != http.StatusOK || !strings.Contains(string(p.Body), `data-step="who"`) {
		t.Fatalf("expected the identify page, got %s", p)
	}
	loginPage := b.Go(http.MethodPost, e.Issuer+"/journey", journeyForm(t, p, url.Values{"email": {"jo@example.test"}}), StopAt(e.RP))
	if loginPage.Status != http.StatusOK || loginPage.URL.Path != "/login" || loginPage.URL.Query().Get("login_hint") != "jo@example.test" {
		t.Fatalf("expected the hosted login with the identifier as hint, got %s", loginPage)
	}
	loginStart := time.Now().Unix()
	collect := e.SubmitLogin(b, loginPage, "jo@example.test", Password, StopAt(e.RP))
	if collect.Status != http.StatusOK || !strings.Contains(string(collect.Body), `data-step="more"`) {
		t.Fatalf("expected the collect page after the login, got %s", collect)
	}
	// A value out of the select's options is re-asked, on the same step.
	bad := b.Go(http.MethodPost, e.Issuer+"/journey", journeyForm(t, collect, url.Values{"company": {"Acme"}, "plan": {"gold"}}), StopAt(e.RP))
	if bad.Status != http.StatusOK || !strings.Contains(string(bad.Body), `data-field-error="plan"`) {
		t.Fatalf("expected the collect page with an error on plan, got %s", bad)
	}
	answer := journeyForm(t, bad, url.Values{"company": {"Acme"}, "plan": {"pro"}})
	// Issue 19, "reusing a journey cookie in another browser": a browser given a copy of the
	// journey cookie, with a valid CSRF token of its own, cannot answer (the state is bound
	// to the first browser).
	other := NewBrowser(t)
	op := other.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
	iss, _ := url.Parse(e.Issuer)
	jc := b.Cookie(e.Issuer, "gatehouse_journey")
	if jc == "" {
		t.Fatal("no journey cookie")
	}
	other.Jar.SetCookies(iss, []*http.Cookie{{Name: "gatehouse_journey", Value: jc, Path: "/"}})
	stolen := url.Values{}
	for k, v := range answer {
		stolen[k] = v
	}
	stolen.Set("csrf_token", FormField(t, op, csrfRe))
	if r := other.Go(http.MethodPost, e.Issuer+"/journey", stolen, StopAt(e.RP)); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "journey_ended") {
		t.Fatalf("another browser with the journey cookie: %s", r)
	}
	done := b.Go(http.MethodPost, e.Issuer+"/journey", answer, StopAt(e.RP))
	if done.Status != http.StatusFound {
		t.Fatalf("expected the redirect to the client, got %s", done)
	}
	q := done.Location(t).Query()
	if q.Get("state") != "st" || q.Get("iss") != e.Issuer || q.Get("code") == "" {
		t.Fatalf("authorization response %v", q)
	}
	// Replaying the last answer: the journey is over.
	if r := b.Go(http.MethodPost, e.Issuer+"/journey", answer, StopAt(e.RP)); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "journey_ended") {
		t.Fatalf("replayed answer: %s", r)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "rp-journey"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != userID || idt.Nonce != nonce || !slices.Equal(c.Amr, []string{"pwd"}) || c.AuthTime < loginStart-1 ||
		c.AuthTime > time.Now().Unix()+1 || c.NewUser == nil || *c.NewUser || c.Email != "jo@example.test" {
		t.Fatalf("ID token: sub %q nonce %q amr %v auth_time %d (login at %d) new_user %v email %q", idt.Subject, idt.Nonce, c.Amr, c.AuthTime, loginStart, c.NewUser, c.Email)
	}
	u := e.Admin(http.MethodGet, "/gatehouse/users/"+userID, nil)
	body := string(u.Body)
	if u.Status != http.StatusOK || !strings.Contains(body, `"organization":"Acme"`) || !strings.Contains(body, `"plan":"pro"`) {
		t.Fatalf("user after the journey: %s", u)
	}
}

// The authorization errors of journeys go to the client: an unknown journey name
// (invalid_request), prompt=none (interaction_required: a journey needs the user), and a
// deny step (access_denied with the step's message).
func TestJourneyAuthorizeErrors(t *testing.T) {
	e := Start(t, Config{Gatehouse: journeyClients})
	b := NewBrowser(t)
	for _, tc := range []struct{ journey, prompt, want, desc string }{
		{"nope", "", "invalid_request", ""},
		{"profile", "none", "interaction_required", ""},
		{"closed", "", "access_denied", "Not today."},
	} {
		params, _ := AuthParams("rp-journey", e.RP+"/cb", "openid")
		params.Set("journey", tc.journey)
		if tc.prompt != "" {
			params.Set("prompt", tc.prompt)
		}
		r := b.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, StopAt(e.RP))
		if r.Status != http.StatusFound {
			t.Fatalf("journey %s: %s", tc.journey, r)
		}
		q := r.Location(t).Query()
		if q.Get("error") != tc.want || (tc.desc != "" && q.Get("error_description") != tc.desc) || q.Get("state") != params.Get("state") {
			t.Errorf("journey %s: %v, want error %s", tc.journey, q, tc.want)
		}
	}
}

// TestJourneyBeforeProtectedRoute: `gatehouse_protect { journey terms }` sends a browser
// without a session through the journey (login, then a terms form) before the route; the
// upstream sees the user, and the journey's write is in the profile.
func TestJourneyBeforeProtectedRoute(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient + `
		journey terms {
			step login authenticate password
			step accept collect {
				field terms checkbox {
					label "I accept the terms"
					required
				}
			}
			step save write_user {
				set custom_data ` + "`" + `{"terms_accepted": journey.terms}` + "`" + `
			}
			step done complete
		}`, Sites: `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect {
		client app
		journey terms
	}
	reverse_proxy {{.UpstreamAddr}}
}`})
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "tess@example.test", "password": Password, "email_verified": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	userID := r.JSON(t)["id"].(string)
	b := NewBrowser(t)
	loginPage := b.Go(http.MethodGet, e.App+"/docs/page", nil, nil)
	if loginPage.Status != http.StatusOK || loginPage.URL.Path != "/login" {
		t.Fatalf("expected the journey's hosted login, got %s (hops %v)", loginPage, loginPage.Hops)
	}
	terms := e.SubmitLogin(b, loginPage, "tess@example.test", Password, nil)
	if terms.Status != http.StatusOK || !strings.Contains(string(terms.Body), `data-step="accept"`) {
		t.Fatalf("expected the terms form, got %s", terms)
	}
	// Without the box ticked the form comes back; ticked, the route answers.
	if again := b.Go(http.MethodPost, e.Issuer+"/journey", journeyForm(t, terms, nil), nil); again.Status != http.StatusOK || !strings.Contains(string(again.Body), `data-field-error="terms"`) {
		t.Fatalf("terms not accepted: %s", again)
	} else {
		terms = again
	}
	page := b.Go(http.MethodPost, e.Issuer+"/journey", journeyForm(t, terms, url.Values{"terms": {"on"}}), nil)
	if page.Status != http.StatusOK || page.URL.String() != e.App+"/docs/page" {
		t.Fatalf("expected the protected page after the journey, got %s (hops %v)", page, page.Hops)
	}
	if got := e.Upstream.Last(t).Values("X-User-Id"); len(got) != 1 || got[0] != userID {
		t.Fatalf("upstream X-User-Id %v, want %s", got, userID)
	}
	u := e.Admin(http.MethodGet, "/gatehouse/users/"+userID, nil)
	if !strings.Contains(string(u.Body), `"terms_accepted":true`) {
		t.Fatalf("user after the journey: %s", u)
	}
}

// RFC 9126 §4: "the client MUST only use a request_uri value once" and the server must hold
// it to that. A journey keeps the whole request, so opening the pushed request_uri again —
// the same browser, while the journey runs or after it ended — must not start a second
// journey (each would end in its own code).
func TestJourneyPushedRequestOpensOnce(t *testing.T) {
	e := Start(t, Config{Gatehouse: journeyClients + `
		client rp-journey-backend {
			secret backend-secret-0123456789abcdef
			redirect_uri {{.RP}}/cb
			scopes openid profile email
		}`})
	params, _ := AuthParams("rp-journey-backend", e.RP+"/cb", "openid")
	params.Set("journey", "closed")
	requestURI := pushRequest(t, t.Context(), e.Issuer+"/par", "rp-journey-backend", "backend-secret-0123456789abcdef", params)
	open := e.Issuer + "/authorize?" + url.Values{"client_id": {"rp-journey-backend"}, "request_uri": {requestURI}}.Encode()
	b := NewBrowser(t)
	r := b.Go(http.MethodGet, open, nil, StopAt(e.RP))
	if r.Status != http.StatusFound || r.Location(t).Query().Get("error") != "access_denied" {
		t.Fatalf("first open must run the journey (deny): %s", r)
	}
	for _, who := range []*Browser{b, NewBrowser(t)} {
		r = who.Go(http.MethodGet, open, nil, StopAt(e.RP))
		if r.Status != http.StatusBadRequest || strings.HasPrefix(r.URL.String(), e.RP) {
			t.Fatalf("a second open of the request_uri must be refused with a page: %s", r)
		}
	}
}
