package module

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	registerCommand(caddycmd.Command{
		Name:  "audit",
		Usage: "[--user ID] [--actor A] [--type T] [--since TIME] [--until TIME]",
		Short: "Exports the audit trail as JSON lines from the running server's admin API",
		Long: `
Prints the stored audit events (README, "Audit trail") oldest first as JSON lines, one
event per line, following the pages of GET /gatehouse/audit on the admin endpoint:

  gatehouse audit --user USER_ID --since 2026-12-01T00:00:00Z
  gatehouse audit --type login.failed > failed-logins.jsonl

Times are RFC 3339; since is inclusive, until exclusive. Events never hold a secret.`,
		CobraFunc: auditCommand,
	})
}

func auditCommand(cmd *cobra.Command) {
	addAdminFlags(cmd)
	for _, f := range [][2]string{{"user", "only the events about this user ID"}, {"actor", "only the events of this actor"},
		{"type", "only the events of this type (login.failed, admin.write, ...)"}, {"since", "from this RFC 3339 time (inclusive)"},
		{"until", "up to this RFC 3339 time (exclusive)"}} {
		cmd.Flags().String(f[0], "", f[1])
	}
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		addr, err := caddycmd.DetermineAdminAPIAddress(flagString(cmd, "address"), nil, flagString(cmd, "config"), flagString(cmd, "adapter"))
		if err != nil {
			return fmt.Errorf("find the admin API address: %w", err)
		}
		q := url.Values{"limit": {"1000"}}
		for _, k := range []string{"user", "actor", "type", "since", "until"} {
			if v := flagString(cmd, k); v != "" {
				q.Set(k, v)
			}
		}
		for {
			resp, err := caddycmd.AdminAPIRequest(addr, http.MethodGet, "/gatehouse/audit?"+q.Encode(), nil, nil)
			if err != nil {
				return fmt.Errorf("call the admin API at %s (is Gatehouse running?): %w", addr, err)
			}
			_, err = io.Copy(os.Stdout, resp.Body)
			next := resp.Header.Get("Gatehouse-Audit-Next")
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("read the admin API's answer: %w", err)
			}
			if next == "" {
				return nil
			}
			q.Set("after", next)
		}
	}
}
