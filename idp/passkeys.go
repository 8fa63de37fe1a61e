package idp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Passkey errors shown to users.
var (
	ErrPasskeyFailed       = errors.New("the passkey could not be verified; try again")
	ErrPasskeyMalformed    = errors.New("the passkey response is malformed or its key is not supported")
	ErrCeremonyExpired     = errors.New("this passkey request expired or was already used; start again")
	ErrReauthenticate      = sessions.ErrReauthenticate
	ErrLastCredential      = errors.New("this is your only way to log in: add another passkey or a password first")
	ErrNoPasskey           = errors.New("this account has no passkey")
	ErrClonedAuthenticator = errors.New("this passkey's signature counter went backwards, which happens when a passkey was copied; it was refused")
	ErrPasskeysDisabled    = errors.New("passkeys are not available on this server; log in with your password")
)

// Authentication method references and context classes (claims amr and acr).
const (
	AMRPassword = login.AMRPassword
	AMRWebAuthn = login.AMRWebAuthn
	AMRMFA      = login.AMRMFA
	// ACRMultiFactor is NIST AAL2: two factors, or a user-verifying passkey.
	ACRMultiFactor = login.ACRMultiFactor
)

// ceremonyTTL is how long a WebAuthn challenge can be answered.
const ceremonyTTL = 5 * time.Minute

// Ceremony kinds.
const (
	ceremonySignup   = "webauthn:signup"
	ceremonyLogin    = "webauthn:login"
	ceremonyRegister = "webauthn:register"
	ceremonyFactor   = "webauthn:factor"
	purposeMFA       = "mfa:pending"
)

// PasskeyConfig configures WebAuthn.
type PasskeyConfig struct {
	// RPID is the relying party ID (default: the issuer's host).
	RPID string
	// RPName is shown by authenticators (default: "Gatehouse").
	RPName string
	// Origins are the origins allowed in clientDataJSON (default: the issuer's origin).
	Origins []string
	// Disabled turns passkeys off.
	Disabled bool
}

// newWebAuthn builds the WebAuthn relying party of the issuer. It returns nil (passkeys
// disabled) when the issuer's host is an IP address and no RP ID is configured: browsers
// refuse IP addresses as relying party IDs.
func newWebAuthn(issuer string, cfg PasskeyConfig) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if cfg.Disabled {
		return nil, nil
	}
	if cfg.RPID == "" {
		if net.ParseIP(u.Hostname()) != nil {
			return nil, nil
		}
		cfg.RPID = u.Hostname()
	} else if net.ParseIP(cfg.RPID) != nil || strings.ContainsAny(cfg.RPID, ":/") {
		return nil, fmt.Errorf("rp_id %q must be a domain name, such as the issuer's host or a parent domain of it", cfg.RPID)
	}
	if len(cfg.Origins) == 0 {
		cfg.Origins = []string{u.Scheme + "://" + u.Host}
	}
	origins := make([]string, len(cfg.Origins))
	for i, o := range cfg.Origins {
		origins[i] = strings.TrimSuffix(o, "/")
	}
	cfg.Origins = origins
	if cfg.RPName == "" {
		cfg.RPName = "Gatehouse"
	}
	return webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.RPName, RPOrigins: cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
}

// waUser adapts a user and its passkeys to the WebAuthn library.
type waUser struct {
	u     store.User
	keys  []store.Passkey
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte {
	b, _ := base64.RawURLEncoding.DecodeString(w.u.WebAuthnID)
	return b
}
func (w *waUser) WebAuthnName() string {
	if w.u.Email != "" {
		return w.u.Email
	}
	return w.u.ID
}
func (w *waUser) WebAuthnDisplayName() string {
	if n := account.DisplayName(w.u); n != "" {
		return n
	}
	return w.WebAuthnName()
}
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func (p *Provider) loadWAUser(ctx context.Context, u store.User) (*waUser, error) {
	keys, err := p.Store.ListUserPasskeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	w := &waUser{u: u, keys: keys}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, fmt.Errorf("decode passkey %s: %w", k.ID, err)
		}
		w.creds = append(w.creds, c)
	}
	return w, nil
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

