package social_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/idp"
	"github.com/gatehouse-dev/gatehouse/internal/idptest"
	"github.com/gatehouse-dev/gatehouse/login/social"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/golang-jwt/jwt/v5"
)

// fakeOP is an OpenID provider on httptest for the social login unit tests: discovery,
// keys, and a token endpoint that redeems the codes it gave out (PKCE checked) with an ID
// token signed by its key. Its faults are switched per test.
type fakeOP struct {
	t   testing.TB
	srv *httptest.Server
	key *rsa.PrivateKey

	mu sync.Mutex
	// discovery: "ok", "fail" (503), or "hang" (no answer until the client gives up or
	// release is closed; then the document).
	discovery string
	release   chan struct{}
	// issParam advertises authorization_response_iss_parameter_supported (RFC 9207).
	issParam bool
	// tokenStatus, when not zero, answers every token request with this status and error
	// server_error; jwksDown answers the keys with 500.
	tokenStatus int
	jwksDown    bool
	// forgeKey, when set, signs the next ID tokens (a key the provider does not publish).
	forgeKey *rsa.PrivateKey
	codes    map[string]fakeGrant
	requests map[string]int // "GET /.well-known/openid-configuration" → count
}

type fakeGrant struct {
	sub, email, nonce, challenge string
}

const fakeClientID = "gatehouse-test"

func newFakeOP(t testing.TB) *fakeOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOP{t: t, key: key, discovery: "ok", issParam: true, release: make(chan struct{}),
		codes: map[string]fakeGrant{}, requests: map[string]int{}}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(func() {
		op.mu.Lock()
		select {
		case <-op.release:
		default:
			close(op.release)
		}
		op.mu.Unlock()
		op.srv.Close()
	})
	return op
}

func (op *fakeOP) set(f func(op *fakeOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

func (op *fakeOP) count(req string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.requests[req]
}

const discoveryReq = "GET /.well-known/openid-configuration"

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.requests[r.Method+" "+r.URL.Path]++
	mode, release, issParam := op.discovery, op.release, op.issParam
	op.mu.Unlock()
	iss := op.srv.URL
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		switch mode {
		case "fail":
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		case "hang":
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		doc := map[string]any{"issuer": iss, "authorization_endpoint": iss + "/auth", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}}
		if issParam {
			doc["authorization_response_iss_parameter_supported"] = true
		}
		writeJSON(w, http.StatusOK, doc)
	case "/jwks":
		op.mu.Lock()
		down := op.jwksDown
		op.mu.Unlock()
		if down {
			http.Error(w, "keys unavailable", http.StatusInternalServerError)
			return
		}
		pub := op.key.PublicKey
		writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}}})
	case "/token":
		op.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.tokenStatus != 0 {
		writeJSON(w, op.tokenStatus, map[string]string{"error": "server_error"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	g, ok := op.codes[r.PostForm.Get("code")]
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "grant request is invalid"})
		return
	}
	delete(op.codes, r.PostForm.Get("code"))
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": op.srv.URL, "sub": g.sub, "aud": fakeClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce, "email": g.email, "email_verified": true})
	tok.Header["kid"] = "k1"
	key := op.key
	if op.forgeKey != nil {
		key = op.forgeKey
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		op.t.Error(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "at-" + g.sub, "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

// authorize plays the user logging in as sub at the provider for the authorization request
// authURL, and returns the answer's code.
func (op *fakeOP) authorize(authURL, sub string) string {
	op.t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		op.t.Fatal(err)
	}
	q := u.Query()
	if q.Get("client_id") != fakeClientID || q.Get("code_challenge_method") != "S256" {
		op.t.Fatalf("authorization request %s", authURL)
	}
	code := fmt.Sprintf("code-%d-%s", time.Now().UnixNano(), sub)
	op.set(func(op *fakeOP) {
		op.codes[code] = fakeGrant{sub: sub, email: sub + "@upstream.test", nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
	})
	return code
}

// socialEnv is an env with the provider "up" at op (onboarding on), an upstream HTTP client
// with the given timeout, and a log captured in logs.
func socialEnv(t *testing.T, op *fakeOP, timeout time.Duration, mod ...func(*idp.Config)) (*idptest.Env, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	e := idptest.NewLogged(t, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		append([]func(*idp.Config){func(c *idp.Config) {
			c.SocialProviders = []*social.Provider{{Name: "up", Label: "Upstream", Kind: social.KindOIDC, Issuer: op.srv.URL,
				ClientID: fakeClientID, ClientSecret: "s3cret-upstream", Onboarding: true}}
			c.SocialHTTPClient = &http.Client{Timeout: timeout}
		}}, mod...)...)
	return e, logs
}

// socialLogin runs a login through "up" from ip as sub and returns the callback's result.
// iss is the iss parameter to send: "" for none, "-" for the provider's own.
func socialLogin(e *idptest.Env, op *fakeOP, ip, sub, iss string) (social.Result, error) {
	e.T.Helper()
	start, err := e.P.Social.Begin(e.Ctx, ip, "up", "")
	if err != nil {
		return social.Result{}, fmt.Errorf("begin: %w", err)
	}
	code := op.authorize(start.URL, sub)
	if iss == "-" {
		iss = op.srv.URL
	}
	return e.P.Social.Finish(e.Ctx, "up", social.Callback{State: start.State, CookieState: start.State, Code: code, Error: "", Iss: iss}, store.Session{})
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
