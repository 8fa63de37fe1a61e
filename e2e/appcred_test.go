package e2e

// App passwords and personal access tokens (issue 16) with real clients: Debian's curl and
// git, Go's net/http, against Caddy's file_server (browse) and a git smart-HTTP upstream
// (`git http-backend` run by net/http/cgi) behind gatehouse_protect.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/appcred"
	"github.com/gatehouse-dev/gatehouse/store"
)

// appCredSites protects /dav/ (file_server browse) and /git/ (smart HTTP) with app passwords
// allowed, and /api/ (the recording upstream) without.
const appCredSites = `
{{.App}} {
	bind 127.0.0.1
	gatehouse_protect /dav/* {
		client app
		scope files:read
		allow app_passwords
	}
	gatehouse_protect /git/* {
		client app
		scope git:read
		allow app_passwords
	}
	gatehouse_protect /api/* {
		client app
		scope files:read
	}
	handle /dav/* {
		root * DAVROOT
		file_server browse
	}
	handle /git/* {
		reverse_proxy GITADDR
	}
	handle {
		reverse_proxy {{.UpstreamAddr}}
	}
}`

const appCredClient = `
		client app {
			name "Test app"
			redirect_uri {{.App}}/.gatehouse/callback {{.RP}}/app-cb
			scopes openid profile email offline_access read:docs files:read git:read
		}`

// gitUpstream serves the bare repositories under root over git's smart HTTP protocol at
// /git/<repo> and records the identity header it received.
type gitUpstream struct {
	srv   *httptest.Server
	mu    sync.Mutex
	users []string
}

func newGitUpstream(t *testing.T, root string) *gitUpstream {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	g := &gitUpstream{}
	h := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.users = append(g.users, r.Header.Get("X-User-Email"))
		g.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + dir}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// makeRepo creates root/repo.git with one commit holding README.
