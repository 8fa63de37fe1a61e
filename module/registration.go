package module

import (
	"github.com/gatehouse-dev/gatehouse/idp"
)

// RegistrationConfig turns on dynamic client registration (RFC 7591) and its management
// protocol (RFC 7592) at <issuer>/register. Off by default: without this option there is no
// endpoint, and discovery advertises none.
type RegistrationConfig struct {
	// Mode is "approval" (a registered client exists but /authorize and /token refuse it
	// until an administrator approves it: `gatehouse client approve ID` or POST
	// /gatehouse/clients/{id}/approve on the admin endpoint) or "open" (a registered client
	// works at once; set InitialAccessToken, or NoInitialAccessToken to say explicitly that
	// anyone may register). Required.
	Mode string `json:"mode,omitempty"`
	// InitialAccessToken protects the endpoint (RFC 7591 §3): a client registers with
	// Authorization: Bearer <token>. Give it as {env.NAME} or {file.path}; at least 32
	// characters. Optional in approval mode; in open mode required unless
	// NoInitialAccessToken is set.
	InitialAccessToken string `json:"initial_access_token,omitempty"`
	// NoInitialAccessToken lets anyone register a client that works at once (open mode
	// without an initial access token); a warning is logged at start-up. Registrations are
	// still limited per client IP.
	NoInitialAccessToken bool `json:"no_initial_access_token,omitempty"`
	// PerIPPerHour limits the registrations per client IP and hour (default 20).
	PerIPPerHour int `json:"per_ip_per_hour,omitempty"`
}

// minInitialAccessToken is the shortest initial access token accepted.
const minInitialAccessToken = 32

// check records the problems of the registration option under path (gatehouse.registration).
func (r *RegistrationConfig) check(v *Validator, path string) {
	if r == nil {
		return
	}
	if r.Mode == "" {
		v.Errorf(path+".mode", "must be approval or open, got nothing")
		return
	}
	if !v.oneOf(path+".mode", r.Mode, idp.RegistrationApproval, idp.RegistrationOpen) {
		return
	}
	if r.PerIPPerHour < 0 {
		v.Errorf(path+".per_ip_per_hour", "must be positive (default 20), got %d", r.PerIPPerHour)
	}
	if r.InitialAccessToken != "" {
		if r.NoInitialAccessToken {
			v.Errorf(path, "must have initial_access_token or no_initial_access_token, not both, got both")
			return
		}
		tok, ok := v.resolve(path+".initial_access_token", r.InitialAccessToken)
		if !ok {
			return
		}
		if len(tok) < minInitialAccessToken {
			v.Errorf(path+".initial_access_token", "must be at least %d characters (generate one with `openssl rand -base64 32`), got %d", minInitialAccessToken, len(tok))
		}
		if !isPlaceholder(r.InitialAccessToken) {
			v.Warnf(path+".initial_access_token", "is written in the configuration, which Caddy's config API and autosave.json show: give it as {env.NAME} or {file.path}")
		}
		return
	}
	switch {
	case r.Mode == idp.RegistrationOpen && !r.NoInitialAccessToken:
		v.Errorf(path+".initial_access_token", "is required in open mode (registered clients work at once): "+
			"set it, use mode approval, or set no_initial_access_token to let anyone register a client")
	case r.Mode == idp.RegistrationOpen:
		v.Warnf(path+".no_initial_access_token", "is set: anyone can register an OAuth client that works at once, without an administrator's approval")
	}
}

// IDP converts the option (the token resolved by the caller).
func (r *RegistrationConfig) IDP(token string) idp.Registration {
	if r == nil {
		return idp.Registration{}
	}
	return idp.Registration{Mode: r.Mode, InitialAccessToken: token, PerIPPerHour: r.PerIPPerHour}
}
