package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/testenv"
)

// Helpers of the real-browser passkey test (browser_passkey_test.go): headless Chromium
// driven over the DevTools protocol, with the protocol's virtual WebAuthn authenticators
// standing in for a laptop's platform authenticator and USB security keys. Every helper is
// prefixed "br".

// brBrowser is one headless Chromium tab with the WebAuthn domain enabled.
type brBrowser struct {
	t   *testing.T
	e   *Env
	ctx context.Context

	mu    sync.Mutex
	log   []string // console messages, page errors and chromedp errors, for failure reports
	calls []brCall // WebAuthn calls of the pages, in order
	auths []webauthn.AuthenticatorID
	// noAutofill is the identifier of the script that hides conditional mediation, or "".
	noAutofill page.ScriptIdentifier
}

// brCall is one call of navigator.credentials.create or .get by a page.
type brCall struct {
	Kind      string `json:"kind"`      // "create" or "get"
	Mediation string `json:"mediation"` // "conditional" for the autofill, else ""
	Allow     int    `json:"allow"`     // len(allowCredentials): 0 for a usernameless login
}

// brRecorder wraps navigator.credentials.create/get in every page to report each call
// (through the brWebAuthn binding) before passing it on unchanged.
const brRecorder = `(() => {
	const c = navigator.credentials;
	if (!c || !window.PublicKeyCredential) return;
	const get = c.get.bind(c), create = c.create.bind(c);
	const report = (kind, o) => {
		const pk = (o && o.publicKey) || {};
		window.brWebAuthn(JSON.stringify({kind, mediation: (o && o.mediation) || "", allow: (pk.allowCredentials || []).length}));
	};
	c.get = (o) => { report("get", o); return get(o); };
	c.create = (o) => { report("create", o); return create(o); };
})();`

// brNeedChromium returns Chromium's path. Without Chromium the test skips, saying what to
// install, or fails when GATEHOUSE_REQUIRE_TOOLS=1 (scripts/test.sh); GATEHOUSE_SKIP_BROWSER=1
// skips it anyway: see internal/testenv.
func brNeedChromium(t *testing.T) string {
	t.Helper()
	return testenv.Chromium(t, "this browser test (passkeys with a virtual authenticator)")
}

// brStartBrowser starts Chromium at path and opens a tab on about:blank with the WebAuthn
// virtual authenticator environment and the WebAuthn call recorder.
func brStartBrowser(t *testing.T, e *Env, path string) *brBrowser {
	t.Helper()
	b := &brBrowser{t: t, e: e}
	// A profile directory of our own: chromedp removes its own 10 ms after Chromium exits,
	// before Chromium's helper processes have stopped writing, and leaves it behind.
	profile, err := os.MkdirTemp("", "gatehouse-chromium-")
	if err != nil {
		t.Fatalf("Chromium profile directory: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1000, 900),
		chromedp.WSURLReadTimeout(30*time.Second),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(func(f string, a ...any) {
		b.note("chromedp: "+f, a...)
	}))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for Chromium to exit
		brRemoveProfile(t, profile)
	})
	b.attach(ctx, "start Chromium ("+path+")")
	return b
}

// attach makes ctx the browser's tab: it records the tab's console, page errors and
// WebAuthn calls, opens the tab (what names the step in a failure), and enables the WebAuthn
// virtual authenticator environment and the WebAuthn call recorder in it.
func (b *brBrowser) attach(ctx context.Context, what string) {
	b.t.Helper()
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					args = append(args, string(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			b.note("console.%s: %s", ev.Type, strings.Join(args, " "))
		case *runtime.EventBindingCalled:
			var c brCall
			if ev.Name == "brWebAuthn" && json.Unmarshal([]byte(ev.Payload), &c) == nil {
				b.mu.Lock()
				b.calls = append(b.calls, c)
				b.mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.note("page exception: %s", msg)
		}
	})
	b.ctx = ctx
	// The first Run starts Chromium (or, in a browser already started, opens the tab) and
	// binds it to its context, which must therefore be the tab's own (WSURLReadTimeout
	// bounds the start).
	if err := chromedp.Run(ctx); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	start, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Run(start, runtime.AddBinding("brWebAuthn"), chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(brRecorder).Do(ctx)
		return err
	}), webauthn.Enable().WithEnableUI(false))
	if err != nil {
		b.t.Fatalf("%s: enable the WebAuthn domain: %v", what, err)
	}
}

