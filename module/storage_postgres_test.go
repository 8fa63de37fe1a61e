package module

import (
	"strings"
	"testing"
)

// The DSN comes from the environment or a file; an unset variable must stop the start with
// an error naming it, not connect with an empty DSN (which libpq-style defaults would turn
// into a local database).
func TestResolveDSN(t *testing.T) {
	t.Setenv("GATEHOUSE_TEST_DSN", "postgres://gatehouse:pw@db.example.com/idp")
	got, err := resolveDSN("{env.GATEHOUSE_TEST_DSN}")
	if err != nil || got != "postgres://gatehouse:pw@db.example.com/idp" {
		t.Fatalf("resolve {env.GATEHOUSE_TEST_DSN} = (%q, %v)", got, err)
	}
	for _, dsn := range []string{"{env.GATEHOUSE_TEST_UNSET_DSN}", "", "  "} {
		_, err := resolveDSN(dsn)
		if err == nil || !strings.Contains(err.Error(), "dsn") {
			t.Fatalf("resolve %q: %v, want an error", dsn, err)
		}
	}
	if got, err := resolveDSN("host=db dbname=idp"); err != nil || got != "host=db dbname=idp" {
		t.Fatalf("literal DSN = (%q, %v)", got, err)
	}
}
