package protect

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// BenchmarkProtectAssertionCached: BenchmarkProtectBearerCached on a route with `assertion`:
// the client repeats a request, so the assertion comes from the identity's cache.
func BenchmarkProtectAssertionCached(b *testing.B) {
	benchAssertion(b, false)
}

// BenchmarkProtectAssertionSigned: every request has a new path, so every request signs an
// assertion (Ed25519): the worst case, the cost of signing per request.
func BenchmarkProtectAssertionSigned(b *testing.B) {
	benchAssertion(b, true)
}

func benchAssertion(b *testing.B, unique bool) {
	e, g, _, _ := assertEnv(b, 2*time.Minute)
	resp, _ := e.login("openid", "email", "read")
	authz := []string{"Bearer " + resp.AccessToken}
	r := benchRequest()
	w := httptest.NewRecorder()
	r.Header["Authorization"] = authz
	if g.Serve(w, r) == nil {
		b.Fatalf("control request refused: %d %s", w.Code, w.Body)
	}
	paths := make([]string, 4096)
	for i := range paths {
		paths[i] = "/docs/page" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if unique {
			r.URL.Path = paths[i%len(paths)]
			i++ // an identity keeps 32 assertions: a path comes back long after it was dropped
		}
		r.Header["Authorization"] = authz
		if g.Serve(w, r) == nil {
			b.Fatal("refused")
		}
	}
}