func newUserHandle() string { return secret.New(16) }

// Ceremony is a started WebAuthn ceremony: Options go to navigator.credentials, Secret to the
// browser's ceremony cookie (the challenge answers only from that browser, once, within five
// minutes: CR-22).
type Ceremony struct {
	Secret  string
	Options any
}

func (p *Provider) saveCeremony(ctx context.Context, kind, subject string, sd *webauthn.SessionData, data map[string]string) (string, error) {
	raw, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("encode ceremony: %w", err)
	}
	if data == nil {
		data = map[string]string{}
	}
	data["session_data"] = string(raw)
	sec := secret.Token()
	now := p.Now()
	rec := store.OneTimeCode{ID: secret.Hash(sec), Purpose: kind, Subject: subject, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(ceremonyTTL)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store ceremony: %w", err)
	}
	return sec, nil
}

// takeCeremony consumes the ceremony of kind started with sec: once, unexpired.
func (p *Provider) takeCeremony(ctx context.Context, kind, sec string) (store.OneTimeCode, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if sec == "" || len(sec) > 128 {
		return store.OneTimeCode{}, sd, ErrCeremonyExpired
	}
	rec, err := p.Store.ConsumeOneTimeCode(ctx, secret.Hash(sec))
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, sd, ErrCeremonyExpired
	} else if err != nil {
		return store.OneTimeCode{}, sd, fmt.Errorf("read ceremony: %w", err)
	}
	if rec.Purpose != kind || !p.Now().Before(rec.ExpiresAt) {
		return store.OneTimeCode{}, sd, ErrCeremonyExpired
	}
	if err := json.Unmarshal([]byte(rec.Data["session_data"]), &sd); err != nil {
		return store.OneTimeCode{}, sd, ErrCeremonyExpired
	}
	return rec, sd, nil
}

// maxCredentialResponse bounds a WebAuthn response before it is parsed (CR-27).
const maxCredentialResponse = 32 << 10

func checkResponseSize(resp []byte) error {
	if len(resp) == 0 || len(resp) > maxCredentialResponse {
		return ErrPasskeyMalformed
	}
	return nil
}

// minRSABits is the smallest RSA modulus accepted in a passkey (CR-27).
const minRSABits = 2048

// checkCredentialKey refuses a new credential whose public key is not a well-formed key of an
// algorithm the ceremony offered. go-webauthn compares only the key's alg label with the
// offered algorithms at registration ("none" attestation verifies no signature), so a key
// whose type or curve contradicts its alg, a point off the curve or a short RSA modulus would
// otherwise be stored (CR-27).
func checkCredentialKey(parsed *protocol.ParsedCredentialCreationData, offered []protocol.CredentialParameter) error {
	key, err := webauthncose.ParsePublicKey(parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey)
	if err != nil {
		return ErrPasskeyMalformed
	}
	var alg webauthncose.COSEAlgorithmIdentifier
	switch k := key.(type) {
	case webauthncose.EC2PublicKeyData: // alg and curve checked by ParsePublicKey
		alg = webauthncose.COSEAlgorithmIdentifier(k.Algorithm)
	case webauthncose.OKPPublicKeyData: // likewise
		alg = webauthncose.COSEAlgorithmIdentifier(k.Algorithm)
	case webauthncose.RSAPublicKeyData:
		alg = webauthncose.COSEAlgorithmIdentifier(k.Algorithm)
		switch alg {
		case webauthncose.AlgRS256, webauthncose.AlgRS384, webauthncose.AlgRS512,
			webauthncose.AlgPS256, webauthncose.AlgPS384, webauthncose.AlgPS512:
		default:
			return ErrPasskeyMalformed
		}
		if new(big.Int).SetBytes(k.Modulus).BitLen() < minRSABits {
			return ErrPasskeyMalformed
		}
	default:
		return ErrPasskeyMalformed
	}
	if len(offered) == 0 {
		offered = webauthn.CredentialParametersDefault()
	}
	for _, p := range offered {
		if p.Algorithm == alg {
			return nil
		}
	}
	return ErrPasskeyMalformed
}

