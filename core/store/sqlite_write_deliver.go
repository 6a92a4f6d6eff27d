package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// The writer runs the MarkDelivered calls of a batch as a few multi-row
// statements rather than one UPDATE … RETURNING per call: one UPDATE …
// FROM (VALUES …) pays SQLite's per-statement work (the VM's set-up and
// reset, a cursor per B-tree, the driver's and database/sql's call and
// result handling) once for many rows. The outcome of every call is the
// one the one-row statement gives: the rows RETURNING names are matched
// back to their calls by id and recipient, and a call whose row is not
// returned (someone else's message, one already delivered, an unknown id)
// is settled by the same one-row read as before. The UPDATE changes only
// delivered_at, which no constraint covers, so no row of it can fail it
// (and SQLite keeps no statement journal for it): an error is the
// batch's, which is rolled back and tried again.
//
// SaveMessage calls stay one INSERT each: a multi-row INSERT may abort on
// a foreign key after changing rows, so SQLite keeps a statement journal
// of every page it touches, and measured (BenchmarkSQLiteBatch, callgrind)
// that costs more than the statements it saves (docs/PERFORMANCE.md,
// section 8).

// maxManyRows is the most rows one multi-row statement carries. A run of
// n calls is cut into statements of power-of-two sizes (the bits of n), so
// there are at most manyVariants prepared variants.
const maxManyRows = 64

// manyVariants is how many prepared sizes the multi-row statement has:
// 2, 4, …, maxManyRows rows (one row uses the one-row statement).
const manyVariants = 6

// deliverStmts are the writer's multi-row UPDATEs, prepared on first use
// on wconn; index i holds the one for 2<<i rows.
type deliverStmts [manyVariants]*sql.Stmt

// close closes the prepared statements and forgets them.
func (d *deliverStmts) close() {
	for i, st := range d {
		if st != nil {
			_ = st.Close()
			d[i] = nil
		}
	}
}

// deliverManySQL is the conditional UPDATE of n MarkDelivered calls: each
// (id, recipient) pair sets DELIVERED only on that recipient's undelivered
// message. A row matched by two pairs is updated and returned once.
func deliverManySQL(n int) string {
	return `UPDATE messages SET delivered_at = ? FROM (VALUES ` + repeatJoin("(?, ?)", n) + `) AS v
		WHERE messages.id = v.column1 AND messages.recipient_id = v.column2 AND messages.delivered_at IS NULL
		RETURNING messages.id, messages.recipient_id, sender_id, client_message_id, content, created_at`
}

// repeatJoin is n copies of s joined by ", ".
func repeatJoin(s string, n int) string {
	return strings.TrimSuffix(strings.Repeat(s+", ", n), ", ")
}

// deliverStmt returns the multi-row UPDATE for n rows (a power of two
// from 2 to maxManyRows), preparing it on first use.
func (s *SQLite) deliverStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	i := bits.Len(uint(n)) - 2
	if s.multiDeliver[i] == nil {
		st, err := s.wconn.PrepareContext(ctx, deliverManySQL(n))
		if err != nil {
			return nil, fmt.Errorf("failed to prepare statement: %w", err)
		}
		s.multiDeliver[i] = st
	}
	return s.multiDeliver[i], nil
}

// chunks calls f with consecutive parts of reqs whose lengths are powers
// of two no larger than maxManyRows, largest first, and stops at f's first
// error.
func chunks(reqs []*writeReq, f func(part []*writeReq) error) error {
	for len(reqs) > 0 {
		n := min(maxManyRows, 1<<(bits.Len(uint(len(reqs)))-1))
		if err := f(reqs[:n]); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// deliverMany runs the MarkDelivered calls reqs inside the batch
// transaction. Each call's own error is in its request; an error returned
// is the batch's, which is then rolled back and tried again.
func (s *SQLite) deliverMany(ctx context.Context, reqs []*writeReq, ts time.Time) error {
	return chunks(reqs, func(part []*writeReq) error {
		if len(part) == 1 {
			return keepOwn(part[0], s.deliver(ctx, part[0], ts))
		}
		return s.deliverChunk(ctx, part, ts)
	})
}

// deliverChunk runs the multi-row UPDATE for part (2 or more calls) and
// settles every call, or returns the batch's error.
func (s *SQLite) deliverChunk(ctx context.Context, part []*writeReq, ts time.Time) error {
	st, err := s.deliverStmt(ctx, len(part))
	if err != nil {
		return err
	}
	at := ts.UnixMicro()
	args := append(s.args[:0], at)
	for _, r := range part {
		args = append(args, r.id, r.recipientID)
	}
	s.args = args[:0]
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	clear(s.args[:len(args)])
	next := 0
	for rows.Next() {
		var (
			id, created int64
			recipient   sql.RawBytes
			m           chat.Message
		)
		if err := rows.Scan(&id, &recipient, &m.SenderID, &m.ClientMessageID, &m.Content, &created); err != nil {
			return err
		}
		i := matchDelivered(part, next, id, recipient)
		if i < 0 {
			return fmt.Errorf("store: marked message %d delivered that no call asked for", id)
		}
		r := part[i]
		m.ID, m.RecipientID, m.CreatedAt, m.DeliveredAt = formatMessageID(id), r.recipientID, time.UnixMicro(created).UTC(), ts
		r.out, r.changed = m, true
		next = i + 1
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	// The calls with no row changed nothing: unknown, someone else's, or
	// already delivered (perhaps by another call of this chunk).
	for _, r := range part {
		if !r.changed {
			if err := keepOwn(r, s.deliverOutcome(ctx, r)); err != nil {
				return err
			}
		}
	}
	return nil
}

// matchDelivered returns the index in part of the first call not yet
// settled for message id by its recipient, looking at from first, or -1.
// The UPDATE returns a message once however many pairs name it, so the
// first of the recipient's calls is the one that changed it; the others,
// and anyone else's, changed nothing.
func matchDelivered(part []*writeReq, from int, id int64, recipient []byte) int {
	is := func(r *writeReq) bool { return !r.changed && r.id == id && r.recipientID == string(recipient) }
	if from < len(part) && is(part[from]) {
		return from
	}
	for i, r := range part {
		if is(r) {
			return i
		}
	}
	return -1
}

// keepOwn stores err in r when it is r's own, and returns it when it may
// have ended the transaction.
func keepOwn(r *writeReq, err error) error {
	if err != nil {
		if isFatal(err) {
			return err
		}
		r.err = err
	}
	return nil
}
