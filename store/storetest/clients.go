package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// client is a confidential client with one redirect URI and PKCE required.
func client(id string) store.Client {
	return store.Client{
		ID:           id,
		Name:         "App " + id,
		SecretHash:   strings.Repeat("ab", 32),
		RedirectURIs: []string{"https://" + id + ".example/callback"},
		Scopes:       []string{"openid"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RequirePKCE:  true,
		CreatedAt:    base,
	}
}

// testClients: runtime clients are unique, updated atomically, deleted and listed by page.
func testClients(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("registered client can be read, changed and removed", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := client("app")
		c.PostLogoutRedirectURIs = []string{"https://app.example/bye"}
		// A dynamically registered client (RFC 7591/7592) keeps its approval state, the
		// hash of its registration access token, its allowed origins and its metadata.
		c.AllowedOrigins = []string{"https://spa.example"}
		c.Pending = true
		c.RegistrationTokenHash = strings.Repeat("cd", 32)
		c.Metadata = map[string]string{"client_uri": "https://app.example/", "contacts": "ops@app.example"}
		ok(t, s.CreateClient(ctx, c), "create")
		isErr(t, s.CreateClient(ctx, client("app")), store.ErrAlreadyExists, "create again")
		got, err := s.GetClient(ctx, "app")
		ok(t, err, "get")
		same(t, got, c, "client")

		// An administrator's Disabled flag (Administration API) is kept like the rest.
		want := c
		want.Name, want.RedirectURIs, want.Pending, want.Disabled = "Renamed", []string{"https://app.example/cb2"}, false, true
		got, err = s.UpdateClient(ctx, "app", func(c store.Client) (store.Client, error) {
			c.Name, c.RedirectURIs, c.Pending, c.Disabled = "Renamed", []string{"https://app.example/cb2"}, false, true
			return c, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned client")
		_, err = s.UpdateClient(ctx, "app", func(c store.Client) (store.Client, error) {
			c.SecretHash = ""
			return c, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		got, err = s.GetClient(ctx, "app")
		ok(t, err, "get after update")
		same(t, got, want, "stored client")

		ok(t, s.DeleteClient(ctx, "app"), "delete")
		_, err = s.GetClient(ctx, "app")
		isErr(t, err, store.ErrNotFound, "get deleted")
		ok(t, s.DeleteClient(ctx, "app"), "delete again")
		_, err = s.UpdateClient(ctx, "app", func(c store.Client) (store.Client, error) { return c, nil })
		isErr(t, err, store.ErrNotFound, "update deleted")
	})

	t.Run("clients are listed by id, page by page", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, id := range []string{"c", "a", "d", "b"} {
			ok(t, s.CreateClient(ctx, client(id)), "create "+id)
		}
		pages := []struct {
			opts store.ListOptions
			want []string
		}{
			{store.ListOptions{}, []string{"a", "b", "c", "d"}},
			{store.ListOptions{Limit: 3}, []string{"a", "b", "c"}},
			{store.ListOptions{After: "c", Limit: 3}, []string{"d"}},
			{store.ListOptions{After: "d"}, nil},
		}
		for _, p := range pages {
			got, err := s.ListClients(ctx, p.opts)
			ok(t, err, fmt.Sprintf("list %+v", p.opts))
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
				same(t, c, client(c.ID), "listed client")
			}
			if !slices.Equal(ids, p.want) {
				t.Fatalf("list %+v: got %q, want %q", p.opts, ids, p.want)
			}
		}
	})

	t.Run("a listing page holds at most 100 records unless asked for more", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for i := range 101 {
			ok(t, s.CreateClient(ctx, client(fmt.Sprintf("c%03d", i))), "create")
		}
		got, err := s.ListClients(ctx, store.ListOptions{})
		ok(t, err, "list default")
		if len(got) != 100 {
			t.Fatalf("default page: %d clients, want 100", len(got))
		}
		got, err = s.ListClients(ctx, store.ListOptions{Limit: 5000})
		ok(t, err, "list 5000")
		if len(got) != 101 {
			t.Fatalf("large page: %d clients, want 101", len(got))
		}
	})
}
