package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmchat/dmchat/core/chat"

	"github.com/dmchat/dmchat/core/store"
	"github.com/dmchat/dmchat/core/store/storetest"
	"github.com/dmchat/dmchat/core/testsvc"
)

// envPostgres names a throw-away PostgreSQL server for the tests.
const envPostgres = testsvc.EnvPostgres

// openPostgres opens a store on a fresh database; it is closed when the
// test ends (before the database is dropped).
func openPostgres(tb testing.TB) store.Store {
	tb.Helper()
	return openPostgresURL(tb, testsvc.NewPostgres(tb))
}

func openPostgresURL(tb testing.TB, url string) *store.Postgres {
	tb.Helper()
	s, err := store.OpenPostgres(context.Background(), url, store.Options{ReadConns: 4})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

func TestPostgresTwoInstances(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		url := testsvc.NewPostgres(t)
		return openPostgresURL(t, url), openPostgresURL(t, url)
	})
}

func TestPostgresConcurrentOpen(t *testing.T) {
	// Processes starting together on an empty database migrate it once,
	// without errors.
	url := testsvc.NewPostgres(t)
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := store.OpenPostgres(context.Background(), url, store.Options{ReadConns: 2})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := openPostgresURL(t, url)
	if _, err := s.CreateUser(context.Background(), "alice", []byte("h"), chat.RoleUser); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresOpenErrors(t *testing.T) {
	for _, url := range []string{
		"postgres://user:s3cret@127.0.0.1:1/nodb?sslmode=disable&connect_timeout=2", // nothing listens on port 1
		"postgres://user:s3cret@[::1/x",
	} {
		s, err := store.OpenPostgres(context.Background(), url, store.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("OpenPostgres(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

// waitLocked waits until some backend of the database at url is waiting
// for a lock.
func waitLocked(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no backend started waiting for a lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPostgresRaceWithOtherProcess(t *testing.T) {
	// Another process inserts the same (sender, clientMessageId), or
	// delivers the same message, in a transaction that commits while our
	// statement waits for it. Our statement cannot see that row in its
	// snapshot; the store must still answer with the committed row.
	url := testsvc.NewPostgres(t)
	s := openPostgresURL(t, url)
	ctx := context.Background()
	a, _ := s.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	b, _ := s.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	watcher, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(ctx)

	t.Run("SaveMessage", func(t *testing.T) {
		tx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var otherID int64
		if err := tx.QueryRow(ctx, `INSERT INTO messages (sender_id, recipient_id, conv, client_message_id, content, created_at)
			VALUES ($1, $2, 'x', $3, $4, now()) RETURNING id`, a.ID, b.ID, []byte("k"), []byte("theirs")).Scan(&otherID); err != nil {
			t.Fatal(err)
		}
		type res struct {
			m       chat.Message
			created bool
			err     error
		}
		done := make(chan res, 1)
		go func() {
			m, c, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "k", Content: "ours"})
			done <- res{m, c, err}
		}()
		waitLocked(t, watcher)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.created || r.m.ID != fmt.Sprint(otherID) || r.m.Content != "theirs" {
			t.Fatalf("SaveMessage racing another insert = %+v, created=%v, %v; want the other row (id %d)", r.m, r.created, r.err, otherID)
		}
	})

	t.Run("MarkDelivered", func(t *testing.T) {
		m, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "d", Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		tx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET delivered_at = now() WHERE id = $1`, m.ID); err != nil {
			t.Fatal(err)
		}
		type res struct {
			m       chat.Message
			changed bool
			err     error
		}
		done := make(chan res, 1)
		go func() {
			d, c, err := s.MarkDelivered(ctx, m.ID, b.ID)
			done <- res{d, c, err}
		}()
		waitLocked(t, watcher)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.changed || !r.m.Delivered() {
			t.Fatalf("MarkDelivered racing another delivery = %+v, changed=%v, %v; want the delivered row, unchanged", r.m, r.changed, r.err)
		}
	})
}
