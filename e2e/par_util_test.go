package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// pushRequest pushes an authorization request as a confidential client's back end does
// (RFC 9126 §2.1: client authentication as at the token endpoint, here client_secret_basic)
// and returns its request_uri; any answer but 201 with a request_uri fails the test.
func pushRequest(t *testing.T, ctx context.Context, parURL, clientID, secret string, form url.Values) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, parURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RequestURI string `json:"request_uri"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil || out.RequestURI == "" {
		t.Fatalf("push: status %d", resp.StatusCode)
	}
	return out.RequestURI
}
