package caddyfile_test

import (
	"strings"
	"testing"
)

// TestAdaptStorageErrors: every mistake in the storage option is refused when adapting,
// naming the option and the line.
func TestAdaptStorageErrors(t *testing.T) {
	global := func(body string) string {
		return "{\n\tgatehouse {\n\t\tissuer https://login.example.com\n" + body + "\t}\n}\n"
	}
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown store lists both", global("\t\tstorage redis\n"), []string{`storage "redis" is not available`, "badger, postgres", "Caddyfile:4"}},
		{"postgres without dsn", global("\t\tstorage postgres\n"), []string{"storage postgres <dsn>", "Caddyfile:4"}},
		{"postgres dsn with spaces unquoted", global("\t\tstorage postgres host=db dbname=gatehouse\n"), []string{"quote a DSN with spaces", "Caddyfile:4"}},
		{"postgres unknown option", global("\t\tstorage postgres {env.DATABASE_URL} {\n\t\t\tpool 5\n\t\t}\n"), []string{`storage postgres: unknown option "pool"`, "Caddyfile:5"}},
		{"postgres bad purge interval", global("\t\tstorage postgres {env.DATABASE_URL} {\n\t\t\tpurge_interval often\n\t\t}\n"), []string{`storage postgres purge_interval "often"`, "Caddyfile:5"}},
		{"postgres schema without name", global("\t\tstorage postgres {env.DATABASE_URL} {\n\t\t\tschema\n\t\t}\n"), []string{"schema takes exactly one value", "Caddyfile:5"}},
		{"badger too many args", global("\t\tstorage badger /a /b\n"), []string{"storage badger [<path>]", "Caddyfile:4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := adapt(t, tt.src)
			if err == nil {
				t.Fatalf("adapted without error; want an error containing %q\nJSON: %s", tt.want, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
