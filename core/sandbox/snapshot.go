package sandbox

import (
	"context"
	"fmt"
	"sort"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/sandbox/history"
	"github.com/dmchat/dmchat/core/store"
)

// snapshotPage is the page size of Messages' conversation reads.
const snapshotPage = 200

// Messages returns every message row in the store, oldest first, read
// through the store's public interface: every conversation between every
// pair of users, page by page. It is meant for checks at the end of a run,
// not for large stores.
func (c *Cluster) Messages(ctx context.Context) ([]chat.Message, error) {
	users, err := c.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: failed to list users: %w", err)
	}
	seen := map[string]bool{}
	var out []chat.Message
	for i := range users {
		for j := i; j < len(users); j++ {
			before := ""
			for {
				page, err := c.store.Conversation(ctx, store.Page{UserA: users[i].ID, UserB: users[j].ID, BeforeID: before, Limit: snapshotPage})
				if err != nil {
					return nil, fmt.Errorf("sandbox: failed to read a conversation: %w", err)
				}
				for _, m := range page {
					if !seen[m.ID] {
						seen[m.ID] = true
						out = append(out, m)
					}
				}
				if len(page) < snapshotPage {
					break
				}
				before = page[len(page)-1].ID
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return idLess(out[a].ID, out[b].ID) })
	return out, nil
}

// idLess orders message ids by age: shorter numeric ids first, then as
// text (ids of one store increase with insertion).
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// SnapshotStore records one history Stored event per message row in the
// store: MessageID, User (sender id), Peer (recipient id),
// ClientMessageID and Delivered. Call it at the end of a run, before
// checking the history.
func (c *Cluster) SnapshotStore(ctx context.Context) error {
	msgs, err := c.Messages(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		c.hist.Record(history.Event{Kind: history.Stored, MessageID: m.ID, User: m.SenderID, Peer: m.RecipientID,
			ClientMessageID: m.ClientMessageID, Delivered: m.Delivered()})
	}
	return nil
}
