package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
)

// The exactly-once guarantees must hold between Gatehouse instances, not only between
// goroutines of one: TestExactlyOnceAcrossProcesses runs this test binary a second time as
// a helper process, and both processes, each with several goroutines, try to redeem the
// same authorization code, rotate the same refresh token, burn the same one-time code and
// count the same failed login, item after item, at the same instants.
const (
	hammerEnv     = "GATEHOUSE_PG_HAMMER" // "schema|start (unix ns)", set for the helper
	hammerItems   = 300
	hammerWorkers = 4                    // goroutines per process
	hammerSlot    = 8 * time.Millisecond // every item is attacked at start + i*slot
	hammerCounter = "login:ada@example.com"
)

// hammerResult is what one process saw.
type hammerResult struct {
	// Wins counts, per kind and item, the operations of this process that succeeded.
	Wins map[string][]int `json:"wins"`
	// First and Last are, per kind and item, when this process's first attempt started
	// and its last ended (unix ns): two processes' attempts overlapping means they raced.
	First map[string][]int64 `json:"first"`
	Last  map[string][]int64 `json:"last"`
	// Counts are the values IncrementCounter returned to this process.
	Counts []int64 `json:"counts"`
	// Errors are unexpected errors.
	Errors []string `json:"errors"`
}

var hammerKinds = []string{"code", "refresh", "otp", "counter"}

func hammerCode(i int) string  { return fmt.Sprintf("code-%03d", i) }
func hammerToken(i int) string { return fmt.Sprintf("token-%03d", i) }
func hammerOTP(i int) string   { return fmt.Sprintf("otp-%03d", i) }
func hammerSuccessor(i, proc, w int) string {
	return fmt.Sprintf("%s-p%d-w%d", hammerToken(i), proc, w)
}

