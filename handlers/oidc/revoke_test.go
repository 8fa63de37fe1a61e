package oidc

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// RFC 7009 §2.2: "invalid tokens do not cause an error response since the client cannot
// handle such an error in a reasonable way" → 200 for an unknown token; §2.1: the client
// authenticates (invalid_client 401 otherwise); §2.2.1: an unsupported token_type_hint →
// unsupported_token_type; a token of another client is refused (invalid_grant) and stays
// valid.
func TestRevokeErrors(t *testing.T) {
	e := newEnv(t)
	w := e.post(PathRevoke, url.Values{"token": {"no-such-token"}}, "web", idptest.WebSecret)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("unknown token: %d %q, want 200", w.Code, w.Body)
	}
	oauthError(t, e.post(PathRevoke, url.Values{"token": {"x"}}, "web", "wrong-secret-0123456789"), http.StatusUnauthorized, codeInvalidClient)
	oauthError(t, e.post(PathRevoke, url.Values{"token": {"x"}, "token_type_hint": {"id_token"}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeUnsupportedTokenType)
	oauthError(t, e.post(PathRevoke, url.Values{}, "web", idptest.WebSecret), http.StatusBadRequest, codeInvalidRequest)

	tok := e.tokens("openid", "offline_access")
	rt, _ := tok["refresh_token"].(string)
	oauthError(t, e.post(PathRevoke, url.Values{"token": {rt}}, "rp", "another-secret-of-16+"), http.StatusBadRequest, codeInvalidGrant)
	if out := e.introspect(rt, "web", idptest.WebSecret); out["active"] != true {
		t.Fatalf("another client's revocation touched the token: %v", out)
	}
}

// RFC 7009 §2.1: revoking a refresh token revokes it (and, as the server supports it, the
// access tokens of the same grant); revoking it again is still 200 (§2.2).
func TestRevokeRefreshToken(t *testing.T) {
	e := newEnv(t)
	tok := e.tokens("openid", "offline_access")
	rt, _ := tok["refresh_token"].(string)
	at, _ := tok["access_token"].(string)
	for i := 0; i < 2; i++ {
		if w := e.post(PathRevoke, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}, "web", idptest.WebSecret); w.Code != http.StatusOK {
			t.Fatalf("revoke #%d: %d %s", i+1, w.Code, w.Body)
		}
	}
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeInvalidGrant)
	if w := e.userinfo(at); w.Code != http.StatusUnauthorized {
		t.Fatalf("access token of a revoked grant at userinfo: %d", w.Code)
	}
}

// RFC 7009 §2.1: the server supports revoking access tokens too; token_type_hint is only a
// hint ("If the server is unable to locate the token using the given hint, it MUST extend
// its search across all of its supported token types"): a refresh token sent with the
// access_token hint is still revoked.
func TestRevokeWithHints(t *testing.T) {
	e := newEnv(t)
	tok := e.tokens("openid", "offline_access")
	at, _ := tok["access_token"].(string)
	rt, _ := tok["refresh_token"].(string)
	if w := e.post(PathRevoke, url.Values{"token": {at}, "token_type_hint": {"access_token"}}, "web", idptest.WebSecret); w.Code != http.StatusOK {
		t.Fatalf("revoke access token: %d %s", w.Code, w.Body)
	}
	if w := e.userinfo(at); w.Code != http.StatusUnauthorized {
		t.Fatalf("revoked access token at userinfo: %d", w.Code)
	}
	if w := e.post(PathRevoke, url.Values{"token": {rt}, "token_type_hint": {"access_token"}}, "web", idptest.WebSecret); w.Code != http.StatusOK {
		t.Fatalf("revoke refresh token with the access_token hint: %d %s", w.Code, w.Body)
	}
	oauthError(t, e.post(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "web", idptest.WebSecret),
		http.StatusBadRequest, codeInvalidGrant)
}
