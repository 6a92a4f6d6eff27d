package store

import (
	"context"
	"fmt"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// The rules of SaveMessage and MarkDelivered that do not depend on a
// backend live here, written once for Memory, SQLite and PostgreSQL:
// admission by the gate, a malformed id being an unknown message, the
// error for an unknown sender or recipient, and the outcome of a delivery
// (DELIVERED is set exactly once, only by the recipient). Idempotency by
// (sender, clientMessageId) is the schema's unique key in both SQL stores.
//
// What stays in each backend is genuinely different and stays apart: the
// SQL text, and how a batch runs. SQLite runs prepared statements one at a
// time on its single writer connection inside BEGIN IMMEDIATE, retries a
// busy file, and reads an existing row itself; PostgreSQL sends the whole
// batch as one pgx.Batch, takes a failing statement out and resends the
// rest, and reads rows of concurrent transactions after its commit.

// errUnknownUser is SaveMessage's error when the sender or the recipient
// is not a user (a foreign key violation in the SQL stores).
var errUnknownUser = fmt.Errorf("store: failed to save message: unknown sender or recipient: %w", ErrNotFound)

// saved is the message a store returns for m when it has just inserted it
// with id at time at.
func (m *NewMessage) saved(id int64, at time.Time) chat.Message {
	return chat.Message{ID: formatMessageID(id), SenderID: m.SenderID, RecipientID: m.RecipientID,
		ClientMessageID: m.ClientMessageID, Content: m.Content, CreatedAt: at}
}

// deliverOutcome is MarkDelivered's result once a backend has run its
// conditional UPDATE: found says whether the message exists, changed
// whether this call set DELIVERED, and got is the row (as updated, or as
// it stands). Only the recipient may see the row: anyone else gets
// ErrNotRecipient whether or not it was delivered.
func deliverOutcome(got chat.Message, found, changed bool, recipientID string) (chat.Message, bool, error) {
	switch {
	case !found:
		return chat.Message{}, false, ErrNotFound
	case changed:
		return got, true, nil
	case got.RecipientID != recipientID:
		return chat.Message{}, false, ErrNotRecipient
	}
	return got, false, nil
}

// saveMessage is SaveMessage of a group-committed store: admitted by g,
// queued on c, answered once the batch holding it is committed.
func saveMessage(ctx context.Context, g *gate, c *committer, m NewMessage) (chat.Message, bool, error) {
	if !g.enter() {
		return chat.Message{}, false, ErrClosed
	}
	defer g.leave()
	r := c.get()
	r.op, r.msg = opSave, m
	return c.do(ctx, r, "save message")
}

// markDelivered is MarkDelivered of a group-committed store; a malformed
// id cannot name a message, so it is ErrNotFound without a write.
func markDelivered(ctx context.Context, g *gate, c *committer, messageID, recipientID string) (chat.Message, bool, error) {
	if !g.enter() {
		return chat.Message{}, false, ErrClosed
	}
	defer g.leave()
	id, ok := parseMessageID(messageID)
	if !ok {
		return chat.Message{}, false, ErrNotFound
	}
	r := c.get()
	r.op, r.id, r.recipientID = opDeliver, id, recipientID
	return c.do(ctx, r, "mark message delivered")
}

// do submits r (taken from c.get), returns its results and puts it back.
// what names the call in the error when r could not be queued.
func (c *committer) do(ctx context.Context, r *writeReq, what string) (chat.Message, bool, error) {
	if err := c.submit(ctx, r); err != nil {
		c.put(r)
		return chat.Message{}, false, fmt.Errorf("store: failed to %s: %w", what, err)
	}
	out, changed, err := r.out, r.changed, r.err
	c.put(r)
	return out, changed, err
}
