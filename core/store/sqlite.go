package store

import (
	"context"
	"errors"
)

// OpenSQLite opens the SQLite store at path (not yet implemented).
func OpenSQLite(ctx context.Context, path string, opts Options) (Store, error) {
	return nil, errors.New("store: sqlite not implemented yet")
}
