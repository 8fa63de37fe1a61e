package module

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-dev/gatehouse/secret"
)

// gatehouseHelpTemplate replaces, for Gatehouse's own commands, Caddy's help footer (which
// points at Caddy's website for documentation these commands do not have there).
const gatehouseHelpTemplate = `{{with (or .Long .Short)}}{{. | trimTrailingWhitespaces}}

{{end}}{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}
Gatehouse's documentation is its README.md and docs/ (github.com/gatehouse-dev/gatehouse).
`

// registerCommand registers one of Gatehouse's own subcommands with Caddy's command line,
// with Gatehouse's help footer instead of Caddy's.
func registerCommand(c caddycmd.Command) {
	f := c.CobraFunc
	c.CobraFunc = func(cmd *cobra.Command) {
		cmd.SetHelpTemplate(gatehouseHelpTemplate)
		if f != nil {
			f(cmd)
		}
	}
	caddycmd.RegisterCommand(c)
}

func init() {
	registerCommand(caddycmd.Command{
		Name:  "user",
		Usage: "add|list|show|disable|enable|delete|passwd|groups|credentials|revoke-credential ...",
		Short: "Manages Gatehouse users through the running server's admin API",
		Long: `
Manages the users of a running Gatehouse server through its admin endpoint (by default
localhost:2019; use --address, or --config to read it from a config file).

  gatehouse user add --email EMAIL [--fname F] [--lname L] [--groups a,b] [--external-id ID]
                     [--password-stdin | --no-password] [--unverified]
  gatehouse user list
  gatehouse user show ID|EMAIL
  gatehouse user disable ID|EMAIL   (also ends the user's sessions and revokes its tokens)
  gatehouse user enable ID|EMAIL
  gatehouse user delete --yes ID|EMAIL   (removes the user and everything of it, for good)
  gatehouse user passwd ID|EMAIL    (reads the new password from the terminal or stdin)
  gatehouse user groups ID|EMAIL [GROUP...]
  gatehouse user credentials ID|EMAIL                 (app passwords and access tokens)
  gatehouse user revoke-credential ID|EMAIL CRED-ID   (CRED-ID: the id in that list)

"user add" asks for a password on a terminal; without one, give --password-stdin (the password
is the first line of stdin) or --no-password (the user signs in by another login method, or gets
a password later with "user passwd").`,
		CobraFunc: userCommands,
	})
	registerCommand(caddycmd.Command{
		Name:  "keys",
		Usage: "list|rotate [--alg ALG] [--now]|remove KID",
		Short: "Manages Gatehouse signing keys through the running server's admin API",
		Long: `
Lists and rotates the signing keys of a running Gatehouse server. A rotated key is published
at once and signs after 5 minutes (--now: at once); the key it replaces stays published as long
as tokens it signed can be valid. Keys also rotate on their own (keys { rotate_every }).`,
		CobraFunc: keyCommands,
	})
	registerCommand(caddycmd.Command{
		Name:  "invite",
		Usage: "[--email EMAIL] [--groups a,b]",
		Short: "Creates a Gatehouse sign-up invitation",
		Long: `
Creates a single-use sign-up invitation on the running server (signup invite mode) and prints
its link. --email binds it to one address; --groups gives the new user those groups.`,
		CobraFunc: func(cmd *cobra.Command) {
			addAdminFlags(cmd)
			cmd.Flags().String("email", "", "bind the invitation to this email address")
			cmd.Flags().String("groups", "", "comma-separated groups the new user gets")
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				email, _ := cmd.Flags().GetString("email")
				body := map[string]any{"email": email, "groups": splitList(flagString(cmd, "groups"))}
				var out struct {
					URL       string `json:"url"`
					ExpiresAt string `json:"expires_at"`
					Mode      string `json:"signup_mode"`
				}
				if err := adminCall(cmd, http.MethodPost, "/gatehouse/invites", body, &out); err != nil {
					return err
				}
				fmt.Println(out.URL)
				fmt.Fprintf(os.Stderr, "single use, valid until %s\n", out.ExpiresAt)
				if out.Mode != "invite" {
					fmt.Fprintf(os.Stderr, "note: signup is %q; set `signup invite` for invitations to be required\n", out.Mode)
				}
				return nil
			}
		},
	})
}

