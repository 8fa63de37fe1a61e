package e2e

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestSocialLoginThroughOIDCProvider: an app's authorization request leads to the login
// page, whose "Log in with Corp SSO" button goes to a real OpenID provider (oidc-provider)
// with state, nonce, PKCE (S256) and the exact callback URL; after login and consent there,
// the browser has a Gatehouse session, the app gets an ID token with amr ["social"] and
// new_user true once, and the new account carries the upstream's verified address and
// names. The second login is an ordinary one. The requests Gatehouse makes upstream are
// counted at the provider: for the provider that puts claims in the ID token and for the
// one that serves them at userinfo only.
func TestSocialLoginThroughOIDCProvider(t *testing.T) {
	up := soUpstreams(t)
	corp, other := up.op("corp"), up.op("other")
	corp.setUser(t, soUser{Sub: "so-ada", Email: "ada@corp.test", EmailVerified: true, GivenName: "Ada", FamilyName: "Byron"})
	other.setUser(t, soUser{Sub: "so-alan", Email: "alan@other.test", EmailVerified: true, Name: "Alan Turing"})
	e := Start(t, Config{Gatehouse: "signup open" + AppClient +
		soSocial("corp", corp, `label "Corp SSO"`) + soSocial("other", other, `label "Other ID"`)})
	corp.resetRequests(t)
	other.resetRequests(t)

	// The app's authorization request shows the login page with one button per provider.
	b := NewBrowser(t)
	params, verifier := AuthParams("app", e.RP+"/app-cb", "openid email profile")
	login := b.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, nil)
	if login.Status != http.StatusOK || login.URL.Path != "/login" {
		t.Fatalf("expected the login page, got %s", login)
	}
	buttons := soButtons(t, e, login)
	if len(buttons) != 2 || buttons["Log in with Corp SSO"] == "" || buttons["Log in with Other ID"] == "" {
		t.Fatalf("login page buttons %v, want Corp SSO and Other ID", buttons)
	}
	start := buttons["Log in with Corp SSO"]
	if su, _ := url.Parse(start); su.Path != "/login/social/corp" || !strings.HasPrefix(su.Query().Get("return_to"), "/authorize?") {
		t.Fatalf("button URL %s: want /login/social/corp carrying the authorization request", start)
	}

	trip := soThrough(t, b, http.MethodGet, start, nil, "so-ada", false)
	if !slices.Equal(trip.Prompts, []string{"login", "consent"}) {
		t.Errorf("upstream prompts %v, want login and consent", trip.Prompts)
	}
	// The authorization request toward the upstream (RFC 9700 §2.1, AS-27).
	q := trip.Auth.Query()
	wantCallback := e.Issuer + "/login/social/corp/callback"
	switch {
	case trip.Auth.Scheme+"://"+trip.Auth.Host+trip.Auth.Path != corp.Issuer+"/auth":
		t.Errorf("authorization request to %s, want %s/auth", trip.Auth, corp.Issuer)
	case q.Get("redirect_uri") != wantCallback:
		t.Errorf("redirect_uri %q, want exactly %q", q.Get("redirect_uri"), wantCallback)
	case q.Get("response_type") != "code" || q.Get("client_id") != "gatehouse-"+strconv.Itoa(e.PortalPort)+"-corp":
		t.Errorf("response_type %q client_id %q", q.Get("response_type"), q.Get("client_id"))
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		t.Errorf("PKCE: code_challenge_method %q code_challenge %q, want S256", q.Get("code_challenge_method"), q.Get("code_challenge"))
	case len(q.Get("state")) < 32 || len(q.Get("nonce")) < 32 || q.Get("state") == q.Get("nonce"):
		t.Errorf("state %q nonce %q: want two distinct unguessable values", q.Get("state"), q.Get("nonce"))
	case !slices.Equal(strings.Fields(q.Get("scope")), []string{"openid", "email", "profile"}):
		t.Errorf("scope %q", q.Get("scope"))
	}
	if b.Cookie(e.Issuer, "gatehouse_social") != q.Get("state") {
		t.Errorf("the browser's state cookie does not hold the state of the request")
	}
	// The upstream answers with code, state and iss (RFC 9207).
	cq := trip.Callback.Query()
	if trip.Callback.String() != wantCallback+"?"+trip.Callback.RawQuery || cq.Get("code") == "" ||
		cq.Get("state") != q.Get("state") || cq.Get("iss") != corp.Issuer {
		t.Fatalf("callback %s: want code, the state and iss=%s", trip.Callback, corp.Issuer)
	}

	// The callback logs in and goes on with the authorization request.
	r := b.Go(http.MethodGet, trip.Callback.String(), nil, StopAt(e.RP))
	if r.Status != http.StatusFound {
		t.Fatalf("callback: expected the redirect to the app, got %s (hops %v)", r, r.Hops)
	}
	if b.Cookie(e.Issuer, "gatehouse_social") != "" {
		t.Errorf("the state cookie outlived the callback")
	}
	aq := r.Location(t).Query()
	if aq.Get("state") != params.Get("state") || aq.Get("code") == "" {
		t.Fatalf("authorization response %v", aq)
	}
	tok := e.Token(codeForm(aq.Get("code"), verifier, e.RP+"/app-cb"))
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %s", tok)
	}
	claims := soIDToken(t, e, tok.JSON(t)["id_token"].(string), params.Get("nonce"))
	if amr := soStrings(claims["amr"]); !slices.Equal(amr, []string{"social"}) {
		t.Errorf("amr %v, want [social]", claims["amr"])
	}
	if claims["new_user"] != true {
		t.Errorf("new_user %v at the first login, want true", claims["new_user"])
	}
	u, ok := soUserByEmail(t, "ada@corp.test")
	if !ok || !u.EmailVerified || u.FirstName != "Ada" || u.LastName != "Byron" || claims["sub"] != u.ID {
		t.Fatalf("onboarded account %+v (exists %v), ID token sub %v", u, ok, claims["sub"])
	}
	if ids := soIdentities(t, e, u.ID); !slices.Equal(ids, []string{"corp/so-ada"}) {
		t.Errorf("identities %v, want corp/so-ada", ids)
	}
	first, n1 := corp.gatehouseRequests(t)

	// new_user is reported once: the next code of the same session does not carry it.
	again := e.Tokens(b, "app", e.RP+"/app-cb", "openid")
	if c := JWTClaims(t, again["id_token"].(string)); c["new_user"] == true {
		t.Errorf("new_user reported again in the same session")
	}

	// The second login, in another browser: the same account, no new_user.
	corp.resetRequests(t)
	b2 := NewBrowser(t)
	params2, verifier2 := AuthParams("app", e.RP+"/app-cb", "openid email")
	ret := "/authorize?" + params2.Encode()
	trip2 := soThrough(t, b2, http.MethodGet, e.Issuer+"/login/social/corp?return_to="+url.QueryEscape(ret), nil, "so-ada", false)
	r2 := b2.Go(http.MethodGet, trip2.Callback.String(), nil, StopAt(e.RP))
	code2 := r2.Location(t).Query().Get("code")
	tok2 := e.Token(codeForm(code2, verifier2, e.RP+"/app-cb"))
	if tok2.Status != http.StatusOK {
		t.Fatalf("second login token: %s", tok2)
	}
	claims2 := soIDToken(t, e, tok2.JSON(t)["id_token"].(string), params2.Get("nonce"))
	if claims2["sub"] != u.ID || claims2["new_user"] == true || !slices.Equal(soStrings(claims2["amr"]), []string{"social"}) {
		t.Errorf("second login: sub %v new_user %v amr %v, want %s, not new, [social]", claims2["sub"], claims2["new_user"], claims2["amr"], u.ID)
	}
	if n := soUserCount(t); n != 1 {
		t.Errorf("%d accounts after two logins, want 1", n)
	}
	second, n2 := corp.gatehouseRequests(t)

	// The provider that serves the address only at userinfo.
	b3 := NewBrowser(t)
	r3 := soLogin(t, e, b3, "other", "so-alan")
	soLoggedIn(t, e, b3, "login through other", r3, "")
	if u3, ok := soUserByEmail(t, "alan@other.test"); !ok || !u3.EmailVerified || u3.FirstName != "Alan" || u3.LastName != "Turing" {
		t.Errorf("account from userinfo claims: %+v (exists %v)", u3, ok)
	}
	third, n3 := other.gatehouseRequests(t)
	b4 := NewBrowser(t)
	other.resetRequests(t)
	soLoggedIn(t, e, b4, "second login through other", soLogin(t, e, b4, "other", "so-alan"), "")
	fourth, n4 := other.gatehouseRequests(t)

	t.Logf("upstream requests by Gatehouse, claims in the ID token: first login %d %v, next login %d %v", n1, first, n2, second)
	t.Logf("upstream requests by Gatehouse, claims at userinfo: first login %d %v, next login %d %v", n3, third, n4, fourth)
	for _, c := range []struct {
		what string
		got  int
		want int
	}{{"first login (ID token claims)", n1, 3}, {"next login (ID token claims)", n2, 1},
		{"first login (userinfo)", n3, 4}, {"next login (userinfo)", n4, 2}} {
		if c.got != c.want {
			t.Errorf("%s: Gatehouse made %d requests upstream, want %d", c.what, c.got, c.want)
		}
	}
}

