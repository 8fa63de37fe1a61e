package storecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// ErrNotEmpty is returned by Copy when the destination already holds data.
var ErrNotEmpty = errors.New("the destination is not empty")

// Copy copies every live record of from into to, which must be empty, and reports on log
// what it copied (counts only: no record, hash or key is ever printed). The source is
// opened read-only.
func Copy(ctx context.Context, from, to Spec, log io.Writer, now time.Time) (store.CopyStats, error) {
	if from == to {
		return store.CopyStats{}, errors.New("copy: the source and the destination are the same store")
	}
	src, err := Open(ctx, from, true)
	if err != nil {
		return store.CopyStats{}, fmt.Errorf("open the source: %w", err)
	}
	defer src.Close()
	dst, err := Open(ctx, to, false)
	if err != nil {
		return store.CopyStats{}, fmt.Errorf("open the destination: %w", err)
	}
	defer dst.Close()
	empty, err := store.Empty(ctx, dst)
	if err != nil {
		return store.CopyStats{}, fmt.Errorf("check the destination: %w", err)
	}
	if !empty {
		return store.CopyStats{}, fmt.Errorf("%s: %w (it holds users, clients, signing keys, groups or settings); copy into a new Badger directory, "+
			"or an empty PostgreSQL database or schema (for example a new schema, created by the copy: --to-schema NAME)", to, ErrNotEmpty)
	}
	stats, err := store.Copy(ctx, src, dst, now)
	if err != nil {
		return stats, fmt.Errorf("copy %s to %s: %w (the destination holds a partial copy: empty it before trying again)", from, to, err)
	}
	fmt.Fprintf(log, "copied %s to %s:", from, to)
	for _, k := range store.Kinds {
		if n := stats.Written[k]; n > 0 {
			fmt.Fprintf(log, " %s %d,", k, n)
		}
	}
	fmt.Fprintf(log, " expired records skipped %d\n", stats.Expired)
	return stats, nil
}
