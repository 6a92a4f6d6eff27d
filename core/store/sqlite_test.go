package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
	"github.com/dmchat/dmchat/core/store/storetest"
)

// openSQLite opens a store on path, or on a fresh file in a temporary
// directory when path is "".
func openSQLite(t *testing.T, path string) *store.SQLite {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "chat.db")
	}
	s, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t, "") })
}

func TestSQLiteSmallBatches(t *testing.T) {
	// MaxBatch 1 turns group commit off: the suite must pass either way.
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "chat.db"), store.Options{MaxBatch: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	ctx := context.Background()
	s := openSQLite(t, path)
	a, err := s.CreateUser(ctx, "alice", []byte("ha"), chat.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateUser(ctx, "bob", []byte("hb"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBanned(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	m1, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "1", Content: "one"})
	if err != nil {
		t.Fatal(err)
	}
	m2, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "2", Content: "two"})
	if err != nil {
		t.Fatal(err)
	}
	d1, _, err := s.MarkDelivered(ctx, m1.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openSQLite(t, path)
	u, err := s.UserByName(ctx, "bob")
	if err != nil || u.ID != b.ID || !u.Banned || string(u.PasswordHash) != "hb" || !u.CreatedAt.Equal(b.CreatedAt) {
		t.Fatalf("bob after reopen = %+v, %v", u, err)
	}
	got, err := s.MessageByID(ctx, m1.ID)
	if err != nil || !got.DeliveredAt.Equal(d1.DeliveredAt) || !got.CreatedAt.Equal(m1.CreatedAt) || got.Content != "one" {
		t.Fatalf("m1 after reopen = %+v, %v", got, err)
	}
	und, err := s.Undelivered(ctx, b.ID, "", 10)
	if err != nil || len(und) != 1 || und[0].ID != m2.ID {
		t.Fatalf("undelivered after reopen = %v, %v", und, err)
	}
	// Idempotency and id order survive the reopen.
	again, created, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "2", Content: "x"})
	if err != nil || created || again.ID != m2.ID {
		t.Fatalf("retry after reopen = %+v, %v, %v", again, created, err)
	}
	m3, created, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "3", Content: "three"})
	if err != nil || !created || !idLess(m2.ID, m3.ID) {
		t.Fatalf("new message after reopen = %+v, %v (previous id %s)", m3, err, m2.ID)
	}
}

// idLess compares two message ids numerically.
func idLess(a, b string) bool { return len(a) < len(b) || len(a) == len(b) && a < b }

func TestSQLiteTwoStoresOneFile(t *testing.T) {
	// Two Store values on one file behave like two processes: separate
	// connections, coordinated only by SQLite's file locks.
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "shared.db")
		return openSQLite(t, path), openSQLite(t, path)
	})
}

// Environment of the child process in TestSQLiteSurvivesKill.
const envKillChild = "DMCHAT_STORE_TEST_KILL_CHILD"

// killChild plays the child: it saves messages forever, printing each one
// only after SaveMessage (and, for some, MarkDelivered) returned, until it
// is killed.
func killChild(path string) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	a, err1 := s.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	b, err2 := s.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex // one line at a time on stdout
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				cmid := fmt.Sprintf("w%d-%d", w, i)
				m, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: cmid, Content: "c-" + cmid})
				if err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				line := fmt.Sprintf("saved %s %s", m.ID, cmid)
				if i%2 == 0 {
					if _, _, err := s.MarkDelivered(ctx, m.ID, b.ID); err != nil {
						fmt.Println("error", err)
						os.Exit(1)
					}
					line = fmt.Sprintf("delivered %s %s", m.ID, cmid)
				}
				mu.Lock()
				fmt.Println(line)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute) // the parent kills us long before
	os.Exit(2)
}

func TestSQLiteSurvivesKill(t *testing.T) {
	if path := os.Getenv(envKillChild); path != "" {
		killChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteSurvivesKill$")
	cmd.Env = append(os.Environ(), envKillChild+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	type acked struct {
		id, cmid  string
		delivered bool
	}
	var acks []acked
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for len(acks) < 300 && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && (f[0] == "saved" || f[0] == "delivered") {
			acks = append(acks, acked{f[1], f[2], f[0] == "delivered"})
		} else if len(f) > 0 && f[0] == "error" {
			t.Fatalf("child: %s", sc.Text())
		}
		if time.Now().After(deadline) {
			t.Fatal("child too slow")
		}
	}
	if len(acks) < 300 {
		t.Fatalf("child stopped after %d messages: %v", len(acks), sc.Err())
	}
	// Kill mid-stream: the child is still writing.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	_ = cmd.Wait()

	s := openSQLite(t, path)
	for _, a := range acks {
		m, err := s.MessageByID(context.Background(), a.id)
		if err != nil {
			t.Fatalf("acknowledged message %s (%s) lost: %v", a.id, a.cmid, err)
		}
		if m.ClientMessageID != a.cmid || m.Content != "c-"+a.cmid {
			t.Fatalf("message %s = %+v, want %s", a.id, m, a.cmid)
		}
		if a.delivered && !m.Delivered() {
			t.Fatalf("acknowledged delivery of %s lost", a.id)
		}
	}
}

func TestSQLiteOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(dir, "a?b.db"),
		dir, filepath.Join(file, "sub", "chat.db"), garbage} {
		s, err := store.OpenSQLite(context.Background(), path, store.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("OpenSQLite(%q) succeeded", path)
		}
		if !strings.HasPrefix(err.Error(), "store: failed to open sqlite database: ") {
			t.Fatalf("OpenSQLite(%q) error = %v", path, err)
		}
	}
}

func TestSQLiteNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	openSQLite(t, path).Close()
	db, err := store.OpenRawSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err == nil {
		s.Close()
		t.Fatal("opened a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("error = %v", err)
	}
}

func TestSQLiteWaitsForOtherWriter(t *testing.T) {
	// Another connection holds the write lock; a write waits for it instead
	// of failing, and reads go on meanwhile.
	path := filepath.Join(t.TempDir(), "chat.db")
	ctx := context.Background()
	s := openSQLite(t, path)
	a, _ := s.CreateUser(ctx, "alice", []byte("h"), chat.RoleUser)
	b, _ := s.CreateUser(ctx, "bob", []byte("h"), chat.RoleUser)

	other, err := store.OpenRawSQLite(path)
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
	saved := make(chan error, 1)
	go func() {
		_, _, err := s.SaveMessage(ctx, store.NewMessage{SenderID: a.ID, RecipientID: b.ID, ClientMessageID: "c", Content: "x"})
		saved <- err
	}()
	if _, err := s.UserByID(ctx, a.ID); err != nil {
		t.Fatalf("read while another connection writes: %v", err)
	}
	select {
	case err := <-saved:
		t.Fatalf("SaveMessage returned while the lock was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-saved:
		if err != nil {
			t.Fatalf("SaveMessage after the lock was released: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SaveMessage still waiting after the lock was released")
	}
}
