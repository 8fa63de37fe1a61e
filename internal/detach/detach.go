package detach

import (
	"context"
	"time"
)

// Timeout bounds the writes that run detached from the request.
const Timeout = 5 * time.Second

// Context returns a context with ctx's values but not its cancellation, bounded by Timeout.
func Context(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), Timeout)
}
