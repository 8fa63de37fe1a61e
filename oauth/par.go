package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Pushed authorization requests (RFC 9126). A pushed request is a store.OneTimeCode of
// purpose PurposePushed whose ID is the hash of the request_uri's random part, bound to the
// client (Subject) and holding the validated parameters (Data["params"]). It lives
// PushedRequestLifetime until a browser first brings it to /authorize; that browser then
// holds it (Data["browser"], the hash of a secret in its cookie) for PushedFlowLifetime,
// through login, consent and approval pages, and the final answer (a code or an error)
// consumes it: a request_uri yields one authorization response, from one browser.

// RequestURIPrefix starts every request_uri this server issues (RFC 9126 §2.2: "urn:ietf:
// params:oauth:request_uri:<reference-value>").
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// PurposePushed is the one-time code purpose of pushed authorization requests.
const PurposePushed = "par"

// DefaultPushedRequestLifetime is a request_uri's lifetime (RFC 9126 §2.2: expires_in)
// unless configured; PushedFlowLifetime how long the browser that opened it may take to
// finish (login, consent, approval).
const (
	DefaultPushedRequestLifetime = 60 * time.Second
	PushedFlowLifetime           = 15 * time.Minute
	pushedGrace                  = 15 * time.Minute
)

// PushedRequest is the answer of the pushed authorization request endpoint (RFC 9126 §2.2).
type PushedRequest struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

// Pushed is a pushed request loaded at the authorization endpoint.
type Pushed struct {
	// Params are the parameters the client pushed (client_id included).
	Params url.Values
	// Authenticated: a confidential client pushed it, authenticated as at the token
	// endpoint (its parameters are that client's trusted input); false for a public client.
	Authenticated bool
	// Expired: the browser that opened it took longer than PushedFlowLifetime; the caller
	// ends the request with access_denied (a transaction not approved in time).
	Expired bool
}

// RequiresPushed reports whether client c may start authorization requests only through a
// pushed request (RFC 9126 §4; metadata require_pushed_authorization_requests, §5 and §6).
func (p *Server) RequiresPushed(c *Client) bool {
	return p.RequirePushedRequests || c.RequirePushedRequests
}

// PushedLifetime is the lifetime of a new request_uri.
func (p *Server) PushedLifetime() time.Duration {
	if p.PushedRequestLifetime > 0 {
		return p.PushedRequestLifetime
	}
	return DefaultPushedRequestLifetime
}

// Push stores the authorization request params of client c, which the caller authenticated
// as at the token endpoint and validated as at the authorization endpoint (RFC 9126 §2.1),
// and returns its request_uri.
func (p *Server) Push(ctx context.Context, c *Client, params url.Values) (*PushedRequest, *Error) {
	if params.Has("request_uri") {
		return nil, errorf(InvalidRequest, "request_uri cannot be pushed")
	}
	ref := secret.Token()
	now := p.Now()
	ttl := p.PushedLifetime()
	data := map[string]string{"params": params.Encode()}
	if !c.Public() {
		data["authenticated"] = "1"
	}
	rec := store.OneTimeCode{ID: secret.Hash(ref), Purpose: PurposePushed, Subject: c.ID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return nil, p.serverError("par: store", err)
	}
	return &PushedRequest{RequestURI: RequestURIPrefix + ref, ExpiresIn: int(ttl / time.Second)}, nil
}

// errBadRequestURI is the one answer for a request_uri that is unknown, expired, already
// used, another client's or opened by another browser (RFC 9126 §4, RFC 9101 §7:
// invalid_request_uri), so that the answer tells nothing more.
var errBadRequestURI = &Error{Kind: InvalidRequestURI, Description: "request_uri is invalid, expired or already used; push the request again"}

func pushedID(requestURI string) (string, bool) {
	ref, ok := strings.CutPrefix(requestURI, RequestURIPrefix)
	if !ok || ref == "" || len(ref) > 128 {
		return "", false
	}
	return secret.Hash(ref), true
}

// OpenPushed loads the pushed request requestURI for client clientID at the authorization
// endpoint, for the browser holding browserSecret (its cookie). The first browser to open it
// holds it from then on, for PushedFlowLifetime; any other browser, another client, an
// expired or a used request_uri gets InvalidRequestURI (RFC 9126 §4).
func (p *Server) OpenPushed(ctx context.Context, clientID, requestURI, browserSecret string) (*Pushed, *Error) {
	id, ok := pushedID(requestURI)
	if !ok || clientID == "" || browserSecret == "" {
		return nil, errBadRequestURI
	}
	now := p.Now()
	browser := secret.Hash("par-browser\x00" + browserSecret)
	expired := false
	rec, err := p.Store.UpdateOneTimeCode(ctx, id, func(o store.OneTimeCode) (store.OneTimeCode, error) {
		switch {
		case o.Purpose != PurposePushed || o.Subject != clientID || !now.Before(o.ExpiresAt):
			return o, errRefused
		case o.Data["browser"] == "":
			// Kept a while past the deadline, so that a late answer is access_denied at
			// the client rather than an error page.
			o.Data["browser"] = browser
			o.Data["deadline"] = strconv.FormatInt(now.Add(PushedFlowLifetime).Unix(), 10)
			o.ExpiresAt = now.Add(PushedFlowLifetime + pushedGrace)
		case !secret.Equal(o.Data["browser"], browser):
			return o, errRefused
		default:
			deadline, _ := strconv.ParseInt(o.Data["deadline"], 10, 64)
			expired = now.Unix() >= deadline
		}
		return o, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errRefused):
		return nil, errBadRequestURI
	case err != nil:
		return nil, p.serverError("par: open", err)
	}
	params, err := url.ParseQuery(rec.Data["params"])
	if err != nil {
		return nil, p.serverError("par: decode", fmt.Errorf("stored parameters: %w", err))
	}
	return &Pushed{Params: params, Authenticated: rec.Data["authenticated"] == "1", Expired: expired}, nil
}

var errRefused = errors.New("refused")

// ClosePushed consumes the pushed request requestURI when the authorization endpoint answers
// it (a code or an error): it cannot be used again (RFC 9126 §4: "the client MUST only use a
// request_uri value once"). Of two concurrent answers only one closes it; the other gets
// InvalidRequestURI and must not answer.
func (p *Server) ClosePushed(ctx context.Context, requestURI string) *Error {
	id, ok := pushedID(requestURI)
	if !ok {
		return errBadRequestURI
	}
	rec, err := p.Store.ConsumeOneTimeCode(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errBadRequestURI
	case err != nil:
		return p.serverError("par: close", err)
	case rec.Purpose != PurposePushed:
		return errBadRequestURI
	}
	return nil
}
