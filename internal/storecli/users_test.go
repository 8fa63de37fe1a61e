package storecli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

func populatedMemory(t *testing.T) *memory.Store {
	t.Helper()
	s := memory.New()
	if err := storetest.Populate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// userRecords returns the records a users file carries: users, passwords, passkeys,
// identities and app credentials.
func userRecords(t *testing.T, d store.Dumper) []store.Record {
	t.Helper()
	all, err := storetest.DumpAll(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Record
	for _, r := range all {
		switch r.Kind {
		case store.KindUser, store.KindPassword, store.KindPasskey, store.KindIdentity, store.KindAppCred:
			out = append(out, r)
		}
	}
	return out
}

// TestExportImportRoundTrip: exported users imported into an empty store are the same
// users, with their passwords, passkeys and identities, and export again to the same file.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := t.Context()
	src := populatedMemory(t)
	var file bytes.Buffer
	n, err := Export(ctx, src, &file)
	if err != nil || n != 3 {
		t.Fatalf("export: %d, %v", n, err)
	}
	if lines := strings.Count(file.String(), "\n"); lines != 3 || !strings.HasPrefix(file.String(), `{"v":1,"id":"u1"`) {
		t.Fatalf("file:\n%s", file.String())
	}
	dst := memory.New()
	res, err := Import(ctx, dst, bytes.NewReader(file.Bytes()), ImportOptions{})
	if err != nil || res.Created != 3 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	got, want := userRecords(t, dst), userRecords(t, src)
	if len(got) != len(want) || len(want) != 7 {
		t.Fatalf("imported %d records, want %d (7)", len(got), len(want))
	}
	for i := range want {
		if !equalRecord(got[i], want[i]) {
			t.Fatalf("record %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
	var again bytes.Buffer
	if _, err := Export(ctx, dst, &again); err != nil || again.String() != file.String() {
		t.Fatalf("second export differs (%v):\n%s\n---\n%s", err, again.String(), file.String())
	}
	// Importing again refuses the existing users, and --update replaces them.
	res, err = Import(ctx, dst, bytes.NewReader(file.Bytes()), ImportOptions{})
	if !errors.Is(err, ErrInvalidLines) || len(res.Errors) != 3 || !strings.Contains(res.Errors[0].Error(), "--update") {
		t.Fatalf("import over existing users: %+v, %v", res, err)
	}
	res, err = Import(ctx, dst, bytes.NewReader(file.Bytes()), ImportOptions{Update: true})
	if err != nil || res.Updated != 3 {
		t.Fatalf("import --update: %+v, %v", res, err)
	}
}

func equalRecord(a, b store.Record) bool {
	var x, y bytes.Buffer
	_ = jsonEncode(&x, a)
	_ = jsonEncode(&y, b)
	return x.String() == y.String()
}

// TestImportRefusesBadLines: each refused line is reported with its number and why, and
// nothing is imported unless --continue-on-error.
func TestImportRefusesBadLines(t *testing.T) {
	ctx := t.Context()
	file := strings.Join([]string{
		`{"v":1,"id":"a1","email":"Ann@Example.com","fname":"Ann","password_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}`,
		`{"v":1,"id":"a2","email":"bob@example.com"`,
		`{"v":1,"id":"a3","password_hash":"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}`,
		`{"v":1,"id":"a4","emial":"x@example.com"}`,
		`{"v":2,"id":"a5"}`,
		`{"v":1,"id":"a6","email":"ann@example.com"}`,
		`{"v":1,"id":"a7","groups":["ok","not ok"]}`,
		``,
		`{"v":1,"id":"a9","phone_number":"4155550100"}`,
	}, "\n")
	dst := memory.New()
	res, err := Import(ctx, dst, strings.NewReader(file), ImportOptions{})
	if !errors.Is(err, ErrInvalidLines) {
		t.Fatalf("import: %v", err)
	}
	want := map[int]string{2: "not a user object", 3: "bcrypt", 4: `unknown field "emial"`, 5: `"v" is 2`, 6: "also on line 1", 7: "groups", 9: "phone_number"}
	if len(res.Errors) != len(want) {
		t.Fatalf("errors: %v", res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.Contains(e.Error(), want[e.Line]) || !strings.HasPrefix(e.Error(), "line ") {
			t.Errorf("line %d: %v, want it to mention %q", e.Line, e, want[e.Line])
		}
	}
	if users, _ := dst.ListUsers(ctx, store.ListOptions{}); len(users) != 0 {
		t.Fatalf("all-or-nothing import wrote %d users", len(users))
	}
	res, err = Import(ctx, dst, strings.NewReader(file), ImportOptions{ContinueOnError: true})
	if !errors.Is(err, ErrInvalidLines) || res.Created != 1 {
		t.Fatalf("import --continue-on-error: %+v, %v", res, err)
	}
	u, err := dst.GetUserByEmail(ctx, "ann@example.com")
	if err != nil || u.ID != "a1" {
		t.Fatalf("imported user (email normalised): %+v, %v", u, err)
	}
	if pw, err := dst.GetPassword(ctx, "a1"); err != nil || !strings.HasPrefix(pw.Hash, "$argon2id$") {
		t.Fatalf("imported password: %+v, %v", pw, err)
	}
}

func jsonEncode(b *bytes.Buffer, r store.Record) error {
	return json.NewEncoder(b).Encode(r)
}
