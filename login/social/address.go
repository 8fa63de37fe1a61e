package social

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// What a provider's email_verified proves. A provider trusted for it (TrustEmailVerified)
// proves control of the address as well as a login code sent to it would:
//
//   - an identity linked to the account, whose verified address is the account's
//     unverified one, verifies the address (the same person holds both: the account linked
//     the identity while logged in);
//   - an unknown identity whose verified address is an existing account's unverified one
//     claims that account, with the takeover defence of a login code (account.Claim): the
//     password, passkeys, linked identities and sessions set up before the address was
//     proven are removed, then the identity is linked and logs in. Whoever signed up first
//     with another person's address ("address squatting") loses the account to its owner.
//
// An account whose address is verified already is never joined this way: its owner links
// the identity from the account page (LinkRequiredError).

// vouchedAddress returns the identity's address, normalised, when the provider is trusted
// to verify addresses and says this one is verified; else "".
func (sp *Provider) vouchedAddress(up upstream.Identity) string {
	if !sp.TrustEmailVerified || !up.EmailVerified || up.Email == "" {
		return ""
	}
	email, err := input.NormalizeEmail(up.Email)
	if err != nil {
		return ""
	}
	return email
}

// verifyAddress marks u's address verified when the provider vouches for that very address.
func (m *Method) verifyAddress(ctx context.Context, sp *Provider, u store.User, up upstream.Identity) (store.User, error) {
	email := sp.vouchedAddress(up)
	if email == "" || u.EmailVerified || u.Email != email {
		return u, nil
	}
	nu, err := m.Accounts.Update(ctx, u.ID, func(x store.User) (store.User, error) {
		if x.Email == email {
			x.EmailVerified = true
		}
		return x, nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("social login: verify address: %w", err)
	}
	m.logger().Info("social login: address verified by the provider", "user", u.ID, "provider", sp.Name)
	return nu, nil
}

// claim gives the account u, whose unverified address the provider vouches for, to the
// identity up (see above): account.Claim, then the link.
func (m *Method) claim(ctx context.Context, sp *Provider, u store.User, up upstream.Identity) (store.User, error) {
	u, err := m.Accounts.LoginUser(ctx, u.ID)
	if err != nil {
		return store.User{}, err
	}
	nu, err := m.Accounts.Claim(ctx, u, u.Email)
	if err != nil {
		return store.User{}, err
	}
	if err := m.linkIdentity(ctx, sp.Name, up, nu.ID); err != nil {
		return store.User{}, err
	}
	m.logger().Info("social login: account claimed by a verified upstream identity", "user", nu.ID, "provider", sp.Name)
	return m.syncGroups(ctx, sp, nu, up)
}
