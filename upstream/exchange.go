package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/secret"
)

// Exchange redeems the code of an authorization response at the provider (with the PKCE
// verifier of its request) and returns the verified identity: from the ID token, whose
// nonce must be nonce (and userinfo for what it leaves out), or from GitHub's user API. An
// error is a refusal (IsRefusal: forged, altered, refused by the provider), a
// *UnavailableError, or another error for an outage.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	cfg, err := c.oauthConfig(ctx)
	if err != nil {
		return Identity{}, err
	}
	uctx := c.clientCtx(ctx)
	tok, err := cfg.Exchange(uctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, tokenError(err)
	}
	if c.Kind == KindGitHub {
		return c.githubUser(uctx, tok)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, errors.New("no id_token in the token response")
	}
	d, err := c.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	op := d.op
	probe := &keyFetchProbe{}
	idt, err := d.verifier.Verify(context.WithValue(uctx, keyFetchProbeKey{}, probe), raw)
	if probe.err != nil {
		return Identity{}, fmt.Errorf("id token keys: %w", probe.err)
	} else if err != nil {
		return Identity{}, refused("id token: %w", err)
	}
	var cl struct {
		Azp           string          `json:"azp"`
		Tid           string          `json:"tid"`
		Nonce         string          `json:"nonce"`
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
		GivenName     string          `json:"given_name"`
		FamilyName    string          `json:"family_name"`
		Picture       string          `json:"picture"`
		Locale        string          `json:"locale"`
	}
	var all map[string]json.RawMessage
	if err := idt.Claims(&cl); err != nil {
		return Identity{}, fmt.Errorf("id token claims: %w", err)
	}
	if err := idt.Claims(&all); err != nil {
		return Identity{}, fmt.Errorf("id token claims: %w", err)
	}
	if nonce == "" || !secret.Equal(cl.Nonce, nonce) {
		return Identity{}, refused("id token nonce does not match the request")
	}
	if len(idt.Audience) > 1 && cl.Azp != c.ClientID {
		return Identity{}, refused("id token has several audiences and azp is not this client")
	}
	if cl.Azp != "" && cl.Azp != c.ClientID {
		return Identity{}, refused("id token azp %q is not this client", cl.Azp)
	}
	if c.IssuerTemplate != "" {
		if cl.Tid == "" || idt.Issuer != strings.ReplaceAll(c.IssuerTemplate, "{tenantid}", cl.Tid) {
			return Identity{}, refused("id token issuer %q does not match %s", idt.Issuer, c.IssuerTemplate)
		}
	}
	up := Identity{Subject: idt.Subject, Email: cl.Email, EmailVerified: truthy(cl.EmailVerified),
		Name: cl.Name, GivenName: cl.GivenName, FamilyName: cl.FamilyName, Picture: cl.Picture, Locale: cl.Locale}
	if cl.EmailVerified == nil && c.VerifiedEmailClaim != "" {
		// Entra documents a boolean; 1 is accepted too, as some tenants send it.
		v := strings.Trim(string(all[c.VerifiedEmailClaim]), `"`)
		up.EmailVerified = v == "true" || v == "1"
	}
	if up.Subject == "" || len(up.Subject) > 255 {
		return Identity{}, refused("id token has no usable sub")
	}
	if c.IssuerTemplate != "" {
		// A subject is unique per issuer; multi-tenant issuers vary.
		up.Subject = cl.Tid + "/" + up.Subject
	}
	if c.GroupsClaim != "" {
		up.Groups = stringList(all[c.GroupsClaim])
	}
	if up.Email == "" || (c.GroupsClaim != "" && all[c.GroupsClaim] == nil) {
		// Some providers put the address or groups only in userinfo.
		ui, err := op.UserInfo(uctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			c.logger().Warn("social login: userinfo", "provider", c.Name, "error", err)
		} else {
			var extra map[string]json.RawMessage
			var names struct {
				Name       string `json:"name"`
				GivenName  string `json:"given_name"`
				FamilyName string `json:"family_name"`
				Picture    string `json:"picture"`
				Locale     string `json:"locale"`
			}
			if ui.Subject == idt.Subject && ui.Claims(&extra) == nil && ui.Claims(&names) == nil {
				if up.Email == "" {
					up.Email, up.EmailVerified = ui.Email, ui.EmailVerified
				}
				if c.GroupsClaim != "" && up.Groups == nil {
					up.Groups = stringList(extra[c.GroupsClaim])
				}
				// The profile too, when the ID token left it to userinfo.
				fill := func(dst *string, src string) {
					if *dst == "" {
						*dst = src
					}
				}
				fill(&up.Name, names.Name)
				fill(&up.GivenName, names.GivenName)
				fill(&up.FamilyName, names.FamilyName)
				fill(&up.Picture, names.Picture)
				fill(&up.Locale, names.Locale)
			}
		}
	}
	return up, nil
}

// truthy reads email_verified, which some providers send as the string "true".
func truthy(raw json.RawMessage) bool {
	s := strings.Trim(string(raw), `"`)
	return s == "true"
}

func stringList(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// githubUser reads the user and its verified primary address from GitHub's REST API.
func (c *Client) githubUser(ctx context.Context, tok *oauth2.Token) (Identity, error) {
	get := func(path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.APIURL, "/")+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/vnd.github+json")
		res, err := c.httpClient().Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode >= 400 && res.StatusCode < 500 {
			// The token just issued is refused: not the provider's answer to this login.
			return refused("GET %s: status %d", path, res.StatusCode)
		} else if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", path, res.StatusCode)
		}
		return json.NewDecoder(res.Body).Decode(v)
	}
	var u struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := get("/user", &u); err != nil {
		return Identity{}, err
	}
	if u.ID <= 0 {
		return Identity{}, errors.New("github user has no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := get("/user/emails", &emails); err != nil {
		return Identity{}, err
	}
	up := Identity{Subject: strconv.FormatInt(u.ID, 10), Name: u.Name, Picture: u.AvatarURL}
	for _, e := range emails {
		if e.Primary && e.Verified {
			up.Email, up.EmailVerified = e.Email, true
		}
	}
	return up, nil
}
