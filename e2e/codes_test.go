package e2e

import (
	"net/http"
	"testing"
)

func TestEmailCodeLoginSmoke(t *testing.T) {
	e := otStart(t, otOptions{})
	e.CreateUser("ada@example.test")
	c := e.client(t)
	c.emailCodeLogin("ada@example.test")
	c.wantSession("code login", "ada@example.test", "eotp")
	_ = http.StatusOK
}