// TestSocialOnboardingOff: with onboarding off, an unknown upstream identity is refused with
// a page that says so, and no account is created. A provider that cannot be reached and a
// provider that is not configured get clear pages too: the unreachable one 503 with
// Retry-After, and during the back-off that follows, at once again (issue 12).
func TestSocialOnboardingOff(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-stranger", Email: "stranger@corp.test", EmailVerified: true})
	down := &soOP{Issuer: "http://127.0.0.1:" + strconv.Itoa(freePort(t))}
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp, "onboarding off") + soSocial("down", down)})

	b := NewBrowser(t)
	r := soLogin(t, e, b, "corp", "so-stranger")
	soRefused(t, "unknown identity", r, http.StatusForbidden, "No account", "no_account")
	if !strings.Contains(string(r.Body), "accounts are not created automatically") {
		t.Errorf("the no-account page does not explain why: %s", r)
	}
	soNoSession(t, e, b, "unknown identity")
	if n := soUserCount(t); n != 0 {
		t.Errorf("%d accounts, want none", n)
	}

	r = b.Go(http.MethodGet, e.Issuer+"/login/social/down", nil, nil)
	soRefused(t, "unreachable provider", r, http.StatusServiceUnavailable, "Provider unavailable", "provider_unavailable")
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("unreachable provider: Retry-After %q, want 1 to 60 seconds", r.Header.Get("Retry-After"))
	}
	if b.Cookie(e.Issuer, "gatehouse_social") != "" {
		t.Errorf("a state cookie was set for a login that could not start")
	}
	r = b.Go(http.MethodGet, e.Issuer+"/login/social/down", nil, nil)
	soRefused(t, "unreachable provider during the back-off", r, http.StatusServiceUnavailable, "Provider unavailable", "provider_unavailable")
	if !soLogged(t, e, `"event":"social_provider_unavailable"`) {
		t.Errorf("the outage was not logged as social_provider_unavailable")
	}
	r = b.Go(http.MethodGet, e.Issuer+"/login/social/nope", nil, nil)
	soRefused(t, "unknown provider", r, http.StatusNotFound, "Not available", "social_unknown")
}

// TestSocialDeniedConsent: the user denies consent at the upstream; the portal says the login
// was cancelled, and nothing is created.
func TestSocialDeniedConsent(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-dan", Email: "dan@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp, `label "Corp SSO"`)})
	corp.resetRequests(t)

	b := NewBrowser(t)
	trip := soThrough(t, b, http.MethodGet, e.Issuer+"/login/social/corp?return_to=%2Fauthorize%3Fclient_id%3Dapp", nil, "so-dan", true)
	if q := trip.Callback.Query(); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("the upstream answered %s, want error=access_denied", trip.Callback)
	}
	r := b.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	soRefused(t, "denied consent", r, http.StatusForbidden, "Login cancelled", "access_denied")
	// Issue 14 item 10: one sentence naming the provider by its label, and a way back to the
	// login page that keeps where the user was going.
	if body := string(r.Body); !strings.Contains(body, "The login was cancelled at Corp SSO. Start again if you want to log in.") ||
		!strings.Contains(body, `href="/login?return_to=%2Fauthorize%3Fclient_id%3Dapp" data-retry`) || strings.Contains(body, "the provider") {
		t.Errorf("the cancelled page does not name Corp SSO or has no way back with the destination: %s", r)
	}
	soNoSession(t, e, b, "denied consent")
	if n := soUserCount(t); n != 0 {
		t.Errorf("%d accounts, want none", n)
	}
	if c, _ := corp.gatehouseRequests(t); c["POST /token"] != 0 {
		t.Errorf("Gatehouse called the token endpoint after a denial: %v", c)
	}
}

