package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Provider is a social-login provider stored at runtime. Its fields are those of the
// Caddyfile's social block (module.SocialConfig, same JSON names), without Apple's private
// key: a stored apple provider gives its client secret.
type Provider struct {
	Name   string `json:"name"`
	Preset string `json:"preset,omitempty"`
	Label  string `json:"label,omitempty"`
	Issuer string `json:"issuer,omitempty"`
	Tenant string `json:"tenant,omitempty"`
	// ClientID is the client registered at the provider.
	ClientID string `json:"client_id"`
	// ClientSecret is write-only: given to PutProvider, sealed at rest, never returned
	// (ClientSecretSet says whether one is stored). Empty in an update keeps the stored one.
	ClientSecret       string   `json:"client_secret,omitempty"`
	ClientSecretSet    bool     `json:"client_secret_set,omitempty"`
	Scopes             []string `json:"scopes,omitempty"`
	GroupsClaim        string   `json:"groups_claim,omitempty"`
	ImportGroups       []string `json:"import_groups,omitempty"`
	AllowedDomains     []string `json:"allowed_domains,omitempty"`
	RequiredGroups     []string `json:"required_groups,omitempty"`
	Onboarding         *bool    `json:"onboarding,omitempty"`
	TrustEmailVerified *bool    `json:"trust_email_verified,omitempty"`
	AuthURL            string   `json:"auth_url,omitempty"`
	TokenURL           string   `json:"token_url,omitempty"`
	APIURL             string   `json:"api_url,omitempty"`
}

// storedProvider is a Provider as stored: the secret sealed.
type storedProvider struct {
	Provider
	SealedSecret string `json:"sealed_secret,omitempty"`
}

// providerInput is what PutProvider accepts (unknown fields, client_secret_set and
// sealed_secret refused).
type providerInput struct {
	Preset             string   `json:"preset"`
	Label              string   `json:"label"`
	Issuer             string   `json:"issuer"`
	Tenant             string   `json:"tenant"`
	ClientID           string   `json:"client_id"`
	ClientSecret       string   `json:"client_secret"`
	Scopes             []string `json:"scopes"`
	GroupsClaim        string   `json:"groups_claim"`
	ImportGroups       []string `json:"import_groups"`
	AllowedDomains     []string `json:"allowed_domains"`
	RequiredGroups     []string `json:"required_groups"`
	Onboarding         *bool    `json:"onboarding"`
	TrustEmailVerified *bool    `json:"trust_email_verified"`
	AuthURL            string   `json:"auth_url"`
	TokenURL           string   `json:"token_url"`
	APIURL             string   `json:"api_url"`
}

// Presets are the provider presets, as the Caddyfile's.
var Presets = []string{"google", "microsoft", "gitlab", "apple", "github", "oidc"}

var (
	providerNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	groupNameRe    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

// EffectivePreset is the provider's preset: the given one, else the name if it is a
// preset, else oidc (as the Caddyfile's).
func (p Provider) EffectivePreset() string {
	switch {
	case p.Preset != "":
		return p.Preset
	case slices.Contains(Presets, p.Name):
		return p.Name
	}
	return "oidc"
}

// decodeStrict decodes raw into v, refusing unknown fields and trailing data, and turns
// the error into a FieldError under prefix.
func decodeStrict(raw []byte, v any, prefix string) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			name, _ := strconv.Unquote(f)
			return fieldErr(join(prefix, name), "is not a known field").coded(CodeUnknownField)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fieldErr(join(prefix, te.Field), "must be a %s", jsonType(te.Type.Kind().String())).coded(CodeType)
		}
		return fieldErr(prefix, "must be a JSON object: %s", strings.TrimPrefix(msg, "json: "))
	}
	if dec.More() {
		return fieldErr(prefix, "must be one JSON object")
	}
	return nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func jsonType(kind string) string {
	switch kind {
	case "slice":
		return "list"
	case "ptr", "bool":
		return "boolean"
	}
	return kind
}

