package audit_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/store/badger"
)

// BenchmarkTrailRecordBadger: what one audit event costs a request with the store sink on
// an on-disk Badger store (SyncWrites: one fsync per event), the log sink off. A password
// login records one event (login.succeeded); compare with the ~25 ms of argon2id it
// already costs per core.
func BenchmarkTrailRecordBadger(b *testing.B) {
	s, err := badger.Open(badger.Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tr := &audit.Trail{Store: s, Retain: audit.DefaultRetain}
	ctx := audit.WithIP(b.Context(), "192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		tr.Record(ctx, audit.Event{Type: audit.LoginSucceeded, Actor: "u1", UserID: "u1", Method: "password",
			Details: map[string]string{"amr": "pwd"}})
	}
}