// TestSocialStateNonceReplay (AS-27): the callback is accepted only in the browser that
// started the login (state bound to a cookie), only once (the state record is single use,
// the code is not redeemed again), and only with an ID token for the nonce of that login.
func TestSocialStateNonceReplay(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-eve", Email: "eve@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp)})

	victim := NewBrowser(t)
	trip := soThrough(t, victim, http.MethodGet, e.Issuer+"/login/social/corp", nil, "so-eve", false)
	state := trip.Auth.Query().Get("state")
	corp.resetRequests(t)

	// Another browser: without a state cookie, then with one of its own login.
	attacker := NewBrowser(t)
	r := attacker.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	soRefused(t, "callback in a browser without the state cookie", r, http.StatusBadRequest, "Login expired", "invalid_state")
	soNoSession(t, e, attacker, "callback in a browser without the state cookie")
	soBegin(t, e, attacker, "corp")
	r = attacker.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	soRefused(t, "callback in a browser with another login's state", r, http.StatusBadRequest, "Login expired", "invalid_state")
	soNoSession(t, e, attacker, "callback in a browser with another login's state")
	if c, n := corp.gatehouseRequests(t); n != 0 {
		t.Errorf("refused callbacks reached the upstream: %v", c)
	}

	// The refused attempts did not use up the state: the browser that started the login
	// completes it.
	userID := soLoggedIn(t, e, victim, "the victim's own callback", victim.Go(http.MethodGet, trip.Callback.String(), nil, nil), "")

	// Replays in the same browser: the cookie is gone; with the cookie put back, the state
	// record is gone (single use) and the code is not redeemed again. The browser is logged
	// in by the first answer, so a replay (a double submit, the back button) goes on to
	// where the login went — the account page — instead of "Login expired" (issue 14 item
	// 10), without touching the session.
	corp.resetRequests(t)
	r = victim.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	if r.Status != http.StatusOK || r.URL.Path != "/" || strings.Contains(string(r.Body), "Login expired") {
		t.Errorf("replayed callback in the logged-in browser: want the account page, got %s (hops %v)", r, r.Hops)
	}
	iss, _ := url.Parse(e.Issuer)
	victim.Jar.SetCookies(iss, []*http.Cookie{{Name: "gatehouse_social", Value: state, Path: "/"}})
	r = victim.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	if r.Status != http.StatusOK || r.URL.Path != "/" {
		t.Errorf("replayed callback with the state cookie restored: want the account page, got %s", r)
	}
	if c, n := corp.gatehouseRequests(t); n != 0 {
		t.Errorf("a replayed callback reached the upstream: %v", c)
	}
	if _, err := Provider(t).Store.GetOneTimeCode(Ctx(t), social.StateID(state)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the state record outlived its use: %v", err)
	}
	if s := soSession(t, e, victim); s == nil || s.User.ID != userID {
		t.Errorf("the replays changed the victim's session: %+v", s)
	}

	// A state past its 10 minutes is refused, before the code is redeemed.
	late := NewBrowser(t)
	tripL := soThrough(t, late, http.MethodGet, e.Issuer+"/login/social/corp", nil, "so-eve", false)
	if _, err := Provider(t).Store.UpdateOneTimeCode(Ctx(t), social.StateID(tripL.Auth.Query().Get("state")), func(c store.OneTimeCode) (store.OneTimeCode, error) {
		c.ExpiresAt = time.Now().Add(-time.Second)
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	corp.resetRequests(t)
	r = late.Go(http.MethodGet, tripL.Callback.String(), nil, nil)
	soRefused(t, "expired state", r, http.StatusBadRequest, "Login expired", "invalid_state")
	soNoSession(t, e, late, "expired state")
	if c, n := corp.gatehouseRequests(t); n != 0 {
		t.Errorf("a callback with an expired state reached the upstream: %v", c)
	}

	// An ID token for another login's nonce: the authorization request of one login is sent
	// with the nonce of a second one (as a tampering browser or a provider mixing up logins
	// would); the code and PKCE match, the ID token's nonce does not.
	b1, b2 := NewBrowser(t), NewBrowser(t)
	first, second := soBegin(t, e, b1, "corp"), soBegin(t, e, b2, "corp")
	crossed := first.Query()
	crossed.Set("nonce", second.Query().Get("nonce"))
	first.RawQuery = crossed.Encode()
	tripN := soThrough(t, b1, http.MethodGet, first.String(), nil, "so-eve", false)
	corp.resetRequests(t)
	r = b1.Go(http.MethodGet, tripN.Callback.String(), nil, nil)
	soRefused(t, "ID token with another login's nonce", r, http.StatusBadRequest, "Login failed", "upstream_rejected")
	soNoSession(t, e, b1, "ID token with another login's nonce")
	if c, _ := corp.gatehouseRequests(t); c["POST /token"] != 1 {
		t.Errorf("token requests %v: the code should have been redeemed once, then refused for its nonce", c)
	}
	if !soLogged(t, e, "nonce does not match") {
		t.Errorf("the refusal was not for the nonce (see the log)")
	}
}

// TestSocialMixUp (AS-28): with two upstream providers, an answer of one delivered as the
// answer of the other is refused: by the iss parameter (RFC 9207) before the code goes
// anywhere — also when it is missing, as the provider advertises
// authorization_response_iss_parameter_supported (RFC 9207 §2.4: "Clients MUST reject
// authorization responses without the iss parameter from authorization servers that do
// support the parameter") —, by the provider recorded with the state, by the token endpoint
// that does not know the code (invalid_grant), and by the ID token's issuer even when it is
// signed with a key the provider publishes. Each is a refused login (400), logged as
// social_login_refused, not an outage (502).
func TestSocialMixUp(t *testing.T) {
	up := soUpstreams(t)
	corp, other := up.op("corp"), up.op("other")
	for _, op := range []*soOP{corp, other} {
		op.setUser(t, soUser{Sub: "so-mia", Email: "mia@corp.test", EmailVerified: true})
	}
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp) + soSocial("other", other)})

	// A code of other, for Gatehouse's client at other.
	w := NewBrowser(t)
	codeY := soThrough(t, w, http.MethodGet, e.Issuer+"/login/social/other", nil, "so-mia", false).Callback.Query().Get("code")

	v := NewBrowser(t)
	for _, c := range []struct {
		what, path string
		iss        string
		status     int
		code       string
		tokens     int // token requests at corp
	}{
		{"corp's callback with other's code and iss", "corp", other.Issuer, http.StatusBadRequest, "upstream_rejected", 0},
		{"other's callback with the state of a login at corp", "other", other.Issuer, http.StatusBadRequest, "invalid_state", 0},
		{"corp's callback with other's code, no iss (RFC 9207 §2.4)", "corp", "", http.StatusBadRequest, "upstream_rejected", 0},
		{"corp's callback with other's code and corp's iss: invalid_grant", "corp", corp.Issuer, http.StatusBadRequest, "upstream_rejected", 1},
	} {
		state := soBegin(t, e, v, "corp").Query().Get("state")
		corp.resetRequests(t)
		other.resetRequests(t)
		q := url.Values{"code": {codeY}, "state": {state}}
		if c.iss != "" {
			q.Set("iss", c.iss)
		}
		r := v.Go(http.MethodGet, e.Issuer+"/login/social/"+c.path+"/callback?"+q.Encode(), nil, nil)
		soRefused(t, c.what, r, c.status, map[string]string{"upstream_rejected": "Login failed", "invalid_state": "Login expired"}[c.code], c.code)
		soNoSession(t, e, v, c.what)
		cc, _ := corp.gatehouseRequests(t)
		oc, _ := other.gatehouseRequests(t)
		if cc["POST /token"] != c.tokens || oc["POST /token"] != 0 {
			t.Errorf("%s: token requests at corp %v, at other %v; want %d at corp, none at other", c.what, cc, oc, c.tokens)
		}
	}
	if n := soUserCount(t); n != 0 {
		t.Errorf("%d accounts after refused callbacks, want none", n)
	}
	if !soLogged(t, e, "RFC 9207") || !soLogged(t, e, "token endpoint answered 400 invalid_grant") ||
		!soLogged(t, e, `"event":"social_login_refused"`) || soLogged(t, e, codeY) {
		t.Errorf("the refusals were not logged as social_login_refused (iss, invalid_grant), or the log holds the code")
	}

	// corp answers with an ID token naming other as its issuer, signed with corp's own key.
	client := "gatehouse-" + strconv.Itoa(e.PortalPort) + "-corp"
	forge := func(iss, nonce string) string {
		now := time.Now()
		return corp.sign(t, jwt.MapClaims{"iss": iss, "sub": "so-mix", "aud": client, "nonce": nonce,
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "email": "mix@corp.test", "email_verified": true})
	}
	corp.setUser(t, soUser{Sub: "so-mix", Email: "mix@corp.test", EmailVerified: true})
	b := NewBrowser(t)
	trip := soThrough(t, b, http.MethodGet, e.Issuer+"/login/social/corp", nil, "so-mix", false)
	corp.tamper(t, forge(other.Issuer, trip.Auth.Query().Get("nonce")))
	r := b.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	soRefused(t, "ID token issued by other", r, http.StatusBadRequest, "Login failed", "upstream_rejected")
	soNoSession(t, e, b, "ID token issued by other")
	if !soLogged(t, e, "issued by a different provider") {
		t.Errorf("the refusal was not for the issuer (see the log)")
	}
	// The same token naming corp is accepted: the issuer was the only fault.
	b2 := NewBrowser(t)
	trip = soThrough(t, b2, http.MethodGet, e.Issuer+"/login/social/corp", nil, "so-mix", false)
	corp.tamper(t, forge(corp.Issuer, trip.Auth.Query().Get("nonce")))
	soLoggedIn(t, e, b2, "the control token naming corp", b2.Go(http.MethodGet, trip.Callback.String(), nil, nil), "")
}

