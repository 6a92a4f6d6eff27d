package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// read runs f on the reader pool, admitted by the gate, retrying while the
// database is busy.
func (s *SQLite) read(ctx context.Context, f func() error) error {
	if !s.gate.enter() {
		return ErrClosed
	}
	defer s.gate.leave()
	return retryBusy(ctx, f)
}

// UserByID implements Store.
func (s *SQLite) UserByID(ctx context.Context, id string) (chat.User, error) {
	return s.user(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id)
}

// UserByName implements Store.
func (s *SQLite) UserByName(ctx context.Context, username string) (chat.User, error) {
	return s.user(ctx, `SELECT `+userCols+` FROM users WHERE username_key = ?`, usernameKey(username))
}

// user reads one user.
func (s *SQLite) user(ctx context.Context, query string, arg string) (chat.User, error) {
	var u chat.User
	err := s.read(ctx, func() error {
		var err error
		u, err = scanUser(s.r.QueryRowContext(ctx, query, arg))
		return err
	})
	switch {
	case errors.Is(err, ErrClosed):
		return chat.User{}, err
	case errors.Is(err, sql.ErrNoRows):
		return chat.User{}, ErrNotFound
	case err != nil:
		return chat.User{}, fmt.Errorf("store: failed to read user: %w", err)
	}
	return u, nil
}

// ListUsers implements Store.
func (s *SQLite) ListUsers(ctx context.Context) ([]chat.User, error) {
	return queryRows(ctx, s, "list users", scanUserRow, `SELECT `+userCols+` FROM users ORDER BY username`)
}

// SearchUsers implements Store. The lower bound lets SQLite seek in the
// username_key index (its LIKE cannot use it: LIKE is case-insensitive and
// the index is not); the LIKE decides the match.
func (s *SQLite) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	key := usernameKey(prefix)
	return queryRows(ctx, s, "search users", scanUserRow, `SELECT `+userCols+` FROM users
		WHERE username_key >= ? AND username_key LIKE ? ESCAPE '`+likeEscape+`'
		ORDER BY username_key, username LIMIT ?`, key, likePrefix(key), limit)
}

// queryRows runs a query on s's readers and scans every row with scan;
// what names it in the error.
func queryRows[T any](ctx context.Context, s *SQLite, what string, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	out, err := readRows(ctx, s, false, scan, query, args...)
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to %s: %w", what, err)
	}
	return out, err
}

// readRows is queryRows without naming the error; none is true when the
// caller already knows nothing matches (the gate is still checked).
func readRows[T any](ctx context.Context, s *SQLite, none bool, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := s.read(ctx, func() error {
		if none {
			return nil
		}
		out = out[:0]
		rows, err := s.r.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// scanID scans a row of one string column.
func scanID(rows *sql.Rows) (string, error) {
	var id string
	err := rows.Scan(&id)
	return id, err
}

// TokenRevoked implements Store.
func (s *SQLite) TokenRevoked(ctx context.Context, tokenID string) (bool, error) {
	var n int
	err := s.read(ctx, func() error {
		return s.r.QueryRowContext(ctx, `SELECT count(*) FROM revoked_tokens WHERE token_id = ?`, tokenID).Scan(&n)
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to read token revocation: %w", err)
	}
	return n > 0, err
}

// RevokedSince implements Store.
func (s *SQLite) RevokedSince(ctx context.Context, since time.Time) ([]string, error) {
	return queryRows(ctx, s, "read revoked tokens", scanID, `SELECT token_id FROM revoked_tokens WHERE revoked_at >= ?
		ORDER BY revoked_at, token_id`, since.UnixMicro())
}

// BannedUserIDs implements Store.
func (s *SQLite) BannedUserIDs(ctx context.Context) ([]string, error) {
	return queryRows(ctx, s, "list banned users", scanID, `SELECT id FROM users WHERE banned ORDER BY id`)
}

// Undelivered implements Store.
func (s *SQLite) Undelivered(ctx context.Context, recipientID, afterID string, limit int) ([]chat.Message, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	after, ok := afterBound(afterID)
	msgs, err := s.messages(ctx, !ok, `SELECT `+messageCols+` FROM messages
		WHERE recipient_id = ? AND delivered_at IS NULL AND id > ? ORDER BY id LIMIT ?`, recipientID, after, limit)
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to read undelivered messages: %w", err)
	}
	return msgs, err
}

// Conversation implements Store.
func (s *SQLite) Conversation(ctx context.Context, p Page) ([]chat.Message, error) {
	if err := checkLimit(p.Limit); err != nil {
		return nil, err
	}
	before, ok := beforeBound(p.BeforeID)
	msgs, err := s.messages(ctx, !ok, `SELECT `+messageCols+` FROM messages
		WHERE conv = ? AND id < ? ORDER BY id DESC LIMIT ?`, convKey(p.UserA, p.UserB), before, p.Limit)
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to read conversation: %w", err)
	}
	return msgs, err
}

// messages runs a query for message rows; none as for readRows.
func (s *SQLite) messages(ctx context.Context, none bool, query string, args ...any) ([]chat.Message, error) {
	return readRows(ctx, s, none, func(r *sql.Rows) (chat.Message, error) { return scanMessage(r) }, query, args...)
}

// MessageByID implements Store.
func (s *SQLite) MessageByID(ctx context.Context, id string) (chat.Message, error) {
	var m chat.Message
	err := s.read(ctx, func() error {
		n, ok := parseMessageID(id)
		if !ok {
			return sql.ErrNoRows
		}
		var err error
		m, err = scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, n))
		return err
	})
	switch {
	case errors.Is(err, ErrClosed):
		return chat.Message{}, err
	case errors.Is(err, sql.ErrNoRows):
		return chat.Message{}, ErrNotFound
	case err != nil:
		return chat.Message{}, fmt.Errorf("store: failed to read message: %w", err)
	}
	return m, nil
}

// Ping implements Store: it runs a query on a reader.
func (s *SQLite) Ping(ctx context.Context) error {
	err := s.read(ctx, func() error {
		var one int
		return s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to ping sqlite: %w", err)
	}
	return err
}

// scanUserRow is scanUser for queryRows.
func scanUserRow(rows *sql.Rows) (chat.User, error) { return scanUser(rows) }