// BeginPasskeySignup starts creating an account whose only credential is a passkey, under the
// signup mode (invite codes are checked at the finish).
func (p *Provider) BeginPasskeySignup(ctx context.Context, in NewUser, invite, clientIP string) (*Ceremony, error) {
	if p.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	if err := p.Signups.Check(ctx, invite, clientIP); err != nil {
		return nil, err
	}
	in.Groups, in.ExternalUserID, in.EmailVerified, in.Password = nil, "", false, ""
	u, err := p.Accounts.Build(in)
	if err != nil {
		return nil, err
	}
	// A sign-up that verifies the address first answers the same for every address
	// (FinishPasskeySignupByCode); only the other kind says here that it is taken.
	if _, err := p.Store.GetUserByEmail(ctx, u.Email); err == nil && !p.SignupVerifiesFirst() {
		return nil, ErrEmailTaken
	}
	u.WebAuthnID = newUserHandle()
	creation, sd, err := p.WebAuthn.BeginRegistration(&waUser{u: u})
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	pending, _ := json.Marshal(u)
	sec, err := p.saveCeremony(ctx, ceremonySignup, u.Email, sd, map[string]string{"user": string(pending), "invite": invite})
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: creation}, nil
}

// signupCredential verifies the answer to a sign-up ceremony and returns the pending user,
// the new credential and the ceremony's record.
func (p *Provider) signupCredential(ctx context.Context, sec string, response []byte) (store.User, *webauthn.Credential, store.OneTimeCode, error) {
	if p.WebAuthn == nil {
		return store.User{}, nil, store.OneTimeCode{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.User{}, nil, store.OneTimeCode{}, err
	}
	rec, sd, err := p.takeCeremony(ctx, ceremonySignup, sec)
	if err != nil {
		return store.User{}, nil, store.OneTimeCode{}, err
	}
	var u store.User
	if err := json.Unmarshal([]byte(rec.Data["user"]), &u); err != nil {
		return store.User{}, nil, store.OneTimeCode{}, ErrCeremonyExpired
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.User{}, nil, store.OneTimeCode{}, ErrPasskeyMalformed
	}
	if err := checkCredentialKey(parsed, sd.CredParams); err != nil {
		return store.User{}, nil, store.OneTimeCode{}, err
	}
	cred, err := p.WebAuthn.CreateCredential(&waUser{u: u}, sd, parsed)
	if err != nil {
		p.Logger.Info("passkey sign-up refused", "error", err)
		return store.User{}, nil, store.OneTimeCode{}, ErrPasskeyFailed
	}
	return u, cred, rec, nil
}

// FinishPasskeySignup verifies the new credential and creates the user with it at once (the
// sign-up that does not verify the address first; see FinishPasskeySignupByCode).
func (p *Provider) FinishPasskeySignup(ctx context.Context, sec string, response []byte, name string) (store.User, store.Passkey, error) {
	u, cred, rec, err := p.signupCredential(ctx, sec, response)
	if err != nil {
		return store.User{}, store.Passkey{}, err
	}
	var inv store.OneTimeCode
	if p.Signups.InviteRequired() {
		if inv, err = p.Signups.ConsumeInvite(ctx, rec.Data["invite"], u.Email); err != nil {
			return store.User{}, store.Passkey{}, err
		}
		u.Groups = account.InviteGroups(inv)
	}
	now := p.Now()
	u.CreatedAt, u.UpdatedAt = now, now
	if err := p.Store.CreateUser(ctx, u); err != nil {
		if p.Signups.InviteRequired() {
			p.Signups.RestoreInvite(ctx, inv)
		}
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, store.Passkey{}, ErrEmailTaken
		}
		return store.User{}, store.Passkey{}, fmt.Errorf("create user: %w", err)
	}
	pk, err := p.storePasskey(ctx, u, cred, name)
	if err != nil {
		_ = p.Store.DeleteUser(ctx, u.ID)
		return store.User{}, store.Passkey{}, err
	}
	return u, pk, nil
}

