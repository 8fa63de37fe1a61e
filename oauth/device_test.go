package oauth_test

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// deviceEnv is an idptest provider with two device clients: "tv" (public, device_code in
// its short form, refresh tokens) and "tv-secret" (confidential).
func deviceEnv(t *testing.T) (*idptest.Env, *oauth.Client, *oauth.Client) {
	t.Helper()
	e := idptest.New(t)
	tv, err := oauth.NewClient(oauth.ClientConfig{ID: "tv", Name: "Living-room TV",
		GrantTypes: []string{"device_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := oauth.NewClient(oauth.ClientConfig{ID: "tv-secret", Secret: "a-device-secret-of-16+",
		GrantTypes: []string{oauth.GrantDeviceCode}})
	if err != nil {
		t.Fatal(err)
	}
	e.P.OAuth.Configured["tv"], e.P.OAuth.Configured["tv-secret"] = tv, conf
	return e, tv, conf
}

func wantKind(t *testing.T, what string, err *oauth.Error, k oauth.Kind) {
	t.Helper()
	if err == nil || err.Kind != k {
		t.Fatalf("%s: got %v, want %v", what, err, k)
	}
}

// RFC 8628 §6.1: "the user code … SHOULD … use a limited character set" such as "base-20
// using the characters BCDFGHJKLMNPQRSTVWXZ", "the characters should be case insensitive"
// and "the server should ignore any characters like punctuation that are not in the
// character set": the code is 8 such letters shown as XXXX-XXXX; lower case, a missing dash
// and spaces are accepted; vowels, digits and other lengths are not.
func TestDeviceUserCodeFormat(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	for range 20 {
		st, oerr := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
		if oerr != nil {
			t.Fatal(oerr)
		}
		if len(st.UserCode) != 9 || st.UserCode[4] != '-' {
			t.Fatalf("user code %q: want XXXX-XXXX", st.UserCode)
		}
		for _, r := range strings.ReplaceAll(st.UserCode, "-", "") {
			if !strings.ContainsRune(oauth.UserCodeAlphabet, r) {
				t.Fatalf("user code %q has %q, outside %s", st.UserCode, r, oauth.UserCodeAlphabet)
			}
		}
		if len(st.DeviceCode) < 40 || st.ExpiresIn != 600 || st.Interval != 5 {
			t.Fatalf("start %+v: a high-entropy device code, expires_in 600, interval 5", st)
		}
	}
	for in, want := range map[string]string{"BCDF-GHJK": "BCDFGHJK", "bcdfghjk": "BCDFGHJK", " bcdf ghjk ": "BCDFGHJK", "bCdF-gHjK": "BCDFGHJK"} {
		if got, ok := oauth.NormalizeUserCode(in); !ok || got != want {
			t.Errorf("NormalizeUserCode(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "BCDF_GHJK", "ВCDF-GHJK", strings.Repeat("B", 40)} {
		if got, ok := oauth.NormalizeUserCode(in); ok {
			t.Errorf("NormalizeUserCode(%q) = %q, want refused", in, got)
		}
	}
}

// RFC 8628 §3.1: the client "MUST" be one that may use the grant: a client without the
// device grant gets unauthorized_client at the device authorization endpoint and at the token
// endpoint; a scope the client may not request is invalid_scope.
func TestDeviceStartRefusals(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	_, oerr := e.P.OAuth.StartDevice(e.Ctx, e.Web, []string{"openid"})
	wantKind(t, "client without the grant", oerr, oauth.UnauthorizedClient)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, e.Web, "whatever")
	wantKind(t, "poll of a client without the grant", oerr, oauth.UnauthorizedClient)
	_, oerr = e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid", "admin"})
	wantKind(t, "scope not allowed", oerr, oauth.InvalidScope)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, "")
	wantKind(t, "no device_code", oerr, oauth.InvalidRequest)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, "not-a-device-code")
	wantKind(t, "unknown device_code", oerr, oauth.InvalidGrant)
}

