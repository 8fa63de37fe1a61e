package protect

import (
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkProtectBearerCachedMaxAge: BenchmarkProtectBearerCached on a route with max_age 1h
// and a header profile's four headers (grafana's) instead of the defaults: the age check is
// one comparison per request, the headers are rendered once per credential.
func BenchmarkProtectBearerCachedMaxAge(b *testing.B) {
	e := newEnv(b)
	g := maxAgeGuard(e, time.Hour, benchRule)
	g.Headers = mustCompile(b, []HeaderSpec{{Name: "X-Webauth-User", Template: "{gatehouse.user.id}"},
		{Name: "X-Webauth-Email", Template: "{gatehouse.user.email}"}, {Name: "X-Webauth-Name", Template: "{gatehouse.user.name}"},
		{Name: "X-Webauth-Groups", Template: "{gatehouse.user.groups}"}})
	if err := g.Init(); err != nil {
		b.Fatal(err)
	}
	resp, _ := e.login("openid", "email", "read")
	authz := []string{"Bearer " + resp.AccessToken}
	r := benchRequest()
	w := httptest.NewRecorder()
	r.Header["Authorization"] = authz
	if g.Serve(w, r) == nil {
		b.Fatalf("control request refused: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Header["Authorization"] = authz
		if g.Serve(w, r) == nil {
			b.Fatal("refused")
		}
	}
}
