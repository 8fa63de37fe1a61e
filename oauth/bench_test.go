package oauth_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
)

// BenchmarkExchangeCode: one authorization-code redemption (durable code redemption, RS256
// access and ID tokens, refresh token stored) per iteration; the b.N codes are issued before
// the timer starts.
func BenchmarkExchangeCode(b *testing.B) {
	e := idptest.New(b, func(c *idp.Config) { c.AccessTokenAlg, c.IDTokenAlg = keys.RS256, keys.RS256 })
	v, ch := idptest.PKCE()
	sess := e.Session(sessions.Meta{})
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid", "email", "offline_access")
	req, _, oerr := e.P.ParseAuthRequest(e.Ctx, q)
	if oerr != nil {
		b.Fatal(oerr)
	}
	codes := make([]string, b.N)
	for i := range codes {
		c, err := e.P.OAuth.IssueCode(e.Ctx, req, sess)
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = c
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, oerr := e.P.OAuth.ExchangeCode(e.Ctx, e.Web, oauth.CodeGrant{Code: codes[i], RedirectURI: idptest.WebCB, Verifier: v}); oerr != nil {
			b.Fatal(oerr)
		}
	}
}

// BenchmarkRefreshGrant: one refresh-token rotation (durable rotation, RS256 access and ID
// tokens) per iteration, each using the previous iteration's refresh token.
func BenchmarkRefreshGrant(b *testing.B) {
	e := idptest.New(b, func(c *idp.Config) { c.AccessTokenAlg, c.IDTokenAlg = keys.RS256, keys.RS256 })
	resp, _ := e.Tokens("openid", "email", "offline_access")
	rt := resp.RefreshToken
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, oerr := e.P.OAuth.RefreshGrant(e.Ctx, e.Web, oauth.RefreshRequest{Token: rt})
		if oerr != nil {
			b.Fatal(oerr)
		}
		rt = r.RefreshToken
	}
}