func init() {
	registerCommand(caddycmd.Command{
		Name:  "hash-secret",
		Usage: "< secret.txt",
		Short: "Prints the secret_hash of an OAuth client secret",
		Long: `
Reads an OAuth client secret from stdin (the first line; on a terminal it is asked for without
echo) and prints the value for the client's secret_hash option:

  openssl rand -base64 32 | tee client-secret.txt | gatehouse hash-secret

Give the secret to the client application and keep only the hash in the Caddyfile:

  client grafana {
      secret_hash $sha256$...
  }

The configuration, and Caddy's config API that shows it, then holds no usable secret. The hash
is a salted SHA-256 (a client secret is random and long, so a slow password hash would add
nothing but CPU on every token request); the secret must be at least 16 characters. Each run
uses a new salt, so hashing the same secret twice gives two different, equally valid values.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.NoArgs
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				sec, err := readClientSecret()
				if err != nil {
					return err
				}
				fmt.Println(secret.HashClientSecret(sec))
				return nil
			}
		},
	})
}

// readClientSecret reads the secret to hash: the first line of stdin, or from the terminal
// without echo. Leading and trailing white space is an error rather than silently part of
// the secret or dropped.
func readClientSecret() (string, error) {
	fd := int(os.Stdin.Fd())
	var sec string
	if term.IsTerminal(fd) {
		fmt.Fprint(os.Stderr, "Client secret: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("read secret: %w", err)
		}
		sec = string(b)
	} else {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read secret from stdin: %w", err)
		}
		sec = strings.TrimRight(line, "\r\n")
	}
	switch {
	case sec == "":
		return "", errors.New("no secret on stdin: pipe the client secret in, such as `openssl rand -base64 32 | gatehouse hash-secret`")
	case strings.TrimSpace(sec) != sec:
		return "", errors.New("the secret starts or ends with white space: remove it")
	case len(sec) < 16:
		return "", errors.New("the secret is shorter than 16 characters: generate one with `openssl rand -base64 32`")
	}
	return sec, nil
}

func keyCommands(cmd *cobra.Command) {
	addAdminFlags(cmd)
	list := &cobra.Command{Use: "list", Short: "Lists the signing keys", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		var out struct {
			Keys []struct {
				ID        string `json:"kid"`
				Alg       string `json:"alg"`
				CreatedAt string `json:"created_at"`
				Signing   bool   `json:"signing"`
			} `json:"keys"`
		}
		if err := adminCall(cmd, http.MethodGet, "/gatehouse/keys", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tCREATED\tSIGNING")
		for _, k := range out.Keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", k.ID, k.Alg, k.CreatedAt, k.Signing)
		}
		return tw.Flush()
	}}
	rotate := &cobra.Command{Use: "rotate", Short: "Rotates the signing keys", Args: cobra.NoArgs}
	rotate.Flags().String("alg", "", "rotate only this algorithm (RS256, ES256, EdDSA)")
	rotate.Flags().Bool("now", false, "sign with the new key at once instead of after 5 minutes (after a compromise)")
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		now, _ := cmd.Flags().GetBool("now")
		return printJSON(cmd, http.MethodPost, "/gatehouse/keys/rotate", map[string]any{"alg": flagString(cmd, "alg"), "immediate": now})
	}
	remove := &cobra.Command{Use: "remove KID", Short: "Deletes a key at once: tokens it signed stop verifying", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adminCall(cmd, http.MethodDelete, "/gatehouse/keys/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "key removed")
			return nil
		}}
	cmd.AddCommand(list, rotate, remove)
}

func addAdminFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().String("address", "", "address of the admin API (default: from --config, else localhost:2019)")
	cmd.PersistentFlags().StringP("config", "c", "", "config file to read the admin address from")
	cmd.PersistentFlags().StringP("adapter", "a", "", "name of the config adapter")
}

func flagString(cmd *cobra.Command, name string) string {
	v, _ := cmd.Flags().GetString(name)
	return v
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func userCommands(cmd *cobra.Command) {
	addAdminFlags(cmd)
	add := &cobra.Command{Use: "add", Short: "Creates a user", Args: cobra.NoArgs}
	add.Flags().String("email", "", "email address (required)")
	add.Flags().String("fname", "", "first name")
	add.Flags().String("lname", "", "last name")
	add.Flags().String("groups", "", "comma-separated groups")
	add.Flags().String("external-id", "", "external user ID")
	add.Flags().Bool("password-stdin", false, "read the password from stdin")
	add.Flags().Bool("no-password", false, "create the user without a password")
	add.Flags().Bool("unverified", false, "mark the email address as not verified (it is then not injected as identity)")
	add.RunE = func(cmd *cobra.Command, _ []string) error {
		email := flagString(cmd, "email")
		if email == "" {
			return errors.New("--email is required")
		}
		noPassword, _ := cmd.Flags().GetBool("no-password")
		fromStdin, _ := cmd.Flags().GetBool("password-stdin")
		var pw string
		switch {
		case noPassword && fromStdin:
			return errors.New("--no-password and --password-stdin exclude each other")
		case noPassword:
		case !fromStdin && !isTerminal(cmd.InOrStdin()):
			return errors.New("no terminal to ask for the password: add --password-stdin (and pipe the password in) or --no-password (create the user without one)")
		default:
			var err error
			if pw, err = readPassword(cmd, "password-stdin", true); err != nil {
				return err
			}
		}
		body := map[string]any{"email": email, "password": pw, "fname": flagString(cmd, "fname"),
			"lname": flagString(cmd, "lname"), "groups": splitList(flagString(cmd, "groups")),
			"external_user_id": flagString(cmd, "external-id")}
		if unverified, _ := cmd.Flags().GetBool("unverified"); unverified {
			body["email_verified"] = false
		}
		return printJSON(cmd, http.MethodPost, "/gatehouse/users", body)
	}
	list := &cobra.Command{Use: "list", Short: "Lists users", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tGROUPS\tDISABLED")
		after := ""
		for {
			var out struct {
				Users []struct {
					ID       string   `json:"id"`
					Email    string   `json:"email"`
					Groups   []string `json:"groups"`
					Disabled bool     `json:"disabled"`
				} `json:"users"`
			}
			if err := adminCall(cmd, http.MethodGet, "/gatehouse/users?limit=1000&after="+url.QueryEscape(after), nil, &out); err != nil {
				return err
			}
			for _, u := range out.Users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", u.ID, u.Email, strings.Join(u.Groups, ","), u.Disabled)
				after = u.ID
			}
			if len(out.Users) < 1000 {
				break
			}
		}
		return tw.Flush()
	}}
	show := &cobra.Command{Use: "show ID|EMAIL", Short: "Shows a user", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		return printJSON(cmd, http.MethodGet, userPath(args[0]), nil)
	}}
	disable := &cobra.Command{Use: "disable ID|EMAIL", Short: "Disables a user and revokes its sessions and tokens", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printJSON(cmd, http.MethodPost, userPath(args[0])+"/disable", nil)
		}}
	enable := &cobra.Command{Use: "enable ID|EMAIL", Short: "Enables a user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printJSON(cmd, http.MethodPost, userPath(args[0])+"/enable", nil)
		}}
	del := &cobra.Command{Use: "delete --yes ID|EMAIL", Short: "Deletes a user with its sessions, tokens, passkeys, identities and credentials",
		Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			if yes, _ := cmd.Flags().GetBool("yes"); !yes {
				return fmt.Errorf("deleting a user cannot be undone: add --yes to delete %s", args[0])
			}
			if err := adminCall(cmd, http.MethodDelete, userPath(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "user deleted; its sessions were ended and its tokens revoked")
			return nil
		}}
	del.Flags().Bool("yes", false, "confirm the deletion")
	passwd := &cobra.Command{Use: "passwd ID|EMAIL", Short: "Sets a user's password (revokes its sessions and tokens)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, "", true)
			if err != nil {
				return err
			}
			if err := adminCall(cmd, http.MethodPut, userPath(args[0])+"/password", map[string]string{"password": pw}, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "password set; the user's sessions were ended")
			return nil
		}}
	groups := &cobra.Command{Use: "groups ID|EMAIL [GROUP...]", Short: "Replaces a user's groups", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := args[1:]
			if g == nil {
				g = []string{}
			}
			return printJSON(cmd, http.MethodPut, userPath(args[0])+"/groups", map[string]any{"groups": g})
		}}
	credentials := &cobra.Command{Use: "credentials ID|EMAIL", Short: "Lists a user's app passwords and access tokens", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printJSON(cmd, http.MethodGet, userPath(args[0])+"/credentials", nil)
		}}
	revoke := &cobra.Command{Use: "revoke-credential ID|EMAIL CREDENTIAL-ID", Short: "Revokes a user's app password or access token",
		Args: cobra.ExactArgs(2), RunE: func(cmd *cobra.Command, args []string) error {
			return printJSON(cmd, http.MethodPost, userPath(args[0])+"/credentials/"+url.PathEscape(args[1])+"/revoke", nil)
		}}
	cmd.AddCommand(add, list, show, disable, enable, del, passwd, groups, credentials, revoke)
}

func userPath(idOrEmail string) string { return "/gatehouse/users/" + url.PathEscape(idOrEmail) }

// readPassword reads a password from stdin (flag set or stdin not a terminal) or prompts
// twice on the terminal. Passwords are never taken from the command line, where other users
// of the machine could read them.
func readPassword(cmd *cobra.Command, stdinFlag string, required bool) (string, error) {
	fromStdin := false
	if stdinFlag != "" {
		fromStdin, _ = cmd.Flags().GetBool(stdinFlag)
	}
	in := cmd.InOrStdin()
	if fromStdin || (!isTerminal(in) && required) {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("empty password on stdin")
		}
		return pw, nil
	}
	if !isTerminal(in) {
		return "", nil
	}
	fd := int(in.(*os.File).Fd())
	fmt.Fprint(os.Stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(os.Stderr, "Repeat password: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if !bytes.Equal(a, b) {
		return "", errors.New("the passwords do not match")
	}
	if len(a) == 0 && required {
		return "", errors.New("empty password")
	}
	return string(a), nil
}

// isTerminal reports whether r is a terminal the password can be asked on.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// adminCall sends a request to the admin API and decodes the JSON answer into out.
func adminCall(cmd *cobra.Command, method, path string, body, out any) error {
	addr, err := caddycmd.DetermineAdminAPIAddress(flagString(cmd, "address"), nil, flagString(cmd, "config"), flagString(cmd, "adapter"))
	if err != nil {
		return fmt.Errorf("find the admin API address: %w", err)
	}
	var rd io.Reader
	hdr := http.Header{}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
		hdr.Set("Content-Type", "application/json")
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, path, hdr, rd)
	if err != nil {
		return fmt.Errorf("call the admin API at %s (is Gatehouse running?): %w", addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read the admin API's answer: %w", err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode the admin API's answer: %w", err)
		}
	}
	return nil
}

func printJSON(cmd *cobra.Command, method, path string, body any) error {
	var out json.RawMessage
	if err := adminCall(cmd, method, path, body, &out); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		return err
	}
	fmt.Println(buf.String())
	return nil
}
