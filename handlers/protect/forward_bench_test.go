package protect

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkForwardAuthBearerCached is BenchmarkProtectBearerCached through ForwardAuth: the
// subrequest's headers read, the original request rebuilt (a clone), the Guard's answer
// recorded and the identity headers copied to the answer.
func BenchmarkForwardAuthBearerCached(b *testing.B) {
	e := newEnv(b)
	f := &ForwardAuth{Guard: e.guard(benchRule), Trusted: func(*http.Request) bool { return true }}
	resp, _ := e.login("openid", "email", "read")
	r := fwdRequest(http.MethodGet, "/docs/page")
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	f.Serve(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("control request refused: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		f.Serve(w, r)
		if w.Code != http.StatusOK {
			b.Fatal("refused")
		}
	}
}
