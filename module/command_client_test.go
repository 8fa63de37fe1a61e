package module

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// `gatehouse client list --pending` and `gatehouse client approve ID` call the admin API's
// client routes (handlers/admin/clients.go).
func TestClientCommandsCallTheAdminAPI(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"clients":[{"client_id":"c1","pending":true}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"client_id":"c1","pending":false}`))
	}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, args := range [][]string{{"list", "--pending"}, {"approve", "c/1"}, {"delete", "c1"}} {
		cmd := &cobra.Command{Use: "client", SilenceUsage: true, SilenceErrors: true}
		clientCommands(cmd)
		cmd.SetArgs(append(args, "--address", addr))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	want := []string{"GET /gatehouse/clients?after=&limit=1000&pending=true", "POST /gatehouse/clients/c%2F1/approve", "DELETE /gatehouse/clients/c1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("admin API calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
