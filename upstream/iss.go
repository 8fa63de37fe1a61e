package upstream

import (
	"context"
	"strings"
)

// CheckIss applies RFC 9207 (OAuth 2.0 Authorization Server Issuer Identification) to the
// iss parameter of an authorization response, before anything else of the response is used
// (the mix-up attack, RFC 9700 §4.4, AS-28). Per §2.4:
//
//   - a present iss must equal the issuer of the provider the request was sent to (simple
//     string comparison), or the response is rejected;
//   - "Clients MUST reject authorization responses without the iss parameter from
//     authorization servers that do support the parameter according to the client's
//     configuration": the provider's discovery document advertising
//     authorization_response_iss_parameter_supported true is that configuration.
//
// A provider that does not advertise it may answer without iss. GitHub (plain OAuth 2.0)
// sends none. A refusal matches IsRefusal; a discovery failure is a *UnavailableError.
func (c *Client) CheckIss(ctx context.Context, iss string) error {
	if c.Kind != KindOIDC {
		return nil
	}
	d, err := c.discover(ctx)
	if err != nil {
		return err
	}
	if iss == "" {
		if d.issParam {
			return refused("no iss parameter in the answer, although the provider advertises authorization_response_iss_parameter_supported (RFC 9207 §2.4)")
		}
		return nil
	}
	if !c.IssuerMatches(iss) {
		return refused("the answer's iss parameter %q is not the provider's issuer %q (RFC 9207 §2.4)", clip(iss, 200), c.Issuer)
	}
	return nil
}

// IssuerMatches tells whether iss is the provider's issuer: exactly, or, for a multi-tenant
// provider, its template with "{tenantid}" replaced by one path segment.
func (c *Config) IssuerMatches(iss string) bool {
	if c.IssuerTemplate == "" {
		return iss == c.Issuer
	}
	pre, post, ok := strings.Cut(c.IssuerTemplate, "{tenantid}")
	if !ok {
		return iss == c.IssuerTemplate
	}
	tid, ok := strings.CutPrefix(iss, pre)
	if !ok {
		return false
	}
	tid, ok = strings.CutSuffix(tid, post)
	return ok && tid != "" && !strings.ContainsAny(tid, "/?#")
}

// clip shortens s for a log line.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
