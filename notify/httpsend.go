package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBody bounds how much of an SMS API's response is read.
const maxResponseBody = 64 << 10

// HTTPOptions are the delivery settings shared by the HTTP-based SMS senders.
type HTTPOptions struct {
	// Timeout bounds each request, response included (default 10s).
	Timeout time.Duration
	// Attempts is how many times a transient failure (a network error, 408, 429 or 5xx) is
	// tried in all (default 3).
	Attempts int
	// Backoff is the wait before the first retry, doubled for each further one (default
	// 500ms). A Retry-After header on a 429 or 503 reply replaces it.
	Backoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured (default 10s): a server asking for a
	// longer wait ends the attempts, since a login code that late is of no use.
	MaxRetryAfter time.Duration
	// Client sends the requests (nil: a client with Timeout). Redirects are never followed:
	// a signed or authenticated request goes only where it was configured to go.
	Client *http.Client
}

func (o HTTPOptions) withDefaults() HTTPOptions {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Attempts == 0 {
		o.Attempts = 3
	}
	if o.Backoff == 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.MaxRetryAfter == 0 {
		o.MaxRetryAfter = 10 * time.Second
	}
	var c http.Client
	if o.Client != nil {
		c = *o.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &c
	return o
}

func (o HTTPOptions) validate() []error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, &OptionError{Option: "timeout", Msg: "must be positive"})
	}
	if o.Attempts < 0 || o.Backoff < 0 || o.MaxRetryAfter < 0 {
		errs = append(errs, &OptionError{Option: "attempts", Msg: "attempts, backoff and max_retry_after must be positive"})
	}
	return errs
}

// checkEndpoint accepts an absolute https URL, or http on a loopback host.
func checkEndpoint(option, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return &OptionError{Option: option, Msg: fmt.Sprintf("%q must be an absolute https URL", raw)}
	}
	if u.User != nil || u.Fragment != "" {
		return &OptionError{Option: option, Msg: fmt.Sprintf("%q must not contain user information or a fragment", raw)}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return &OptionError{Option: option, Msg: fmt.Sprintf("%q must use https: plain http would expose login codes on the network (http is only allowed on a loopback host)", raw)}
		}
	default:
		return &OptionError{Option: option, Msg: fmt.Sprintf("%q must be an https URL", raw)}
	}
	return nil
}

// postWithRetry sends the request built by newReq until it succeeds (2xx), fails
// permanently (another status: describe turns the reply into the error, wrapped with
// ErrPermanent) or the attempts or ctx run out.
func postWithRetry(ctx context.Context, o HTTPOptions, name string, newReq func(context.Context) (*http.Request, error),
	describe func(status int, body []byte) string) error {
	wait := o.Backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := postOnce(ctx, o, name, newReq, describe)
		if err == nil || errors.Is(err, ErrPermanent) || attempt >= o.Attempts {
			return err
		}
		d := wait
		if retryAfter > 0 {
			if retryAfter > o.MaxRetryAfter {
				return fmt.Errorf("%w (server asked to retry after %s; not waiting that long)", err, retryAfter)
			}
			d = retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return fmt.Errorf("%w (no time left to retry)", err)
		}
		if werr := sleep(ctx, d); werr != nil {
			return fmt.Errorf("%w (gave up retrying: %v)", err, werr)
		}
		wait *= 2
	}
}

func postOnce(ctx context.Context, o HTTPOptions, name string, newReq func(context.Context) (*http.Request, error),
	describe func(status int, body []byte) string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := newReq(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrPermanent, name, err)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may carry an account id; the option names it already
		}
		return 0, fmt.Errorf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil && resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("%s: reading the reply: %v", name, err)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return 0, nil
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("%s: %s", name, describe(s, body))
	case s >= 300 && s < 400:
		return 0, fmt.Errorf("%w: %s: server redirected (%d); redirects are not followed, configure the final URL", ErrPermanent, name, s)
	default:
		return 0, fmt.Errorf("%w: %s: %s", ErrPermanent, name, describe(s, body))
	}
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
