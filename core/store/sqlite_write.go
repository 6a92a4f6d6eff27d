package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
)

// maxFatalAttempts is how many times a batch is tried when it fails for a
// reason other than a busy database (which is retried until WriteTimeout).
const maxFatalAttempts = 3

// SaveMessage implements Store. It returns once the batch holding the write
// is committed; ErrNotFound if the sender or recipient is not a user.
func (s *SQLite) SaveMessage(ctx context.Context, m NewMessage) (chat.Message, bool, error) {
	return saveMessage(ctx, &s.gate, s.commit, m)
}

// MarkDelivered implements Store with one conditional UPDATE, committed in
// the writer's next batch.
func (s *SQLite) MarkDelivered(ctx context.Context, messageID, recipientID string) (chat.Message, bool, error) {
	return markDelivered(ctx, &s.gate, s.commit, messageID, recipientID)
}

// write runs fn in the writer's next batch transaction, on its connection.
// fn must be one statement or leave nothing behind on error, and may run
// more than once if the batch is retried.
func (s *SQLite) write(ctx context.Context, fn func(ctx context.Context, c *sql.Conn) error) error {
	if !s.gate.enter() {
		return ErrClosed
	}
	defer s.gate.leave()
	r := s.commit.get()
	r.op, r.fn = opFunc, fn
	if err := s.commit.submit(ctx, r); err != nil {
		s.commit.put(r)
		return err
	}
	err := r.err
	s.commit.put(r)
	return err
}

// CreateUser implements Store.
func (s *SQLite) CreateUser(ctx context.Context, username string, passwordHash []byte, role chat.Role) (chat.User, error) {
	if !role.Valid() {
		return chat.User{}, fmt.Errorf("store: invalid role %q", role)
	}
	u := chat.User{Username: username, Role: role, PasswordHash: slices.Clone(passwordHash), CreatedAt: now()}
	if u.PasswordHash == nil {
		u.PasswordHash = []byte{}
	}
	err := s.write(ctx, func(ctx context.Context, c *sql.Conn) error {
		for {
			id, err := newUserID()
			if err != nil {
				return err
			}
			_, err = c.ExecContext(ctx, `INSERT INTO users (id, username, username_key, password_hash, role, banned, created_at)
				VALUES (?, ?, ?, ?, ?, 0, ?)`,
				id, username, usernameKey(username), u.PasswordHash, string(role), u.CreatedAt.UnixMicro())
			switch {
			// users.username or users.username_key: the name in any case.
			case isConstraint(err, sqliteConstraintUnique, "users.username"):
				return ErrUsernameTaken
			case isConstraint(err, sqliteConstraintPrimaryKey, "users.id"):
				continue // a 64-bit collision; draw again
			case err != nil:
				return err
			}
			u.ID = id
			return nil
		}
	})
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, ErrUsernameTaken):
		return chat.User{}, err
	case err != nil:
		return chat.User{}, fmt.Errorf("store: failed to create user: %w", err)
	}
	return u, nil
}

// SetBanned implements Store.
func (s *SQLite) SetBanned(ctx context.Context, id string, banned bool) (chat.User, error) {
	return s.updateUser(ctx, "set banned", `UPDATE users SET banned = ? WHERE id = ? RETURNING `+userCols, banned, id)
}

// SetRoleAndPassword implements Store.
func (s *SQLite) SetRoleAndPassword(ctx context.Context, id string, role chat.Role, passwordHash []byte) (chat.User, error) {
	if !role.Valid() {
		return chat.User{}, fmt.Errorf("store: invalid role %q", role)
	}
	if passwordHash == nil {
		passwordHash = []byte{}
	}
	return s.updateUser(ctx, "set role and password", `UPDATE users SET role = ?, password_hash = ? WHERE id = ? RETURNING `+userCols,
		string(role), slices.Clone(passwordHash), id)
}