// TestSocialAccountLinkingByEmail (AS-29, pre-account takeover): an upstream identity with
// the address of an existing account never logs into it on its own. Unverified, the address
// is ignored (and not disclosed); verified, the user is asked to prove control of the
// account first; logged in with the password, the user links the identity from the account
// page, and from then on the identity logs into that account. Linking an identity whose
// address the upstream does not vouch for is refused.
func TestSocialAccountLinkingByEmail(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-imposter", Email: "victim@corp.test", EmailVerified: false})
	corp.setUser(t, soUser{Sub: "so-victim", Email: "victim@corp.test", EmailVerified: true})
	corp.setUser(t, soUser{Sub: "so-bob-unverified", Email: "bob@corp.test", EmailVerified: false})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp, `label "Corp SSO"`)})
	victimID := e.CreateUser("victim@corp.test")

	b := NewBrowser(t)
	r := soLogin(t, e, b, "corp", "so-imposter")
	soRefused(t, "unverified address of an existing account", r, http.StatusForbidden, "Email not confirmed", "email_unverified")
	if strings.Contains(string(r.Body), "victim@corp.test") {
		t.Errorf("the page for an unverified address discloses the account: %s", r)
	}
	soNoSession(t, e, b, "unverified address of an existing account")

	b2 := NewBrowser(t)
	r = soLogin(t, e, b2, "corp", "so-victim")
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "You already have an account") ||
		!strings.Contains(string(r.Body), "victim@corp.test") {
		t.Fatalf("verified address of an existing account: want the link-required page (409), got %s", r)
	}
	soNoSession(t, e, b2, "verified address of an existing account")
	if ids := soIdentities(t, e, victimID); len(ids) != 0 || soUserCount(t) != 1 {
		t.Fatalf("identities %v and %d accounts after the refused logins, want none and 1", ids, soUserCount(t))
	}

	// The page's login link, the password, then "Link Corp SSO" on the account page.
	login := regexp.MustCompile(`href="([^"]*/login\?login_hint=[^"]*)"`).FindSubmatch(r.Body)
	if login == nil {
		t.Fatalf("the link-required page has no login link: %s", r)
	}
	p := b2.Go(http.MethodGet, e.Issuer+html.UnescapeString(string(login[1])), nil, nil)
	if a := e.SubmitLogin(b2, p, "victim@corp.test", Password, nil); a.Status != http.StatusOK || !strings.Contains(string(a.Body), "Link Corp SSO") {
		t.Fatalf("the account page offers no link to Corp SSO: %s", a)
	}
	if r := b2.Go(http.MethodPost, e.Issuer+"/account/identities/link/corp", url.Values{}, nil); r.Status != http.StatusForbidden {
		t.Errorf("link without the CSRF token: %s", r)
	}
	account := soLink(t, e, b2, "corp", "so-victim")
	// Listed by the provider's label, with a confirmation of the link (issue 14 item 10).
	if account.Status != http.StatusOK || account.URL.Path != "/" || !strings.Contains(string(account.Body), "<strong>Corp SSO</strong>") ||
		strings.Contains(string(account.Body), "Link Corp SSO") || !strings.Contains(string(account.Body), "Corp SSO is now linked to your account") {
		t.Fatalf("after linking, the account page does not list the identity: %s", account)
	}
	api := Do(t, b2.C, NewRequest(t, http.MethodGet, e.Issuer+"/api/v1/account/identities", nil))
	var listed struct {
		Identities []struct{ Provider, Subject, Email string }
	}
	if err := json.Unmarshal(api.Body, &listed); err != nil || api.Status != http.StatusOK || len(listed.Identities) != 1 ||
		listed.Identities[0].Provider != "corp" || listed.Identities[0].Subject != "so-victim" || listed.Identities[0].Email != "victim@corp.test" {
		t.Errorf("GET /api/v1/account/identities: %s", api)
	}

	// From now on the identity logs into the account.
	b3 := NewBrowser(t)
	soLoggedIn(t, e, b3, "social login after linking", soLogin(t, e, b3, "corp", "so-victim"), victimID)

	// Linking an identity whose address is not verified upstream is refused.
	bobID := e.CreateUser("bob@corp.test")
	b4 := NewBrowser(t)
	e.PortalLogin(b4, "bob@corp.test", Password)
	r = soLink(t, e, b4, "corp", "so-bob-unverified")
	soRefused(t, "linking an unverified identity", r, http.StatusForbidden, "Email not confirmed", "email_unverified")
	if ids := soIdentities(t, e, bobID); len(ids) != 0 {
		t.Errorf("identities of bob %v, want none", ids)
	}

	// Linking needs a fresh login, like adding a passkey (CR-19).
	corp.setUser(t, soUser{Sub: "so-bob", Email: "bob@corp.test", EmailVerified: true})
	AgeSessions(t, bobID, 11*time.Minute)
	account = b4.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	r = b4.Go(http.MethodPost, e.Issuer+"/account/identities/link/corp", url.Values{"csrf_token": {FormField(t, account, csrfRe)}}, soToUpstream(e))
	if r.Status == http.StatusSeeOther && !strings.HasPrefix(r.Header.Get("Location"), e.Issuer) {
		t.Errorf("an old login started linking: %s → %s", r, r.Header.Get("Location"))
	} else if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "Log in again to link or unlink") {
		t.Errorf("linking with an old login: want 403 asking to log in again, got %s", r)
	}
	if ids := soIdentities(t, e, bobID); len(ids) != 0 {
		t.Errorf("identities of bob %v, want none", ids)
	}
}

