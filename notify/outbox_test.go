package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
)

// TestOutbox: the development sender creates its directory (0700) and file (0600: the file
// holds login codes), appends one readable block per message with time, channel, kind,
// recipient, subject and body, and logs one INFO line with the body, so the quickstart shows
// the code in Caddy's log.
func TestOutbox(t *testing.T) {
	var logs bytes.Buffer
	path := filepath.Join(t.TempDir(), "state", "gatehouse", "outbox.txt")
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	o := &notify.Outbox{Path: path, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }}
	if err := o.SendEmail(context.Background(), notify.Email{To: "alice@example.com", Subject: "Your code", Text: "Your code is 246810\n", HTML: "<p>246810</p>", Kind: "login_code"}); err != nil {
		t.Fatal(err)
	}
	if err := o.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: "135791 is your code", Kind: "verify_phone"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "=== 2026-01-02T15:04:05Z email login_code\nTo: alice@example.com\nSubject: Your code\n\nYour code is 246810\n\n(an HTML alternative of 13 bytes was sent too)\n\n" +
		"=== 2026-01-02T15:04:05Z sms verify_phone\nTo: +14155550123\n\n135791 is your code\n\n"
	if string(data) != want {
		t.Errorf("outbox file:\n%s\nwant:\n%s", data, want)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), mode)
		}
	}
	out := logs.String()
	if strings.Count(out, "level=INFO") != 2 || !strings.Contains(out, "246810") || !strings.Contains(out, "135791") ||
		!strings.Contains(out, "kind=login_code") || !strings.Contains(out, "to=alice@example.com") {
		t.Errorf("log:\n%s", out)
	}
}

// TestOutboxConcurrent: an email and an SMS outbox sharing one file, written from many
// goroutines, leave every block whole (one append per block).
func TestOutboxConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.txt")
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	email := &notify.Outbox{Path: path, Logger: quiet}
	sms := &notify.Outbox{Path: path, Logger: quiet}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			body := strings.Repeat(fmt.Sprintf("line %d\n", i), 50)
			if err := email.SendEmail(context.Background(), notify.Email{To: "a@example.com", Subject: "s", Text: body, Kind: "k"}); err != nil {
				t.Error(err)
			}
			if err := sms.SendSMS(context.Background(), notify.SMS{To: "+14155550123", Body: body, Kind: "k"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	data, _ := os.ReadFile(path)
	blocks := strings.Split(string(data), "=== ")[1:]
	if len(blocks) != 100 {
		t.Fatalf("%d blocks, want 100", len(blocks))
	}
	for _, b := range blocks {
		lines := strings.Split(strings.TrimSpace(b), "\n")
		body := lines[len(lines)-50:]
		for _, l := range body {
			if l != body[0] {
				t.Fatalf("interleaved block:\n%s", b)
			}
		}
	}
}
