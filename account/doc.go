// Package account owns Gatehouse's user accounts:
//
//   - Accounts: users (create, read, list, update, disable, groups), their profile and
//     custom data, group data, passwords (set by an administrator, changed by the user with
//     a fresh login: the user's other sessions and every refresh token end), the lookups
//     the login methods use, and the takeover defence (Claim: the first proof of the email
//     address removes every way in set up before it);
//   - Signup: self-service sign-up under the signup mode (open, invite, closed), the
//     sign-up that proves the address with an emailed code before the account exists
//     (CR-06), and invitations;
//   - Verification: proving control of an email address or phone number, by code.
//
// It delegates the validation of what users type to account/input, one-time codes and
// messages to login/otp, sessions and revocations to package sessions, and the storage of
// a sign-up's passkey to login/passkey (through PasskeyStore). The login methods themselves
// are in login/*; the OAuth clients an account's custom_app_data refers to are package
// oauth's (through Accounts.ClientExists).
package account
