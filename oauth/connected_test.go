package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// logoutRecorder is the outbound HTTP client of back-channel logout: it records the logout
// tokens it is asked to deliver.
type logoutRecorder struct{ got chan url.Values }

func (l *logoutRecorder) Do(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	q, _ := url.ParseQuery(string(b))
	q.Set("uri", r.URL.String())
	l.got <- q
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// Issue 16 (connected apps) and issue 14 (offline grants die on disconnect): the account
// page lists the clients with live grants or a consent; Disconnect revokes every grant of
// the user and client, offline_access ones included (OIDC Core §11: offline access lasts
// "until the End-User revokes" it), with their access tokens, forgets the consent, and sends
// the client a back-channel logout token (Back-Channel Logout 1.0 §2.5) for the session.
func TestDisconnectEndsEveryGrantOfTheApp(t *testing.T) {
	e := idptest.New(t)
	offline, sess := e.Tokens("openid", "offline_access")
	online, _ := e.Tokens("openid", "email")
	other, _ := e.Tokens("openid")
	if err := e.Store.PutConsent(e.Ctx, store.Consent{UserID: e.User.ID, ClientID: "partner", Scopes: []string{"openid"}, GrantedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	apps, err := e.P.OAuth.ConnectedApps(e.Ctx, e.User.ID)
	if err != nil || len(apps) != 2 {
		t.Fatalf("connected apps %+v, %v", apps, err)
	}
	if a := apps[1]; a.ClientID != "web" || a.Grants != 3 || !a.Offline || a.Consented || strings.Join(a.Scopes, " ") != "email offline_access openid" {
		t.Fatalf("web: %+v", a)
	}
	if a := apps[0]; a.ClientID != "partner" || a.Name != "Partner Reports" || a.Grants != 0 || !a.Consented {
		t.Fatalf("partner: %+v", a)
	}

	rec := &logoutRecorder{got: make(chan url.Values, 8)}
	e.P.OAuth.HTTPClient = rec
	e.Web.BackchannelLogoutURI = "https://rp.test/backchannel"
	if err := e.P.OAuth.Disconnect(e.Ctx, e.User.ID, "web"); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	for name, rt := range map[string]string{"offline": offline.RefreshToken, "online": online.RefreshToken, "other": other.RefreshToken} {
		if _, oerr := e.P.RefreshGrant(e.Ctx, e.Web, rt, ""); oerr == nil || oerr.Kind != oauth.InvalidGrant {
			t.Errorf("%s refresh token after disconnect: %v, want invalid_grant", name, oerr)
		}
	}
	if _, err := e.P.Verifier.VerifyAccessToken(offline.AccessToken); err == nil {
		t.Error("the offline grant's access token still verifies after disconnect")
	}
	// Each e.Tokens call ran in a session of its own: one logout token per session, in
	// any order; the first grant's session must be among them.
	found := false
	for i := 0; i < 3 && !found; i++ {
		select {
		case q := <-rec.got:
			parts := strings.Split(q.Get("logout_token"), ".")
			var claims map[string]any
			if len(parts) == 3 {
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				_ = json.Unmarshal(payload, &claims)
			}
			if _, ok := claims["events"]; q.Get("uri") != "https://rp.test/backchannel" || claims["sub"] != e.User.ID ||
				claims["aud"] != "web" || !ok {
				t.Errorf("logout token to %s: %v", q.Get("uri"), claims)
			}
			found = claims["sid"] == sess.ID
		case <-time.After(5 * time.Second):
			t.Fatal("no back-channel logout for the disconnected app's session")
		}
	}
	if !found {
		t.Error("no logout token for the offline grant's session")
	}
	apps, err = e.P.OAuth.ConnectedApps(e.Ctx, e.User.ID)
	if err != nil || len(apps) != 1 || apps[0].ClientID != "partner" {
		t.Fatalf("after disconnect: %+v, %v", apps, err)
	}
	if _, err := e.Store.GetSession(e.Ctx, sess.ID); err != nil {
		t.Errorf("disconnect ended the portal session: %v", err)
	}
	if err := e.P.OAuth.Disconnect(e.Ctx, e.User.ID, "web"); !errors.Is(err, oauth.ErrNotConnected) {
		t.Errorf("second disconnect: %v, want ErrNotConnected", err)
	}
	if err := e.P.OAuth.Disconnect(e.Ctx, e.User.ID, "partner"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.GetConsent(e.Ctx, e.User.ID, "partner"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("consent after disconnect: %v", err)
	}
}