// RFC 8628 §5.2 / §6.1: the codes are stored hashed: no store record carries the device
// code or the user code in clear, and the user code's record is keyed (not a plain hash).
func TestDeviceCodesStoredHashed(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	st, oerr := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
	if oerr != nil {
		t.Fatal(oerr)
	}
	norm, _ := oauth.NormalizeUserCode(st.UserCode)
	for _, purpose := range []string{oauth.PurposeDeviceCode, oauth.PurposeDeviceUser} {
		recs, err := e.Store.ListOneTimeCodes(e.Ctx, purpose, store.ListOptions{})
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s records: %v %v", purpose, recs, err)
		}
		dump := recs[0].ID + recs[0].Subject + strings.Join(mapValues(recs[0].Data), " ")
		for _, clear := range []string{st.DeviceCode, norm, st.UserCode, secret.Hash(norm), secret.Hash("device-user:" + norm)} {
			if strings.Contains(dump, clear) {
				t.Fatalf("%s record %+v holds %q", purpose, recs[0], clear)
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// RFC 8628 §3.5: "authorization_pending: The authorization request is still pending as the
// end user hasn't yet completed the user-interaction steps"; "slow_down: … polling should
// continue, but the interval MUST be increased by 5 seconds for this and all subsequent
// requests". Then on approval (§3.5: "the authorization server … responds with the access
// token as described in Section 5.1 of RFC 6749") the tokens carry the approving session's
// auth_time, amr and sid; the device code works once.
func TestDevicePollingAndApproval(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	st, oerr := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid", "email", "offline_access"})
	if oerr != nil {
		t.Fatal(oerr)
	}
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "first poll", oerr, oauth.AuthorizationPending)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll at once again", oerr, oauth.SlowDown)
	// The interval is now 10 s: a poll 6 s later is still too fast, one 10 s after that is not.
	e.Clock.Advance(6 * time.Second)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll 6 s later with a 10 s interval", oerr, oauth.SlowDown)
	if !strings.Contains(oerr.Description, "15") {
		t.Errorf("second slow_down: %q, want the interval grown to 15 s", oerr.Description)
	}
	e.Clock.Advance(15 * time.Second)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll after the interval", oerr, oauth.AuthorizationPending)
	// Another client cannot use the device code.
	e.Clock.Advance(20 * time.Second)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, e.P.OAuth.Configured["tv-secret"], st.DeviceCode)
	wantKind(t, "another client's device code", oerr, oauth.InvalidGrant)

	e.Clock.Advance(time.Minute)
	_, sess, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd", "otp"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second)
	req, oerr := e.P.OAuth.LookupDevice(e.Ctx, strings.ToLower(st.UserCode), sess.ID, "192.0.2.7")
	if oerr != nil || req.Client.ID != "tv" || strings.Join(req.Scopes, " ") != "openid email offline_access" || req.UserCode != st.UserCode {
		t.Fatalf("lookup: %+v %v", req, oerr)
	}
	if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, strings.ReplaceAll(st.UserCode, "-", ""), sess.ID, true, "192.0.2.7"); oerr != nil {
		t.Fatal(oerr)
	}
	e.Clock.Advance(30 * time.Second)
	resp, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	if oerr != nil {
		t.Fatalf("poll after approval: %v", oerr)
	}
	if resp.AccessToken == "" || resp.IDToken == "" || resp.RefreshToken == "" || resp.Scope != "openid email offline_access" {
		t.Fatalf("tokens %+v", resp)
	}
	idc, err := e.P.Verifier.VerifyIDToken(resp.IDToken, false)
	if err != nil {
		t.Fatal(err)
	}
	amr, _ := idc["amr"].([]any)
	if idc["sub"] != e.User.ID || idc["aud"] != "tv" || idc["sid"] != sess.ID || int64(idc["auth_time"].(float64)) != sess.AuthTime.Unix() || len(amr) != 2 {
		t.Fatalf("ID token claims %v (session %s, auth_time %d)", idc, sess.ID, sess.AuthTime.Unix())
	}
	// The refresh token works like the code flow's.
	if _, oerr := e.P.OAuth.RefreshGrant(e.Ctx, tv, oauth.RefreshRequest{Token: resp.RefreshToken}); oerr != nil {
		t.Fatalf("refresh: %v", oerr)
	}
	// Single use: the device code is spent.
	e.Clock.Advance(30 * time.Second)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "device code polled again after its tokens", oerr, oauth.InvalidGrant)
}

