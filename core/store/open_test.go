package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
