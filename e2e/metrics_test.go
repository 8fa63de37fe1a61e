package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// scrapeMetrics returns the series of Caddy's metrics endpoint (the admin endpoint's
// /metrics, which serves the configuration's registry), keyed by the series as printed:
// `name{label="value",...}`.
func (e *Env) scrapeMetrics(t *testing.T) map[string]float64 {
	t.Helper()
	req := NewRequest(t, http.MethodGet, "http://"+e.AdminAddr+"/metrics", nil)
	req.Host = e.AdminAddr
	r := Do(t, API, req)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %s", r)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetrics: the gatehouse metrics appear at Caddy's /metrics and move by exactly the
// events of the test: one password login that succeeds and one that fails, one
// authorization-code grant, one protected request let through and one refused (no
// credential), with the credential cache's first lookup a miss. The store's operations are
// timed and the send queue's depth is exported.
func TestMetrics(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("mia@example.test")
	before := e.scrapeMetrics(t)

	b := NewBrowser(t)
	e.PortalLogin(b, "mia@example.test", Password)
	if r := e.APILogin("mia@example.test", "not the password"); r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
		t.Fatalf("failed login: %s", r)
	}
	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid email read:docs")
	at := toks["access_token"].(string)
	if r := Get(t, e.App+"/x", at); r.Status != http.StatusOK {
		t.Fatalf("protected request with the token: %s", r)
	}
	if r := Get(t, e.App+"/x", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("protected request without a credential: %s", r)
	}

	after := e.scrapeMetrics(t)
	for series, want := range map[string]float64{
		`gatehouse_logins_total{method="password",result="success"}`:                  1,
		`gatehouse_logins_total{method="password",result="failure"}`:                  1,
		`gatehouse_tokens_issued_total{grant="authorization_code"}`:                   1,
		`gatehouse_refresh_token_reuse_total`:                                         0,
		`gatehouse_protect_decisions_total{result="allowed",route="default"}`:         1,
		`gatehouse_protect_decisions_total{result="unauthenticated",route="default"}`: 1,
		`gatehouse_protect_decisions_total{result="forbidden",route="default"}`:       0,
		`gatehouse_protect_cache_lookups_total{result="miss",route="default"}`:        1,
		`gatehouse_protect_cache_lookups_total{result="hit",route="default"}`:         0,
		`gatehouse_outbound_messages_queued`:                                          0,
	} {
		if _, ok := after[series]; !ok {
			t.Errorf("%s is not exported", series)
			continue
		}
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	if n := after[`gatehouse_store_operation_duration_seconds_count{operation="GetUserByEmail"}`] -
		before[`gatehouse_store_operation_duration_seconds_count{operation="GetUserByEmail"}`]; n < 2 {
		t.Errorf("GetUserByEmail timed %v times during two password logins", n)
	}
}

// TestHealthEndpoints: <issuer>/healthz answers 200 while the process serves;
// <issuer>/readyz answers 200 while the store answers and 503, with a JSON reason that
// names no internals, once it fails (the Badger database closed underneath, as in
// TestStoreFailureFailsClosed).
func TestHealthEndpoints(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := Get(t, e.Issuer+p, ""); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"ok"`) {
			t.Errorf("%s with the store up: %s", p, r)
		}
	}
	closer, ok := Provider(t).Store.(io.Closer)
	if !ok {
		t.Skip("the store cannot be closed from the outside")
	}
	if err := closer.Close(); err != nil {
		t.Fatalf("close the store: %v", err)
	}
	r := Get(t, e.Issuer+"/readyz", "")
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("readyz with the store down: %s", r)
	}
	if body := string(r.Body); strings.Contains(strings.ToLower(body), "badger") || strings.Contains(body, "closed") {
		t.Errorf("readyz reveals internals: %s", body)
	}
	if r := Get(t, e.Issuer+"/healthz", ""); r.Status != http.StatusOK {
		t.Errorf("healthz with the store down: %s", r)
	}
}

// TestMetricsRefreshReuse: a refresh counts a refresh_token grant; replaying the rotated
// refresh token counts one reuse and no token.
func TestMetricsRefreshReuse(t *testing.T) {
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	e.CreateUser("noor@example.test")
	b := NewBrowser(t)
	e.PortalLogin(b, "noor@example.test", Password)
	toks := e.Tokens(b, "app", e.RP+"/app-cb", "openid offline_access read:docs")
	rt, _ := toks["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", toks)
	}
	before := e.scrapeMetrics(t)
	if r := e.Refresh("app", rt); r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	if r := e.Refresh("app", rt); r.Status != http.StatusBadRequest {
		t.Fatalf("replay of the rotated refresh token: %s", r)
	}
	after := e.scrapeMetrics(t)
	for series, want := range map[string]float64{
		`gatehouse_tokens_issued_total{grant="refresh_token"}`:      1,
		`gatehouse_tokens_issued_total{grant="authorization_code"}`: 0,
		`gatehouse_refresh_token_reuse_total`:                       1,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
}

// TestMetricsAfterReload: a reload provisions the app again on the new configuration's
// registry; /metrics then serves the new collectors, which count the new configuration's
// events (a failed login, a refused protected request).
func TestMetricsAfterReload(t *testing.T) {
	cfg := Config{Gatehouse: AppClient, Sites: AppSite}
	e := Start(t, cfg)
	e.CreateUser("ole@example.test")
	if r := e.APILogin("ole@example.test", "not the password"); r.Status < 400 {
		t.Fatalf("failed login: %s", r)
	}
	if err := e.Load(cfg); err != nil {
		t.Fatalf("reload: %v", err)
	}
	before := e.scrapeMetrics(t)
	if r := e.APILogin("ole@example.test", "still not the password"); r.Status < 400 {
		t.Fatalf("failed login after the reload: %s", r)
	}
	if r := Get(t, e.App+"/x", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("protected request without a credential: %s", r)
	}
	after := e.scrapeMetrics(t)
	for series, want := range map[string]float64{
		`gatehouse_logins_total{method="password",result="failure"}`:                  1,
		`gatehouse_protect_decisions_total{result="unauthenticated",route="default"}`: 1,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v after the reload, want %v", series, got, want)
		}
	}
}