// TestSocialIdentityTaken: an identity linked to one account cannot be linked to another,
// and a link is finished only in the session of the account that started it.
func TestSocialIdentityTaken(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-shared", Email: "shared@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp)})
	aID, bID := e.CreateUser("amy@corp.test"), e.CreateUser("ben@corp.test")

	ba := NewBrowser(t)
	e.PortalLogin(ba, "amy@corp.test", Password)
	if r := soLink(t, e, ba, "corp", "so-shared"); r.Status != http.StatusOK || r.URL.Path != "/" {
		t.Fatalf("amy links so-shared: %s", r)
	}
	bb := NewBrowser(t)
	e.PortalLogin(bb, "ben@corp.test", Password)
	r := soLink(t, e, bb, "corp", "so-shared")
	soRefused(t, "ben links amy's identity", r, http.StatusConflict, "Already linked", "identity_taken")
	if a, b := soIdentities(t, e, aID), soIdentities(t, e, bID); !slices.Equal(a, []string{"corp/so-shared"}) || len(b) != 0 {
		t.Errorf("identities: amy %v, ben %v", a, b)
	}
	if s := soSession(t, e, bb); s == nil || s.User.ID != bID {
		t.Errorf("ben's session after the refusal: %+v", s)
	}

	// A link belongs to the session that started it: started by ben, finished in the same
	// browser after ben logged out and amy logged in, it is refused.
	corp.setUser(t, soUser{Sub: "so-ben", Email: "ben@corp.test", EmailVerified: true})
	account := bb.Go(http.MethodGet, e.Issuer+"/", nil, nil)
	csrf := url.Values{"csrf_token": {FormField(t, account, csrfRe)}}
	trip := soThrough(t, bb, http.MethodPost, e.Issuer+"/account/identities/link/corp", csrf, "so-ben", false)
	if r := bb.Go(http.MethodPost, e.Issuer+"/logout", csrf, nil); soSession(t, e, bb) != nil {
		t.Fatalf("logout: %s", r)
	}
	e.PortalLogin(bb, "amy@corp.test", Password)
	r = bb.Go(http.MethodGet, trip.Callback.String(), nil, nil)
	soRefused(t, "link finished in another account's session", r, http.StatusBadRequest, "Login expired", "invalid_state")
	if a, b := soIdentities(t, e, aID), soIdentities(t, e, bID); !slices.Equal(a, []string{"corp/so-shared"}) || len(b) != 0 {
		t.Errorf("identities after a link finished in another session: amy %v, ben %v", a, b)
	}
}

