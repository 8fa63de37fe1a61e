// Package idp is the composition root of Gatehouse's identity provider: New takes the
// configuration, the store, the key ring, the password hasher and the revocation list, and
// builds every piece of the identity core — each in its own package, each owning one
// purpose — wired to the others:
//
//	sessions            portal sessions, revocations, the fresh-login rule
//	mfa                 second factors and step-up, pending logins
//	login/lockout       failed-attempt limits (accounts, client IPs, OAuth clients)
//	login/otp           one-time codes and the message channels
//	account             users, profile, passwords, sign-up and invitations, verification
//	login/password …    one package per login method: password, emailcode, smscode,
//	                    magiclink, recovery, passkey, social (its upstream client: upstream)
//	tokens/issue        token issuance (access, ID and logout tokens, user claims)
//	oauth               the authorization server: clients, codes, grants, revocation
//
// A Provider exposes the pieces as fields; module/ hands each handler the pieces it needs,
// through the handler's own small interfaces, so that no handler sees the store or the
// whole provider. The configuration vocabulary module/ and caddyfile/ use (vocabulary.go)
// and the in-process access of gatehouse_protect (protect.go) are the only other exports.
//
// Every secret the core hands out comes from crypto/rand (package secret) and is stored
// hashed. Security-critical writes go through the store's durable methods before a result
// is returned, and every revocation also lands in the in-memory tokens.RevocationList so
// that locally verified access tokens stop working at once on this instance and within the
// sync interval on the others.
package idp
