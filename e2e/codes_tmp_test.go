package e2e

import (
	"testing"
	"time"
)

func TestOtTmpTiming(t *testing.T) {
	t0 := time.Now()
	t.Cleanup(func() { t.Logf("all cleanup done at %v", time.Since(t0)) })
	e := otStart(t, otOptions{})
	t.Logf("started at %v", time.Since(t0))
	e.CreateUser("ada@example.test")
	c := e.client(t)
	c.emailCodeLogin("ada@example.test")
	t.Logf("logged in at %v", time.Since(t0))
	t.Cleanup(func() { t.Logf("cleanup begins at %v", time.Since(t0)) })
}
