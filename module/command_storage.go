package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/store/postgres"
)

// The command is `store`, not `storage`: Caddy itself registers `caddy storage` (export
// and import of its certificate storage), and a second registration of a name panics.
func init() {
	registerCommand(caddycmd.Command{
		Name:  "store",
		Usage: "migrate [--dry-run] [--dsn DSN] [--schema NAME]",
		Short: "Manages Gatehouse's PostgreSQL store",
		Long: `
Applies the schema migrations of Gatehouse's PostgreSQL store (storage postgres <dsn>), or with
--dry-run prints the SQL of those the database lacks, without changing anything.

  gatehouse store migrate --dry-run   prints the pending migrations
  gatehouse store migrate             applies them (each in its own transaction)

Gatehouse applies pending migrations itself at start, under an advisory lock so that
instances starting together migrate once; run this to review them first, or to migrate ahead
of a rolling upgrade. The DSN is read from $DATABASE_URL unless --dsn is given (a DSN on the
command line is visible to other users of the machine in the process list).`,
		CobraFunc: storeCommands,
	})
}

func storeCommands(cmd *cobra.Command) {
	migrate := &cobra.Command{Use: "migrate", Short: "Applies (or, with --dry-run, prints) the pending schema migrations", Args: cobra.NoArgs}
	migrate.Flags().String("dsn", "", "PostgreSQL connection string (default: $DATABASE_URL)")
	migrate.Flags().String("schema", "", "schema of Gatehouse's tables, as in the storage's schema option (default: the DSN's search_path)")
	migrate.Flags().Bool("dry-run", false, "print the SQL of the pending migrations and change nothing")
	migrate.Flags().Duration("timeout", 10*time.Minute, "give up after this long (waiting for another instance's migrations included)")
	migrate.RunE = func(cmd *cobra.Command, _ []string) error {
		dsn := flagString(cmd, "dsn")
		if dsn == "" {
			dsn = os.Getenv("DATABASE_URL")
		}
		if dsn == "" {
			return errors.New("no database: give --dsn or set DATABASE_URL")
		}
		timeout, _ := cmd.Flags().GetDuration("timeout")
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		opts := postgres.Options{DSN: dsn, Schema: flagString(cmd, "schema"), MigrationLockTimeout: timeout}
		target := postgres.Target(dsn)
		if dry, _ := cmd.Flags().GetBool("dry-run"); dry {
			pending, err := postgres.Pending(ctx, opts)
			if err != nil {
				return err
			}
			if len(pending) == 0 {
				fmt.Fprintf(os.Stderr, "%s: no pending migrations\n", target)
				return nil
			}
			fmt.Fprintf(os.Stderr, "%s: pending migrations: %d\n", target, len(pending))
			for _, m := range pending {
				fmt.Printf("-- migration %s\n%s\n", m.Name, m.SQL)
			}
			return nil
		}
		done, err := postgres.Migrate(ctx, opts)
		for _, m := range done {
			fmt.Printf("applied %s\n", m.Name)
		}
		if err != nil {
			return err
		}
		if len(done) == 0 {
			fmt.Fprintf(os.Stderr, "%s: no pending migrations\n", target)
		}
		return nil
	}
	cmd.AddCommand(migrate)
}
