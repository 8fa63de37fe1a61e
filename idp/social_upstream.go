package idp

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

// The exchange at the callback: redeem the code, verify what the provider asserts.

// upstreamIdentity redeems the code and returns the verified identity. Its errors are a
// *refusal when the answer is refused (forged, altered, refused by the provider), a
// *SocialUnavailableError or another error for an outage.
func (p *Provider) upstreamIdentity(ctx context.Context, sp *SocialProvider, code, verifier, nonce string) (upstreamUser, error) {
	cfg, err := p.oauthConfig(ctx, sp)
	if err != nil {
		return upstreamUser{}, err
	}
	uctx := p.upstreamCtx(ctx)
	tok, err := cfg.Exchange(uctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return upstreamUser{}, tokenError(err)
	}
	if sp.Kind == SocialGitHub {
		return p.githubUser(uctx, sp, tok)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return upstreamUser{}, errors.New("no id_token in the token response")
	}
	d, err := p.discover(ctx, sp)
	if err != nil {
		return upstreamUser{}, err
	}
	op := d.op
	probe := &keyFetchProbe{}
	idt, err := d.verifier.Verify(context.WithValue(uctx, keyFetchProbeKey{}, probe), raw)
	if probe.err != nil {
		return upstreamUser{}, fmt.Errorf("id token keys: %w", probe.err)
	} else if err != nil {
		return upstreamUser{}, refused("id token: %w", err)
	}
	var c struct {
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
	if err := idt.Claims(&c); err != nil {
		return upstreamUser{}, fmt.Errorf("id token claims: %w", err)
	}
	if err := idt.Claims(&all); err != nil {
		return upstreamUser{}, fmt.Errorf("id token claims: %w", err)
	}
	if nonce == "" || !secret.Equal(c.Nonce, nonce) {
		return upstreamUser{}, refused("id token nonce does not match the request")
	}
	if len(idt.Audience) > 1 && c.Azp != sp.ClientID {
		return upstreamUser{}, refused("id token has several audiences and azp is not this client")
	}
	if c.Azp != "" && c.Azp != sp.ClientID {
		return upstreamUser{}, refused("id token azp %q is not this client", c.Azp)
	}
	if sp.IssuerTemplate != "" {
		if c.Tid == "" || idt.Issuer != strings.ReplaceAll(sp.IssuerTemplate, "{tenantid}", c.Tid) {
			return upstreamUser{}, refused("id token issuer %q does not match %s", idt.Issuer, sp.IssuerTemplate)
		}
	}
	up := upstreamUser{Subject: idt.Subject, Email: c.Email, EmailVerified: truthy(c.EmailVerified),
		Name: c.Name, GivenName: c.GivenName, FamilyName: c.FamilyName, Picture: c.Picture, Locale: c.Locale}
	if c.EmailVerified == nil && sp.VerifiedEmailClaim != "" {
		// Entra documents a boolean; 1 is accepted too, as some tenants send it.
		v := strings.Trim(string(all[sp.VerifiedEmailClaim]), `"`)
		up.EmailVerified = v == "true" || v == "1"
	}
	if up.Subject == "" || len(up.Subject) > 255 {
		return upstreamUser{}, refused("id token has no usable sub")
	}
	if sp.IssuerTemplate != "" {
		// A subject is unique per issuer; multi-tenant issuers vary.
		up.Subject = c.Tid + "/" + up.Subject
	}
	if sp.GroupsClaim != "" {
		up.Groups = stringList(all[sp.GroupsClaim])
	}
	if up.Email == "" || (sp.GroupsClaim != "" && all[sp.GroupsClaim] == nil) {
		// Some providers put the address or groups only in userinfo.
		ui, err := op.UserInfo(uctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			p.Logger.Warn("social login: userinfo", "provider", sp.Name, "error", err)
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
				if sp.GroupsClaim != "" && up.Groups == nil {
					up.Groups = stringList(extra[sp.GroupsClaim])
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
func (p *Provider) githubUser(ctx context.Context, sp *SocialProvider, tok *oauth2.Token) (upstreamUser, error) {
	get := func(path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(sp.APIURL, "/")+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/vnd.github+json")
		res, err := p.upstreamClient().Do(req)
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
		return upstreamUser{}, err
	}
	if u.ID <= 0 {
		return upstreamUser{}, errors.New("github user has no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := get("/user/emails", &emails); err != nil {
		return upstreamUser{}, err
	}
	up := upstreamUser{Subject: strconv.FormatInt(u.ID, 10), Name: u.Name, Picture: u.AvatarURL}
	for _, e := range emails {
		if e.Primary && e.Verified {
			up.Email, up.EmailVerified = e.Email, true
		}
	}
	return up, nil
}