func (p *Provider) storePasskey(ctx context.Context, u store.User, cred *webauthn.Credential, name string) (store.Passkey, error) {
	raw, err := json.Marshal(cred)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("encode passkey: %w", err)
	}
	name, err = passkeyName(name, cred)
	if err != nil {
		return store.Passkey{}, err
	}
	now := p.Now()
	pk := store.Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: u.ID, Credential: raw,
		Name: name, CreatedAt: now}
	if err := p.Store.CreatePasskey(ctx, pk); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			// A credential ID already bound to an account (CR-26).
			return store.Passkey{}, &InputError{Field: "credential", Message: "this passkey is already registered"}
		}
		return store.Passkey{}, fmt.Errorf("store passkey: %w", err)
	}
	return pk, nil
}

// passkeyName validates a passkey's name, defaulting to the authenticator's kind.
func passkeyName(name string, cred *webauthn.Credential) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
		if cred != nil && cred.Flags.BackupEligible {
			name = "Synced passkey"
		} else if cred != nil && cred.Authenticator.Attachment == protocol.CrossPlatform {
			name = "Security key"
		}
	}
	if utf8.RuneCountInString(name) > 64 || input.CheckText("name", name, 256) != nil {
		return "", &InputError{Field: "name", Message: "use at most 64 characters"}
	}
	return name, nil
}

// fresh reports whether the session's login is recent enough for a sensitive change.
// PasskeysEnabled reports whether the server can run WebAuthn ceremonies.
func (p *Provider) PasskeysEnabled() bool { return p.WebAuthn != nil }

func (p *Provider) fresh(s store.Session) bool { return p.Sessions.Fresh(s) }

// BeginPasskeyRegistration starts adding a passkey to the session's user (a login from the
// last 10 minutes is required: CR-19).
func (p *Provider) BeginPasskeyRegistration(ctx context.Context, s store.Session) (*Ceremony, error) {
	if p.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	if !p.fresh(s) {
		return nil, ErrReauthenticate
	}
	u, err := p.Store.GetUser(ctx, s.UserID)
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if u.WebAuthnID == "" {
		handle := newUserHandle()
		if u, err = p.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
			if u.WebAuthnID == "" {
				u.WebAuthnID = handle
			}
			return u, nil
		}); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
	}
	w, err := p.loadWAUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(w.keys) >= 20 {
		return nil, &InputError{Field: "credential", Message: "at most 20 passkeys per account"}
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := p.WebAuthn.BeginRegistration(w, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	sec, err := p.saveCeremony(ctx, ceremonyRegister, u.ID, sd, map[string]string{"session": s.ID})
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: creation}, nil
}

// FinishPasskeyRegistration verifies and stores the new passkey of the session's user.
func (p *Provider) FinishPasskeyRegistration(ctx context.Context, s store.Session, sec, name string, response []byte) (store.Passkey, error) {
	if p.WebAuthn == nil {
		return store.Passkey{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.Passkey{}, err
	}
	rec, sd, err := p.takeCeremony(ctx, ceremonyRegister, sec)
	if err != nil {
		return store.Passkey{}, err
	}
	if rec.Subject != s.UserID || rec.Data["session"] != s.ID {
		return store.Passkey{}, ErrCeremonyExpired // a ceremony of another session (CR-22)
	}
	u, err := p.Store.GetUser(ctx, s.UserID)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("read user: %w", err)
	}
	w, err := p.loadWAUser(ctx, u)
	if err != nil {
		return store.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Passkey{}, ErrPasskeyMalformed
	}
	if err := checkCredentialKey(parsed, sd.CredParams); err != nil {
		return store.Passkey{}, err
	}
	cred, err := p.WebAuthn.CreateCredential(w, sd, parsed)
	if err != nil {
		p.Logger.Info("passkey registration refused", "user", u.ID, "error", err)
		return store.Passkey{}, ErrPasskeyFailed
	}
	pk, err := p.storePasskey(ctx, u, cred, name)
	if err != nil {
		return store.Passkey{}, err
	}
	if err := p.keepIfSessionLive(ctx, s.ID, func() error { return p.Store.DeletePasskey(ctx, pk.ID) }); err != nil {
		return store.Passkey{}, err
	}
	return pk, nil
}