// RFC 8628 §3.5: "access_denied: The authorization request was denied", answered to every
// later poll; and "expired_token: The "device_code" has expired, and the device
// authorization session has concluded" — once expires_in passed, even an approval in time
// does not help, and the user code no longer works on the page.
func TestDeviceDeniedAndExpired(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	sess := e.Session(sessions.Meta{})
	st, _ := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
	if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, st.UserCode, sess.ID, false, "192.0.2.7"); oerr != nil {
		t.Fatal(oerr)
	}
	for range 2 {
		_, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
		wantKind(t, "poll after denial", oerr, oauth.AccessDenied)
		e.Clock.Advance(10 * time.Second)
	}

	st2, _ := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
	e.Clock.Advance(10*time.Minute + time.Second)
	_, oerr := e.P.OAuth.DeviceGrant(e.Ctx, tv, st2.DeviceCode)
	wantKind(t, "poll after expires_in", oerr, oauth.ExpiredToken)
	_, oerr = e.P.OAuth.DecideDevice(e.Ctx, st2.UserCode, sess.ID, true, "192.0.2.7")
	wantKind(t, "approval of an expired user code", oerr, oauth.InvalidGrant)
}

// A user code is never accepted twice: of 20 concurrent approvals (and denials) exactly one
// takes effect, the others are refused, and a later attempt is refused too; the device gets
// the outcome of the one that won.
func TestDeviceUserCodeSingleUse(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	sess := e.Session(sessions.Meta{})
	st, _ := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[bool]int{}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, oerr := e.P.OAuth.DecideDevice(e.Ctx, st.UserCode, sess.ID, i%2 == 0, "192.0.2.7")
			if oerr == nil {
				mu.Lock()
				won[i%2 == 0]++
				mu.Unlock()
			} else if oerr.Kind != oauth.InvalidGrant {
				t.Errorf("losing decision: %v, want invalid grant", oerr)
			}
		}()
	}
	wg.Wait()
	if won[true]+won[false] != 1 {
		t.Fatalf("%v decisions took effect, want exactly one", won)
	}
	_, oerr := e.P.OAuth.LookupDevice(e.Ctx, st.UserCode, sess.ID, "192.0.2.7")
	wantKind(t, "user code entered after its use", oerr, oauth.InvalidGrant)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	if won[true] == 1 && oerr != nil {
		t.Fatalf("approved, poll: %v", oerr)
	} else if won[false] == 1 {
		wantKind(t, "denied, poll", oerr, oauth.AccessDenied)
	}
}

// CR-05: RFC 8628 §5.1, "the authorization server … MUST … rate-limit" user code entry,
// since guessing user codes is the attack: after 5 wrong codes in one session even the right
// code is refused in that session; another session on the same IP goes on until the IP's 20.
func TestCR05_DeviceUserCodeGuessingLimited(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	st, _ := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid"})
	a := e.Session(sessions.Meta{})
	for i := range 5 {
		_, oerr := e.P.OAuth.LookupDevice(e.Ctx, "BBBB-BBB"+string(oauth.UserCodeAlphabet[i]), a.ID, "192.0.2.9")
		wantKind(t, "wrong code", oerr, oauth.InvalidGrant)
	}
	_, oerr := e.P.OAuth.LookupDevice(e.Ctx, st.UserCode, a.ID, "192.0.2.9")
	wantKind(t, "right code after 5 wrong ones in the session", oerr, oauth.InvalidGrant)
	if !strings.Contains(oerr.Description, "too many") {
		t.Fatalf("locked: %q, want it to say so", oerr.Description)
	}
	_, oerr = e.P.OAuth.DecideDevice(e.Ctx, st.UserCode, a.ID, true, "192.0.2.9")
	wantKind(t, "approval in the locked session", oerr, oauth.InvalidGrant)
	for i := range 15 {
		b := e.Session(sessions.Meta{})
		_, oerr := e.P.OAuth.LookupDevice(e.Ctx, "CCCC-CCC"+string(oauth.UserCodeAlphabet[i]), b.ID, "192.0.2.9")
		wantKind(t, "wrong code from another session", oerr, oauth.InvalidGrant)
	}
	c := e.Session(sessions.Meta{})
	_, oerr = e.P.OAuth.LookupDevice(e.Ctx, st.UserCode, c.ID, "192.0.2.9")
	wantKind(t, "right code after 20 wrong ones from the IP", oerr, oauth.InvalidGrant)
	// Elsewhere the code still works.
	if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, st.UserCode, c.ID, true, "198.51.100.1"); oerr != nil {
		t.Fatalf("approval from another IP: %v", oerr)
	}
}

