package storecli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/store"
)

// FormatVersion is the version of the users file (docs/users-file.md), carried by every
// line as "v".
const FormatVersion = 1

// UserLine is one line of a users file: the user's fields under their claim names (those
// of store.User), with the password hash, passkeys, linked identities and app credentials.
type UserLine struct {
	V int `json:"v"`
	store.User
	PasswordHash      string         `json:"password_hash,omitempty"`
	PasswordUpdatedAt time.Time      `json:"password_updated_at,omitzero"`
	Passkeys          []PasskeyLine  `json:"passkeys,omitempty"`
	Identities        []IdentityLine `json:"identities,omitempty"`
	// AppCredentials are the user's app passwords and access tokens, each under the hash
	// of its secret (the secret is in no store and no file).
	AppCredentials []AppCredentialLine `json:"app_credentials,omitempty"`
}

// AppCredentialLine is an app password or access token of a UserLine (store.AppCredential
// without the user ID).
type AppCredentialLine struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Scopes     []string  `json:"scopes,omitempty"`
	Sites      []string  `json:"sites,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	LastUsedIP string    `json:"last_used_ip,omitempty"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// PasskeyLine is a passkey of a UserLine (store.Passkey without the user ID).
type PasskeyLine struct {
	ID         string          `json:"id"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	LastUsedAt time.Time       `json:"last_used_at,omitzero"`
	UseCount   int             `json:"use_count,omitempty"`
}

// IdentityLine is a linked upstream identity of a UserLine.
type IdentityLine struct {
	Provider   string    `json:"provider"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Export writes every user of s to w, one JSON line each, in ID order, page by page (the
// store is never read whole). It returns how many it wrote.
func Export(ctx context.Context, s store.Store, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n, after := 0, ""
	for {
		users, err := s.ListUsers(ctx, store.ListOptions{After: after, Limit: 500})
		if err != nil {
			return n, fmt.Errorf("export: list users: %w", err)
		}
		for _, u := range users {
			line, err := userLine(ctx, s, u)
			if err != nil {
				return n, fmt.Errorf("export: user %q: %w", u.ID, err)
			}
			if err := enc.Encode(line); err != nil {
				return n, fmt.Errorf("export: %w", err)
			}
			n++
		}
		if len(users) < 500 {
			return n, bw.Flush()
		}
		after = users[len(users)-1].ID
	}
}

func userLine(ctx context.Context, s store.Store, u store.User) (UserLine, error) {
	line := UserLine{V: FormatVersion, User: u}
	pw, err := s.GetPassword(ctx, u.ID)
	switch {
	case err == nil:
		line.PasswordHash, line.PasswordUpdatedAt = pw.Hash, pw.UpdatedAt
	case !errors.Is(err, store.ErrNotFound):
		return line, err
	}
	pks, err := s.ListUserPasskeys(ctx, u.ID)
	if err != nil {
		return line, err
	}
	for _, p := range pks {
		line.Passkeys = append(line.Passkeys, PasskeyLine{ID: p.ID, Credential: p.Credential, Name: p.Name,
			CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt, UseCount: p.UseCount})
	}
	ids, err := s.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return line, err
	}
	for _, id := range ids {
		line.Identities = append(line.Identities, IdentityLine{Provider: id.Provider, Subject: id.Subject, Email: id.Email,
			CreatedAt: id.CreatedAt, LastUsedAt: id.LastUsedAt})
	}
	creds, err := s.ListUserAppCredentials(ctx, u.ID)
	if err != nil {
		return line, err
	}
	for _, c := range creds {
		line.AppCredentials = append(line.AppCredentials, AppCredentialLine{ID: c.ID, Kind: c.Kind, Name: c.Name, Scopes: c.Scopes,
			Sites: c.Sites, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, LastUsedAt: c.LastUsedAt, LastUsedIP: c.LastUsedIP, RevokedAt: c.RevokedAt})
	}
	return line, nil
}

// ImportOptions tune Import.
type ImportOptions struct {
	// ContinueOnError imports the valid lines and reports the others; without it, one bad
	// line imports nothing.
	ContinueOnError bool
	// Update replaces the fields of a user that exists (same ID) instead of refusing the
	// line; its password is replaced when the line has one, and passkeys and identities the
	// line adds are linked.
	Update bool
	// Now stamps users without created_at / updated_at.
	Now time.Time
}

// LineError is a refused line of a users file.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ImportResult counts what Import did.
type ImportResult struct {
	Created, Updated int
	// Errors lists the refused lines, in file order.
	Errors []*LineError
}

// ErrInvalidLines is returned by Import when lines were refused (each is in
// ImportResult.Errors).
var ErrInvalidLines = errors.New("invalid lines in the users file")

// maxLine bounds one line (a user with 100 KB of custom data, per-app data and passkeys).
const maxLine = 4 << 20

// Import reads a users file from r and creates its users in s. Every line is read and
// checked (the input rules of the account pages and admin API, the hash, uniqueness within
// the file and against s) before anything is written. Without ContinueOnError, a refused
// line writes nothing, and a write that fails halfway deletes the users this import
// created; with it, the valid lines are imported and the others reported.
func Import(ctx context.Context, s store.Store, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC()
	}
	var res ImportResult
	type parsed struct {
		n      int
		line   UserLine
		exists bool
	}
	var lines []parsed
	seenID, seenEmail := map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	n := 0
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 || raw[0] == '#' {
			continue
		}
		line, err := parseLine(raw, opts.Now)
		if err == nil && line.ID != "" {
			if first, dup := seenID[line.ID]; dup {
				err = fmt.Errorf("id %q: also on line %d", line.ID, first)
			}
		}
		if err == nil && line.Email != "" {
			if first, dup := seenEmail[line.Email]; dup {
				err = fmt.Errorf("email %q: also on line %d", line.Email, first)
			}
		}
		exists := false
		if err == nil {
			exists, err = checkAgainst(ctx, s, line, opts.Update)
		}
		if err != nil {
			res.Errors = append(res.Errors, &LineError{Line: n, Err: err})
			continue
		}
		if line.ID == "" {
			line.ID = secret.ID()
		}
		seenID[line.ID] = n
		if line.Email != "" {
			seenEmail[line.Email] = n
		}
		lines = append(lines, parsed{n: n, line: line, exists: exists})
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("import: line %d: %w", n+1, err)
	}
	if len(res.Errors) > 0 && !opts.ContinueOnError {
		return res, fmt.Errorf("import: %d of %d lines refused, nothing imported (fix them, or give --continue-on-error): %w",
			len(res.Errors), len(res.Errors)+len(lines), ErrInvalidLines)
	}
	var created []string
	for _, p := range lines {
		err := writeLine(ctx, s, p.line, p.exists)
		if err == nil {
			if p.exists {
				res.Updated++
			} else {
				res.Created++
				created = append(created, p.line.ID)
			}
			continue
		}
		if opts.ContinueOnError {
			res.Errors = append(res.Errors, &LineError{Line: p.n, Err: err})
			continue
		}
		// All or nothing: undo the users this import created (users it updated keep the
		// new fields).
		for _, id := range created {
			_ = s.DeleteUser(ctx, id)
		}
		if !p.exists {
			_ = s.DeleteUser(ctx, p.line.ID)
		}
		res.Created = 0
		return res, fmt.Errorf("import: line %d: %w (the users created by this import were removed again)", p.n, err)
	}
	if len(res.Errors) > 0 {
		return res, fmt.Errorf("import: %d lines refused: %w", len(res.Errors), ErrInvalidLines)
	}
	return res, nil
}