// BeginPasskeyLogin starts a passkey login: usernameless (discoverable credentials, also for
// browser autofill) without email, or for the account of email. An unknown email gets a
// plausible list of credential IDs derived from it, so the answer reveals nothing (CR-08).
// User verification is required.
func (p *Provider) BeginPasskeyLogin(ctx context.Context, email string) (*Ceremony, error) {
	if p.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	if email == "" {
		assertion, sd, err := p.WebAuthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, fmt.Errorf("begin login: %w", err)
		}
		sec, err := p.saveCeremony(ctx, ceremonyLogin, "", sd, nil)
		if err != nil {
			return nil, err
		}
		return &Ceremony{Secret: sec, Options: assertion}, nil
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var allow []protocol.CredentialDescriptor
	subject := ""
	u, err := p.Store.GetUserByEmail(ctx, email)
	if err == nil && !u.Disabled {
		w, err := p.loadWAUser(ctx, u)
		if err != nil {
			return nil, err
		}
		for _, c := range w.creds {
			// Without transports: the decoys have none, and a list with them would tell
			// real accounts from unknown emails (CR-08).
			d := c.Descriptor()
			d.Transport = nil
			allow = append(allow, d)
		}
		if len(allow) > 0 {
			subject = u.ID
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if len(allow) == 0 {
		allow = p.decoyCredentials(email)
	}
	assertion, sd, err := p.WebAuthn.BeginDiscoverableLogin(webauthn.WithAllowedCredentials(allow),
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	sec, err := p.saveCeremony(ctx, ceremonyLogin, subject, sd, nil)
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: assertion}, nil
}

// decoyCredentials returns one credential descriptor derived from email with the shared
// secret: stable for an email, unguessable, and never a real credential.
func (p *Provider) decoyCredentials(email string) []protocol.CredentialDescriptor {
	m := hmac.New(sha256.New, p.Keys.DeriveKey("webauthn-decoy"))
	m.Write([]byte(email))
	id := m.Sum(nil)
	return []protocol.CredentialDescriptor{{Type: protocol.PublicKeyCredentialType, CredentialID: id}}
}

// FinishPasskeyLogin verifies an assertion and returns its user and passkey. The credential
// must belong to the user its user handle names (CR-26); a signature counter that went
// backwards is refused (CR-25).
func (p *Provider) FinishPasskeyLogin(ctx context.Context, sec string, response []byte) (store.User, store.Passkey, error) {
	if p.WebAuthn == nil {
		return store.User{}, store.Passkey{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.User{}, store.Passkey{}, err
	}
	rec, sd, err := p.takeCeremony(ctx, ceremonyLogin, sec)
	if err != nil {
		return store.User{}, store.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return store.User{}, store.Passkey{}, ErrPasskeyMalformed
	}
	var found *waUser
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		pk, err := p.Store.GetPasskey(ctx, base64.RawURLEncoding.EncodeToString(rawID))
		if err != nil {
			return nil, fmt.Errorf("unknown credential")
		}
		u, err := p.Store.GetUser(ctx, pk.UserID)
		if err != nil {
			return nil, fmt.Errorf("unknown user")
		}
		if !bytes.Equal(userHandle, (&waUser{u: u}).WebAuthnID()) {
			return nil, fmt.Errorf("user handle does not match the credential's user")
		}
		if rec.Subject != "" && rec.Subject != u.ID {
			return nil, fmt.Errorf("credential of another account")
		}
		w, err := p.loadWAUser(ctx, u)
		if err != nil {
			return nil, err
		}
		found = w
		return w, nil
	}
	_, cred, err := p.WebAuthn.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil || found == nil {
		p.Logger.Info("passkey login refused", "error", err)
		return store.User{}, store.Passkey{}, ErrPasskeyFailed
	}
	if found.u.Disabled {
		return store.User{}, store.Passkey{}, ErrUserDisabled
	}
	pk, err := p.recordUse(ctx, found.u, cred)
	if err != nil {
		return store.User{}, store.Passkey{}, err
	}
	return found.u, pk, nil
}

// recordUse stores the credential's new signature counter and last use, refusing a counter
// that went backwards (a cloned authenticator, CR-25); the stored counter never decreases.
func (p *Provider) recordUse(ctx context.Context, u store.User, cred *webauthn.Credential) (store.Passkey, error) {
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	if cred.Authenticator.CloneWarning {
		p.Logger.Warn("passkey refused: signature counter regression (cloned authenticator?)", "user", u.ID, "passkey", id)
		return store.Passkey{}, ErrClonedAuthenticator
	}
	now := p.Now()
	pk, err := p.Store.UpdatePasskey(ctx, id, func(pk store.Passkey) (store.Passkey, error) {
		var stored webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &stored); err != nil {
			return pk, err
		}
		if cred.Authenticator.SignCount != 0 && cred.Authenticator.SignCount <= stored.Authenticator.SignCount {
			return pk, ErrClonedAuthenticator // a concurrent use advanced the counter past this one
		}
		stored.Authenticator.SignCount = max(stored.Authenticator.SignCount, cred.Authenticator.SignCount)
		stored.Flags.BackupState = cred.Flags.BackupState
		raw, err := json.Marshal(stored)
		if err != nil {
			return pk, err
		}
		pk.Credential, pk.LastUsedAt, pk.UseCount = raw, now, pk.UseCount+1
		return pk, nil
	})
	if errors.Is(err, ErrClonedAuthenticator) {
		p.Logger.Warn("passkey refused: signature counter regression", "user", u.ID, "passkey", id)
		return store.Passkey{}, err
	} else if err != nil {
		return store.Passkey{}, fmt.Errorf("record passkey use: %w", err)
	}
	return pk, nil
}

// NeedsSecondFactor tells whether a password login of u must be completed with a passkey:
// once a user has a passkey, a password alone no longer logs them in.
func (p *Provider) NeedsSecondFactor(ctx context.Context, u store.User) (bool, error) {
	keys, err := p.Store.ListUserPasskeys(ctx, u.ID)
	if err != nil {
		return false, fmt.Errorf("list passkeys: %w", err)
	}
	return len(keys) > 0, nil
}

// PendingMFA is a login waiting for its second factor: no session exists until it completes
// (CR-18).
type PendingMFA struct {
	UserID string
	AMR    []string
}

// StartPendingMFA records a first factor and returns the secret for the browser's MFA cookie.
func (p *Provider) StartPendingMFA(ctx context.Context, u store.User, amr []string) (string, error) {
	sec := secret.Token()
	now := p.Now()
	rec := store.OneTimeCode{ID: secret.Hash(sec), Purpose: purposeMFA, Subject: u.ID,
		Data: map[string]string{"amr": strings.Join(amr, " ")}, CreatedAt: now, ExpiresAt: now.Add(ceremonyTTL)}
	if err := p.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store pending login: %w", err)
	}
	return sec, nil
}

