package passkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/account"
	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/internal/detach"
	"github.com/gatehouse-dev/gatehouse/keys"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/login/otp"
	"github.com/gatehouse-dev/gatehouse/metrics"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/sessions"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AMR is what a passkey login proves (a user-verifying passkey: aal2 by itself).
const AMR = login.AMRWebAuthn

// Passkey errors shown to users.
var (
	ErrPasskeyFailed       = errors.New("the passkey could not be verified; try again")
	ErrPasskeyMalformed    = errors.New("the passkey response is malformed or its key is not supported")
	ErrCeremonyExpired     = errors.New("this passkey request expired or was already used; start again")
	ErrLastCredential      = errors.New("this is your only way to log in: add another passkey or a password first")
	ErrNoPasskey           = errors.New("this account has no passkey")
	ErrClonedAuthenticator = errors.New("this passkey's signature counter went backwards, which happens when a passkey was copied; it was refused")
	ErrPasskeysDisabled    = errors.New("passkeys are not available on this server; log in with your password")
)

// CeremonyTTL is how long a WebAuthn challenge can be answered (and a pending second-factor
// login waits, package mfa).
const CeremonyTTL = 5 * time.Minute

// Ceremony kinds.
const (
	ceremonySignup   = "webauthn:signup"
	ceremonyLogin    = "webauthn:login"
	ceremonyRegister = "webauthn:register"
	ceremonyFactor   = "webauthn:factor"
)

// Config configures WebAuthn.
type Config struct {
	// RPID is the relying party ID (default: the issuer's host).
	RPID string
	// RPName is shown by authenticators (default: "Gatehouse").
	RPName string
	// Origins are the origins allowed in clientDataJSON (default: the issuer's origin).
	Origins []string
	// Disabled turns passkeys off.
	Disabled bool
}

// NewRelyingParty builds the WebAuthn relying party of the issuer. It returns nil (passkeys
// disabled) when cfg disables them, or when the issuer's host is an IP address and no RP ID
// is configured: browsers refuse IP addresses as relying party IDs.
func NewRelyingParty(issuer string, cfg Config) (*webauthn.WebAuthn, error) {
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
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
		},
	})
}

// Method is the passkey method. WebAuthn nil means passkeys are disabled; every other field
// but Logger is required.
type Method struct {
	// Metrics counts the login attempts (nil: not counted).
	Metrics metrics.Recorder
	// Audit records the login attempts and the passkeys added and removed (nil: not
	// recorded).
	Audit    audit.Recorder
	WebAuthn *webauthn.WebAuthn
	Store    store.Store
	Accounts *account.Accounts
	Signup   *account.Signup
	Sessions *sessions.Manager
	// Keys derives the secret of the decoy credentials shown for unknown addresses.
	Keys *keys.Ring
	// LoginOn, if set, tells whether logging in (and signing up) with a passkey is turned on
	// now (the runtime settings' login.methods): when it is off, the login and sign-up
	// ceremonies are refused at both steps with otp.ErrMethodDisabled. A passkey as the
	// second factor, for step-up and for approvals stays available, and so does managing
	// passkeys: the second-factor rules (login.mfa) do not depend on the login methods.
	// nil: on whenever WebAuthn is.
	LoginOn func() bool
	Now     func() time.Time
	Logger  *slog.Logger
}

// Enabled reports whether the server can run WebAuthn ceremonies.
func (m *Method) Enabled() bool { return m.WebAuthn != nil }

// LoginEnabled reports whether logging in with a passkey is possible now: WebAuthn is
// available and the runtime settings have not turned the method off.
func (m *Method) LoginEnabled() bool { return m.WebAuthn != nil && (m.LoginOn == nil || m.LoginOn()) }

// loginOff is the refusal of a login or sign-up ceremony while passkey login is turned off
// (WebAuthn available, the method off in the settings), recorded as a failed login.
func (m *Method) loginOff(ctx context.Context) error {
	login.Audit(ctx, m.Audit, "passkey", "", login.Result{}, otp.ErrMethodDisabled, otp.ErrMethodDisabled)
	return otp.ErrMethodDisabled
}

