package httpapi

import (
	"context"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// Reads are the store reads the routes make themselves: who is calling, a
// page of history, the directory, readiness. Everything that changes state
// goes through the node. A store.Store is one.
type Reads interface {
	UserByID(ctx context.Context, id string) (chat.User, error)
	TokenRevoked(ctx context.Context, tokenID string) (bool, error)
	Conversation(ctx context.Context, p store.Page) ([]chat.Message, error)
	SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error)
	Ping(ctx context.Context) error
}

var _ Reads = store.Store(nil)