// PendingMFAUser returns the user of a pending second-factor login (ErrCeremonyExpired if
// none).
func (p *Provider) PendingMFAUser(ctx context.Context, sec string) (store.User, error) {
	if sec == "" || len(sec) > 128 {
		return store.User{}, ErrCeremonyExpired
	}
	rec, err := p.Store.GetOneTimeCode(ctx, secret.Hash(sec))
	if err != nil || rec.Purpose != purposeMFA || !p.Now().Before(rec.ExpiresAt) {
		return store.User{}, ErrCeremonyExpired
	}
	return p.Store.GetUser(ctx, rec.Subject)
}

// BeginSecondFactor starts a passkey assertion for u: the second factor after a password, or
// the step-up of a session (UP and UV required).
func (p *Provider) BeginSecondFactor(ctx context.Context, u store.User, bind string) (*Ceremony, error) {
	if p.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	w, err := p.loadWAUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(w.creds) == 0 {
		return nil, ErrNoPasskey
	}
	assertion, sd, err := p.WebAuthn.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	sec, err := p.saveCeremony(ctx, ceremonyFactor, u.ID, sd, map[string]string{"bind": bind})
	if err != nil {
		return nil, err
	}
	return &Ceremony{Secret: sec, Options: assertion}, nil
}

// FinishSecondFactor verifies the assertion of a second-factor ceremony started for u with
// the same binding (the pending-login or session ID).
func (p *Provider) FinishSecondFactor(ctx context.Context, u store.User, bind, sec string, response []byte) (store.Passkey, error) {
	if p.WebAuthn == nil {
		return store.Passkey{}, ErrPasskeysDisabled
	}
	if err := checkResponseSize(response); err != nil {
		return store.Passkey{}, err
	}
	rec, sd, err := p.takeCeremony(ctx, ceremonyFactor, sec)
	if err != nil {
		return store.Passkey{}, err
	}
	if rec.Subject != u.ID || rec.Data["bind"] != bind {
		return store.Passkey{}, ErrCeremonyExpired
	}
	w, err := p.loadWAUser(ctx, u)
	if err != nil {
		return store.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return store.Passkey{}, ErrPasskeyMalformed
	}
	cred, err := p.WebAuthn.ValidateLogin(w, sd, parsed)
	if err != nil {
		p.Logger.Info("passkey second factor refused", "user", u.ID, "error", err)
		return store.Passkey{}, ErrPasskeyFailed
	}
	return p.recordUse(ctx, u, cred)
}

