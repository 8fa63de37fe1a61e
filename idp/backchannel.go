package idp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TypeLogoutToken is the typ of back-channel logout tokens (OpenID Connect Back-Channel
// Logout 1.0 §2.4; RFC 8725 §3.11 explicit typing).
const TypeLogoutToken = "logout+jwt"

// backchannelEvent is the events member of a logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTimeout bounds one delivery attempt; a failed delivery is retried twice.
const logoutTimeout = 5 * time.Second

// notifyLogout sends a logout token to every client of the session that registered a
// back-channel logout URI. Delivery happens in the background and never delays or fails the
// logout itself; failures are logged.
func (p *Provider) notifyLogout(s store.Session) {
	for _, id := range s.Clients {
		c, err := p.Client(context.Background(), id)
		if err != nil || c.BackchannelLogoutURI == "" {
			continue
		}
		tok, err := p.logoutToken(c, s)
		if err != nil {
			p.Logger.Error("back-channel logout: sign", "client", c.ID, "error", err)
			continue
		}
		go p.deliverLogout(c, tok)
	}
}

func (p *Provider) logoutToken(c *Client, s store.Session) (string, error) {
	alg := p.IDTokenAlg
	if c.IDTokenAlg != "" {
		alg = c.IDTokenAlg
	}
	key, err := p.Keys.Signer(alg)
	if err != nil {
		return "", err
	}
	now := p.Now()
	return tokens.Sign(key, TypeLogoutToken, map[string]any{
		"iss": p.Issuer, "aud": c.ID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": secret.New(16), "sub": s.UserID, "sid": s.ID,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	})
}

func (p *Provider) deliverLogout(c *Client, token string) {
	client := p.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: logoutTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // never follow a redirect with a token
		}}
	}
	body := url.Values{"logout_token": {token}}.Encode()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		ctx, cancel := context.WithTimeout(context.Background(), logoutTimeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
		if err != nil {
			cancel()
			lastErr = err
			break
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
				cancel()
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		cancel()
		lastErr = err
	}
	p.Logger.Warn("back-channel logout not delivered", "client", c.ID, "uri", c.BackchannelLogoutURI, "error", lastErr)
}
