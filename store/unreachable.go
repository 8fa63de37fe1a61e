package store

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// Unreachable reports whether err is a failure to reach the store over the network — a
// connection refused, reset or lost mid-answer (a PostgreSQL server down or cut off) —
// rather than an answer of the store. Such a failure is temporary: the protocol endpoints
// answer it with 503 and Retry-After, not 500. Timeouts and cancellations are not
// reported: they may be the request's own.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