func (m *Method) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// Ceremony is a started WebAuthn ceremony: Options go to navigator.credentials, Secret to the
// browser's ceremony cookie (the challenge answers only from that browser, once, within five
// minutes: CR-22).
type Ceremony struct {
	Secret  string
	Options any
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

func (m *Method) loadUser(ctx context.Context, u store.User) (*waUser, error) {
	keys, err := m.Store.ListUserPasskeys(ctx, u.ID)
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

// singleKeyUser is u with the one passkey pk, for checking an assertion made with pk.
func singleKeyUser(u store.User, pk store.Passkey) (*waUser, error) {
	var c webauthn.Credential
	if err := json.Unmarshal(pk.Credential, &c); err != nil {
		return nil, fmt.Errorf("decode passkey %s: %w", pk.ID, err)
	}
	return &waUser{u: u, keys: []store.Passkey{pk}, creds: []webauthn.Credential{c}}, nil
}

func newUserHandle() string { return secret.New(16) }

func (m *Method) saveCeremony(ctx context.Context, kind, subject string, sd *webauthn.SessionData, data map[string]string) (string, error) {
	raw, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("encode ceremony: %w", err)
	}
	if data == nil {
		data = map[string]string{}
	}
	data["session_data"] = string(raw)
	sec := secret.Token()
	now := m.Now()
	rec := store.OneTimeCode{ID: secret.Hash(sec), Purpose: kind, Subject: subject, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL)}
	if err := m.Store.CreateOneTimeCode(ctx, rec); err != nil {
		return "", fmt.Errorf("store ceremony: %w", err)
	}
	return sec, nil
}

// takeCeremony consumes the ceremony of kind started with sec: once, unexpired.
func (m *Method) takeCeremony(ctx context.Context, kind, sec string) (store.OneTimeCode, webauthn.SessionData, error) {
	return m.ceremony(ctx, kind, sec, m.Store.ConsumeOneTimeCode)
}

// readCeremony is takeCeremony without consuming the ceremony: the caller consumes it
// in the same store write as what it does on success (UpdatePasskeyConsuming), or
// with burnCeremony on failure.
func (m *Method) readCeremony(ctx context.Context, kind, sec string) (store.OneTimeCode, webauthn.SessionData, error) {
	return m.ceremony(ctx, kind, sec, m.Store.GetOneTimeCode)
}

// burnCeremony consumes the ceremony id after a failed answer, so that it cannot be
// answered again; the request's cancellation does not stop it.
func (m *Method) burnCeremony(ctx context.Context, id string) {
	wctx, cancel := detach.Context(ctx)
	defer cancel()
	if _, err := m.Store.ConsumeOneTimeCode(wctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.logger().Warn("passkey ceremony not consumed", "error", err)
	}
}

func (m *Method) ceremony(ctx context.Context, kind, sec string, load func(context.Context, string) (store.OneTimeCode, error)) (store.OneTimeCode, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if sec == "" || len(sec) > 128 {
		return store.OneTimeCode{}, sd, ErrCeremonyExpired
	}
	rec, err := load(ctx, secret.Hash(sec))
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeCode{}, sd, ErrCeremonyExpired
	} else if err != nil {
		return store.OneTimeCode{}, sd, fmt.Errorf("read ceremony: %w", err)
	}
	// A record found but refused is returned with the error, for readCeremony's callers
	// to burn it if it is a ceremony.
	if rec.Purpose != kind || !m.Now().Before(rec.ExpiresAt) {
		return rec, sd, ErrCeremonyExpired
	}
	if err := json.Unmarshal([]byte(rec.Data["session_data"]), &sd); err != nil {
		return rec, sd, ErrCeremonyExpired
	}
	return rec, sd, nil
}

// isCeremony tells whether a one-time code's purpose is one of the passkey ceremonies (a
// secret that hashes to another kind of record is not burned by a passkey step).
func isCeremony(purpose string) bool {
	switch purpose {
	case ceremonySignup, ceremonyLogin, ceremonyRegister, ceremonyFactor, ceremonyApproval:
		return true
	}
	return false
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

func (m *Method) storePasskey(ctx context.Context, u store.User, cred *webauthn.Credential, name string) (store.Passkey, error) {
	raw, err := json.Marshal(cred)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("encode passkey: %w", err)
	}
	name, err = passkeyName(name, cred)
	if err != nil {
		return store.Passkey{}, err
	}
	now := m.Now()
	pk := store.Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: u.ID, Credential: raw,
		Name: name, CreatedAt: now}
	if err := m.Store.CreatePasskey(ctx, pk); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			// A credential ID already bound to an account (CR-26).
			return store.Passkey{}, &input.Error{Field: "credential", Message: "this passkey is already registered"}
		}
		return store.Passkey{}, fmt.Errorf("store passkey: %w", err)
	}
	audit.Or(m.Audit).Record(ctx, audit.Event{Type: audit.PasskeyAdded, Actor: u.ID, UserID: u.ID,
		Details: map[string]string{"passkey": pk.ID}})
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
		return "", &input.Error{Field: "name", Message: "use at most 64 characters"}
	}
	return name, nil
}
