package issue_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TestAccessTokenGroupsCapped: a user in very many groups gets an access token whose group
// list fits the size budget (so the token fits a browser cookie, RB-07); the groups left out
// are whole names, never a truncated one.
func TestAccessTokenGroupsCapped(t *testing.T) {
	e := idptest.New(t)
	var groups []string
	for i := 0; i < 250; i++ {
		groups = append(groups, fmt.Sprintf("group-number-%04d", i))
	}
	if _, err := e.P.Accounts.SetGroups(e.Ctx, e.User.ID, groups); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.Tokens("openid")
	if len(resp.AccessToken) > tokens.MaxTokenSize/2 {
		t.Fatalf("access token of %d bytes", len(resp.AccessToken))
	}
	got := resp.Claims.Groups
	if len(got) == 0 || len(got) >= 250 || len(strings.Join(got, ",")) > 2048 {
		t.Fatalf("%d groups (%d bytes) in the token", len(got), len(strings.Join(got, ",")))
	}
	for i, g := range got {
		if g != groups[i] {
			t.Fatalf("group %d = %q, want %q", i, g, groups[i])
		}
	}
}

// BenchmarkUserClaims: building the ID-token / userinfo claims of a user for the openid
// profile email scopes.
func BenchmarkUserClaims(b *testing.B) {
	e := idptest.New(b)
	scopes := []string{"openid", "profile", "email"}
	b.ReportAllocs()
	for b.Loop() {
		if c := e.P.Tokens.UserClaims(e.User, scopes); c["sub"] == nil {
			b.Fatal("no sub")
		}
	}
}
