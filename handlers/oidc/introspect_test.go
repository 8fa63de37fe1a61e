package oidc

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// introspect calls POST /introspect as client id and returns the decoded answer.
func (e *env) introspect(token, id, secret string) map[string]any {
	e.T.Helper()
	return decode(e.T, e.post(PathIntrospect, url.Values{"token": {token}}, id, secret))
}

// RFC 7662 §2.1: the endpoint requires client authentication (a public client's client_id
// is none: invalid_client 401); §2.2: a token that is unknown, or that the caller may not
// see, is just {"active": false}, revealing nothing else.
func TestIntrospectErrors(t *testing.T) {
	e := newEnv(t)
	oauthError(t, e.post(PathIntrospect, url.Values{"token": {"x"}, "client_id": {"cli"}}, "", ""), http.StatusUnauthorized, codeInvalidClient)
	oauthError(t, e.post(PathIntrospect, url.Values{"token": {"x"}}, "web", "wrong-secret-0123456789"), http.StatusUnauthorized, codeInvalidClient)

	w := e.post(PathIntrospect, url.Values{"token": {"no-such-token"}}, "web", idptest.WebSecret)
	if w.Code != http.StatusOK || w.Body.String() != `{"active":false}`+"\n" && w.Body.String() != `{"active":false}` {
		t.Fatalf("unknown token: %d %q", w.Code, w.Body)
	}
	at, _ := e.tokens("openid")["access_token"].(string)
	if out := e.introspect(at, "rp", "another-secret-of-16+"); out["active"] != false || len(out) != 1 {
		t.Fatalf("another client's access token: %v", out)
	}
}

// RFC 7662 §2.2: an active token's answer has active true and the token's scope,
// client_id, sub, exp, iss.
func TestIntrospectActive(t *testing.T) {
	e := newEnv(t)
	at, _ := e.tokens("openid", "email")["access_token"].(string)
	out := e.introspect(at, "web", idptest.WebSecret)
	if out["active"] != true || out["scope"] != "openid email" || out["client_id"] != "web" || out["sub"] != e.User.ID ||
		out["iss"] != idptest.Issuer {
		b, _ := json.Marshal(out)
		t.Fatalf("introspection %s", b)
	}
	if exp, _ := out["exp"].(float64); exp <= float64(e.Clock.Now().Unix()) {
		t.Fatalf("exp %v", out["exp"])
	}
}
