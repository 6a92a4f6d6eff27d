package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// TestSQLiteBackupWhileWriting takes a backup while messages are being
// saved: the copy opens as a store and holds a prefix of the saves, every
// message that was acknowledged before the backup started included.
func TestSQLiteBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, "")
	a, err := s.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	save := func(i int) {
		if _, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID,
			ClientMessageID: fmt.Sprint("m", i), Content: "x"}); err != nil {
			t.Error(err)
		}
	}
	const before, during = 50, 200
	for i := 0; i < before; i++ {
		save(i)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := before; i < before+during; i++ {
			save(i)
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, dest); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	wg.Wait()
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	if err := s.Backup(ctx, dest); err == nil {
		t.Fatal("a second backup over an existing file succeeded")
	}
	copyStore := openSQLite(t, dest)
	msgs, err := copyStore.Undelivered(ctx, b.ID, "", before+during)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < before || len(msgs) > before+during {
		t.Fatalf("backup holds %d messages, want between %d and %d", len(msgs), before, before+during)
	}
	for i, m := range msgs {
		if m.ClientMessageID != fmt.Sprint("m", i) {
			t.Fatalf("backup message %d is %s: not a prefix of the saves", i, m.ClientMessageID)
		}
	}
}
