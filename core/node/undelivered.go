package node

import (
	"context"

	"github.com/dmchat/dmchat/core/chat"
)

// pushPage pushes one page of undelivered messages, oldest first, and
// returns how many pushes it made; more false stops the paging early (the
// user was banned meanwhile).
type pushPage func(ctx context.Context, msgs []chat.Message) (pushed int, more bool, err error)

// pushUndelivered pages through userID's undelivered messages, oldest
// first, ReplayBatch at a time, handing each page to push before the next
// is read: a socket that does not read holds up one page, not the whole
// backlog. It is the one loop behind the replay on connect and the
// catch-up after an outage, and returns the pushes made, up to the first
// error; a failed read of the store is a storeReadError.
func (n *Node) pushUndelivered(ctx context.Context, userID string, push pushPage) (int, error) {
	total, after := 0, ""
	for {
		msgs, err := n.store.Undelivered(ctx, userID, after, n.opts.ReplayBatch)
		if err != nil {
			return total, storeReadError{err}
		}
		k, more, err := push(ctx, msgs)
		total += k
		if err != nil || !more || len(msgs) < n.opts.ReplayBatch {
			return total, err
		}
		after = msgs[len(msgs)-1].ID
	}
}

// storeReadError is a failed read of the store, told apart from a socket
// that went away while it was being pushed to.
type storeReadError struct{ err error }

func (e storeReadError) Error() string { return e.err.Error() }
func (e storeReadError) Unwrap() error { return e.err }
