package badger_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/badger"
)

// Benchmarks run on disk with SyncWrites, so the write benchmarks measure the fsync
// latency of the machine: run them on the target hardware.

var benchNow = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

func benchStore(b *testing.B) *badger.Store {
	b.Helper()
	s, err := badger.Open(badger.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchUser(i int) store.User {
	return store.User{
		ID:            fmt.Sprintf("usr_%016x", i),
		Email:         fmt.Sprintf("user%d@example.com", i),
		EmailVerified: true,
		FirstName:     "Ada",
		LastName:      "Lovelace",
		Groups:        []string{"staff"},
		CreatedAt:     benchNow,
		UpdatedAt:     benchNow,
	}
}

func benchSession(i int, userID string) store.Session {
	return store.Session{
		ID:                fmt.Sprintf("%064x", i), // a hex SHA-256, like the real IDs
		UserID:            userID,
		AuthTime:          benchNow,
		AMR:               []string{"pwd"},
		CreatedAt:         benchNow,
		LastSeenAt:        benchNow,
		IdleExpiresAt:     benchNow.Add(time.Hour),
		AbsoluteExpiresAt: benchNow.Add(24 * time.Hour),
		UserAgent:         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
		IP:                "192.0.2.1",
	}
}

func benchToken(i int) store.RefreshToken {
	return store.RefreshToken{
		ID:              fmt.Sprintf("%064x", i),
		FamilyID:        "fam-1",
		ClientID:        "app",
		UserID:          "usr_1",
		SessionID:       "sess_1",
		Scopes:          []string{"openid", "offline_access"},
		AuthTime:        benchNow,
		CreatedAt:       benchNow,
		ExpiresAt:       benchNow.Add(24 * time.Hour),
		FamilyExpiresAt: benchNow.Add(30 * 24 * time.Hour),
	}
}

func BenchmarkGetUser(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	const n = 1000
	for i := range n {
		if err := s.CreateUser(ctx, benchUser(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.GetUser(ctx, benchUser(i%n).ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetSession(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	const n = 1000
	for i := range n {
		if err := s.CreateSession(ctx, benchSession(i, "usr_1")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.GetSession(ctx, benchSession(i%n, "usr_1").ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateSession(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.CreateSession(ctx, benchSession(i, "usr_1")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateSessionParallel shows badger's group commit: concurrent writers share
// an fsync.
func BenchmarkCreateSessionParallel(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.CreateSession(ctx, benchSession(int(next.Add(1)), "usr_1")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRedeemAuthCode(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		id := fmt.Sprintf("%064x", i)
		if err := s.CreateAuthCode(ctx, store.AuthCode{
			ID: id, ClientID: "app", RedirectURI: "https://app.example/cb", UserID: "usr_1", SessionID: "sess_1",
			Scopes: []string{"openid"}, AuthTime: benchNow, CreatedAt: benchNow,
			ExpiresAt: benchNow.Add(time.Minute), PurgeAfter: benchNow.Add(time.Hour),
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.RedeemAuthCode(ctx, id, "grant", benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	if err := s.CreateRefreshToken(ctx, benchToken(0)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.RotateRefreshToken(ctx, benchToken(i).ID, benchToken(i+1), benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrementCounter(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.IncrementCounter(ctx, "login:ada@example.com", 1, time.Hour, benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListRevocations(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	for i := range 200 {
		if err := s.AddRevocation(ctx, store.Revocation{
			Kind: store.RevokeSession, Subject: fmt.Sprintf("%064x", i),
			At: benchNow, ExpiresAt: benchNow.Add(time.Hour),
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if l, err := s.ListRevocations(ctx, benchNow.Add(-time.Minute), benchNow); err != nil || len(l) != 200 {
			b.Fatal(len(l), err)
		}
	}
}

// BenchmarkMemory reports the memory of an open store: empty, then with 100k users and
// 100k sessions. Run it alone, in its own process, for meaningful numbers:
//
//	go test ./store/badger -run '^$' -bench Memory -benchtime 1x
//
// Metrics: RSS (total, anonymous, file-backed: badger mmaps its tables and memtable
// logs, and the kernel can drop clean file pages under pressure) and the live Go heap
// after a GC; "100k" right after the bulk insert (compactions running), "settled" 20 s
// later, "reopened" after Close and Open (the idle footprint of a restarted server).
func BenchmarkMemory(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		base := readMem(b)

		dir := b.TempDir()
		s, err := badger.Open(badger.Options{Path: dir})
		if err != nil {
			b.Fatal(err)
		}
		empty := readMem(b)

		const n = 100_000
		ctx := context.Background()
		start := time.Now()
		parallel(b, n, func(i int) error { return s.CreateUser(ctx, benchUser(i)) })
		parallel(b, n, func(i int) error { return s.CreateSession(ctx, benchSession(i, benchUser(i).ID)) })
		elapsed := time.Since(start)
		// Touch the data the way a running server would.
		for i := 0; i < n; i += 97 {
			if _, err := s.GetUser(ctx, benchUser(i).ID); err != nil {
				b.Fatal(err)
			}
			if _, err := s.GetSession(ctx, benchSession(i, "").ID); err != nil {
				b.Fatal(err)
			}
		}
		full := readMem(b)
		// Badger pools its table-builder buffers and frees one every 2 s once compactions
		// stop; give it time to settle to the idle footprint of a loaded server.
		time.Sleep(20 * time.Second)
		settled := readMem(b)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		reopened, err := badger.Open(badger.Options{Path: dir})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i += 97 {
			if _, err := reopened.GetSession(ctx, benchSession(i, "").ID); err != nil {
				b.Fatal(err)
			}
		}
		again := readMem(b)
		_ = reopened.Close()

		b.ReportMetric(base.rss, "MB-rss-before-open")
		b.ReportMetric(empty.rss, "MB-rss-empty")
		b.ReportMetric(empty.heap, "MB-heap-empty")
		b.ReportMetric(full.rss, "MB-rss-100k")
		b.ReportMetric(full.anon, "MB-rss-anon-100k")
		b.ReportMetric(full.file, "MB-rss-file-100k")
		b.ReportMetric(full.heap, "MB-heap-100k")
		b.ReportMetric(settled.rss, "MB-rss-settled-100k")
		b.ReportMetric(settled.heap, "MB-heap-settled-100k")
		b.ReportMetric(again.rss, "MB-rss-reopened-100k")
		b.ReportMetric(again.heap, "MB-heap-reopened-100k")
		b.ReportMetric(float64(2*n)/elapsed.Seconds(), "inserts/s")
	}
}

// parallel calls fn(0..n-1) from 32 goroutines (concurrent writers share fsyncs).
func parallel(b *testing.B, n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

type memSample struct{ rss, anon, file, heap float64 }

// readMem returns the process RSS (Linux /proc) and the live heap after a GC, in MB.
func readMem(b *testing.B) memSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := memSample{heap: float64(ms.HeapAlloc) / (1 << 20)}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status: RSS not measurable here")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			out.rss = kb / 1024
		case "RssAnon:":
			out.anon = kb / 1024
		case "RssFile:":
			out.file = kb / 1024
		}
	}
	return out
}
