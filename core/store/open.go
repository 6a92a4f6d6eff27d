package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Options tune a store. The zero value means the documented defaults.
type Options struct {
	// Logger receives open, migration and write-failure events (never
	// message content or password hashes). Nil means zap.NewNop().
	Logger *zap.Logger
	// MaxBatch is the most SaveMessage and MarkDelivered calls committed in
	// one transaction by the group-commit writer. Zero means 512.
	MaxBatch int
	// WriteTimeout bounds one group-commit transaction, waits for a busy
	// database included; when it passes, the writes in that batch fail.
	// Zero means 30 s.
	WriteTimeout time.Duration
	// ReadConns is the size of the reader pool (SQLite) or the whole
	// connection pool (PostgreSQL). Zero means max(4, GOMAXPROCS) for
	// SQLite and pgxpool's default (the same) for PostgreSQL.
	ReadConns int

	// checkpoint: when SQLite's background checkpoints run (tests).
	checkpoint checkpointLimits
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = defaultMaxBatch
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	return o
}

// Open returns the store named by a DB_URI:
//
//   - "mem": a new Memory store (volatile);
//   - "sqlite:PATH": an SQLite database file at PATH (directories created as
//     needed), e.g. "sqlite:data/chat.db";
//   - "postgres://..." or "postgresql://...": a PostgreSQL database.
//
// The schema is created or migrated before Open returns. Anything else is an
// error that names only the URI's scheme, so no password reaches a log.
func Open(ctx context.Context, uri string, opts Options) (Store, error) {
	switch {
	case uri == "mem":
		return NewMemory(), nil
	case strings.HasPrefix(uri, "sqlite:"):
		s, err := OpenSQLite(ctx, strings.TrimPrefix(uri, "sqlite:"), opts)
		if err != nil {
			return nil, err // not a typed nil in a non-nil Store
		}
		return s, nil
	case strings.HasPrefix(uri, "postgres://"), strings.HasPrefix(uri, "postgresql://"):
		s, err := OpenPostgres(ctx, uri, opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	scheme, _, found := strings.Cut(uri, ":")
	if !found {
		scheme = uri
	}
	if len(scheme) > 20 {
		scheme = scheme[:20] + "..."
	}
	return nil, fmt.Errorf(`store: unsupported DB_URI %q (want "mem", "sqlite:PATH" or "postgres://...")`, scheme)
}
