package adminv1_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/bench/benchstore"
	"github.com/gatehouse-dev/gatehouse/store"
)

// benchUsers is the store size of the listing benchmark (issue 18: "the admin API's list
// latency with 100k users").
const benchUsers = 100_000

// BenchmarkListUsers measures GET /api/admin/v1/users through the whole handler
// (authentication by token, store read, JSON) with 100k users in the store of
// bench/benchstore (Badger on disk, or PostgreSQL with GATEHOUSE_BENCH_STORE=postgres), seeded
// like `benchtool seed` (every user in group staff; one in 1000 also in ops). ns/op is the
// latency of one request.
func BenchmarkListUsers(b *testing.B) {
	s := benchstore.Open(b)
	seedUsers(b, s, benchUsers)
	e := newEnvOn(b, s)
	for _, bc := range []struct{ name, query string }{
		{"first_page_100", "/users"},
		{"deep_page_100", "/users?after=benchuser000000050000"},
		{"page_1000", "/users?limit=1000"},
		{"email", "/users?email=user77777@bench.test"},
		// A filter matching one user in 1000: each request scans up to 20 000 users.
		{"group_filter_scan", "/users?group=ops&limit=10"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if w := e.adminCall("GET", bc.query, ""); w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", bc.query, w.Code, w.Body)
				}
			}
		})
	}
}

func seedUsers(b *testing.B, s store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	start := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	const workers = 32
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				groups := []string{"staff"}
				if i%1000 == 0 {
					groups = append(groups, "ops")
				}
				u := store.User{ID: fmt.Sprintf("benchuser%012d", i), Email: fmt.Sprintf("user%d@bench.test", i), FirstName: "Bench",
					LastName: fmt.Sprint(i), Groups: groups, CreatedAt: now, UpdatedAt: now}
				if err := s.CreateUser(ctx, u); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		b.Fatal(ferr)
	}
	b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
}
