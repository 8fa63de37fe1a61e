package oauth_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store/badger"
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

// BenchmarkClientCredentials: one client_credentials grant end to end (client
// authentication with its attempt limit, then an access token signed with each algorithm)
// per iteration, on a durable Badger store (synced writes). It reports the lockout-counter
// writes per grant and, where /proc/self/io is readable, the bytes the process made the
// kernel write to storage per grant.
func BenchmarkClientCredentials(b *testing.B) {
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256} {
		b.Run(alg, func(b *testing.B) {
			s, err := badger.Open(badger.Options{Path: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			cs := &idptest.CountingStore{Store: s}
			e := idptest.NewOn(b, s, nil, func(c *idp.Config) { c.AccessTokenAlg = alg; c.ClientMaxFailures = 10 })
			e.Swap(cs)
			e.Web.GrantTypes = append(e.Web.GrantTypes, oauth.GrantClientCredentials)
			req := oauth.ClientCredentialsRequest{Scopes: []string{"read"}}
			w0, io0 := cs.CounterWrites(), ioWriteBytes()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, oerr := e.P.OAuth.AuthenticateClient(e.Ctx, "web", idptest.WebSecret, true, "192.0.2.1")
				if oerr != nil {
					b.Fatal(oerr)
				}
				if _, oerr := e.P.OAuth.ClientCredentialsGrant(e.Ctx, c, req); oerr != nil {
					b.Fatal(oerr)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cs.CounterWrites()-w0)/float64(b.N), "counter-writes/op")
			if io0 >= 0 {
				b.ReportMetric(float64(ioWriteBytes()-io0)/float64(b.N), "io-write-B/op")
			}
		})
	}
}

// ioWriteBytes is write_bytes of /proc/self/io (bytes sent to the storage layer), or -1.
func ioWriteBytes() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
