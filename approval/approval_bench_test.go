package approval_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/approval"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
)

// BenchmarkParse: reading, validating and hashing one approval_data parameter.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tx, err := approval.Parse(payment)
		if err != nil {
			b.Fatal(err)
		}
		_ = tx.Hash()
	}
}

// BenchmarkPasskeyApproval: the server's side of one passkey approval (store/memory):
// Begin (nonce, challenge, ceremony stored) and Finish (ceremony consumed, assertion
// verified by go-webauthn, signature counter stored). The authenticator's signing is
// outside the timer.
func BenchmarkPasskeyApproval(b *testing.B) {
	e := newApprovalEnv(b)
	tx := mustParse(b, payment)
	b.ReportAllocs()
	for b.Loop() {
		c, err := e.a.Begin(e.Ctx, tx, e.User, "flow")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		opts, _ := json.Marshal(c.Options)
		resp, err := e.auth.Get(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.a.Finish(e.Ctx, tx, e.User, "flow", c.Secret, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushOpenClose: a pushed authorization request's life in the store (RFC 9126):
// Push, the browser's OpenPushed, and the ClosePushed of the answer.
func BenchmarkPushOpenClose(b *testing.B) {
	e := idptest.New(b)
	_, ch := idptest.PKCE()
	q := idptest.AuthQuery("web", idptest.WebCB, ch, "openid")
	q.Set("approval_data", payment)
	b.ReportAllocs()
	for b.Loop() {
		pr, oerr := e.P.OAuth.Push(e.Ctx, e.Web, q)
		if oerr != nil {
			b.Fatal(oerr)
		}
		p, oerr := e.P.OAuth.OpenPushed(e.Ctx, "web", pr.RequestURI, "browser-secret-0123456789abcdef0123")
		if oerr != nil || p.Params.Get("approval_data") != payment {
			b.Fatal(oerr)
		}
		if oerr := e.P.OAuth.ClosePushed(e.Ctx, pr.RequestURI); oerr != nil {
			b.Fatal(oerr)
		}
	}
}
