package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
)

// spaPage is the single-page app of TestBrowserSPA: a public client ("spa") whose page, on an
// origin of its own, uses oauth4webapi (as an ES module, in the page) for discovery, the
// authorization request with PKCE, and then — every call a cross-origin fetch — the code
// exchange, userinfo, a refresh, the revocation of the refresh token and a refresh with the
// revoked token. Each result goes into #result as JSON; an exception into its "error".
const spaPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title></head>
<body><h1>SPA</h1><pre id="result">{}</pre>
<script type="module">
import * as oauth from "/oauth4webapi.js";
const issuer = new URL(%q);
const client = { client_id: "spa" };
const auth = oauth.None();
const opts = { [oauth.allowInsecureRequests]: true }; // the test's issuer is http://localhost
const redirectUri = location.origin + "/cb";
const out = {};
const report = (k, v) => { out[k] = v; document.getElementById("result").textContent = JSON.stringify(out); };
try {
	const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts));
	report("discovery", as.token_endpoint);
	if (location.pathname !== "/cb") {
		const verifier = oauth.generateRandomCodeVerifier(), state = oauth.generateRandomState(), nonce = oauth.generateRandomNonce();
		sessionStorage.setItem("spa", JSON.stringify({ verifier, state, nonce }));
		const u = new URL(as.authorization_endpoint);
		u.search = new URLSearchParams({ client_id: client.client_id, redirect_uri: redirectUri, response_type: "code",
			scope: "openid email offline_access", state, nonce,
			code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256" });
		location.assign(u.href);
	} else {
		const { verifier, state, nonce } = JSON.parse(sessionStorage.getItem("spa"));
		const params = oauth.validateAuthResponse(as, client, new URL(location.href), state);
		const tokens = await oauth.processAuthorizationCodeResponse(as, client,
			await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, opts),
			{ expectedNonce: nonce, requireIdToken: true });
		const claims = oauth.getValidatedIdTokenClaims(tokens);
		report("code", { sub: claims.sub, refresh: !!tokens.refresh_token, access: !!tokens.access_token });
		const info = await oauth.processUserInfoResponse(as, client, claims.sub,
			await oauth.userInfoRequest(as, client, tokens.access_token, opts));
		report("userinfo", info.email);
		const refreshed = await oauth.processRefreshTokenResponse(as, client,
			await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, opts));
		report("refresh", { rotated: !!refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token });
		await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, refreshed.refresh_token, opts));
		report("revoke", "ok");
		try {
			await oauth.processRefreshTokenResponse(as, client,
				await oauth.refreshTokenGrantRequest(as, client, auth, refreshed.refresh_token, opts));
			report("after_revoke", "accepted");
		} catch (e) {
			report("after_revoke", e.error || String(e));
		}
	}
} catch (e) {
	report("error", String(e) + (e.error ? " " + e.error : ""));
}
</script></body></html>`

// spaOtherPage is a page of an origin no client registered: its fetches to the token
// endpoint (a simple request, sent without preflight) and to userinfo (preflighted: it sends
// Authorization) must fail in the browser, the answers carrying no Access-Control-Allow-Origin
// for it.
const spaOtherPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Other</title></head>
<body><pre id="result">{}</pre>
<script type="module">
const out = {};
const attempt = async (k, f) => {
	try { const r = await f(); out[k] = "read " + r.status; } catch (e) { out[k] = String(e); }
};
await attempt("token", () => fetch(%q, { method: "POST",
	headers: { "content-type": "application/x-www-form-urlencoded" },
	body: "grant_type=refresh_token&refresh_token=x&client_id=spa" }));
await attempt("userinfo", () => fetch(%q, { headers: { authorization: "Bearer x" } }));
out.done = true;
document.getElementById("result").textContent = JSON.stringify(out);
</script></body></html>`

// spaResult is what the page reports.
type spaResult struct {
	Discovery string `json:"discovery"`
	Code      *struct {
		Sub     string `json:"sub"`
		Refresh bool   `json:"refresh"`
		Access  bool   `json:"access"`
	} `json:"code"`
	Userinfo string `json:"userinfo"`
	Refresh  *struct {
		Rotated bool `json:"rotated"`
	} `json:"refresh"`
	Revoke      string `json:"revoke"`
	AfterRevoke string `json:"after_revoke"`
	Error       string `json:"error"`
}