// CompletePendingMFA consumes the pending login once its second factor succeeded.
func (p *Provider) CompletePendingMFA(ctx context.Context, sec string) (PendingMFA, error) {
	rec, err := p.Store.ConsumeOneTimeCode(ctx, secret.Hash(sec))
	if err != nil || rec.Purpose != purposeMFA || !p.Now().Before(rec.ExpiresAt) {
		return PendingMFA{}, ErrCeremonyExpired
	}
	return PendingMFA{UserID: rec.Subject, AMR: strings.Fields(rec.Data["amr"])}, nil
}

// Passkeys lists a user's passkeys.
func (p *Provider) Passkeys(ctx context.Context, userID string) ([]store.Passkey, error) {
	keys, err := p.Store.ListUserPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return keys, nil
}

// RenamePasskey renames one of the user's passkeys.
func (p *Provider) RenamePasskey(ctx context.Context, userID, id, name string) (store.Passkey, error) {
	name, err := passkeyName(name, nil)
	if err != nil {
		return store.Passkey{}, err
	}
	pk, err := p.Store.UpdatePasskey(ctx, id, func(pk store.Passkey) (store.Passkey, error) {
		if pk.UserID != userID {
			return pk, store.ErrNotFound
		}
		pk.Name = name
		return pk, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Passkey{}, &InputError{Field: "id", Message: "no such passkey"}
	}
	return pk, err
}

// DeletePasskey removes one of the session user's passkeys: it needs a login from the last 10
// minutes (CR-19), and the last way to log in cannot be removed.
func (p *Provider) DeletePasskey(ctx context.Context, s store.Session, id string) error {
	if !p.fresh(s) {
		return ErrReauthenticate
	}
	pk, err := p.Store.GetPasskey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && pk.UserID != s.UserID) {
		return &InputError{Field: "id", Message: "no such passkey"}
	} else if err != nil {
		return fmt.Errorf("read passkey: %w", err)
	}
	keys, err := p.Store.ListUserPasskeys(ctx, s.UserID)
	if err != nil {
		return fmt.Errorf("list passkeys: %w", err)
	}
	if len(keys) <= 1 {
		if _, err := p.Store.GetPassword(ctx, s.UserID); errors.Is(err, store.ErrNotFound) {
			return ErrLastCredential
		} else if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
	}
	if err := p.Store.DeletePasskey(ctx, id); err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	return nil
}

// webauthnClaims returns the claims webauthn and webauthn_username of a login with passkey id.
func (p *Provider) webauthnClaims(ctx context.Context, u store.User, id string) (map[string]any, bool) {
	if id == "" {
		return nil, false
	}
	pk, err := p.Store.GetPasskey(ctx, id)
	if err != nil || pk.UserID != u.ID {
		return nil, false
	}
	keys, _ := p.Store.ListUserPasskeys(ctx, u.ID)
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
