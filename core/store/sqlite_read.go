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
	return s.queryUsers(ctx, "list users", `SELECT `+userCols+` FROM users ORDER BY username`)
}

// SearchUsers implements Store. The lower bound lets SQLite seek in the
// username_key index (its LIKE cannot use it: LIKE is case-insensitive and
// the index is not); the LIKE decides the match.
func (s *SQLite) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	key := usernameKey(prefix)
	return s.queryUsers(ctx, "search users", `SELECT `+userCols+` FROM users
		WHERE username_key >= ? AND username_key LIKE ? ESCAPE '`+likeEscape+`'
		ORDER BY username_key, username LIMIT ?`, key, likePrefix(key), limit)
}

// queryUsers runs a query of user rows on the readers; what names it in
// the error.
func (s *SQLite) queryUsers(ctx context.Context, what, query string, args ...any) ([]chat.User, error) {
	var out []chat.User
	err := s.read(ctx, func() error {
		out = out[:0]
		rows, err := s.r.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to %s: %w", what, err)
	}
	return out, err
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
	var out []string
	err := s.read(ctx, func() error {
		out = out[:0]
		rows, err := s.r.QueryContext(ctx, `SELECT token_id FROM revoked_tokens WHERE revoked_at >= ?
			ORDER BY revoked_at, token_id`, since.UnixMicro())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to read revoked tokens: %w", err)
	}
	return out, err
}

// BannedUserIDs implements Store.
func (s *SQLite) BannedUserIDs(ctx context.Context) ([]string, error) {
	var out []string
	err := s.read(ctx, func() error {
		out = out[:0]
		rows, err := s.r.QueryContext(ctx, `SELECT id FROM users WHERE banned ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("store: failed to list banned users: %w", err)
	}
	return out, err
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

// messages runs a query for message rows; none is true when the caller
// already knows nothing matches (the gate is still checked).
func (s *SQLite) messages(ctx context.Context, none bool, query string, args ...any) ([]chat.Message, error) {
	var out []chat.Message
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
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
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
