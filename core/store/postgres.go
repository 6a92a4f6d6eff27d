package store

import (
	"context"
	"errors"
)

// OpenPostgres opens the PostgreSQL store at url (not yet implemented).
func OpenPostgres(ctx context.Context, url string, opts Options) (Store, error) {
	return nil, errors.New("store: postgres not implemented yet")
}
