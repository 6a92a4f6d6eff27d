package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

func TestOpenMem(t *testing.T) {
	s, err := store.Open(context.Background(), "mem", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*store.Memory); !ok {
		t.Fatalf("Open(mem) = %T", s)
	}
}

func TestOpenUnsupported(t *testing.T) {
	for _, uri := range []string{"", "memory", "mysql://root:secret@db/chat", "sqlite3:x.db", "file:x.db", "redis://x"} {
		s, err := store.Open(context.Background(), uri, store.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", uri)
		}
		if !strings.Contains(err.Error(), "store: unsupported DB_URI") {
			t.Fatalf("Open(%q) error = %v", uri, err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error leaks the password: %v", err)
		}
	}
}
func TestOpenSQLiteURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "chat.db")
	s, err := store.Open(context.Background(), "sqlite:"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*store.SQLite); !ok {
		t.Fatalf("Open(sqlite:) = %T", s)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteErrorIsNilStore(t *testing.T) {
	s, err := store.Open(context.Background(), "sqlite:", store.Options{})
	if err == nil || s != nil {
		t.Fatalf("Open(sqlite:) = %v (%T), %v; want a nil Store and an error", s, s, err)
	}
}

// TestSQLiteFilesArePrivate: the directory, database and its -wal and -shm
// files that the store creates are readable by the server's account only.
// The modes asked for are 0700 and 0600, which no umask widens, so the test
// holds whatever the umask.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "chat.db")
	s, err := store.Open(context.Background(), "sqlite:"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A write, so the WAL and its index exist for certain.
	if _, err := s.CreateUser(context.Background(), "alice", []byte("h"), chat.RoleUser); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(name), got, want)
		}
	}
}