// TestBrowserSPA — issue 14, "CORS done right": a browser app (public client, PKCE) on
// another origin (http://127.0.0.1:<port>, the portal being http://localhost:<port>) runs the
// whole flow from its page with oauth4webapi in headless Chromium: discovery, redirect to
// /authorize, password login on the portal, and back on the page the code exchange, userinfo,
// a refresh and a revocation — cross-origin fetches the browser lets the page read only if
// the answers carry Access-Control-Allow-Origin for the page's origin (the origin of the
// client's registered redirect URI). Then a refresh with the revoked token fails with a
// readable invalid_grant. A page of an unregistered origin cannot read /token's or
// /userinfo's answers (AS-21).
func TestBrowserSPA(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromium := testenv.Chromium(t, "this browser test (a single-page app with oauth4webapi)")
	lib := filepath.Join("node", "node_modules", "oauth4webapi", "build", "index.js")
	js, err := os.ReadFile(lib)
	if err != nil {
		testenv.Missing(t, "this browser test needs the npm package oauth4webapi in e2e/node/node_modules (run scripts/deps.sh): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	spa := "http://" + ln.Addr().String()
	e := Start(t, Config{Localhost: true, Gatehouse: `
		client spa {
			name "Browser app"
			redirect_uri ` + spa + `/cb
			scopes openid email offline_access
		}`})
	page := fmt.Sprintf(spaPage, e.Issuer)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth4webapi.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(js)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { servePage(w, page) })
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, r *http.Request) { servePage(w, page) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	const ada = "ada@example.test"
	e.CreateUser(ada)
	b := brStartBrowser(t, e, chromium)
	b.run("open the app, which redirects to the portal's login page", 20*time.Second,
		chromedp.Navigate(spa+"/"),
		brWaitJS(fmt.Sprintf(`location.origin === %q && !!document.querySelector("input[name=password]")`, e.Issuer)))
	b.run("log in with a password", 20*time.Second,
		chromedp.SendKeys(`input[name=email]`, ada, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, Password, chromedp.ByQuery),
		chromedp.Click(`form[action$="/login"] button[type=submit]`, chromedp.ByQuery),
		brWaitJS(fmt.Sprintf(`location.origin === %q && location.pathname === "/cb"`, spa)))
	var raw string
	b.run("the page exchanges the code, refreshes and revokes", 20*time.Second,
		brWaitJS(`(() => { const r = JSON.parse(document.getElementById("result").textContent); return r.error || r.after_revoke; })()`),
		chromedp.Text("#result", &raw, chromedp.ByQuery))
	var res spaResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("page result %q: %v", raw, err)
	}
	if res.Error != "" {
		t.Fatalf("the page failed: %s (result %s)\n%s", res.Error, raw, b.diagnostics("result"))
	}
	if res.Code == nil || res.Code.Sub == "" || !res.Code.Refresh || !res.Code.Access {
		t.Errorf("code exchange: %s", raw)
	}
	if res.Userinfo != ada {
		t.Errorf("userinfo email %q, want %q", res.Userinfo, ada)
	}
	if res.Refresh == nil || !res.Refresh.Rotated {
		t.Errorf("refresh: %s", raw)
	}
	if res.Revoke != "ok" || res.AfterRevoke != "invalid_grant" {
		t.Errorf("revoke %q, refresh after it %q (want ok, invalid_grant)", res.Revoke, res.AfterRevoke)
	}
	if strings.Contains(raw, "Failed to fetch") {
		t.Errorf("a fetch was blocked: %s", raw)
	}

	// A page of another origin (another port: not the client's) cannot read the answers.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := "http://" + ln2.Addr().String()
	otherPage := fmt.Sprintf(spaOtherPage, e.Issuer+"/token", e.Issuer+"/userinfo")
	srv2 := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { servePage(w, otherPage) }),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv2.Serve(ln2) }()
	t.Cleanup(func() { _ = srv2.Close() })
	b.run("a page of an unregistered origin calls /token and /userinfo", 20*time.Second,
		chromedp.Navigate(other+"/"),
		brWaitJS(`JSON.parse(document.getElementById("result").textContent).done`),
		chromedp.Text("#result", &raw, chromedp.ByQuery))
	var blocked map[string]any
	if err := json.Unmarshal([]byte(raw), &blocked); err != nil {
		t.Fatalf("other page result %q: %v", raw, err)
	}
	for _, k := range []string{"token", "userinfo"} {
		if v, _ := blocked[k].(string); !strings.Contains(v, "Failed to fetch") {
			t.Errorf("%s from %s: %q, want the browser to block the answer (TypeError: Failed to fetch)", k, other, v)
		}
	}
}

func servePage(w http.ResponseWriter, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, page)
}