// hammer attacks every item from hammerWorkers goroutines of this process.
func hammer(s store.Store, proc int, start time.Time) hammerResult {
	ctx := context.Background()
	now := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	res := hammerResult{Wins: map[string][]int{}, First: map[string][]int64{}, Last: map[string][]int64{}}
	for _, k := range hammerKinds {
		res.Wins[k] = make([]int, hammerItems)
		res.First[k] = make([]int64, hammerItems)
		res.Last[k] = make([]int64, hammerItems)
	}
	var mu sync.Mutex
	record := func(kind string, i int, t0, t1 time.Time, won bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		if won {
			res.Wins[kind][i]++
		}
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s %d: %v", kind, i, err))
		}
		if f := res.First[kind][i]; f == 0 || t0.UnixNano() < f {
			res.First[kind][i] = t0.UnixNano()
		}
		res.Last[kind][i] = max(res.Last[kind][i], t1.UnixNano())
	}
	var wg sync.WaitGroup
	for w := range hammerWorkers {
		wg.Go(func() {
			for i := range hammerItems {
				time.Sleep(time.Until(start.Add(time.Duration(i) * hammerSlot)))

				t0 := time.Now()
				_, err := s.RedeemAuthCode(ctx, hammerCode(i), fmt.Sprintf("grant-p%d-w%d", proc, w), now)
				record("code", i, t0, time.Now(), err == nil, unexpected(err, store.ErrAlreadyUsed))

				t0 = time.Now()
				next := benchRefresh(hammerSuccessor(i, proc, w), fmt.Sprintf("fam-%03d", i))
				_, err = s.RotateRefreshToken(ctx, hammerToken(i), next, now)
				record("refresh", i, t0, time.Now(), err == nil, unexpected(err, store.ErrAlreadyUsed))

				t0 = time.Now()
				_, err = s.ConsumeOneTimeCode(ctx, hammerOTP(i))
				record("otp", i, t0, time.Now(), err == nil, unexpected(err, store.ErrNotFound))

				t0 = time.Now()
				v, _, err := s.IncrementCounter(ctx, hammerCounter, 1, time.Hour, now)
				record("counter", i, t0, time.Now(), false, err)
				if err == nil {
					mu.Lock()
					res.Counts = append(res.Counts, v)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return res
}

// unexpected returns err unless it is nil or the expected refusal.
func unexpected(err, refusal error) error {
	if err == nil || errors.Is(err, refusal) {
		return nil
	}
	return err
}

// TestExactlyOnceAcrossProcessesHelper is not a test: it is the second process of
// TestExactlyOnceAcrossProcesses.
func TestExactlyOnceAcrossProcessesHelper(t *testing.T) {
	spec := os.Getenv(hammerEnv)
	if spec == "" {
		t.Skip("helper process of TestExactlyOnceAcrossProcesses")
	}
	schema, startNS, _ := strings.Cut(spec, "|")
	ns, err := strconv.ParseInt(startNS, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(context.Background(), postgres.Options{DSN: testDSN(), Schema: schema, MaxConns: hammerWorkers, SkipMigrations: true})
	if err != nil {
		fmt.Printf("HAMMER-ERROR %v\n", err)
		return
	}
	defer s.Close()
	out, _ := json.Marshal(hammer(s, 1, time.Unix(0, ns)))
	fmt.Printf("HAMMER-RESULT %s\n", out)
}

// TestExactlyOnceAcrossProcesses: two processes — two Gatehouse instances on one database
// — attack every single-use item at the same instants, each from several goroutines. For
// every item exactly one attempt in the two processes wins (one code redemption, one
// refresh rotation with exactly one successor stored, one one-time code consumption), and
// the shared failed-login counter loses no increment: the values handed out across both
// processes are exactly 1..n, each once.
func TestExactlyOnceAcrossProcesses(t *testing.T) {
	opts := testOptions(t)
	opts.MaxConns = hammerWorkers
	s := openTest(t, opts)
	ctx := t.Context()
	now := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	seed := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < hammerItems; i += 8 {
				code := store.AuthCode{ID: hammerCode(i), ClientID: "app", UserID: "u1", CreatedAt: now,
					ExpiresAt: now.Add(time.Minute), PurgeAfter: now.Add(time.Hour)}
				otp := store.OneTimeCode{ID: hammerOTP(i), Purpose: "email_code", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				for _, err := range []error{
					s.CreateAuthCode(ctx, code),
					s.CreateRefreshToken(ctx, benchRefresh(hammerToken(i), fmt.Sprintf("fam-%03d", i))),
					s.CreateOneTimeCode(ctx, otp),
				} {
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("seeded %d items in %v", hammerItems, time.Since(seed).Round(time.Millisecond))

	// Both processes start at the same instant, far enough ahead for the helper to open
	// its store.
	start := time.Now().Add(1500 * time.Millisecond)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestExactlyOnceAcrossProcessesHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d", hammerEnv, opts.Schema, start.UnixNano()))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	helperOut := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stdout)
		helperOut <- string(b)
	}()
	mine := hammer(s, 0, start)
	out := <-helperOut
	t.Logf("attacked in %v", time.Since(start).Round(time.Millisecond))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	var theirs hammerResult
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "HAMMER-RESULT "); ok {
			if err := json.Unmarshal([]byte(line), &theirs); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no result from the helper process:\n%s", out)
	}

	for _, e := range append(mine.Errors, theirs.Errors...) {
		t.Errorf("unexpected error: %s", e)
	}
	for _, kind := range []string{"code", "refresh", "otp"} {
		raced := 0
		for i := range hammerItems {
			if w := mine.Wins[kind][i] + theirs.Wins[kind][i]; w != 1 {
				t.Errorf("%s %d: %d winners across the two processes (%d here, %d in the helper), want exactly 1",
					kind, i, w, mine.Wins[kind][i], theirs.Wins[kind][i])
			}
			if mine.First[kind][i] < theirs.Last[kind][i] && theirs.First[kind][i] < mine.Last[kind][i] {
				raced++
			}
		}
		t.Logf("%s: %d of %d items attacked by both processes at overlapping times", kind, raced, hammerItems)
		// The slots make nearly every item a race; a loaded machine can stretch them.
		if raced < hammerItems/10 {
			t.Errorf("%s: only %d of %d items were attacked by both processes at once: the test proved little", kind, raced, hammerItems)
		}
	}
	// Exactly one successor per rotated token.
	for i := range hammerItems {
		stored := 0
		for proc := range 2 {
			for w := range hammerWorkers {
				_, err := s.GetRefreshToken(ctx, hammerSuccessor(i, proc, w))
				switch {
				case err == nil:
					stored++
				case !errors.Is(err, store.ErrNotFound):
					t.Fatal(err)
				}
			}
		}
		if stored != 1 {
			t.Errorf("token %d: %d successors stored, want 1", i, stored)
		}
	}
	// No increment lost, none counted twice.
	counts := append(mine.Counts, theirs.Counts...)
	slices.Sort(counts)
	total := 2 * hammerWorkers * hammerItems
	if len(counts) != total {
		t.Fatalf("%d increments returned, want %d", len(counts), total)
	}
	for i, v := range counts {
		if v != int64(i+1) {
			t.Fatalf("increment values are not 1..%d, each once: position %d holds %d", total, i, v)
		}
	}
	if v, _, err := s.GetCounter(ctx, hammerCounter, now); err != nil || v != int64(total) {
		t.Fatalf("counter (%d, %v), want %d", v, err, total)
	}
}

// benchRefresh is a refresh token of a family, as the token endpoint stores it.
func benchRefresh(id, family string) store.RefreshToken {
	now := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	return store.RefreshToken{ID: id, FamilyID: family, ClientID: "app", UserID: "u1", SessionID: "s1",
		Scopes: []string{"openid", "offline_access"}, AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(24 * time.Hour), FamilyExpiresAt: now.Add(30 * 24 * time.Hour)}
}
