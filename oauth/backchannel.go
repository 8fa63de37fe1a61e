package oauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// logoutTimeout bounds one delivery attempt; a failed delivery is retried twice.
const logoutTimeout = 5 * time.Second

// Doer sends an HTTP request (*http.Client): the outbound client of back-channel logout.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// NotifyLogout sends a logout token to every client of the session that registered a
// back-channel logout URI (it implements sessions.LogoutNotifier). Delivery happens in the
// background and never delays or fails the logout itself; failures are logged.
func (p *Server) NotifyLogout(s store.Session) {
	for _, id := range s.Clients {
		c, err := p.Client(context.Background(), id)
		if err != nil || c.BackchannelLogoutURI == "" {
			continue
		}
		tok, err := p.Tokens.LogoutToken(c.forTokens(), s, p.Now())
		if err != nil {
			p.logger().Error("back-channel logout: sign", "client", c.ID, "error", err)
			continue
		}
		go p.deliverLogout(c, tok)
	}
}

func (p *Server) deliverLogout(c *Client, token string) {
	var client Doer = p.HTTPClient
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
	p.logger().Warn("back-channel logout not delivered", "client", c.ID, "uri", c.BackchannelLogoutURI, "error", lastErr)
}