func makeRepo(t *testing.T, root string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	for _, c := range [][]string{
		{"init", "-q", "--bare", filepath.Join(root, "repo.git")},
		{"init", "-q", "-b", "main", work},
	} {
		if out, err := run(t, root, nil, "git", c...); err != nil {
			t.Fatalf("git %v: %v\n%s", c, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello through the gate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"add", "README"},
		{"-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "first"},
		{"push", "-q", filepath.Join(root, "repo.git"), "main"},
	} {
		if out, err := run(t, work, nil, "git", c...); err != nil {
			t.Fatalf("git %v: %v\n%s", c, err, out)
		}
	}
	if out, err := run(t, root, nil, "git", "--git-dir", filepath.Join(root, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main"); err != nil {
		t.Fatalf("symbolic-ref: %v\n%s", err, out)
	}
}

// createCredential creates a credential through the portal's JSON API as the browser's user.
func createCredential(t *testing.T, e *Env, b *Browser, body map[string]any) (string, string) {
	t.Helper()
	r := Do(t, b.C, NewRequest(t, http.MethodPost, e.Issuer+"/api/v1/account/credentials", body))
	if r.Status != http.StatusCreated {
		t.Fatalf("create credential: %s", r)
	}
	j := r.JSON(t)
	return j["secret"].(string), j["credential"].(map[string]any)["id"].(string)
}

// curl runs Debian's curl and returns the status code, the headers and the body.
func curl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	hdr := filepath.Join(dir, "h")
	out, err := exec.Command("curl", append([]string{"-sS", "-D", hdr, "-o", filepath.Join(dir, "b"), "-w", "%{http_code}"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	h, _ := os.ReadFile(hdr)
	body, _ := os.ReadFile(filepath.Join(dir, "b"))
	var code int
	fmt.Sscan(string(out), &code)
	return code, string(h), string(body)
}

// TestAppCredentials: issue 16 "App passwords and personal access tokens" end to end.
//
//   - RFC 7617 §2: an app password sent as Basic (user-id ":" password) by curl and by Go's
//     net/http opens the file_server listing and files on a route with `allow app_passwords`;
//     `git clone` over smart HTTP with the app password in the URL works (git first gets the
//     401 Basic challenge, then sends the credentials);
//   - RFC 6750 §2.1: a personal access token as Bearer opens any protected route; the upstream
//     gets the identity headers, never the credential (PX-30, PX-01);
//   - CR-05: Basic on a route without `allow app_passwords` is refused without a look at
//     the password (nothing counted);
//   - CR-06: wrong, expired and revoked credentials get the same 401;
//   - a revocation (by the user through the portal API, or by an admin with `gatehouse user
//     revoke-credential`) refuses the very next request, cached or not.
func TestAppCredentials(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	davRoot, gitRoot := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(davRoot, "dav"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(davRoot, "dav", "notes.txt"), []byte("secret notes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	makeRepo(t, gitRoot)
	git := newGitUpstream(t, gitRoot)
	sites := strings.NewReplacer("DAVROOT", davRoot, "GITADDR", strings.TrimPrefix(git.srv.URL, "http://")).Replace(appCredSites)
	e := Start(t, Config{Gatehouse: appCredClient, Sites: sites})
	const email = "ada@example.com"
	userID := e.CreateUser(email, "staff")
	b := NewBrowser(t)
	e.PortalLogin(b, email, Password)

	appPW, _ := createCredential(t, e, b, map[string]any{"kind": "app_password", "name": "laptop",
		"scopes": []string{"files:read", "git:read"}, "expires_in_days": 30})
	pat, patID := createCredential(t, e, b, map[string]any{"kind": "pat", "name": "ci", "scopes": []string{"files:read"}, "expires_in_days": 30})
	if !strings.HasPrefix(appPW, "gh_app_") || !strings.HasPrefix(pat, "gh_pat_") {
		t.Fatalf("secrets %q %q lack their prefixes", appPW, pat)
	}

	t.Run("curl", func(t *testing.T) {
		code, _, body := curl(t, "-u", email+":"+appPW, e.App+"/dav/")
		if code != http.StatusOK || !strings.Contains(body, "notes.txt") {
			t.Fatalf("curl -u (app password) /dav/: %d\n%s", code, body)
		}
		code, _, body = curl(t, "-H", "Authorization: Bearer "+pat, e.App+"/dav/notes.txt")
		if code != http.StatusOK || body != "secret notes\n" {
			t.Fatalf("curl Bearer PAT /dav/notes.txt: %d %q", code, body)
		}
		code, hdr, _ := curl(t, "-u", email+":"+appPW, e.App+"/api/x")
		if code != http.StatusUnauthorized || strings.Contains(strings.ToLower(hdr), "www-authenticate: basic") {
			t.Fatalf("Basic on a route without allow app_passwords: %d\n%s", code, hdr)
		}
		code, hdr, _ = curl(t, e.App+"/dav/")
		if code != http.StatusUnauthorized || !strings.Contains(hdr, `Basic realm="gatehouse"`) {
			t.Fatalf("anonymous /dav/: %d\n%s", code, hdr)
		}
	})

	t.Run("net/http", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.App+"/dav/notes.txt", nil)
		req.SetBasicAuth(strings.ToUpper(email), appPW) // the email in any case
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "secret notes\n" {
			t.Fatalf("net/http Basic: %d %q", resp.StatusCode, body)
		}
		before := e.Upstream.Count()
		r := Get(t, e.App+"/api/data", pat)
		if r.Status != http.StatusOK || e.Upstream.Count() != before+1 {
			t.Fatalf("net/http Bearer PAT on /api/: %s", r)
		}
		rec := e.Upstream.Last(t)
		if got := rec.Header.Get("X-User-Id"); got != userID || rec.Header.Get("X-User-Email") != email ||
			len(rec.Values("Authorization")) != 0 {
			t.Fatalf("upstream headers: %v", rec.Header)
		}
		// A credential lacking the route's scope: 403 insufficient_scope (RFC 6750 §3.1).
		if r := Get(t, e.App+"/git/repo.git/info/refs?service=git-upload-pack", pat); r.Status != http.StatusForbidden {
			t.Fatalf("PAT without git:read on /git/: %s", r)
		}
	})

	t.Run("git clone", func(t *testing.T) {
		dir := t.TempDir()
		u, _ := url.Parse(e.App + "/git/repo.git")
		u.User = url.UserPassword(email, appPW)
		if out, err := run(t, dir, nil, "git", "clone", "-q", u.String(), "clone"); err != nil {
			t.Fatalf("git clone with the app password: %v\n%s", err, out)
		}
		got, err := os.ReadFile(filepath.Join(dir, "clone", "README"))
		if err != nil || string(got) != "hello through the gate\n" {
			t.Fatalf("cloned README = %q, %v", got, err)
		}
		git.mu.Lock()
		users := strings.Join(git.users, ",")
		git.mu.Unlock()
		if !strings.Contains(users, email) {
			t.Fatalf("git upstream saw users %q", users)
		}
		u.User = url.UserPassword(email, appcred.Generate(store.CredentialAppPassword))
		if out, err := run(t, dir, nil, "git", "clone", "-q", u.String(), "clone2"); err == nil || !strings.Contains(out, "401") && !strings.Contains(out, "Authentication failed") {
			t.Fatalf("git clone with a wrong app password: %v\n%s", err, out)
		}
	})

	t.Run("no oracle, revocation", func(t *testing.T) {
		// An expired credential, written straight into the running store.
		p := Provider(t)
		expired := appcred.Generate(store.CredentialPAT)
		now := time.Now().UTC().Truncate(time.Second)
		if err := p.Store.CreateAppCredential(Ctx(t), store.AppCredential{ID: appcred.Hash(expired), UserID: userID, Kind: store.CredentialPAT,
			Name: "old", Scopes: []string{"files:read"}, CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// The PAT is in use (and cached) before it is revoked.
		for range 3 {
			if r := Get(t, e.App+"/api/data", pat); r.Status != http.StatusOK {
				t.Fatalf("PAT before revocation: %s", r)
			}
		}
		r := Do(t, b.C, NewRequest(t, http.MethodPost, e.Issuer+"/api/v1/account/credentials/"+patID+"/revoke", map[string]any{}))
		if r.Status != http.StatusOK {
			t.Fatalf("revoke: %s", r)
		}
		revokedAt := time.Now()
		revoked := Get(t, e.App+"/api/data", pat)
		if revoked.Status != http.StatusUnauthorized || time.Since(revokedAt) > time.Second {
			t.Fatalf("PAT right after its revocation: %s", revoked)
		}
		wrong := Get(t, e.App+"/api/data", appcred.Generate(store.CredentialPAT))
		old := Get(t, e.App+"/api/data", expired)
		for name, r := range map[string]*Resp{"wrong": wrong, "expired": old} {
			if r.Status != revoked.Status || !bytes.Equal(r.Body, revoked.Body) ||
				r.Header.Get("WWW-Authenticate") != revoked.Header.Get("WWW-Authenticate") {
				t.Fatalf("%s credential answers unlike a revoked one:\n%s\n%s", name, r, revoked)
			}
		}
		basicWrong := basicGet(t, e.App+"/dav/", email, appcred.Generate(store.CredentialAppPassword))
		if basicWrong.Status != http.StatusUnauthorized {
			t.Fatalf("wrong app password: %s", basicWrong)
		}

		// An admin revokes the app password with the CLI (listing it first); it is refused.
		addr := []string{"--address", e.AdminAddr}
		list, err := runCLI(t, "", append([]string{"user", "credentials", email}, addr...)...)
		if err != nil || !strings.Contains(list, `"last_used_ip": "127.0.0.1"`) || strings.Contains(list, appPW) {
			t.Fatalf("gatehouse user credentials (with the last use, no secret): %v\n%s", err, list)
		}
		id := appcred.ShortID(appcred.Hash(appPW))
		if out, err := runCLI(t, "", append([]string{"user", "revoke-credential", email, id}, addr...)...); err != nil || !strings.Contains(out, `"revoked"`) {
			t.Fatalf("gatehouse user revoke-credential: %v\n%s", err, out)
		}
		afterAdmin := basicGet(t, e.App+"/dav/", email, appPW)
		if afterAdmin.Status != http.StatusUnauthorized || !bytes.Equal(afterAdmin.Body, basicWrong.Body) {
			t.Fatalf("app password after the admin revoked it: %s (wrong one: %s)", afterAdmin, basicWrong)
		}
	})
}

func basicGet(t *testing.T, rawURL, user, pass string) *Resp {
	t.Helper()
	req := NewRequest(t, http.MethodGet, rawURL, nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return Do(t, API, req)
}