// parseLine decodes and validates one line.
func parseLine(raw []byte, now time.Time) (UserLine, error) {
	var line UserLine
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&line); err != nil {
		return line, fmt.Errorf("not a user object: %w", err)
	}
	if dec.More() {
		return line, errors.New("more than one JSON value on the line")
	}
	if line.V != FormatVersion {
		return line, fmt.Errorf(`"v" is %d: this Gatehouse reads version %d (write "v":%d on every line)`, line.V, FormatVersion, FormatVersion)
	}
	u := &line.User
	if u.ID != "" && (len(u.ID) > 128 || strings.ContainsFunc(u.ID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' })) {
		return line, errors.New("id: at most 128 characters, no spaces, control characters or /")
	}
	if u.Email != "" {
		email, err := input.NormalizeEmail(u.Email)
		if err != nil {
			return line, err
		}
		u.Email = email
	} else if u.EmailVerified {
		return line, errors.New("email_verified without an email")
	}
	if u.PhoneNumber != "" && !input.IsE164(u.PhoneNumber) {
		return line, errors.New("phone_number: use the international form, + and the country code (+14155550100)")
	} else if u.PhoneNumber == "" && u.PhoneNumberVerified {
		return line, errors.New("phone_number_verified without a phone_number")
	}
	if u.Username != "" && !input.IsUsername(u.Username) {
		return line, errors.New("username: 1-64 letters, digits and . _ @ -")
	}
	for _, f := range []struct{ name, v string }{{"fname", u.FirstName}, {"mname", u.MiddleName}, {"lname", u.LastName}} {
		if err := input.CheckName(f.name, f.v); err != nil {
			return line, err
		}
	}
	if err := input.CheckText("external_user_id", u.ExternalUserID, 256); err != nil {
		return line, err
	}
	if err := input.ValidateGroups(u.Groups); err != nil {
		return line, err
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"roles", u.Roles}, {"role_values", u.RoleValues}, {"permissions", u.Permissions}} {
		if err := input.CheckList(l.name, l.v); err != nil {
			return line, err
		}
	}
	if err := input.ValidateCustomData("custom_data", u.CustomData); err != nil {
		return line, err
	}
	for client, data := range u.CustomAppData {
		if err := input.ValidateCustomData("custom_app_data."+client, data); err != nil {
			return line, err
		}
	}
	if err := checkHash(line.PasswordHash); err != nil {
		return line, err
	}
	for i, p := range line.Passkeys {
		var obj map[string]json.RawMessage
		if p.ID == "" || json.Unmarshal(p.Credential, &obj) != nil {
			return line, fmt.Errorf("passkeys[%d]: needs an id and a credential object", i)
		}
		if u.WebAuthnID == "" {
			return line, errors.New("passkeys: the user's webauthn_id (the user handle the passkeys were registered with) is missing")
		}
	}
	for i, id := range line.Identities {
		if id.Provider == "" || id.Subject == "" || strings.Contains(id.Provider, "/") {
			return line, fmt.Errorf("identities[%d]: needs a provider (without /) and a subject", i)
		}
	}
	for i, c := range line.AppCredentials {
		if c.ID == "" || (c.Kind != store.CredentialPAT && c.Kind != store.CredentialAppPassword) {
			return line, fmt.Errorf(`app_credentials[%d]: needs an id (the hash of the secret) and a kind, "pat" or "app_password"`, i)
		}
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	if line.PasswordHash != "" && line.PasswordUpdatedAt.IsZero() {
		line.PasswordUpdatedAt = u.UpdatedAt
	}
	return line, nil
}

