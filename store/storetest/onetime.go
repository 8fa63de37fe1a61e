package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// oneTimeCode is a code of purpose valid for two days.
func oneTimeCode(id, purpose string) store.OneTimeCode {
	return store.OneTimeCode{
		ID:        id,
		Purpose:   purpose,
		Subject:   "ada@example.com",
		Data:      map[string]string{"role": "admin"},
		CreatedAt: base,
		ExpiresAt: at(48 * time.Hour),
	}
}

// testOneTimeCodes: one-time codes are unique, consumed once, updated atomically and
// listed by purpose.
func testOneTimeCodes(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("invitation can be used only once", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := oneTimeCode("o1", "invite")
		ok(t, s.CreateOneTimeCode(ctx, c), "create")
		got, err := s.GetOneTimeCode(ctx, "o1")
		ok(t, err, "get")
		same(t, got, c, "code")
		got, err = s.ConsumeOneTimeCode(ctx, "o1")
		ok(t, err, "consume")
		same(t, got, c, "consumed code")
		_, err = s.ConsumeOneTimeCode(ctx, "o1")
		isErr(t, err, store.ErrNotFound, "consume again")
		_, err = s.GetOneTimeCode(ctx, "o1")
		isErr(t, err, store.ErrNotFound, "get consumed")
		list, err := s.ListOneTimeCodes(ctx, "invite", store.ListOptions{})
		ok(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("consumed code still listed: %+v", list)
		}
	})

	t.Run("one-time code ids are unique and unknown codes are not found", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ok(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "invite")), "create")
		isErr(t, s.CreateOneTimeCode(ctx, oneTimeCode("o1", "email")), store.ErrAlreadyExists, "create again")
		_, err := s.GetOneTimeCode(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "get unknown")
		_, err = s.ConsumeOneTimeCode(ctx, "nope")
		isErr(t, err, store.ErrNotFound, "consume unknown")
		list, err := s.ListOneTimeCodes(ctx, "email", store.ListOptions{})
		ok(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("refused code listed: %+v", list)
		}
	})

	t.Run("failed attempts are counted and a failed update writes nothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		c := oneTimeCode("o1", "email")
		ok(t, s.CreateOneTimeCode(ctx, c), "create")
		want := c
		want.Attempts = 1
		got, err := s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
			c.Attempts++
			return c, nil
		})
		ok(t, err, "update")
		same(t, got, want, "returned code")
		_, err = s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
			c.Attempts = 99
			return c, errBoom
		})
		isErr(t, err, errBoom, "failing update")
		got, err = s.GetOneTimeCode(ctx, "o1")
		ok(t, err, "get")
		same(t, got, want, "stored code")
		_, err = s.UpdateOneTimeCode(ctx, "nope", func(c store.OneTimeCode) (store.OneTimeCode, error) { return c, nil })
		isErr(t, err, store.ErrNotFound, "update unknown")
	})

	t.Run("codes are listed by purpose and id, page by page", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		for _, c := range []store.OneTimeCode{
			oneTimeCode("o3", "invite"), oneTimeCode("o1", "invite"), oneTimeCode("o2", "invite"),
			oneTimeCode("o0", "email"), oneTimeCode("o4", "invite/x"),
		} {
			ok(t, s.CreateOneTimeCode(ctx, c), "create "+c.ID)
		}
		pages := []struct {
			purpose string
			opts    store.ListOptions
			want    []string
		}{
			{"invite", store.ListOptions{}, []string{"o1", "o2", "o3"}},
			{"invite", store.ListOptions{Limit: 2}, []string{"o1", "o2"}},
			{"invite", store.ListOptions{After: "o2", Limit: 2}, []string{"o3"}},
			{"invite", store.ListOptions{After: "o3"}, nil},
			{"email", store.ListOptions{}, []string{"o0"}},
			{"sms", store.ListOptions{}, nil},
		}
		for _, p := range pages {
			got, err := s.ListOneTimeCodes(ctx, p.purpose, p.opts)
			ok(t, err, fmt.Sprintf("list %s %+v", p.purpose, p.opts))
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
				same(t, c, oneTimeCode(c.ID, p.purpose), "listed code")
			}
			if !slices.Equal(ids, p.want) {
				t.Fatalf("list %s %+v: got %q, want %q", p.purpose, p.opts, ids, p.want)
			}
		}
		// Changing the purpose moves the code to the other listing.
		_, err := s.UpdateOneTimeCode(ctx, "o1", func(c store.OneTimeCode) (store.OneTimeCode, error) {
			c.Purpose = "email"
			return c, nil
		})
		ok(t, err, "change purpose")
		got, err := s.ListOneTimeCodes(ctx, "email", store.ListOptions{})
		ok(t, err, "list email")
		if len(got) != 2 || got[0].ID != "o0" || got[1].ID != "o1" {
			t.Fatalf("email codes after the move: %+v", got)
		}
		got, err = s.ListOneTimeCodes(ctx, "invite", store.ListOptions{})
		ok(t, err, "list invite")
		if len(got) != 2 || got[0].ID != "o2" {
			t.Fatalf("invite codes after the move: %+v", got)
		}
	})
}
