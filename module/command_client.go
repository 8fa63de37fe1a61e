package module

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	registerCommand(caddycmd.Command{
		Name:  "client",
		Usage: "list [--pending]|approve ID|delete ID",
		Short: "Manages dynamically registered OAuth clients through the running server's admin API",
		Long: `
Lists, approves and deletes the OAuth clients registered at runtime (dynamic client
registration, the registration option). With "registration approval", a registered client
cannot be used until it is approved:

  gatehouse client list --pending
  gatehouse client approve ID
  gatehouse client delete ID

Clients of the configuration are not listed: the configuration manages them.`,
		CobraFunc: clientCommands,
	})
}

func clientCommands(cmd *cobra.Command) {
	addAdminFlags(cmd)
	list := &cobra.Command{Use: "list", Short: "Lists the registered clients", Args: cobra.NoArgs}
	list.Flags().Bool("pending", false, "only the clients waiting for approval")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		pending, _ := cmd.Flags().GetBool("pending")
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tPUBLIC\tPENDING\tREDIRECT_URIS")
		after := ""
		for {
			var out struct {
				Clients []struct {
					ID           string   `json:"client_id"`
					Name         string   `json:"client_name"`
					Public       bool     `json:"public"`
					Pending      bool     `json:"pending"`
					RedirectURIs []string `json:"redirect_uris"`
				} `json:"clients"`
			}
			q := url.Values{"limit": {"1000"}, "after": {after}}
			if pending {
				q.Set("pending", "true")
			}
			if err := adminCall(cmd, http.MethodGet, "/gatehouse/clients?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			for _, c := range out.Clients {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\n", c.ID, c.Name, c.Public, c.Pending, strings.Join(c.RedirectURIs, " "))
				after = c.ID
			}
			if len(out.Clients) < 1000 {
				break
			}
		}
		return tw.Flush()
	}
	approve := &cobra.Command{Use: "approve ID", Short: "Lets a registered client waiting for approval be used", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printJSON(cmd, http.MethodPost, "/gatehouse/clients/"+url.PathEscape(args[0])+"/approve", nil)
		}}
	del := &cobra.Command{Use: "delete ID", Short: "Deletes a registered client (its refresh tokens stop working)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := adminCall(cmd, http.MethodDelete, "/gatehouse/clients/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "client deleted")
			return nil
		}}
	cmd.AddCommand(list, approve, del)
}