// checkHash accepts an empty hash (no password) or an argon2id PHC string the password
// package verifies; it refuses bcrypt and everything else by name.
func checkHash(h string) error {
	switch {
	case h == "":
		return nil
	case strings.HasPrefix(h, "$argon2id$"):
		if err := password.ValidHash(h); err != nil {
			return fmt.Errorf("password_hash: %w", err)
		}
		return nil
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return errors.New("password_hash: bcrypt hashes cannot be verified by Gatehouse (argon2id only): " +
			"leave password_hash out and let the user set a password (reset link, magic link or passkey)")
	}
	return errors.New("password_hash: not an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")
}

// checkAgainst refuses a line whose user exists (unless update) or whose unique fields
// belong to another user; it returns whether the user exists.
func checkAgainst(ctx context.Context, s store.Store, line UserLine, update bool) (bool, error) {
	exists := false
	if line.ID != "" {
		_, err := s.GetUser(ctx, line.ID)
		switch {
		case err == nil && !update:
			return true, fmt.Errorf("user %q exists (give --update to replace its fields)", line.ID)
		case err == nil:
			exists = true
		case !errors.Is(err, store.ErrNotFound):
			return false, err
		}
	}
	if line.Email != "" {
		other, err := s.GetUserByEmail(ctx, line.Email)
		if err == nil && other.ID != line.ID {
			return exists, fmt.Errorf("email %q belongs to another user (%s)", line.Email, other.ID)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return exists, err
		}
	}
	if line.ExternalUserID != "" {
		other, err := s.GetUserByExternalID(ctx, line.ExternalUserID)
		if err == nil && other.ID != line.ID {
			return exists, fmt.Errorf("external_user_id %q belongs to another user (%s)", line.ExternalUserID, other.ID)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return exists, err
		}
	}
	for _, p := range line.Passkeys {
		other, err := s.GetPasskey(ctx, p.ID)
		if err == nil && other.UserID != line.ID {
			return exists, fmt.Errorf("passkey %q belongs to another user", p.ID)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return exists, err
		}
	}
	for _, c := range line.AppCredentials {
		other, err := s.GetAppCredential(ctx, c.ID)
		if err == nil && other.UserID != line.ID {
			return exists, fmt.Errorf("app credential %q belongs to another user", c.ID)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return exists, err
		}
	}
	for _, id := range line.Identities {
		other, err := s.GetIdentity(ctx, id.Provider, id.Subject)
		if err == nil && other.UserID != line.ID {
			return exists, fmt.Errorf("identity %s/%s is linked to another user", id.Provider, id.Subject)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return exists, err
		}
	}
	return exists, nil
}