// newContext opens a tab in a new browser context of the same Chromium, prepared like the
// first tab: another person's browser, with cookies and storage of its own (as an incognito
// window has). It is closed with the test. (chromedp.WithNewBrowserContext cannot be used:
// headless Chromium opens a tab in a new browser context only in a new window, which
// chromedp does not ask for.)
func (b *brBrowser) newContext() *brBrowser {
	b.t.Helper()
	var bc cdp.BrowserContextID
	var tab target.ID
	b.run("open a new browser context", 30*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		browser := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser)
		var err error
		if bc, err = target.CreateBrowserContext().WithDisposeOnDetach(true).Do(browser); err != nil {
			return fmt.Errorf("create the browser context: %w", err)
		}
		tab, err = target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(browser)
		if err != nil {
			return fmt.Errorf("open a window in it: %w", err)
		}
		return nil
	}))
	n := &brBrowser{t: b.t, e: b.e}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(tab))
	b.t.Cleanup(func() {
		cancel()
		dctx, dcancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer dcancel()
		_ = chromedp.Run(dctx, chromedp.ActionFunc(func(ctx context.Context) error {
			return target.DisposeBrowserContext(bc).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
		}))
	})
	n.attach(ctx, "attach to the new browser context's tab")
	return n
}

// brRemoveProfile removes Chromium's profile directory once its helper processes, which
// outlive the browser process by a few milliseconds, no longer recreate files in it.
func brRemoveProfile(t *testing.T, dir string) {
	for deadline := time.Now().Add(3 * time.Second); ; {
		err := os.RemoveAll(dir)
		time.Sleep(100 * time.Millisecond)
		if _, serr := os.Stat(dir); err == nil && errors.Is(serr, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("Chromium's profile directory %s could not be removed: %v", dir, err)
			return
		}
	}
}

// note adds a line to the browser log shown when a step fails.
func (b *brBrowser) note(format string, a ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.log) < 200 {
		b.log = append(b.log, fmt.Sprintf(format, a...))
	}
}

// run runs actions as one step bounded by timeout; on error it fails the test with the
// page's URL, HTML, a screenshot file and the browser's console log.
func (b *brBrowser) run(step string, timeout time.Duration, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no result within %v: %w", timeout, err)
		}
		b.fail(step, err)
	}
}

// fail reports a failed step with what the browser shows.
func (b *brBrowser) fail(step string, err error) {
	b.t.Helper()
	b.t.Fatalf("browser step %q: %v\n%s", step, err, b.diagnostics(step))
}

// diagnostics returns the page's URL and HTML, saves a screenshot and lists the console log.
func (b *brBrowser) diagnostics(step string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var loc, html string
	var png []byte
	var sb strings.Builder
	if err := chromedp.Run(ctx, chromedp.Location(&loc)); err != nil {
		fmt.Fprintf(&sb, "(page URL: %v)\n", err)
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.documentElement ? document.documentElement.outerHTML : ""`, &html)); err != nil {
		fmt.Fprintf(&sb, "(page HTML: %v)\n", err)
	}
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		fmt.Fprintf(&sb, "(screenshot: %v)\n", err)
	}
	fmt.Fprintf(&sb, "page URL: %s\n", loc)
	if len(png) > 0 {
		name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(b.t.Name()+"-"+step, "-")
		file := filepath.Join(os.TempDir(), "gatehouse-"+name+".png")
		if err := os.WriteFile(file, png, 0o644); err == nil {
			fmt.Fprintf(&sb, "screenshot: %s\n", file)
		}
	}
	fmt.Fprintf(&sb, "page HTML:\n%s\n", truncate(html, 6000))
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(&sb, "browser log (%d lines):\n%s", len(b.log), strings.Join(b.log, "\n"))
	return sb.String()
}

// brWaitJS waits until the JavaScript expression is true in the current page. Unlike
// chromedp.Poll it survives navigations: each check is a fresh evaluation, and errors (a page
// being replaced, an element not there yet) only mean "not yet".
func brWaitJS(expr string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var lastErr error
		for {
			var ok bool
			ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := chromedp.Evaluate("!!("+expr+")", &ok).Do(ectx)
			cancel()
			if err == nil && ok {
				return nil
			}
			if err != nil && ctx.Err() == nil {
				lastErr = err
			}
			select {
			case <-ctx.Done():
				if lastErr != nil {
					return fmt.Errorf("waiting for %s (last error %v): %w", expr, lastErr, ctx.Err())
				}
				return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// brAt waits until the page is at path on origin and fully parsed, with app.js run (the
// DOMContentLoaded handlers of app.js un-hide the passkey controls, so waiting for
// readyState "complete" is enough).
func brAt(origin, path string) chromedp.Action {
	return brWaitJS(fmt.Sprintf(`location.origin === %q && location.pathname === %q && document.readyState === "complete"`, origin, path))
}

// brPastEmailCheck follows a sign-up to the account page. A server that can send email (a
// localhost issuer gets the development outbox) first asks the new user to verify the address
// with a code; the test user takes the page's "Skip for now" link.
func brPastEmailCheck(origin string) chromedp.Action {
	return chromedp.Tasks{
		brWaitJS(fmt.Sprintf(`location.origin === %q && ["/", "/account/email/verify"].includes(location.pathname) && document.readyState === "complete"`, origin)),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var verify bool
			if err := chromedp.Evaluate(`location.pathname === "/account/email/verify"`, &verify).Do(ctx); err != nil || !verify {
				return err
			}
			return chromedp.Click(`//a[normalize-space()="Skip for now"]`, chromedp.BySearch).Do(ctx)
		}),
	}
}