// RevokeToken implements Store. The same write purges the revocations
// that expired more than a minute ago (a token is refused by its exp by
// then; the minute covers clocks a little apart).
func (s *SQLite) RevokeToken(ctx context.Context, tokenID string, expiresAt time.Time) error {
	at := now()
	err := s.write(ctx, func(ctx context.Context, c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`,
			at.Add(-revocationGrace).UnixMicro()); err != nil {
			return err
		}
		_, err := c.ExecContext(ctx, `INSERT INTO revoked_tokens (token_id, revoked_at, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (token_id) DO NOTHING`, tokenID, at.UnixMicro(), expiresAt.UnixMicro())
		return err
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to revoke token: %w", err)
	}
	return err
}

// updateUser runs one UPDATE ... RETURNING userCols through the writer.
func (s *SQLite) updateUser(ctx context.Context, what, query string, args ...any) (chat.User, error) {
	var u chat.User
	err := s.write(ctx, func(ctx context.Context, c *sql.Conn) error {
		var err error
		u, err = scanUser(c.QueryRowContext(ctx, query, args...))
		return err
	})
	switch {
	case errors.Is(err, ErrClosed):
		return chat.User{}, err
	case errors.Is(err, sql.ErrNoRows):
		return chat.User{}, ErrNotFound
	case err != nil:
		return chat.User{}, fmt.Errorf("store: failed to %s: %w", what, err)
	}
	return u, nil
}

// runBatch is the committer's batchFunc: it commits batch in one
// transaction, retrying a busy database until WriteTimeout, and sets every
// request's result.
func (s *SQLite) runBatch(batch []*writeReq) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	var err error
	delay := 200 * time.Microsecond
	for fatal := 0; ; {
		if err = s.tryBatch(ctx, batch); err == nil {
			s.batches.committed()
			return
		}
		if !isBusy(err) {
			fatal++
		}
		if ctx.Err() != nil || fatal >= maxFatalAttempts {
			break
		}
		s.log.Debug("store_batch_retry", zap.Int("writes", len(batch)), zap.Error(err))
		t := time.NewTimer(delay/2 + rand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
	if isBusy(err) {
		err = fmt.Errorf("database stayed busy for %v: %w", s.opts.WriteTimeout, context.DeadlineExceeded)
	}
	s.batches.fail(len(batch), err)
	for _, r := range batch {
		r.out, r.changed = chat.Message{}, false
		r.err = fmt.Errorf("store: failed to commit: %w", err)
	}
}

// tryBatch runs batch in one transaction. A request whose own statement
// fails gets that error and the others go on; an error that may have ended
// the transaction is returned, after a rollback, and nothing is committed.
func (s *SQLite) tryBatch(ctx context.Context, batch []*writeReq) (err error) {
	if s.wconn == nil {
		if s.wconn, err = s.w.Conn(ctx); err != nil {
			return err
		}
		if err = s.prepare(ctx); err != nil {
			s.dropConn()
			return err
		}
	}
	c := s.wconn
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		if !isBusy(err) {
			s.dropConn()
		}
		return err
	}
	defer func() {
		if err != nil {
			s.rollback()
		}
	}()
	// Statements inside the transaction run without a deadline: once the
	// write lock is held they wait for nothing, and a context that can end
	// costs the driver a watcher per statement.
	ctx = context.Background()
	// The calls of a batch are concurrent, so any order is one they could
	// have run in: the deliveries first, in multi-row statements
	// (sqlite_write_deliver.go), then the rest in order.
	ts := now()
	delivers := s.delivers[:0]
	for _, r := range batch {
		r.out, r.changed, r.err = chat.Message{}, false, nil
		if r.op == opDeliver {
			delivers = append(delivers, r)
		}
	}
	s.delivers = delivers[:0]
	defer clear(delivers)
	if err := s.deliverMany(ctx, delivers, ts); err != nil {
		return err
	}
	for _, r := range batch {
		var rerr error
		switch r.op {
		case opSave:
			rerr = s.save(ctx, r, ts)
		case opFunc:
			rerr = r.fn(ctx, c)
		default:
			continue
		}
		if err := keepOwn(r, rerr); err != nil {
			return err
		}
	}
	_, err = c.ExecContext(ctx, "COMMIT")
	return err
}

// rollback ends a failed batch transaction. If that fails for a reason
// other than there being no transaction left, the connection is dropped so
// the next batch starts on a clean one.
func (s *SQLite) rollback() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.wconn.ExecContext(ctx, "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		s.log.Warn("store_rollback_failed", zap.Error(err))
		s.dropConn()
	}
}

// dropConn discards the writer connection; the next batch opens another.
func (s *SQLite) dropConn() {
	s.closeStmts()
	_ = s.wconn.Raw(func(any) error { return driver.ErrBadConn })
	_ = s.wconn.Close()
	s.wconn = nil
}

// save runs one SaveMessage inside the batch transaction.
func (s *SQLite) save(ctx context.Context, r *writeReq, ts time.Time) error {
	m := &r.msg
	res, err := s.st.insert.ExecContext(ctx, m.SenderID, m.RecipientID, convKey(m.SenderID, m.RecipientID),
		m.ClientMessageID, m.Content, ts.UnixMicro())
	var n, id int64
	if err == nil {
		if n, err = res.RowsAffected(); err == nil && n == 1 {
			id, err = res.LastInsertId()
		}
	}
	switch {
	case err == nil && n == 1:
		r.out, r.changed = m.saved(id, ts), true
		return nil
	case err == nil:
		// A retry: the row exists (perhaps from earlier in this batch).
		r.out, err = scanMessage(s.st.byKey.QueryRowContext(ctx, m.SenderID, m.ClientMessageID))
		if err != nil {
			return fmt.Errorf("store: failed to read existing message: %w", err)
		}
		return nil
	case isConstraint(err, sqliteConstraintForeignKey, ""):
		return errUnknownUser
	}
	return fmt.Errorf("store: failed to save message: %w", err)
}

// deliver runs one MarkDelivered inside the batch transaction.
func (s *SQLite) deliver(ctx context.Context, r *writeReq, ts time.Time) error {
	var created int64
	m := chat.Message{ID: formatMessageID(r.id), RecipientID: r.recipientID, DeliveredAt: ts}
	err := s.st.deliver.QueryRowContext(ctx, ts.UnixMicro(), r.id, r.recipientID).Scan(&m.SenderID, &m.ClientMessageID, &m.Content, &created)
	if err == nil {
		m.CreatedAt = time.UnixMicro(created).UTC()
		r.out, r.changed = m, true
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: failed to mark message delivered: %w", err)
	}
	return s.deliverOutcome(ctx, r)
}

// deliverOutcome settles a MarkDelivered that changed nothing: the
// message is unknown, someone else's, or already delivered.
func (s *SQLite) deliverOutcome(ctx context.Context, r *writeReq) error {
	got, err := scanMessage(s.st.byID.QueryRowContext(ctx, r.id))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: failed to read message: %w", err)
	}
	r.out, r.changed, err = deliverOutcome(got, err == nil, false, r.recipientID)
	return err
}
