package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// BenchmarkPages measures the console's pages server side (the handler, its in-process API
// calls on the memory store, rendering), with 1000 users besides the administrator; p50-ns
// and p90-ns are the median and 90th percentile of one page load.
//
//	go test ./handlers/console/ -run '^$' -bench Pages -benchtime 200x
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	for i := range 1000 {
		if _, err := e.P.Accounts.Create(e.Ctx, idp.NewUser{Email: fmt.Sprintf("u%04d@example.com", i), Groups: []string{"staff"}, EmailVerified: true}); err != nil {
			b.Fatal(err)
		}
	}
	br := e.as(b, e.admin, "pwd", "mfa")
	cookies := br.Client.Jar.Cookies(mustURL(e.Srv.URL + "/"))
	for _, p := range []string{"/admin/", "/admin/users", "/admin/users?name=u05", "/admin/users/" + e.User.ID, "/admin/clients", "/admin/groups", "/admin/audit", "/admin/settings", "/admin/templates", "/admin/providers", "/admin/roles"} {
		b.Run(p, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for b.Loop() {
				r := httptest.NewRequest("GET", p, nil)
				for _, c := range cookies {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				t0 := time.Now()
				e.Mux.ServeHTTP(w, r)
				d = append(d, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", p, w.Code)
				}
			}
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2]), "p50-ns")
			b.ReportMetric(float64(d[len(d)*9/10]), "p90-ns")
		})
	}
}