// TestSocialUnlink: an identity is unlinked from the account page or the JSON API when the
// account has another way in (a password) and the login is fresh; the only way into a
// social-only account cannot be unlinked.
func TestSocialUnlink(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-pat", Email: "pat@corp.test", EmailVerified: true})
	corp.setUser(t, soUser{Sub: "so-solo", Email: "solo@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp)})
	patID := e.CreateUser("pat@corp.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "pat@corp.test", Password)
	soLink(t, e, b, "corp", "so-pat")

	apiUnlink := func(b *Browser, sub string) *Resp {
		return Do(t, b.C, NewRequest(t, http.MethodPost, e.Issuer+"/api/v1/account/identities/unlink",
			map[string]string{"provider": "corp", "subject": sub}))
	}
	formUnlink := func(b *Browser, sub string) *Resp {
		account := b.Go(http.MethodGet, e.Issuer+"/", nil, nil)
		return b.Go(http.MethodPost, e.Issuer+"/account/identities/unlink", url.Values{"csrf_token": {FormField(t, account, csrfRe)},
			"provider": {"corp"}, "subject": {sub}}, nil)
	}

	// An old login may not unlink.
	AgeSessions(t, patID, 11*time.Minute)
	if r := apiUnlink(b, "so-pat"); r.Status != http.StatusForbidden || r.JSON(t)["error"] != "reauthenticate" {
		t.Errorf("API unlink with an old login: %s", r)
	}
	if r := formUnlink(b, "so-pat"); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Log in again to link or unlink") {
		t.Errorf("form unlink with an old login: %s", r)
	}
	if ids := soIdentities(t, e, patID); len(ids) != 1 {
		t.Fatalf("identities %v after refused unlinks", ids)
	}

	// Fresh, with a password: through the API, then (linked again) through the form.
	soRelogin(t, e, b, "pat@corp.test")
	if r := apiUnlink(b, "so-pat"); r.Status != http.StatusNoContent {
		t.Errorf("API unlink: %s", r)
	}
	if ids := soIdentities(t, e, patID); len(ids) != 0 {
		t.Errorf("identities %v after unlinking", ids)
	}
	if r := apiUnlink(b, "so-pat"); r.Status != http.StatusNotFound {
		t.Errorf("API unlink of an identity not linked: %s", r)
	}
	soLink(t, e, b, "corp", "so-pat")
	if r := formUnlink(b, "so-pat"); r.Status != http.StatusOK || r.URL.Path != "/" || strings.Contains(string(r.Body), "<strong>corp</strong>") {
		t.Errorf("form unlink: %s", r)
	}
	if ids := soIdentities(t, e, patID); len(ids) != 0 {
		t.Errorf("identities %v after unlinking", ids)
	}

	// A social-only account keeps its only way in.
	bs := NewBrowser(t)
	soloID := soLoggedIn(t, e, bs, "social-only login", soLogin(t, e, bs, "corp", "so-solo"), "")
	if r := apiUnlink(bs, "so-solo"); r.Status != http.StatusConflict || r.JSON(t)["error"] != "last_credential" {
		t.Errorf("API unlink of the last way in: %s", r)
	}
	if r := formUnlink(bs, "so-solo"); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "only way to log in") {
		t.Errorf("form unlink of the last way in: %s", r)
	}
	if ids := soIdentities(t, e, soloID); !slices.Equal(ids, []string{"corp/so-solo"}) {
		t.Errorf("identities of the social-only account %v", ids)
	}
	// Nor can anyone else's identity be unlinked.
	if r := apiUnlink(b, "so-solo"); r.Status != http.StatusNotFound {
		t.Errorf("pat unlinks solo's identity: %s", r)
	}
}

// TestSocialGroups: groups from the upstream's groups claim are imported through the
// allow-list and kept in sync at each login (a group removed upstream disappears; groups set
// in Gatehouse stay); required groups and allowed domains refuse other identities, for a
// provider with claims in the ID token and for one with claims at userinfo.
func TestSocialGroups(t *testing.T) {
	up := soUpstreams(t)
	corp, other := up.op("corp"), up.op("other")
	groups := []string{"scopes openid email profile groups", "groups_claim groups"}
	e := Start(t, Config{Gatehouse: "signup open" +
		soSocial("corp", corp, append(groups, "import_groups staff admins")...) +
		soSocial("staffonly", corp, append(groups, "required_groups staff")...) +
		soSocial("corpmail", corp, "allowed_domains corp.test") +
		soSocial("otherstaff", other, append(groups, "required_groups staff", "import_groups staff")...)})

	corp.setUser(t, soUser{Sub: "so-gina", Email: "gina@corp.test", EmailVerified: true, Groups: []string{"staff", "admins", "interns"}})
	b := NewBrowser(t)
	ginaID := soLoggedIn(t, e, b, "gina", soLogin(t, e, b, "corp", "so-gina"), "")
	if g := soSession(t, e, b).User.Groups; !soSameSet(g, []string{"staff", "admins"}) {
		t.Errorf("groups %v, want the allow-listed staff and admins", g)
	}
	if r := e.Admin(http.MethodPut, "/gatehouse/users/"+ginaID+"/groups", map[string]any{"groups": []string{"staff", "admins", "local"}}); r.Status != http.StatusOK {
		t.Fatalf("set groups: %s", r)
	}
	corp.setUser(t, soUser{Sub: "so-gina", Email: "gina@corp.test", EmailVerified: true, Groups: []string{"staff", "interns"}})
	b = NewBrowser(t)
	soLoggedIn(t, e, b, "gina again", soLogin(t, e, b, "corp", "so-gina"), ginaID)
	if g := soSession(t, e, b).User.Groups; !soSameSet(g, []string{"staff", "local"}) {
		t.Errorf("groups %v after admins was removed upstream, want staff and the local group", g)
	}

	for _, c := range []struct {
		provider string
		op       *soOP
		user     soUser
		ok       bool
	}{
		{"staffonly", corp, soUser{Sub: "so-ivan", Email: "ivan@corp.test", EmailVerified: true, Groups: []string{"interns"}}, false},
		{"staffonly", corp, soUser{Sub: "so-sam", Email: "sam@corp.test", EmailVerified: true, Groups: []string{"staff"}}, true},
		{"corpmail", corp, soUser{Sub: "so-olga", Email: "olga@else.test", EmailVerified: true}, false},
		{"corpmail", corp, soUser{Sub: "so-uma", Email: "uma@corp.test", EmailVerified: false}, false},
		{"corpmail", corp, soUser{Sub: "so-carl", Email: "carl@corp.test", EmailVerified: true}, true},
		{"otherstaff", other, soUser{Sub: "so-ivan", Email: "ivan@other.test", EmailVerified: true, Groups: []string{"interns"}}, false},
		{"otherstaff", other, soUser{Sub: "so-sue", Email: "sue@other.test", EmailVerified: true, Groups: []string{"staff", "x"}}, true},
	} {
		what := c.provider + " " + c.user.Sub
		c.op.setUser(t, c.user)
		b := NewBrowser(t)
		r := soLogin(t, e, b, c.provider, c.user.Sub)
		if !c.ok {
			soRefused(t, what, r, http.StatusForbidden, "Not allowed", "not_allowed")
			soNoSession(t, e, b, what)
			if _, exists := soUserByEmail(t, c.user.Email); exists {
				t.Errorf("%s: an account was created", what)
			}
			continue
		}
		soLoggedIn(t, e, b, what, r, "")
		if c.provider == "otherstaff" {
			if g := soSession(t, e, b).User.Groups; !slices.Equal(g, []string{"staff"}) {
				t.Errorf("%s: groups %v (from userinfo), want staff", what, g)
			}
		}
	}

	// Sue leaves staff upstream: her next login is refused, and the refusal also takes the
	// imported group away, so sessions and tokens checked against the account's groups stop
	// granting staff.
	other.setUser(t, soUser{Sub: "so-sue", Email: "sue@other.test", EmailVerified: true, Groups: []string{"x"}})
	b = NewBrowser(t)
	soRefused(t, "sue after leaving staff", soLogin(t, e, b, "otherstaff", "so-sue"), http.StatusForbidden, "Not allowed", "not_allowed")
	if u, ok := soUserByEmail(t, "sue@other.test"); !ok || slices.Contains(u.Groups, "staff") {
		t.Errorf("sue's account after a refused login without staff upstream: %+v (exists %v), want no staff group", u, ok)
	}
}

// TestSocialDisabledUser: a disabled account cannot log in through its linked identity.
func TestSocialDisabledUser(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-dora", Email: "dora@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp)})
	b := NewBrowser(t)
	id := soLoggedIn(t, e, b, "dora", soLogin(t, e, b, "corp", "so-dora"), "")
	if r := e.Admin(http.MethodPost, "/gatehouse/users/"+id+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %s", r)
	}
	b2 := NewBrowser(t)
	r := soLogin(t, e, b2, "corp", "so-dora")
	soRefused(t, "disabled account", r, http.StatusForbidden, "Login failed", "user_disabled")
	soNoSession(t, e, b2, "disabled account")
	if n := soUserCount(t); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
}

