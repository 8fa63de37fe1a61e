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

const rpClients = `
		client rp-public {
			name "Public RP"
			redirect_uri {{.RP}}/cb
			post_logout_redirect_uri {{.RP}}/bye
			scopes openid profile email offline_access
		}
		client rp-basic {
			secret "basic+secret/with:colon=0123456789"
			redirect_uri {{.RP}}/cb-basic
		}
		client rp-post {
			secret post-secret-0123456789abcdef
			redirect_uri {{.RP}}/cb-post
		}`

// idClaims are the ID token claims Gatehouse documents.
type idClaims struct {
	Sub           string   `json:"sub"`
	Tid           string   `json:"tid"`
	Amr           []string `json:"amr"`
	Acr           string   `json:"acr"`
	AuthTime      int64    `json:"auth_time"`
	NewUser       *bool    `json:"new_user"`
	Groups        []string `json:"groups"`
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          string   `json:"name"`
	GivenName     string   `json:"given_name"`
	FamilyName    string   `json:"family_name"`
	Sid           string   `json:"sid"`
	AtHash        string   `json:"at_hash"`
}

// TestOIDCRelyingParty: Gatehouse as seen by standard client libraries
// (golang.org/x/oauth2 and coreos/go-oidc): discovery, the authorization code flow with
// PKCE driven through the hosted login page, the ID token verified by go-oidc (iss, aud,
// exp, signature through /jwks), nonce and at_hash, the documented claims, userinfo and a
// refresh through a TokenSource (OC-01, OC-04, OC-06, OC-23, OC-24, OC-25). Confidential
// clients authenticate with client_secret_basic (form-encoded before Base64, RFC 6749
// §2.3.1) and client_secret_post (OC-20). Refused: a public client without PKCE (AS-09), an
// unregistered redirect_uri — an error page, no redirect (AS-01, OC-16, AS-03), a PKCE
// downgrade and a wrong verifier, which burns the code (AS-08, AS-10, AS-11), a redirect_uri
// differing at the token endpoint (AS-04), implicit and password grants (AS-12, AS-13). The
// authorization response carries iss (AS-14) and /token answers are not cacheable (AS-23).
// prompt=none, prompt=login and max_age behave as OIDC Core §3.1.2.1 says (OC-08 to OC-12);
// RP-initiated logout redirects only to a registered URI (OC-27); request objects are
// refused as unsupported (OC-22); a code is bound to its client (AS-05).
func TestOIDCRelyingParty(t *testing.T) {
	e := Start(t, Config{Gatehouse: rpClients})
	r := e.Admin(http.MethodPost, "/gatehouse/users", map[string]any{"email": "ivy@example.test", "password": Password,
		"fname": "Ivy", "lname": "Bridge", "groups": []string{"staff", "eng"}, "email_verified": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	userID := r.JSON(t)["id"].(string)
	ctx := oidc.ClientContext(Ctx(t), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	b := NewBrowser(t)

	t.Run("public client with PKCE", func(t *testing.T) {
		e := e.T(t)
		conf := &oauth2.Config{ClientID: "rp-public", Endpoint: provider.Endpoint(), RedirectURL: e.RP + "/cb",
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		verifier, state, nonce := oauth2.GenerateVerifier(), "state-"+oauth2.GenerateVerifier()[:10], "nonce-"+oauth2.GenerateVerifier()[:10]
		authURL := conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
		loginStart := time.Now().Unix()
		page := b.Go(http.MethodGet, authURL, nil, StopAt(e.RP))
		resp := e.SubmitLogin(b, page, "ivy@example.test", Password, StopAt(e.RP))
		if resp.Status != http.StatusFound {
			t.Fatalf("after login expected the redirect to the RP, got %s", resp)
		}
		q := resp.Location(t).Query()
		if q.Get("state") != state || q.Get("iss") != e.Issuer || q.Get("code") == "" {
			t.Fatalf("authorization response %v: want code, state %q and iss %q (AS-14)", q, state, e.Issuer)
		}
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken == "" {
			t.Errorf("token: type %q, refresh token %v", tok.TokenType, tok.RefreshToken != "")
		}
		rawID, _ := tok.Extra("id_token").(string)
		idToken, err := provider.Verifier(&oidc.Config{ClientID: "rp-public"}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		if idToken.Nonce != nonce {
			t.Errorf("nonce %q, want %q", idToken.Nonce, nonce)
		}
		if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		if idToken.Issuer != e.Issuer || !slices.Equal(idToken.Audience, []string{"rp-public"}) || idToken.Subject != userID {
			t.Errorf("iss %q aud %v sub %q", idToken.Issuer, idToken.Audience, idToken.Subject)
		}
		var c idClaims
		if err := idToken.Claims(&c); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Unix()
		switch {
		case c.Tid == "":
			t.Errorf("tid missing")
		case !slices.Equal(c.Amr, []string{"pwd"}):
			t.Errorf("amr %v", c.Amr)
		case c.Acr == "":
			t.Errorf("acr missing")
		case c.AuthTime < loginStart-1 || c.AuthTime > now+1:
			t.Errorf("auth_time %d not within the login (%d..%d)", c.AuthTime, loginStart, now)
		case c.NewUser == nil || *c.NewUser:
			t.Errorf("new_user %v, want false for an existing user", c.NewUser)
		case !slices.Equal(c.Groups, []string{"staff", "eng"}):
			t.Errorf("groups %v", c.Groups)
		case c.Email != "ivy@example.test" || c.EmailVerified == nil || !*c.EmailVerified:
			t.Errorf("email %q verified %v (email scope)", c.Email, c.EmailVerified)
		case c.Name != "Ivy Bridge" || c.GivenName != "Ivy" || c.FamilyName != "Bridge":
			t.Errorf("name claims %q %q %q (profile scope)", c.Name, c.GivenName, c.FamilyName)
		case c.Sid == "":
			t.Errorf("sid missing")
		}

		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var ic idClaims
		_ = info.Claims(&ic)
		if info.Subject != userID || info.Email != "ivy@example.test" || !info.EmailVerified || ic.Name != "Ivy Bridge" ||
			!slices.Equal(ic.Groups, []string{"staff", "eng"}) {
			t.Errorf("userinfo: sub %q email %q verified %v name %q groups %v", info.Subject, info.Email, info.EmailVerified, ic.Name, ic.Groups)
		}

		// OC-04: userinfo by POST, with the header or the form field, not both.
		req := NewRequest(t, http.MethodPost, e.Issuer+"/userinfo", url.Values{"access_token": {tok.AccessToken}})
		if r := Do(t, API, req); r.Status != http.StatusOK || r.JSON(t)["sub"] != userID {
			t.Errorf("userinfo POST with the token in the body: %s", r)
		}
		req = NewRequest(t, http.MethodPost, e.Issuer+"/userinfo", url.Values{"access_token": {tok.AccessToken}})
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if r := Do(t, API, req); r.Status != http.StatusBadRequest {
			t.Errorf("userinfo with the token in the header and the body: %s", r)
		}
		// The ID token is not an access token (JW-15).
		if r := e.Userinfo(rawID); r.Status != http.StatusUnauthorized {
			t.Errorf("userinfo with the ID token: %s", r)
		}

		// Refresh through a TokenSource (the expired token forces the refresh).
		t2, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if t2.AccessToken == tok.AccessToken || t2.RefreshToken == "" || t2.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh did not issue a new access token and rotate the refresh token")
		}
		rawID2, _ := t2.Extra("id_token").(string)
		id2, err := provider.Verifier(&oidc.Config{ClientID: "rp-public"}).Verify(ctx, rawID2)
		if err != nil {
			t.Fatalf("verify refreshed ID token: %v", err)
		}
		if id2.Subject != userID || id2.IssuedAt.Before(idToken.IssuedAt) {
			t.Errorf("refreshed ID token: sub %q iat %v (first %v)", id2.Subject, id2.IssuedAt, idToken.IssuedAt)
		}
		if r := e.Userinfo(t2.AccessToken); r.Status != http.StatusOK {
			t.Errorf("userinfo with the refreshed token: %s", r)
		}
	})

	// authorize runs an authorization request with the logged-in browser and returns the
	// response's query at the RP.
	authorize := func(t *testing.T, conf *oauth2.Config, opts ...oauth2.AuthCodeOption) url.Values {
		t.Helper()
		r := b.Go(http.MethodGet, conf.AuthCodeURL("s1", opts...), nil, StopAt(e.RP))
		if r.Status != http.StatusFound {
			t.Fatalf("authorize: %s", r)
		}
		q := r.Location(t).Query()
		if q.Get("iss") != e.Issuer || q.Get("state") != "s1" {
			t.Errorf("authorization response without iss/state: %v", q)
		}
		return q
	}

	t.Run("client_secret_basic", func(t *testing.T) {
		e := e.T(t)
		conf := &oauth2.Config{ClientID: "rp-basic", ClientSecret: "basic+secret/with:colon=0123456789",
			Endpoint: provider.Endpoint(), RedirectURL: e.RP + "/cb-basic", Scopes: []string{oidc.ScopeOpenID, "email"}}
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		verifier := oauth2.GenerateVerifier()
		q := authorize(t, conf, oauth2.S256ChallengeOption(verifier))
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange with client_secret_basic: %v", err)
		}
		if _, err := provider.Verifier(&oidc.Config{ClientID: "rp-basic"}).Verify(ctx, tok.Extra("id_token").(string)); err != nil {
			t.Errorf("verify ID token: %v", err)
		}
		// A confidential client may skip PKCE, but then cannot send a verifier (AS-08).
		q = authorize(t, conf)
		r := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {conf.RedirectURL},
			"code_verifier": {oauth2.GenerateVerifier()}}, conf.ClientID, conf.ClientSecret)
		wantTokenError(t, "PKCE downgrade", r, http.StatusBadRequest, "invalid_grant")
		// Wrong secret.
		q = authorize(t, conf)
		r = e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {conf.RedirectURL}},
			conf.ClientID, "wrong-secret-0123456789")
		wantTokenError(t, "wrong client secret", r, http.StatusUnauthorized, "invalid_client")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("invalid_client with Basic: WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
		// Basic and client_secret together.
		r = e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {conf.RedirectURL},
			"client_secret": {conf.ClientSecret}}, conf.ClientID, conf.ClientSecret)
		wantTokenError(t, "two client authentication methods", r, http.StatusBadRequest, "invalid_request")
	})

	t.Run("client_secret_post", func(t *testing.T) {
		e := e.T(t)
		conf := &oauth2.Config{ClientID: "rp-post", ClientSecret: "post-secret-0123456789abcdef",
			Endpoint: provider.Endpoint(), RedirectURL: e.RP + "/cb-post", Scopes: []string{oidc.ScopeOpenID}}
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		q := authorize(t, conf, oidc.Nonce("n-post"))
		// By hand, to see the headers of a successful token response (AS-23).
		r := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {conf.RedirectURL},
			"client_id": {conf.ClientID}, "client_secret": {conf.ClientSecret}})
		if r.Status != http.StatusOK {
			t.Fatalf("exchange with client_secret_post: %s", r)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
			t.Errorf("token response Cache-Control %q Pragma %q", r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
		}
		body := r.JSON(t)
		idToken, err := provider.Verifier(&oidc.Config{ClientID: "rp-post"}).Verify(ctx, body["id_token"].(string))
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		var c idClaims
		_ = idToken.Claims(&c)
		if idToken.Nonce != "n-post" || c.Email != "" || c.Name != "" {
			t.Errorf("scope openid only: nonce %q, email %q, name %q must be absent (OC-06)", idToken.Nonce, c.Email, c.Name)
		}
	})

	t.Run("authorization request errors", func(t *testing.T) {
		e := e.T(t)
		// A public client without PKCE: an error redirect with iss (AS-09, AS-14).
		params, _ := AuthParams("rp-public", e.RP+"/cb", "openid")
		params.Del("code_challenge")
		params.Del("code_challenge_method")
		q := e.Authorize(b, params)
		if q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("iss") != e.Issuer || q.Get("state") != params.Get("state") {
			t.Errorf("public client without PKCE: %v", q)
		}
		// Implicit / hybrid (AS-12).
		params, _ = AuthParams("rp-public", e.RP+"/cb", "openid")
		params.Set("response_type", "id_token token")
		if q := e.Authorize(b, params); q.Get("error") != "unsupported_response_type" || q.Get("code") != "" {
			t.Errorf("response_type=id_token token: %v", q)
		}
		// Request objects are not supported, and say so (OC-22).
		params, _ = AuthParams("rp-public", e.RP+"/cb", "openid")
		params.Set("request", "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwudGVzdCJ9.")
		if q := e.Authorize(b, params); q.Get("error") != "request_not_supported" || q.Get("code") != "" {
			t.Errorf("request object: %v", q)
		}
		params.Del("request")
		params.Set("request_uri", "https://evil.test/ro")
		if q := e.Authorize(b, params); q.Get("error") != "request_uri_not_supported" || q.Get("code") != "" {
			t.Errorf("request_uri: %v", q)
		}
		// Unregistered redirect URIs: an error page, no redirect (AS-01, OC-16).
		for _, ru := range []string{e.RP + "/cb/", e.RP + "/CB", e.RP + "/cb?x=1", e.RP + "/cb#frag", e.RP + "/cb/../evil",
			e.RP + "/cb%2F..%2Fevil", "http://localhost:" + strings.TrimPrefix(e.RP, "http://127.0.0.1:") + "/cb",
			"https://evil.test/cb", "http://127.0.0.1:" + strings.TrimPrefix(e.RP, "http://127.0.0.1:") + "@evil.test/cb", ""} {
			params, _ := AuthParams("rp-basic", ru, "openid")
			if ru == "" {
				params, _ = AuthParams("rp-public", "", "openid")
				params.Set("redirect_uri", "https://evil.test/cb")
				params.Set("client_id", "no-such-client")
			}
			r := b.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil)
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
				t.Errorf("redirect_uri %q: want an error page without redirect, got %s (Location %q)", ru, r, r.Header.Get("Location"))
			}
			if !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("redirect_uri %q: error page Content-Type %q", ru, r.Header.Get("Content-Type"))
			}
		}
	})

	t.Run("token request errors", func(t *testing.T) {
		e := e.T(t)
		// Wrong verifier, then the right one: the code is burned (AS-10, AS-11).
		params, verifier := AuthParams("rp-public", e.RP+"/cb", "openid")
		code := e.Authorize(b, params).Get("code")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.RP + "/cb"},
			"client_id": {"rp-public"}, "code_verifier": {oauth2.GenerateVerifier()}}
		wantTokenError(t, "wrong code_verifier", e.Token(form), http.StatusBadRequest, "invalid_grant")
		form.Set("code_verifier", verifier)
		wantTokenError(t, "right code_verifier after a wrong one", e.Token(form), http.StatusBadRequest, "invalid_grant")
		// Missing verifier.
		params, _ = AuthParams("rp-public", e.RP+"/cb", "openid")
		form.Set("code", e.Authorize(b, params).Get("code"))
		form.Del("code_verifier")
		wantTokenError(t, "missing code_verifier", e.Token(form), http.StatusBadRequest, "invalid_grant")
		// redirect_uri differs from the authorization request's (AS-04).
		params, verifier = AuthParams("rp-public", e.RP+"/cb", "openid")
		form.Set("code", e.Authorize(b, params).Get("code"))
		form.Set("code_verifier", verifier)
		form.Set("redirect_uri", e.RP+"/cb-basic")
		wantTokenError(t, "other redirect_uri at /token", e.Token(form), http.StatusBadRequest, "invalid_grant")
		// A code redeemed by another client fails, and is burned (AS-05).
		params, verifier = AuthParams("rp-public", e.RP+"/cb", "openid")
		code = e.Authorize(b, params).Get("code")
		wantTokenError(t, "code of rp-public redeemed by rp-post", e.Token(url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {e.RP + "/cb"}, "code_verifier": {verifier}, "client_id": {"rp-post"},
			"client_secret": {"post-secret-0123456789abcdef"}}), http.StatusBadRequest, "invalid_grant")
		wantTokenError(t, "the code after another client tried it", e.Token(url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {e.RP + "/cb"}, "code_verifier": {verifier}, "client_id": {"rp-public"}}),
			http.StatusBadRequest, "invalid_grant")
		// ROPC (AS-13).
		wantTokenError(t, "password grant", e.Token(url.Values{"grant_type": {"password"}, "username": {"ivy@example.test"},
			"password": {Password}, "client_id": {"rp-public"}}), http.StatusBadRequest, "unsupported_grant_type")
	})

	t.Run("prompt and max_age", func(t *testing.T) {
		e := e.T(t)
		fresh := NewBrowser(t)
		// OC-09: prompt=none without a session answers login_required at once, no UI.
		params, _ := AuthParams("rp-public", e.RP+"/cb", "openid")
		params.Set("prompt", "none")
		r := fresh.Do(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil)
		if r.Status != http.StatusFound {
			t.Fatalf("prompt=none without a session: %s", r)
		}
		if q := r.Location(t).Query(); q.Get("error") != "login_required" || q.Get("code") != "" ||
			q.Get("state") != params.Get("state") || q.Get("iss") != e.Issuer {
			t.Errorf("prompt=none without a session: %v", q)
		}
		e.PortalLogin(fresh, "ivy@example.test", Password)
		// OC-10: prompt=none with a session issues a code silently.
		if q := e.Authorize(fresh, params); q.Get("code") == "" {
			t.Errorf("prompt=none with a session: %v", q)
		}
		// OC-12: a generous max_age needs no new login.
		params, _ = AuthParams("rp-public", e.RP+"/cb", "openid")
		params.Set("max_age", "10000")
		if q := e.Authorize(fresh, params); q.Get("code") == "" {
			t.Errorf("max_age=10000 with a fresh session: %v", q)
		}
		// OC-08 and OC-11: prompt=login and max_age=0 show the login form again, and the
		// login completes the request (no loop back to the form).
		for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"0"}}, {"max_age": {"0"}, "prompt": {"consent"}}} {
			params, _ := AuthParams("rp-public", e.RP+"/cb", "openid")
			for k, v := range extra {
				params[k] = v
			}
			page := fresh.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, StopAt(e.RP))
			if page.Status != http.StatusOK || page.URL.Path != "/login" {
				t.Errorf("%v with a session: want the login form, got %s", extra, page)
				continue
			}
			r := e.SubmitLogin(fresh, page, "ivy@example.test", Password, StopAt(e.RP))
			if r.Status != http.StatusFound || r.Location(t).Query().Get("code") == "" {
				t.Errorf("%v: after logging in again, want a code, got %s (hops %v)", extra, r, r.Hops)
			}
			// The marker the login round trip uses cannot be forged by a client to skip the
			// re-authentication: an unsigned or mis-signed gh_login_after is ignored.
			for _, forged := range []string{"1", "1.AAAAAAAAAAAAAAAAAAAAAA", "99999999999"} {
				params.Set("gh_login_after", forged)
				page := fresh.Go(http.MethodGet, e.Issuer+"/authorize?"+params.Encode(), nil, StopAt(e.RP))
				if page.Status != http.StatusOK || page.URL.Path != "/login" {
					t.Errorf("%v with forged gh_login_after=%s: want the login form, got %s", extra, forged, page)
				}
			}
		}
	})

	t.Run("RP-initiated logout", func(t *testing.T) {
		// OC-27: /logout redirects only to a registered post_logout_redirect_uri, after the
		// user confirmed; a tampered id_token_hint is an error, not a logout.
		e := e.T(t)
		lb := NewBrowser(t)
		e.PortalLogin(lb, "ivy@example.test", Password)
		params, verifier := AuthParams("rp-public", e.RP+"/cb", "openid")
		code := e.Authorize(lb, params).Get("code")
		tr := e.Token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.RP + "/cb"},
			"code_verifier": {verifier}, "client_id": {"rp-public"}})
		if tr.Status != http.StatusOK {
			t.Fatalf("token: %s", tr)
		}
		tok := tr.JSON(t)
		idt := tok["id_token"].(string)
		_, _, parts := splitJWT(t, idt)
		tamperedHint := parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA"
		if r := lb.Do(http.MethodGet, e.Issuer+"/logout?id_token_hint="+tamperedHint+"&post_logout_redirect_uri="+
			url.QueryEscape(e.RP+"/bye"), nil); r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("tampered id_token_hint: %s", r)
		}
		// An unregistered target: the logout works, without a redirect.
		page := lb.Go(http.MethodGet, e.Issuer+"/logout?id_token_hint="+idt+"&post_logout_redirect_uri="+
			url.QueryEscape("https://evil.test/bye")+"&state=s1", nil, nil)
		if page.Status != http.StatusOK || strings.Contains(string(page.Body), "evil.test") {
			t.Errorf("logout page with an unregistered post_logout_redirect_uri: %s", page)
		}
		// The registered target, with state.
		page = lb.Go(http.MethodGet, e.Issuer+"/logout?id_token_hint="+idt+"&post_logout_redirect_uri="+
			url.QueryEscape(e.RP+"/bye")+"&state=s2", nil, nil)
		form := url.Values{"csrf_token": {FormField(t, page, csrfRe)}}
		for _, name := range []string{"client_id", "post_logout_redirect_uri", "state"} {
			form.Set(name, FormField(t, page, regexp.MustCompile(`name="`+name+`" value="([^"]*)"`)))
		}
		r := lb.Do(http.MethodPost, e.Issuer+"/logout", form)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != e.RP+"/bye?state=s2" {
			t.Errorf("RP-initiated logout: %s (Location %q)", r, r.Header.Get("Location"))
		}
		if r := e.Userinfo(tok["access_token"].(string)); r.Status != http.StatusUnauthorized {
			t.Errorf("access token after RP-initiated logout: %s", r)
		}
		// The hint no longer logs anyone in silently (PX-29).
		params, _ = AuthParams("rp-public", e.RP+"/cb", "openid")
		params.Set("prompt", "none")
		params.Set("id_token_hint", idt)
		if q := e.Authorize(lb, params); q.Get("error") != "login_required" {
			t.Errorf("prompt=none with the old hint after logout: %v", q)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		e := e.T(t)
		req := NewRequest(t, http.MethodGet, e.Issuer+"/.well-known/openid-configuration", nil)
		// PX-10: forwarded host headers do not change the metadata. (A Host naming another
		// site does not reach the portal at all: Caddy routes by Host.)
		req.Header.Set("X-Forwarded-Host", "evil.test")
		req.Header.Set("Forwarded", "host=evil.test;proto=https")
		r := Do(t, API, req)
		if r.Status != http.StatusOK || r.JSON(t)["issuer"] != e.Issuer || strings.Contains(string(r.Body), "evil.test") {
			t.Errorf("discovery with X-Forwarded-Host evil.test: %s", r)
		}
		var d struct {
			Issuer        string   `json:"issuer"`
			ResponseTypes []string `json:"response_types_supported"`
			PKCE          []string `json:"code_challenge_methods_supported"`
			Algs          []string `json:"id_token_signing_alg_values_supported"`
			IssParam      bool     `json:"authorization_response_iss_parameter_supported"`
		}
		if err := provider.Claims(&d); err != nil {
			t.Fatal(err)
		}
		if d.Issuer != e.Issuer || !slices.Equal(d.ResponseTypes, []string{"code"}) || !slices.Equal(d.PKCE, []string{"S256"}) ||
			slices.Contains(d.Algs, "none") || !d.IssParam {
			t.Errorf("discovery document: %+v (OC-25)", d)
		}
	})
}
