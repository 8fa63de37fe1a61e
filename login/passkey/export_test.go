package passkey

import (
	"context"

	"github.com/go-webauthn/webauthn/webauthn"
)

// SaveLoginCeremony stores a usernameless login ceremony with session data sd, as
// BeginLogin does, and returns its secret.
func (m *Method) SaveLoginCeremony(ctx context.Context, sd *webauthn.SessionData) (string, error) {
	return m.saveCeremony(ctx, ceremonyLogin, "", sd, nil)
}

// The checks of a browser's answer, for the fuzz targets.
var (
	CheckCredentialKey = checkCredentialKey
	CheckResponseSize  = checkResponseSize
)
