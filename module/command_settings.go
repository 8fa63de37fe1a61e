package module

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	registerCommand(caddycmd.Command{
		Name:  "settings",
		Usage: "get | set FIELD=VALUE...",
		Short: "Shows and changes the runtime settings through the running server's admin API",
		Long: `
Shows and changes the settings kept in the store (login methods and their order, sign-up
mode, session lifetimes, branding, message templates), which take effect at once on every
instance sharing the store, without a reload. What the Caddyfile sets is read-only here.

  gatehouse settings get
  gatehouse settings set 'login.methods=["password","email_code"]' branding.product_name=Acme
  gatehouse settings set branding.logo_url=null     (back to the Caddyfile's or the default)

A VALUE that is valid JSON is taken as JSON, otherwise as a string.`,
		CobraFunc: settingsCommands,
	})
}

func settingsCommands(cmd *cobra.Command) {
	addAdminFlags(cmd)
	get := &cobra.Command{Use: "get", Short: "Shows the effective settings and which the Caddyfile sets", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printJSON(cmd, http.MethodGet, "/gatehouse/settings", nil)
		}}
	set := &cobra.Command{Use: "set FIELD=VALUE...", Short: "Changes settings", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			patch, err := settingsPatch(args)
			if err != nil {
				return err
			}
			var cur struct {
				Version int64 `json:"version"`
			}
			if err := adminCall(cmd, http.MethodGet, "/gatehouse/settings", nil, &cur); err != nil {
				return err
			}
			if err := adminCall(cmd, http.MethodPatch, "/gatehouse/settings", map[string]any{"version": cur.Version, "settings": patch}, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "settings changed")
			return nil
		}}
	cmd.AddCommand(get, set)
}

// settingsPatch turns FIELD=VALUE arguments into a patch object.
func settingsPatch(args []string) (map[string]json.RawMessage, error) {
	patch := map[string]json.RawMessage{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want FIELD=VALUE, such as branding.product_name=Acme", a)
		}
		if _, dup := patch[k]; dup {
			return nil, errors.New(k + " is given twice")
		}
		if json.Valid([]byte(v)) {
			patch[k] = json.RawMessage(v)
		} else {
			b, _ := json.Marshal(v)
			patch[k] = b
		}
	}
	return patch, nil
}
