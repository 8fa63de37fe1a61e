package adminv1_test

import (
	"context"
	"encoding/json"
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
// like `benchtool seed` (every user in group staff, with an external user ID; one in 1000
// also in ops, one in 7 has the role auditor, one in 500 is disabled). ns/op is the latency
// of one request. Each filter of the issue ("users by
// email/name/group/role/external_user_id/disabled") has a rare and, where it means
// something, a common case: a rare value must not cost a scan of the users.
func BenchmarkListUsers(b *testing.B) {
	s := benchstore.Open(b)
	seedUsers(b, s, benchUsers)
	benchstore.Settle(b, s)
	e := newEnvOn(b, s)
	for _, bc := range []struct {
		name, query string
		want        int // items on the page
	}{
		{"first_page_100", "/users", 100},
		{"deep_page_100", "/users?after=benchuser000000050000", 100},
		{"page_1000", "/users?limit=1000", 1000},
		{"email", "/users?email=user77777@bench.test", 1},
		{"external_user_id", "/users?external_user_id=ext77777", 1},
		// 100 members in 100k: the page holds all of them, the store reads no other user.
		{"group_rare", "/users?group=ops&limit=10", 10},
		{"group_common", "/users?group=staff", 100},
		{"role", "/users?role=auditor", 100},
		{"disabled_true", "/users?disabled=true&limit=10", 10},
		{"disabled_false", "/users?disabled=false", 100},
		{"group_role_disabled", "/users?group=ops&role=auditor&disabled=false&limit=10", 10},
		{"name_common", "/users?name=bench", 100},
		// One user in 100k has this name (LastName 77777 ... the first match is 77777).
		{"name_rare", "/users?name=77777&limit=10", 1},
		{"group_name", "/users?group=ops&name=7&limit=10", 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				w := e.adminCall("GET", bc.query, "")
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", bc.query, w.Code, w.Body)
				}
				var page struct{ Items []json.RawMessage }
				if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Items) != bc.want {
					b.Fatalf("%s: %d items (want %d), %v", bc.query, len(page.Items), bc.want, err)
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
				var roles []string
				if i%7 == 0 {
					roles = []string{"auditor"}
				}
				u := store.User{ID: fmt.Sprintf("benchuser%012d", i), Email: fmt.Sprintf("user%d@bench.test", i), FirstName: "Bench",
					LastName: fmt.Sprint(i), Groups: groups, Roles: roles, ExternalUserID: fmt.Sprintf("ext%d", i),
					Disabled: i%500 == 1, CreatedAt: now, UpdatedAt: now}
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