// writeLine creates (or, if exists, updates) the user with its password, passkeys and
// identities.
func writeLine(ctx context.Context, s store.Store, line UserLine, exists bool) error {
	u := line.User
	if exists {
		if _, err := s.UpdateUser(ctx, u.ID, func(store.User) (store.User, error) { return u, nil }); err != nil {
			return err
		}
	} else if err := s.CreateUser(ctx, u); err != nil {
		return err
	}
	if line.PasswordHash != "" {
		if err := s.SetPassword(ctx, store.PasswordCredential{UserID: u.ID, Hash: line.PasswordHash, UpdatedAt: line.PasswordUpdatedAt}); err != nil {
			return err
		}
	}
	for _, p := range line.Passkeys {
		err := s.CreatePasskey(ctx, store.Passkey{ID: p.ID, UserID: u.ID, Credential: p.Credential, Name: p.Name,
			CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt, UseCount: p.UseCount})
		if err != nil && !(exists && errors.Is(err, store.ErrAlreadyExists)) {
			return err
		}
	}
	for _, id := range line.Identities {
		err := s.CreateIdentity(ctx, store.Identity{Provider: id.Provider, Subject: id.Subject, UserID: u.ID, Email: id.Email,
			CreatedAt: id.CreatedAt, LastUsedAt: id.LastUsedAt})
		if err != nil && !(exists && errors.Is(err, store.ErrAlreadyExists)) {
			return err
		}
	}
	for _, c := range line.AppCredentials {
		err := s.CreateAppCredential(ctx, store.AppCredential{ID: c.ID, UserID: u.ID, Kind: c.Kind, Name: c.Name, Scopes: c.Scopes,
			Sites: c.Sites, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, LastUsedAt: c.LastUsedAt, LastUsedIP: c.LastUsedIP, RevokedAt: c.RevokedAt})
		if err != nil && !(exists && errors.Is(err, store.ErrAlreadyExists)) {
			return err
		}
	}
	return nil
}
