package login

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Authentication method references (claim amr): what a login proved.
const (
	AMRPassword  = "pwd"
	AMRWebAuthn  = "webauthn"
	AMRMFA       = "mfa"
	AMREmailCode = "eotp"
	AMREmailLink = "eml"
	AMRSMS       = "sms"
	AMRSocial    = "social"
	// AMROTP is a code of an authenticator app (TOTP, RFC 8176 "otp").
	AMROTP = "otp"
)

// Authentication context classes (claim acr).
const (
	// ACRSingleFactor is NIST AAL1: one authentication factor.
	ACRSingleFactor = "aal1"
	// ACRMultiFactor is NIST AAL2: two factors, or a user-verifying passkey.
	ACRMultiFactor = "aal2"
)

// ACR returns the authentication context class a login with amr meets: aal2 for a
// user-verifying passkey or a second factor, aal1 otherwise.
func ACR(amr []string) string {
	for _, a := range amr {
		if a == AMRWebAuthn || a == AMRMFA {
			return ACRMultiFactor
		}
	}
	return ACRSingleFactor
}

// AddAMR returns amr with each of more appended that it does not hold yet (a second factor
// adds to what the first login proved); amr itself is not changed.
func AddAMR(amr []string, more ...string) []string {
	out := append([]string{}, amr...)
	for _, m := range more {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Result is a finished login (or sign-up): who, and what the login proved.
type Result struct {
	User store.User
	// AMR is what the login proved (AMRPassword, AMRWebAuthn, ...).
	AMR []string
	// NewUser: the login created the account (sign-up, implicit onboarding).
	NewUser bool
	// Passkey is the ID of the passkey used, if any.
	Passkey string
	// ReturnTo is where the login continues, when the method carried it (a magic link, a
	// social login's state): a local path or "".
	ReturnTo string
}