// checkProvider validates a provider under path ("providers.<name>") as the Caddyfile's
// social block is validated (module/validate_social.go). secretStored tells whether an
// update may leave out the client secret.
func checkProvider(p Provider, path string, secretStored bool) *FieldError {
	if !providerNameRe.MatchString(p.Name) {
		return fieldErr(path+".name", "must be 1 to 32 lowercase letters, digits, - or _ (it appears in the callback URL), got %q", p.Name)
	}
	preset := p.EffectivePreset()
	if !slices.Contains(Presets, preset) {
		return fieldErr(path+".preset", "must be one of %s, got %q", strings.Join(Presets, ", "), preset)
	}
	if strings.TrimSpace(p.ClientID) == "" {
		return fieldErr(path+".client_id", "is required: the client ID registered at the provider").coded(CodeRequired)
	}
	if p.ClientSecret == "" && !secretStored {
		return fieldErr(path+".client_secret", "is required: the client secret registered at the provider").coded(CodeRequired)
	}
	if len(p.ClientSecret) > 4096 || len(p.ClientID) > 1024 || len(p.Label) > 64 {
		return fieldErr(path, "client_id, client_secret or label is too long")
	}
	switch {
	case preset == "github" && p.Issuer != "":
		return fieldErr(path+".issuer", "must be empty: GitHub is not an OpenID provider (set auth_url, token_url and api_url for GitHub Enterprise)")
	case preset == "oidc" && p.Issuer == "":
		return fieldErr(path+".issuer", "is required for preset oidc: the provider's OpenID issuer URL, such as https://sso.example.com").coded(CodeRequired)
	case p.Issuer != "":
		if msg := checkIssuer(p.Issuer); msg != "" {
			fe := fieldErr(path+".issuer", "%s, got %q", msg, p.Issuer)
			if u, err := url.Parse(p.Issuer); err == nil && u.Host != "" && u.Scheme != "https" {
				fe.Code = CodeHTTPS
			}
			return fe
		}
	}
	if p.Tenant != "" && preset != "microsoft" {
		return fieldErr(path+".tenant", "is only for the microsoft preset, got preset %s", preset)
	}
	for _, f := range []struct{ name, url string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"api_url", p.APIURL}} {
		switch {
		case f.url == "":
		case preset != "github":
			return fieldErr(path+"."+f.name, "is only for the github preset, got preset %s", preset)
		default:
			if msg := checkUpstreamURL(f.url); msg != "" {
				return fieldErr(path+"."+f.name, "%s, got %q", msg, f.url)
			}
		}
	}
	for i, s := range p.Scopes {
		if !validScopeToken(s) {
			return fieldErr(index(path+".scopes", i), "must be printable ASCII without spaces, quotes or backslashes, got %q", s)
		}
	}
	for i, g := range p.ImportGroups {
		if !groupNameRe.MatchString(g) {
			return fieldErr(index(path+".import_groups", i), "must be 1-64 letters, digits and . _ : - (a Gatehouse group name), got %q", g)
		}
	}
	if len(p.ImportGroups) > 0 && p.GroupsClaim == "" && preset != "gitlab" {
		return fieldErr(path+".groups_claim", "is required with import_groups: the upstream claim that lists the groups")
	}
	for i, d := range p.AllowedDomains {
		if d == "" || strings.ContainsAny(d, "@/ :") {
			return fieldErr(index(path+".allowed_domains", i), "must be a bare domain such as example.com, got %q", d)
		}
	}
	return nil
}

// checkIssuer is checkHTTPSURL for an OpenID issuer: no query either (OpenID Connect
// Discovery §4: the issuer has no query or fragment).
func checkIssuer(s string) string {
	if msg := checkUpstreamURL(s); msg != "" {
		return msg
	}
	if strings.Contains(s, "?") {
		return "must not have a query"
	}
	return ""
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// validScopeToken reports whether s is an OAuth scope token (RFC 6749 §3.3).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
