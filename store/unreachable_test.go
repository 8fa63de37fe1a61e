package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// TestUnreachable: a refused, reset or lost connection is a store outage (503 at the
// endpoints); an answer of the store, a timeout or a cancellation is not.
func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, err := range []error{
		fmt.Errorf("redeem code: failed to connect: %w", refused),
		fmt.Errorf("rotate: %w", syscall.ECONNRESET),
		fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF),
	} {
		if !store.Unreachable(err) {
			t.Errorf("Unreachable(%v) = false, want true", err)
		}
	}
	for _, err := range []error{nil, store.ErrNotFound, store.ErrConflict, errors.New("syntax error"),
		context.DeadlineExceeded, context.Canceled} {
		if store.Unreachable(err) {
			t.Errorf("Unreachable(%v) = true, want false", err)
		}
	}
}
