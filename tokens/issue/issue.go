package issue

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TypeLogoutToken is the typ of back-channel logout tokens (OpenID Connect Back-Channel
// Logout 1.0 §2.4; RFC 8725 §3.11 explicit typing).
const TypeLogoutToken = "logout+jwt"

// backchannelEvent is the events member of a logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// GrantTypeClientCredentials marks access tokens of the client credentials grant (claim
// gty): they identify a client, never a user (AS-30).
const GrantTypeClientCredentials = "client_credentials"

// Issuer signs tokens. Every field but Logger is required.
type Issuer struct {
	// Issuer is the iss of every token.
	Issuer string
	// TenantID is the tid claim.
	TenantID string
	Keys     *keys.Ring
	// Store is read for the claims that need more than the user record: username (only
	// with a password), custom_group_data, the passkey claims.
	Store store.Store
	// AccessTokenAlg and IDTokenAlg are the signing algorithms (a client may choose its
	// own).
	AccessTokenAlg, IDTokenAlg string
	// AccessTokenLifetime and IDTokenLifetime apply unless the client has its own.
	AccessTokenLifetime, IDTokenLifetime time.Duration
	// ExpandUser, if set, adds what the user's roles grant (runtime settings: a role's
	// permissions and role value) before the roles, role_values and permissions claims
	// are built; nil releases the user's own lists.
	ExpandUser func(store.User) store.User
	Logger     *slog.Logger
}

// expand applies ExpandUser.
func (i *Issuer) expand(u store.User) store.User {
	if i.ExpandUser == nil {
		return u
	}
	return i.ExpandUser(u)
}

func (i *Issuer) logger() *slog.Logger {
	if i.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return i.Logger
}

// Client is what tokens say of the client they are issued to.
type Client struct {
	// AccessTokenClaims are the user claims its access tokens carry besides the defaults
	// (AccessTokenClaimNames).
	AccessTokenClaims []string
	ID, Name          string
	// AccessTokenLifetime and IDTokenLifetime are the client's own (0: the issuer's).
	AccessTokenLifetime, IDTokenLifetime time.Duration
	// IDTokenAlg signs the client's ID tokens ("": the issuer's).
	IDTokenAlg string
	// AccessTokenAlg signs the client's access tokens ("": the issuer's).
	AccessTokenAlg string
}

func pick(own, def time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return def
}

// AccessTokenLifetimeOf is how long the client's access tokens live.
func (i *Issuer) AccessTokenLifetimeOf(c Client) time.Duration {
	return pick(c.AccessTokenLifetime, i.AccessTokenLifetime)
}

func (i *Issuer) accessTokenAlg(c Client) string {
	if c.AccessTokenAlg != "" {
		return c.AccessTokenAlg
	}
	return i.AccessTokenAlg
}

func (i *Issuer) idTokenAlg(c Client) string {
	if c.IDTokenAlg != "" {
		return c.IDTokenAlg
	}
	return i.IDTokenAlg
}

// Grant is what a user's tokens are issued from.
type Grant struct {
	// ID identifies the grant (the refresh-token family; claim gid).
	ID        string
	Client    Client
	User      store.User
	SessionID string
	Scopes    []string
	// Audience is the access token's (default: the client).
	Audience []string
	AuthTime time.Time
	AMR      []string
	ACR      string
	Nonce    string
	NewUser  bool
	// Claims is the claims request (ClaimsRequest.Encode).
	Claims string
	// Passkey is the passkey of the authentication, if any.
	Passkey string
	// ApprovalData is the transaction the user approved (JSON object, package approval),
	// released as the ID token's approval_data exactly as approved; "" outside transaction
	// signing flows.
	ApprovalData string
}

// AccessToken signs the access token of g (RFC 9068), issued at now.
func (i *Issuer) AccessToken(g Grant, now time.Time) (string, *tokens.AccessClaims, error) {
	aud := tokens.Audience(g.Audience)
	if len(aud) == 0 {
		aud = tokens.Audience{g.Client.ID}
	}
	c := &tokens.AccessClaims{Issuer: i.Issuer, Subject: g.User.ID, Audience: aud,
		ExpiresAt: now.Add(i.AccessTokenLifetimeOf(g.Client)).Unix(),
		IssuedAt:  now.Unix(), ID: secret.New(16),
		ClientID: g.Client.ID, Scope: strings.Join(g.Scopes, " "), AuthTime: g.AuthTime.Unix(),
		ACR: g.ACR, AMR: g.AMR, SessionID: g.SessionID, GrantID: g.ID, Groups: i.tokenGroups(g.User)}
	if hasString(g.Client.AccessTokenClaims, "roles") {
		c.Roles = i.capList("roles", g.User.ID, g.User.Roles)
	}
	if hasString(g.Client.AccessTokenClaims, "permissions") {
		c.Permissions = i.capList("permissions", g.User.ID, i.expand(g.User).Permissions)
	}
	if hasString(g.Scopes, "email") {
		c.Email, c.EmailVerified = g.User.Email, g.User.EmailVerified
	}
	if hasString(g.Scopes, "profile") {
		c.Name = account.DisplayName(g.User)
	}
	if cr := DecodeClaimsRequest(g.Claims); cr != nil && len(cr.Userinfo) > 0 {
		// The userinfo part of the claims request travels with the access token, signed,
		// to the userinfo endpoint.
		c.UserinfoClaims = (&ClaimsRequest{Userinfo: cr.Userinfo}).Encode()
	}
	key, err := i.Keys.Signer(i.accessTokenAlg(g.Client))
	if err != nil {
		return "", nil, err
	}
	tok, err := tokens.Sign(key, tokens.TypeAccessToken, c)
	if err != nil {
		return "", nil, err
	}
	return tok, c, nil
}

// ClientAccessToken signs the access token of client c acting on its own behalf (RFC 6749
// §4.4: claim gty client_credentials, the client as subject, no user).
func (i *Issuer) ClientAccessToken(c Client, scopes []string, aud tokens.Audience, now time.Time) (string, *tokens.AccessClaims, error) {
	claims := &tokens.AccessClaims{Issuer: i.Issuer, Subject: c.ID, Audience: aud,
		ExpiresAt: now.Add(i.AccessTokenLifetimeOf(c)).Unix(), IssuedAt: now.Unix(), ID: secret.New(16), ClientID: c.ID,
		Scope: strings.Join(scopes, " "), GrantType: GrantTypeClientCredentials, GrantID: secret.New(16)}
	key, err := i.Keys.Signer(i.accessTokenAlg(c))
	if err != nil {
		return "", nil, err
	}
	at, err := tokens.Sign(key, tokens.TypeAccessToken, claims)
	if err != nil {
		return "", nil, err
	}
	return at, claims, nil
}

// maxTokenGroups caps the group names an access token carries (in bytes), so that the
// token — and the session cookie holding it — stays small enough for browsers (4 KB per
// cookie) and upstream header limits (RB-07). Groups beyond it are left out: a route
// requiring one of them denies access (fails closed).
const maxTokenGroups = 2048

// AccessTokenClaimNames are the user claims a client can have its access tokens carry
// (client option access_token_claims), so that a route can decide on them without a store
// read. Each list is capped like the groups (maxTokenGroups bytes).
var AccessTokenClaimNames = []string{"permissions", "roles"}

// capList returns the leading values of list that fit in maxTokenGroups bytes: a value
// beyond the cap is left out (a route requiring it denies access: fails closed).
func (i *Issuer) capList(claim, user string, list []string) []string {
	n := 0
	for k, v := range list {
		n += len(v) + 3
		if n > maxTokenGroups {
			i.logger().Warn("access token carries only the first values of a user claim", "claim", claim, "user", user,
				"values", len(list), "included", k)
			return list[:k:k]
		}
	}
	return list
}

func (i *Issuer) tokenGroups(u store.User) []string {
	n := 0
	for k, g := range u.Groups {
		n += len(g) + 3
		if n > maxTokenGroups {
			i.logger().Warn("access token carries only the first groups of the user", "user", u.ID,
				"groups", len(u.Groups), "included", k)
			return u.Groups[:k:k]
		}
	}
	return u.Groups
}

// IDToken signs the ID token of g issued at now along with accessToken (its at_hash).
func (i *Issuer) IDToken(ctx context.Context, g Grant, now time.Time, accessToken string) (string, error) {
	key, err := i.Keys.Signer(i.idTokenAlg(g.Client))
	if err != nil {
		return "", err
	}
	var requested map[string]*ClaimSpec
	if cr := DecodeClaimsRequest(g.Claims); cr != nil {
		requested = cr.IDToken
	}
	claims, err := i.Claims(ctx, g.User, g.Client, g.Scopes, requested)
	if err != nil {
		return "", err
	}
	if obj, ok := i.webauthnClaims(ctx, g.User, g.Passkey); ok {
		claims["webauthn"] = obj
		claims["webauthn_username"] = WebAuthnUsername(g.User)
	}
	claims["iss"] = i.Issuer
	claims["aud"] = g.Client.ID
	claims["exp"] = now.Add(pick(g.Client.IDTokenLifetime, i.IDTokenLifetime)).Unix()
	claims["iat"] = now.Unix()
	claims["auth_time"] = g.AuthTime.Unix()
	claims["tid"] = i.TenantID
	claims["amr"] = nonNil(g.AMR)
	claims["acr"] = g.ACR
	claims["new_user"] = g.NewUser
	if g.ApprovalData != "" {
		claims["approval_data"] = json.RawMessage(g.ApprovalData)
	}
	if g.SessionID != "" {
		claims["sid"] = g.SessionID
	}
	if g.Nonce != "" {
		claims["nonce"] = g.Nonce
	}
	sum := sha256.Sum256([]byte(accessToken))
	claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	return tokens.Sign(key, tokens.TypeIDToken, claims)
}

// UserClaims returns the user's claims released for scopes (without a claims request).
func (i *Issuer) UserClaims(u store.User, scopes []string) map[string]any {
	c, _ := i.Claims(context.Background(), u, Client{}, scopes, nil)
	return c
}

// LogoutToken signs the back-channel logout token telling client c that session s ended.
func (i *Issuer) LogoutToken(c Client, s store.Session, now time.Time) (string, error) {
	key, err := i.Keys.Signer(i.idTokenAlg(c))
	if err != nil {
		return "", err
	}
	return tokens.Sign(key, TypeLogoutToken, map[string]any{
		"iss": i.Issuer, "aud": c.ID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": secret.New(16), "sub": s.UserID, "sid": s.ID,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	})
}

// WebAuthnUsername returns the user handle as a UUID (claim webauthn_username).
func WebAuthnUsername(u store.User) string {
	b, err := base64.RawURLEncoding.DecodeString(u.WebAuthnID)
	if err != nil || len(b) != 16 {
		return ""
	}
	id, _ := uuid.FromBytes(b)
	return id.String()
}

// webauthnClaims returns the claims webauthn and webauthn_username of a login with passkey id.
func (i *Issuer) webauthnClaims(ctx context.Context, u store.User, id string) (map[string]any, bool) {
	if id == "" {
		return nil, false
	}
	pk, err := i.Store.GetPasskey(ctx, id)
	if err != nil || pk.UserID != u.ID {
		return nil, false
	}
	keys, _ := i.Store.ListUserPasskeys(ctx, u.ID)
	var used []string
	for _, k := range keys {
		if k.UseCount > 0 || k.ID == id {
			used = append(used, k.Name)
		}
	}
	obj := map[string]any{"devices_used": used, "device": pk.Name, "device_first_used": pk.CreatedAt.Unix()}
	if !pk.LastUsedAt.IsZero() {
		obj["device_last_used"] = pk.LastUsedAt.Unix()
	}
	if !u.LastAuthAt.IsZero() {
		obj["last_login"] = u.LastAuthAt.Unix()
	}
	return obj, true
}

func hasString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
