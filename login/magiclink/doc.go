// Package magiclink is login by a link emailed to the account's address (amr eml). Begin
// emails the link — its token in the URL fragment, so that it never reaches a server log or
// a Referer (CR-15) — or, for an address without an account, does the same store work and
// sends nothing (CR-07); it returns a nonce for the requesting browser's cookie. Lookup
// reads a link without using it (the interstitial page: mail scanners that fetch links get
// only this, CR-16). Finish logs in: once, before the link expires, in the browser that
// asked for it, or elsewhere after the user confirms (CR-17).
//
// The link record, its send limits and its supersession by a newer link are login/otp's
// machinery; a link proves control of the address, so the first such login of an account
// whose address was never verified claims it (account.Accounts.Claim).
package magiclink