// brErrorShown waits until the page's error box is visible and contains want.
func brErrorShown(want string) chromedp.Action {
	return brWaitJS(fmt.Sprintf(`(() => { const e = document.querySelector("[data-error]"); return e && !e.hidden && e.textContent.includes(%q); })()`, want))
}

// takeCalls returns the WebAuthn calls recorded since the last takeCalls.
func (b *brBrowser) takeCalls() []brCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls
	b.calls = nil
	return c
}

// autofill shows or hides the browser's passkey autofill (conditional mediation) to the
// pages loaded from now on. Chromium's virtual authenticators answer a conditional request
// at once, as if the user had picked the passkey in the autofill list: a page that starts one
// logs in by itself. Hiding it (PublicKeyCredential.isConditionalMediationAvailable answers
// false, as in a browser without passkey autofill) leaves the button as the only way.
func (b *brBrowser) autofill(on bool) {
	b.t.Helper()
	if on == (b.noAutofill == "") {
		return
	}
	b.run("switch the passkey autofill", 5*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		if on {
			err := page.RemoveScriptToEvaluateOnNewDocument(b.noAutofill).Do(ctx)
			b.noAutofill = ""
			return err
		}
		var err error
		b.noAutofill, err = page.AddScriptToEvaluateOnNewDocument(
			`if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`).Do(ctx)
		return err
	}))
}

// text returns the trimmed text content of the first element matching the CSS selector.
func (b *brBrowser) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, 5*time.Second, chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent.trim() : ""; })()`, sel), &s))
	return s
}

// attr returns an attribute of the first element matching the CSS selector.
func (b *brBrowser) attr(sel, name string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, 5*time.Second, chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.getAttribute(%q) || "" : ""; })()`, sel, name), &s))
	return s
}

// passkeyRows returns the text of each passkey on the account page, "<name> | <details>",
// sorted (the page lists passkeys in the store's order, by credential ID).
func (b *brBrowser) passkeyRows() []string {
	b.t.Helper()
	var rows []string
	b.run("read the passkey list", 5*time.Second, chromedp.Evaluate(
		`Array.from(document.querySelectorAll("ul.passkeys li")).map(li => li.querySelector("strong").textContent + " | " + li.querySelector(".hint").textContent)`, &rows))
	slices.Sort(rows)
	return rows
}

// addAuthenticator attaches a virtual CTAP2.1 authenticator that holds resident keys and
// verifies its user: with transport internal, a laptop's fingerprint reader (Chromium allows
// one), with usb a security key with a PIN. Presence is simulated: it answers at once, as if
// touched.
func (b *brBrowser) addAuthenticator(transport webauthn.AuthenticatorTransport) webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.run("add a virtual authenticator", 5*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: transport, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	}))
	b.auths = append(b.auths, id)
	return id
}

// use makes id the only authenticator the user touches: the others stop simulating presence,
// so they never answer and Chromium's choice among several attached authenticators is not a
// race.
func (b *brBrowser) use(id webauthn.AuthenticatorID) {
	b.t.Helper()
	var acts []chromedp.Action
	for _, a := range b.auths {
		acts = append(acts, webauthn.SetAutomaticPresenceSimulation(a, a == id))
	}
	b.run("choose the authenticator", 5*time.Second, acts...)
}

// credentials returns the credentials an authenticator holds.
func (b *brBrowser) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	var creds []*webauthn.Credential
	b.run("read the authenticator's credentials", 5*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(id).Do(ctx)
		return err
	}))
	return creds
}

// brSession is the answer of GET /api/v1/session.
type brSession struct {
	Status        int
	Authenticated bool
	UserID        string
	Email         string
	AMR           []string
}

// session asks the portal's session API with the browser's cookies of the portal (read over
// DevTools, so it works whatever page the tab shows).
func (b *brBrowser) session() brSession {
	b.t.Helper()
	var cookies []*network.Cookie
	b.run("read the browser's cookies", 5*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{b.e.Issuer + "/"}).Do(ctx)
		return err
	}))
	req := NewRequest(b.t, http.MethodGet, b.e.Issuer+"/api/v1/session", nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	r := Do(b.t, API, req)
	var body struct {
		Authenticated bool `json:"authenticated"`
		User          *struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		b.t.Fatalf("session API: %v: %s", err, r)
	}
	s := brSession{Status: r.Status, Authenticated: body.Authenticated, AMR: body.AMR}
	if body.User != nil {
		s.UserID, s.Email = body.User.ID, body.User.Email
	}
	return s
}
