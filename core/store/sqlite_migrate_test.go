package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteMigratesV1Messages: a file at schema version 1 (messages.id
// AUTOINCREMENT) opens as the current version with every message, id,
// delivery mark and index kept, and new ids continue after the old ones.
func TestSQLiteMigratesV1Messages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := OpenRawSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		sqliteMigrations[0].sql,
		`PRAGMA user_version = 1`,
		`INSERT INTO users (id, username, password_hash, role, banned, created_at) VALUES
			('ua', 'alice', x'00', 'user', 0, 1), ('ub', 'bob', x'00', 'user', 0, 1)`,
		// Ids with a gap, the second one delivered.
		`INSERT INTO messages (id, sender_id, recipient_id, conv, client_message_id, content, created_at, delivered_at) VALUES
			(7, 'ua', 'ub', '` + convKey("ua", "ub") + `', 'c1', 'one', 10, NULL),
			(41, 'ua', 'ub', '` + convKey("ua", "ub") + `', 'c2', 'two', 20, 30)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version int
	var ddl string
	if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE name = 'messages'").Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if version != len(sqliteMigrations) || strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT") {
		t.Fatalf("after migration: version %d, messages %s", version, ddl)
	}
	var indexes int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index'
		AND name IN ('messages_undelivered', 'messages_conv')`).Scan(&indexes); err != nil || indexes != 2 {
		t.Fatalf("indexes after migration: %d, %v", indexes, err)
	}

	pending, err := s.Undelivered(ctx, "ub", "", 10)
	if err != nil || len(pending) != 1 || pending[0].ID != "7" || pending[0].Content != "one" {
		t.Fatalf("Undelivered = %+v, %v", pending, err)
	}
	done, err := s.MessageByID(ctx, "41")
	if err != nil || done.DeliveredAt.IsZero() || done.ClientMessageID != "c2" {
		t.Fatalf("MessageByID(41) = %+v, %v", done, err)
	}
	again, created, err := s.SaveMessage(ctx, NewMessage{SenderID: "ua", RecipientID: "ub", ClientMessageID: "c1", Content: "one"})
	if err != nil || created || again.ID != "7" {
		t.Fatalf("retry of c1 = %+v, created %v, %v (the unique key must survive)", again, created, err)
	}
	next, created, err := s.SaveMessage(ctx, NewMessage{SenderID: "ua", RecipientID: "ub", ClientMessageID: "c3", Content: "three"})
	if err != nil || !created || next.ID != "42" {
		t.Fatalf("new message = %+v, created %v, %v; want id 42", next, created, err)
	}
}