// TestSocialGitHub: the plain OAuth 2.0 path against a server of GitHub's shape: PKCE, the
// client secret in the token request, the REST user API; the account gets the verified
// primary address, and an identity with no verified primary address is refused. It needs no
// Node.js (GATEHOUSE_SKIP_NODE does not skip it).
func TestSocialGitHub(t *testing.T) {
	g := soNewGitHub(t)
	e := Start(t, Config{Gatehouse: "signup open" + g.config()})
	g.register(e)
	g.login(soGitHubUser{ID: 583231, Login: "octocat", Name: "Mona Octocat", Emails: []soGitHubEmail{
		{Email: "old@gh.test", Verified: true}, {Email: "mona@gh.test", Primary: true, Verified: true},
		{Email: "spare@gh.test"}}})

	b := NewBrowser(t)
	login := b.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
	start := soButtons(t, e, login)["Log in with GitHub"]
	if start == "" {
		t.Fatalf("no GitHub button: %s", login)
	}
	trip := soThrough(t, b, http.MethodGet, start, nil, "", false)
	q := trip.Auth.Query()
	if q.Get("scope") != "read:user user:email" || len(q.Get("state")) < 32 || q.Has("nonce") ||
		q.Get("redirect_uri") != e.Issuer+"/login/social/github/callback" {
		t.Errorf("authorization request %s", trip.Auth)
	}
	g.mu.Lock()
	g.reqs = nil
	g.mu.Unlock()
	id := soLoggedIn(t, e, b, "GitHub login", b.Go(http.MethodGet, trip.Callback.String(), nil, nil), "")
	g.mu.Lock()
	reqs := slices.Clone(g.reqs)
	g.mu.Unlock()
	t.Logf("upstream requests by Gatehouse for a GitHub login: %d %v", len(reqs), reqs)
	if !slices.Equal(reqs, []string{"POST /login/oauth/access_token", "GET /user", "GET /user/emails"}) {
		t.Errorf("requests to the GitHub server %v", reqs)
	}
	u, ok := soUserByEmail(t, "mona@gh.test")
	if !ok || u.ID != id || !u.EmailVerified || u.FirstName != "Mona" || u.LastName != "Octocat" {
		t.Errorf("account %+v (exists %v), want the verified primary address mona@gh.test", u, ok)
	}
	if ids := soIdentities(t, e, id); !slices.Equal(ids, []string{"github/583231"}) {
		t.Errorf("identities %v, want github/583231 (GitHub's numeric user ID)", ids)
	}
	b2 := NewBrowser(t)
	soLoggedIn(t, e, b2, "second GitHub login", soLogin(t, e, b2, "github", ""), id)

	// No verified primary address: refused, nothing created.
	g.login(soGitHubUser{ID: 9001, Login: "ghost", Emails: []soGitHubEmail{{Email: "ghost@gh.test", Primary: true}, {Email: "ghost2@gh.test"}}})
	b3 := NewBrowser(t)
	r := soLogin(t, e, b3, "github", "")
	soRefused(t, "GitHub identity without a verified address", r, http.StatusForbidden, "Email not confirmed", "email_unverified")
	soNoSession(t, e, b3, "GitHub identity without a verified address")
	if n := soUserCount(t); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
	g.check(t)

	// The client secret and access tokens never go to a plain-http endpoint (loopback
	// excepted, as here).
	err := e.Load(Config{Gatehouse: "signup open" + strings.Replace(g.config(), "api_url "+g.srv.URL, "api_url http://api.github.example", 1)})
	if err == nil || !strings.Contains(err.Error(), `gatehouse.social[github].api_url: must use https (plain http only on a loopback host), got "http://api.github.example"`) {
		t.Errorf("GitHub endpoint over plain http: load error %v", err)
	}
}

// TestSocialAdminLink: an administrator links an upstream identity to an account through
// the admin API; the identity then logs into that account whatever its address, until the
// administrator unlinks it.
func TestSocialAdminLink(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-hal-sso", Email: "hal.sso@elsewhere.test", EmailVerified: false})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp, "onboarding off")})
	id, other := e.CreateUser("hal@corp.test"), e.CreateUser("ida@corp.test")

	link := func(user, provider, sub string) *Resp {
		return e.Admin(http.MethodPost, "/gatehouse/users/"+user+"/identities", map[string]string{"provider": provider, "subject": sub})
	}
	if r := link(id, "corp", "so-hal-sso"); r.Status != http.StatusCreated || r.JSON(t)["user_id"] != id {
		t.Fatalf("admin link: %s", r)
	}
	if r := link(other, "corp", "so-hal-sso"); r.Status != http.StatusConflict || r.JSON(t)["error"] != "identity_taken" {
		t.Errorf("admin link of a taken identity: %s", r)
	}
	if r := link(id, "nope", "x"); r.Status != http.StatusBadRequest {
		t.Errorf("admin link to an unknown provider: %s", r)
	}
	b := NewBrowser(t)
	soLoggedIn(t, e, b, "login through the admin-linked identity", soLogin(t, e, b, "corp", "so-hal-sso"), id)
	if ids := soIdentities(t, e, id); !slices.Equal(ids, []string{"corp/so-hal-sso"}) {
		t.Errorf("identities %v", ids)
	}

	if r := e.Admin(http.MethodDelete, "/gatehouse/users/"+id+"/identities/corp?subject=so-hal-sso", nil); r.Status != http.StatusNoContent {
		t.Fatalf("admin unlink: %s", r)
	}
	b2 := NewBrowser(t)
	soRefused(t, "login after the admin unlinked", soLogin(t, e, b2, "corp", "so-hal-sso"), http.StatusForbidden, "No account", "no_account")
	soNoSession(t, e, b2, "login after the admin unlinked")
}

