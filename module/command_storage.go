package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/storecli"
	"github.com/gatehouse-dev/gatehouse/store/postgres"
)

// The command is `store`, not `storage`: Caddy itself registers `caddy storage` (export
// and import of its certificate storage), and a second registration of a name panics.
func init() {
	registerCommand(caddycmd.Command{
		Name:  "store",
		Usage: "migrate [--dry-run] [--dsn DSN] [--schema NAME] | copy --from STORE --to STORE | export --from STORE | import --to STORE",
		Short: "Manages Gatehouse's store: schema migrations, copies, user export and import",
		Long: `
Applies the schema migrations of Gatehouse's PostgreSQL store (storage postgres <dsn>), or with
--dry-run prints the SQL of those the database lacks, without changing anything; copies a
whole store into another (Badger to PostgreSQL and back); exports and imports users as JSON
lines (docs/users-file.md). A STORE is badger:<dir> or postgres:<dsn> (postgres: alone reads
$DATABASE_URL).

  gatehouse store migrate --dry-run      prints the pending migrations
  gatehouse store migrate                applies them (each in its own transaction)
  gatehouse store copy --from badger:/var/lib/caddy/gatehouse/badger --to postgres:
                                      copies users, passwords, passkeys, identities, groups,
                                      clients, signing keys, live sessions and refresh tokens,
                                      revocations and counters into an empty store; stop the
                                      server first (Badger locks its directory)
  gatehouse store export --from STORE > users.jsonl
  gatehouse store import --to STORE [--update] [--continue-on-error] < users.jsonl

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
	cmd.AddCommand(migrate, copyCommand(), exportCommand(), importCommand())
}

// storeSpec parses the store flag name (badger:<dir> | postgres:<dsn>) and its schema flag.
func storeSpec(cmd *cobra.Command, name string) (storecli.Spec, error) {
	v := flagString(cmd, name)
	if v == "" {
		return storecli.Spec{}, fmt.Errorf("give --%s badger:<dir> or --%s postgres:<dsn>", name, name)
	}
	return storecli.ParseSpec(v, flagString(cmd, name+"-schema"))
}

func copyCommand() *cobra.Command {
	c := &cobra.Command{Use: "copy", Short: "Copies every record of one store into another, empty one", Args: cobra.NoArgs}
	c.Flags().String("from", "", "source store: badger:<dir> or postgres:<dsn> (read only; stop the server first for Badger)")
	c.Flags().String("to", "", "destination store, empty or new: badger:<dir> or postgres:<dsn>")
	c.Flags().String("from-schema", "", "PostgreSQL schema of the source (default: the DSN's search_path)")
	c.Flags().String("to-schema", "", "PostgreSQL schema of the destination, created if missing (default: the DSN's search_path)")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		from, err := storeSpec(cmd, "from")
		if err != nil {
			return err
		}
		to, err := storeSpec(cmd, "to")
		if err != nil {
			return err
		}
		_, err = storecli.Copy(cmd.Context(), from, to, os.Stderr, time.Now().UTC())
		return err
	}
	return c
}

func exportCommand() *cobra.Command {
	c := &cobra.Command{Use: "export", Short: "Writes every user as a JSON line to standard output (docs/users-file.md)", Args: cobra.NoArgs}
	c.Flags().String("from", "", "store: badger:<dir> or postgres:<dsn> (read only)")
	c.Flags().String("from-schema", "", "PostgreSQL schema (default: the DSN's search_path)")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		from, err := storeSpec(cmd, "from")
		if err != nil {
			return err
		}
		s, err := storecli.Open(cmd.Context(), from, true)
		if err != nil {
			return err
		}
		defer s.Close()
		n, err := storecli.Export(cmd.Context(), s, os.Stdout)
		fmt.Fprintf(os.Stderr, "exported %d users from %s (the file holds password hashes: keep it private)\n", n, from)
		return err
	}
	return c
}

func importCommand() *cobra.Command {
	c := &cobra.Command{Use: "import", Short: "Creates the users of a users file read from standard input (docs/users-file.md)", Args: cobra.NoArgs}
	c.Flags().String("to", "", "store: badger:<dir> or postgres:<dsn> (stop the server first for Badger)")
	c.Flags().String("to-schema", "", "PostgreSQL schema (default: the DSN's search_path)")
	c.Flags().Bool("update", false, "replace the fields of users that exist (same id) instead of refusing their lines")
	c.Flags().Bool("continue-on-error", false, "import the valid lines and report the others (default: one bad line imports nothing)")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		to, err := storeSpec(cmd, "to")
		if err != nil {
			return err
		}
		s, err := storecli.Open(cmd.Context(), to, false)
		if err != nil {
			return err
		}
		defer s.Close()
		update, _ := cmd.Flags().GetBool("update")
		cont, _ := cmd.Flags().GetBool("continue-on-error")
		res, err := storecli.Import(cmd.Context(), s, os.Stdin, storecli.ImportOptions{Update: update, ContinueOnError: cont})
		for _, e := range res.Errors {
			fmt.Fprintln(os.Stderr, e)
		}
		fmt.Fprintf(os.Stderr, "%s: %d users created, %d updated, %d lines refused\n", to, res.Created, res.Updated, len(res.Errors))
		return err
	}
	return c
}
