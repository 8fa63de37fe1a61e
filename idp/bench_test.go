package idp_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/keys"
)

// BenchmarkExchangeCode: one authorization-code redemption (durable code redemption, RS256
// access and ID tokens, refresh token stored) per iteration; the b.N codes are issued before
// the timer starts.
func BenchmarkExchangeCode(b *testing.B) {
	e := newEnv(b, func(c *idp.Config) { c.AccessTokenAlg, c.IDTokenAlg = keys.RS256, keys.RS256 })
	v, ch := pkce()
	sess := e.session(idp.SessionMeta{})
	q := authQuery("web", webCB, ch, "openid", "email", "offline_access")
	req, _, oerr := e.p.ParseAuthRequest(e.ctx, q)
	if oerr != nil {
		b.Fatal(oerr)
	}
	codes := make([]string, b.N)
	for i := range codes {
		c, err := e.p.IssueCode(e.ctx, req, sess)
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = c
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, oerr := e.p.ExchangeCode(e.ctx, e.web, codes[i], webCB, v); oerr != nil {
			b.Fatal(oerr)
		}
	}
}

// BenchmarkRefreshGrant: one refresh-token rotation (durable rotation, RS256 access and ID
// tokens) per iteration, each using the previous iteration's refresh token.
func BenchmarkRefreshGrant(b *testing.B) {
	e := newEnv(b, func(c *idp.Config) { c.AccessTokenAlg, c.IDTokenAlg = keys.RS256, keys.RS256 })
	resp, _ := e.tokens("openid", "email", "offline_access")
	rt := resp.RefreshToken
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, oerr := e.p.RefreshGrant(e.ctx, e.web, rt, "")
		if oerr != nil {
			b.Fatal(oerr)
		}
		rt = r.RefreshToken
	}
}

// BenchmarkUserClaims: building the ID-token / userinfo claims of a user for the openid
// profile email scopes.
func BenchmarkUserClaims(b *testing.B) {
	e := newEnv(b)
	scopes := []string{"openid", "profile", "email"}
	b.ReportAllocs()
	for b.Loop() {
		if c := e.p.UserClaims(e.user, scopes); c["sub"] == nil {
			b.Fatal("no sub")
		}
	}
}
