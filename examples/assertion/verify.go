// Package assertion is the README's example of an upstream application that verifies the
// signed identity assertion Gatehouse adds to a protected route's requests (`assertion` in
// gatehouse_protect). The suite runs it against real Caddy (e2e/assertion_test.go); the README
// quotes the code between the markers, and a test checks the two are identical.
package assertion

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
)

// README:begin
// Verify checks the X-Gatehouse-Assertion header of r, a request this app (origin, e.g.
// "https://app.example.com") received from Gatehouse (issuer, e.g. "https://id.example.com"),
// and returns the user's claims. In production, cache the key set (Cache-Control: max-age=300).
func Verify(r *http.Request, issuer, origin string) (jwt.MapClaims, error) {
	res, err := http.Get(issuer + "/.well-known/gatehouse-assertion-keys")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var set struct{ Keys []struct{ Kid, X string } }
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(r.Header.Get("X-Gatehouse-Assertion"), claims, func(t *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == t.Header["kid"] {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				return ed25519.PublicKey(x), err
			}
		}
		return nil, errors.New("unknown key")
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(issuer), jwt.WithAudience(origin), jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(r.Method + " " + r.URL.EscapedPath()))
	if claims["req"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("the assertion is for another request")
	}
	return claims, nil
}

// README:end