// Clients opt in with grant_types urn:ietf:params:oauth:grant-type:device_code or its short
// form device_code; public clients may (RFC 8628 §1: devices are usually public clients);
// stored clients too.
func TestDeviceClientOptIn(t *testing.T) {
	for _, g := range []string{"device_code", oauth.GrantDeviceCode} {
		c, err := oauth.NewClient(oauth.ClientConfig{ID: "d", GrantTypes: []string{g}})
		if err != nil || !c.AllowsGrant(oauth.GrantDeviceCode) || c.AllowsGrant(oauth.GrantAuthorizationCode) {
			t.Fatalf("grant %q: %v %+v", g, err, c)
		}
	}
	if _, err := oauth.NewClient(oauth.ClientConfig{ID: "d", GrantTypes: []string{"urn:ietf:params:oauth:grant-type:devicecode"}}); err == nil ||
		!strings.Contains(err.Error(), oauth.GrantDeviceCode) {
		t.Fatalf("misspelt grant: %v, want an error naming the right one", err)
	}
	e := idptest.New(t)
	if err := e.Store.CreateClient(e.Ctx, store.Client{ID: "stored-tv", GrantTypes: []string{"device_code"}, CreatedAt: e.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	c, err := e.P.OAuth.Client(e.Ctx, "stored-tv")
	if err != nil {
		t.Fatal(err)
	}
	if _, oerr := e.P.OAuth.StartDevice(e.Ctx, c, nil); oerr != nil {
		t.Fatalf("stored public device client: %v", oerr)
	}
}

// FuzzNormalizeUserCode: whatever a user types, an accepted code is UserCodeLength letters
// of the alphabet, and its displayed form reads back as the same code (RFC 8628 §6.1).
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdfghjk", " b c d f g h j k ", "ABCD-EFGH", "ВCDF-GHJK", "", "----"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, ok := oauth.NormalizeUserCode(in)
		if !ok {
			return
		}
		if len(code) != oauth.UserCodeLength || strings.Trim(code, oauth.UserCodeAlphabet) != "" {
			t.Fatalf("NormalizeUserCode(%q) = %q", in, code)
		}
		if again, ok := oauth.NormalizeUserCode(oauth.FormatUserCode(code)); !ok || again != code {
			t.Fatalf("%q → %q → %q", in, code, again)
		}
	})
}

// Issue 18 ("take effect on the next request"): a device approved by a password-only
// session just before login.mfa.password was set to required gets no tokens when it polls
// after the change (invalid_grant, log in again), like a code issued just before it.
func TestDeviceApprovedBeforeSecondFactorRequired(t *testing.T) {
	e, tv, _ := deviceEnv(t)
	var required atomic.Bool
	e.P.MFA.Required = func(amr []string) bool { return required.Load() && slices.Contains(amr, "pwd") }
	st, oerr := e.P.OAuth.StartDevice(e.Ctx, tv, []string{"openid", "offline_access"})
	if oerr != nil {
		t.Fatal(oerr)
	}
	_, sess, err := e.P.Sessions.Start(e.Ctx, e.User, []string{"pwd"}, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, oerr := e.P.OAuth.DecideDevice(e.Ctx, st.UserCode, sess.ID, true, "192.0.2.7"); oerr != nil {
		t.Fatal(oerr)
	}
	required.Store(true)
	e.Clock.Advance(30 * time.Second)
	_, oerr = e.P.OAuth.DeviceGrant(e.Ctx, tv, st.DeviceCode)
	wantKind(t, "poll after the change", oerr, oauth.InvalidGrant)
	if !strings.Contains(oerr.Description, "second factor") {
		t.Fatalf("poll after the change: %q does not tell to log in with a second factor", oerr.Description)
	}
}