// TestSocialFormPost: the apple preset asks for response_mode=form_post (Sign in with Apple
// posts its answer when name or email is asked for); the answer posted to the callback logs
// in, and a posted answer with another browser's state is refused like a GET one. Here the
// preset points at oidc-provider with a plain client secret (Apple's signed client secret
// needs Apple).
func TestSocialFormPost(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-fern", Email: "fern@corp.test", EmailVerified: true, GivenName: "Fern"})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("apple", corp)})

	b := NewBrowser(t)
	login := b.Go(http.MethodGet, e.Issuer+"/login", nil, nil)
	if soButtons(t, e, login)["Log in with Apple"] == "" {
		t.Errorf("no Apple button: %s", login)
	}
	trip := soThrough(t, b, http.MethodGet, e.Issuer+"/login/social/apple", nil, "so-fern", false)
	if q := trip.Auth.Query(); q.Get("response_mode") != "form_post" || trip.Form == nil || trip.Form.Get("code") == "" {
		t.Fatalf("authorization request %s answered with %v: want response_mode=form_post and a posted code", trip.Auth, trip.Form)
	}
	if trip.Callback.RawQuery != "" || trip.Form.Get("iss") != corp.Issuer {
		t.Errorf("posted answer to %s with %v: want the callback without a query, and iss", trip.Callback, trip.Form)
	}
	attacker := NewBrowser(t)
	soRefused(t, "posted answer in another browser", trip.deliver(attacker, nil), http.StatusBadRequest, "Login expired", "invalid_state")
	soNoSession(t, e, attacker, "posted answer in another browser")
	soLoggedIn(t, e, b, "posted answer", trip.deliver(b, nil), "")
	if u, ok := soUserByEmail(t, "fern@corp.test"); !ok || !u.EmailVerified {
		t.Errorf("account %+v (exists %v)", u, ok)
	}

	// Linking through a form_post provider: the posted answer arrives without the session
	// cookie (a cross-site POST), and the link still lands on the signed-in account.
	corp.setUser(t, soUser{Sub: "so-gus", Email: "gus@corp.test", EmailVerified: true})
	gusID := e.CreateUser("gus@corp.test")
	g := NewBrowser(t)
	e.PortalLogin(g, "gus@corp.test", Password)
	account := soLink(t, e, g, "apple", "so-gus")
	if account.Status != http.StatusOK || account.URL.Path != "/" {
		t.Fatalf("linking through form_post: want the account page, got %s", account)
	}
	if ids := soIdentities(t, e, gusID); len(ids) != 1 || !strings.Contains(ids[0], "so-gus") {
		t.Fatalf("identities of gus after linking through form_post: %v", ids)
	}
}

// TestSocialProviderErrorsAreRefusals (issue 12): an error the provider sends back through
// the browser (error=server_error) is a refused login, 400, logged as the security event
// social_login_refused — not an outage in monitoring (502). Without iss, from a provider that
// advertises RFC 9207, the same answer is not even taken as the provider's (RFC 9207 §2.4).
// access_denied is 403 (TestSocialDeniedConsent).
func TestSocialProviderErrorsAreRefusals(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp)})
	b := NewBrowser(t)
	for _, c := range []struct {
		what  string
		iss   string
		title string
		code  string
	}{
		{"error=server_error with the provider's iss", corp.Issuer, "Login failed", "upstream_error"},
		{"error=server_error without iss (RFC 9207 §2.4)", "", "Login failed", "upstream_rejected"},
	} {
		state := soBegin(t, e, b, "corp").Query().Get("state")
		q := url.Values{"error": {"server_error"}, "state": {state}}
		if c.iss != "" {
			q.Set("iss", c.iss)
		}
		r := b.Go(http.MethodGet, e.Issuer+"/login/social/corp/callback?"+q.Encode(), nil, nil)
		soRefused(t, c.what, r, http.StatusBadRequest, c.title, c.code)
		soNoSession(t, e, b, c.what)
	}
	if !soLogged(t, e, `"event":"social_login_refused"`) || !soLogged(t, e, "error=server_error") {
		t.Errorf("the provider's error was not logged as social_login_refused")
	}
	if soLogged(t, e, "social_provider_unavailable") {
		t.Errorf("a provider's error answer was logged as an outage")
	}
}

// TestSocialLimits (CR-04, lockout as DoS; RB-15, pre-auth state exhaustion; issue 12): the
// per-IP limit of social logins counts only unfinished ones — abandoned starts and refused
// callbacks — so 61 successful logins from one address (an office behind one NAT) all
// succeed under the default limit of 60. `social_limits { max_unfinished_per_ip 3 }` sets the
// limit: past 3 unfinished starts the next is answered 429 with Retry-After and a message
// that says logins were started from the network (not that attempts failed); a successful
// login in between does not count. A window outside 1m..24h does not load.
func TestSocialLimits(t *testing.T) {
	up := soUpstreams(t)
	corp := up.op("corp")
	corp.setUser(t, soUser{Sub: "so-office", Email: "office@corp.test", EmailVerified: true})
	e := Start(t, Config{Gatehouse: "signup open" + soSocial("corp", corp)})

	b := NewBrowser(t)
	id := ""
	for i := range social.DefaultMaxUnfinishedPerIP + 1 {
		id = soLoggedIn(t, e, b, "successful login "+strconv.Itoa(i+1)+" from one address", soLogin(t, e, b, "corp", "so-office"), id)
	}

	limits := func(lines string) Config {
		return Config{Gatehouse: "signup open" + soSocial("corp", corp) + "\n\t\tsocial_limits {\n" + lines + "\t\t}\n"}
	}
	if err := e.Load(limits("\t\t\tmax_unfinished_per_ip 3\n\t\t\twindow 5m\n")); err != nil {
		t.Fatalf("load social_limits: %v", err)
	}
	a := NewBrowser(t)
	soBegin(t, e, a, "corp")
	soBegin(t, e, a, "corp")
	soLoggedIn(t, e, b, "a successful login between abandoned ones", soLogin(t, e, b, "corp", "so-office"), id)
	soBegin(t, e, a, "corp")
	r := a.Go(http.MethodGet, e.Issuer+"/login/social/corp", nil, soToUpstream(e))
	soRefused(t, "fourth unfinished start with max_unfinished_per_ip 3", r, http.StatusTooManyRequests, "Too many logins", "too_many_requests")
	if !strings.Contains(string(r.Body), "Too many logins were started from your network") || strings.Contains(string(r.Body), "failed attempts") {
		t.Errorf("the limit page does not say what happened: %s", r)
	}
	// The address's counting window opened at the first login above, under the default 10m.
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 601 {
		t.Errorf("Retry-After %q, want the rest of the counting window", r.Header.Get("Retry-After"))
	}

	if err := e.Load(limits("\t\t\twindow 10s\n")); err == nil || !strings.Contains(err.Error(), "social_limits.window") {
		t.Errorf("social_limits window 10s: load error %v, want one naming social_limits.window", err)
	}
}
