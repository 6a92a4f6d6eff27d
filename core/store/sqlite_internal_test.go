package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// setupSQLite opens a store with the given SQLite busy timeout on a fresh
// file and returns it with two users.
func setupSQLite(t *testing.T, busyMS int, opts Options) (*SQLite, chat.User, chat.User) {
	t.Helper()
	s, err := openSQLite(context.Background(), filepath.Join(t.TempDir(), "chat.db"), opts, busyMS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	a, err := s.CreateUser(context.Background(), "alice", []byte("h"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateUser(context.Background(), "bob", []byte("h"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	return s, a, b
}

func TestSQLiteWriterSettings(t *testing.T) {
	s, _, _ := setupSQLite(t, busyTimeoutMS, Options{})
	var mode string
	var sync, fk, busy int
	err := s.write(context.Background(), func(ctx context.Context, c *sql.Conn) error {
		return errors.Join(
			c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode),
			c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync),
			c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk),
			c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 || fk != 1 || busy != busyTimeoutMS {
		t.Fatalf("writer: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d; want wal, 2 (FULL), 1, %d",
			mode, sync, fk, busy, busyTimeoutMS)
	}
	var qo int
	if err := s.r.QueryRowContext(context.Background(), "PRAGMA query_only").Scan(&qo); err != nil || qo != 1 {
		t.Fatalf("reader query_only = %d, %v", qo, err)
	}
}

func TestSQLiteBatchIsolatesFailures(t *testing.T) {
	s, a, b := setupSQLite(t, busyTimeoutMS, Options{})
	ctx := context.Background()
	first, _, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "first", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	calls := []func() callResult{
		func() callResult { // ok
			m, c, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "ok1", Content: "x"})
			return callResult{m, c, err}
		},
		func() callResult { // unknown recipient: a foreign key violation
			m, c, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: "u0000000000000000", ClientMessageID: "bad", Content: "x"})
			return callResult{m, c, err}
		},
		func() callResult { // unknown message
			m, c, err := s.MarkDelivered(ctx, "999999", b.ID)
			return callResult{m, c, err}
		},
		func() callResult { // not the recipient
			m, c, err := s.MarkDelivered(ctx, first.ID, a.ID)
			return callResult{m, c, err}
		},
		func() callResult { // ok
			m, c, err := s.MarkDelivered(ctx, first.ID, b.ID)
			return callResult{m, c, err}
		},
		func() callResult { // taken username, through the same writer
			_, err := s.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)
			return callResult{err: err}
		},
		func() callResult { // ok
			m, c, err := s.SaveMessage(ctx, NewMessage{SenderID: b.ID, RecipientID: a.ID, ClientMessageID: "ok2", Content: "y"})
			return callResult{m, c, err}
		},
	}
	results := inOneBatch(t, s, calls)
	r := results
	switch {
	case r[0].err != nil || !r[0].changed:
		t.Fatalf("ok1: %+v", r[0])
	case !errors.Is(r[1].err, ErrNotFound):
		t.Fatalf("unknown recipient: %+v", r[1])
	case !errors.Is(r[2].err, ErrNotFound):
		t.Fatalf("unknown message: %+v", r[2])
	case !errors.Is(r[3].err, ErrNotRecipient):
		t.Fatalf("not the recipient: %+v", r[3])
	case r[4].err != nil || !r[4].changed:
		t.Fatalf("deliver: %+v", r[4])
	case !errors.Is(r[5].err, ErrUsernameTaken):
		t.Fatalf("taken username: %+v", r[5])
	case r[6].err != nil || !r[6].changed:
		t.Fatalf("ok2: %+v", r[6])
	}
	for _, id := range []string{r[0].m.ID, r[6].m.ID} {
		if _, err := s.MessageByID(ctx, id); err != nil {
			t.Fatalf("committed message %s not found: %v", id, err)
		}
	}
	if m, _ := s.MessageByID(ctx, first.ID); !m.Delivered() {
		t.Fatal("delivery in the batch not committed")
	}
}

func TestSQLiteRetriesPastBusyTimeout(t *testing.T) {
	// With a 20 ms busy timeout, a lock held for 300 ms makes SQLite
	// return SQLITE_BUSY several times; the store retries, and the caller
	// sees success, not "database is locked".
	s, a, b := setupSQLite(t, 20, Options{})
	ctx := context.Background()
	other, err := OpenRawSQLite(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() {
		_, _, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "c", Content: "x"})
		done <- err
	}()
	go func() {
		_, err := s.SetBanned(ctx, b.ID, true)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // hold the lock well past the busy timeout
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("write after a long lock: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("write still waiting after the lock was released")
		}
	}
}

func TestSQLiteWriteTimeout(t *testing.T) {
	// A lock held longer than WriteTimeout fails the write with a timeout,
	// and the store keeps working afterwards.
	s, a, b := setupSQLite(t, 20, Options{WriteTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	other, err := OpenRawSQLite(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "c", Content: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SaveMessage under a lock held past WriteTimeout: %v, want DeadlineExceeded", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.SaveMessage(ctx, NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "c", Content: "x"}); err != nil || !created {
		t.Fatalf("SaveMessage after the lock: created=%v err=%v", created, err)
	}
}
